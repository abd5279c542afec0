"""Near-duplicate resolution: which stored (or earlier in the batch) article a new copy repeats.

The LSH index lives in the warehouse (``lsh_bands``, ``copy_signatures``), written in the same
transaction as the copies, so it is never out of step with them and a copy arriving weeks later
is still recognised.
"""

from __future__ import annotations

import duckdb
import numpy as np

from parsers.neardup import NearDupIndex, Signature, best_match
from warehouse.queries import lsh_candidates, signatures_of


def _signature(row: dict) -> Signature | None:
    if row.get("minhash") is None:
        return None
    return Signature(np.asarray(row["minhash"], dtype=np.uint32), row["shingles"])


def assign_near_duplicates(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> int:
    """Set ``near_article_id`` on rows that near-duplicate a stored article or an earlier row of the
    batch. Returns how many were found. Exact duplicates and known URLs are left to the save."""
    signed = [(i, sig) for i, row in enumerate(rows) if (sig := _signature(row)) is not None]
    probes = [(i, key) for i, sig in signed for key in rows[i]["band_keys"]]
    candidates = lsh_candidates(con, probes)
    stored = signatures_of(con, set().union(*candidates.values()) if candidates else set())
    batch = NearDupIndex()
    found = 0
    for i, sig in signed:
        best = best_match(
            sig,
            (
                (article_id, Signature(np.asarray(minhash, dtype=np.uint32), shingles))
                for article_id in candidates.get(i, ())
                for minhash, shingles in stored.get(article_id, ())
            ),
        )
        if best is None:
            best = batch.find(sig)
        if best is not None and best != rows[i]["candidate_article_id"]:
            rows[i]["near_article_id"] = best
            found += 1
        batch.add(rows[i].get("near_article_id") or rows[i]["candidate_article_id"], sig)
    return found
