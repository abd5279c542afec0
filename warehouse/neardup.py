"""Near-duplicate resolution: which stored (or earlier in the batch) article each new copy repeats.

The LSH index lives in the warehouse (``lsh_bands``, ``copy_signatures``), written in the same
transaction as the copies, so it is never out of step with them and a copy arriving weeks later
is still recognised. Candidates are found with two equality joins on band keys (against the
stored copies, and within the batch); they are verified all at once with numpy
(``parsers.neardup.match_scores``): no per-copy Python.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from silkwatch.parsers.neardup import NUM_PERM, match_scores
from silkwatch.warehouse.tx import registered

_PROBES = "SELECT i, unnest(band_keys) AS band_key FROM _batch WHERE minhash IS NOT NULL"
# every stored copy signature of every article sharing a band with a copy of the batch
STORED_PAIRS_SQL = f"""
WITH probes AS ({_PROBES}), articles_near AS (
    SELECT DISTINCT p.i, b.article_id FROM probes p JOIN lsh_bands b USING (band_key)
)
SELECT n.i, s.article_id, s.minhash, s.shingles FROM articles_near n JOIN copy_signatures s USING (article_id)
"""
# the earlier copies of the batch sharing a band with each copy
BATCH_PAIRS_SQL = f"""
WITH probes AS ({_PROBES})
SELECT DISTINCT p.i, q.i AS k FROM probes p JOIN probes q USING (band_key) WHERE q.i < p.i
"""


def _values(minhash: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A list<uint32> column (no nulls) as an (n, NUM_PERM) matrix."""
    flat = pc.list_flatten(minhash)
    return np.asarray(flat, dtype=np.uint32).reshape(-1, NUM_PERM)


def _best(probe: np.ndarray, score: np.ndarray, tie: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per probe, the index of its best pair: highest score, then lowest ``tie``."""
    order = np.lexsort((tie, -score, probe))
    firsts = np.unique(probe[order], return_index=True)[1]
    return probe[order][firsts], order[firsts]


def near_duplicates(con: duckdb.DuckDBPyConnection, batch: pa.Table) -> pa.Array:
    """For each copy of ``batch`` (``warehouse.load.batch_table``), the article it near-duplicates:
    the most similar stored article that is the same article, else the most similar earlier copy
    of the batch that is (then that copy's article), or null (none, or its own new article).
    Exact duplicates and known URLs are left to the save."""
    n = batch.num_rows
    signed = pc.is_valid(batch["minhash"]).to_numpy(zero_copy_only=False)
    values = np.zeros((n, NUM_PERM), dtype=np.uint32)
    if signed.any():
        values[signed] = _values(batch["minhash"].filter(signed))
    shingles = batch["shingles"].fill_null(0).to_numpy().astype(np.float64)
    candidate = np.asarray(batch["candidate_article_id"].to_pylist(), dtype=object)
    key = candidate.copy()  # what each copy belongs to, as far as near duplicates go
    with registered(con, _batch=batch.select(["i", "minhash", "band_keys"])):
        stored = con.sql(STORED_PAIRS_SQL).to_arrow_table()
        pairs = con.sql(BATCH_PAIRS_SQL).to_arrow_table()
    matched_stored = np.zeros(n, dtype=bool)
    if stored.num_rows:
        i = stored["i"].to_numpy()
        jaccard, same = match_scores(
            values[i], _values(stored["minhash"]), shingles[i], stored["shingles"].to_numpy().astype(np.float64)
        )
        article = np.asarray(stored["article_id"].to_pylist(), dtype=object)
        probes, best = _best(i[same], jaccard[same], article[same].astype(str))
        key[probes] = article[same][best]
        matched_stored[probes] = True
    parent = np.full(n, -1)
    if pairs.num_rows:
        i, k = pairs["i"].to_numpy(), pairs["k"].to_numpy()
        jaccard, same = match_scores(values[i], values[k], shingles[i], shingles[k])
        keep = same & ~matched_stored[i]  # a stored article comes first
        probes, best = _best(i[keep], jaccard[keep], k[keep])
        parent[probes] = k[keep][best]
    linked = np.flatnonzero(parent >= 0)
    while linked.size:  # an earlier copy's own key: pointers only go back, so this ends
        followed = key[parent[linked]]
        if (followed == key[linked]).all():
            break
        key[linked] = followed
    return pa.array([k if k != c else None for k, c in zip(key, candidate, strict=True)], pa.string())
