"""Plain functions behind the ingest tasks: read seeds, prepare article rows, save them.

Tasks in ``flows/pipeline.py`` wrap these; tests call them directly.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from silkwatch.parsers.classify import Ruleset, classify_topics
from silkwatch.parsers.rows import copy_to_row
from silkwatch.parsers.seeds import SeedError, decode_seed, parse_seed
from silkwatch.warehouse.clock import utc_now
from silkwatch.warehouse.clustering import cluster_pending
from silkwatch.warehouse.db import open_warehouse
from silkwatch.warehouse.faults import fault_point
from silkwatch.warehouse.feeds import settle_pending_entries
from silkwatch.warehouse.load import SaveResult, batch_table, fetch_log_row, save_batch, save_fetch_log
from silkwatch.warehouse.neardup import near_duplicates
from silkwatch.warehouse.search import index_pending
from silkwatch.warehouse.tx import transaction

MAX_SEED_BYTES = 5 * 1024 * 1024  # a seed is one article; anything larger is not


class SeedDirError(ValueError):
    """The seeds folder cannot be read at all; the message names it."""


@dataclass
class SeedText:
    name: str
    text: str
    encoding: str | None = None  # what the file was read in, and why (``parsers.decode``)
    encoding_from: str | None = None


@dataclass
class Batch:
    """Work carried between tasks: items, the fetch-log rows they produced, and failures to report."""

    items: list = field(default_factory=list)
    log: list[dict] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def read_seeds(seed_dir: Path) -> Batch:
    """Read and decode every ``*.txt`` in ``seed_dir``; a bad file is a failure, not an abort."""
    if not seed_dir.exists():
        raise SeedDirError(f"{seed_dir}: seeds folder not found ([seeds] dir in the config)")
    if not seed_dir.is_dir():
        raise SeedDirError(f"{seed_dir}: [seeds] dir must be a folder")
    batch = Batch()
    for path in sorted(seed_dir.glob("*.txt")):
        url = f"seed:{path.name}"
        started = time.perf_counter()
        try:
            size = path.stat().st_size
            if size > MAX_SEED_BYTES:
                raise SeedError(f"{path.name}: {size} bytes is larger than a seed article can be ({MAX_SEED_BYTES})")
            data = path.read_bytes()
            decoded = decode_seed(path.name, data)
        except (SeedError, OSError) as exc:
            message = str(exc) if isinstance(exc, SeedError) else f"{path.name}: cannot read: {exc.strerror}"
            batch.failures.append(message)
            batch.log.append(fetch_log_row(url, "seed", "error", fetched_at=utc_now(), error=message))
            continue
        ms = (time.perf_counter() - started) * 1000
        batch.items.append(SeedText(path.name, decoded.text, decoded.encoding, decoded.encoding_from))
        batch.log.append(fetch_log_row(url, "seed", "ok", fetched_at=utc_now(), nbytes=len(data), ms=round(ms, 3)))
    return batch


def prepare_seeds(seeds: list[SeedText], ruleset: Ruleset | None = None) -> Batch:
    """Parse, clean and classify seed texts into warehouse rows; a bad seed is a failure, not an abort."""
    batch = Batch()
    for seed in seeds:
        try:
            copy = parse_seed(seed.name, seed.text)
        except SeedError as exc:
            batch.failures.append(str(exc))
            batch.log.append(fetch_log_row(f"seed:{seed.name}", "seed", "error", fetched_at=utc_now(), error=str(exc)))
            continue
        copy.topics = classify_topics(copy.title, copy.text, ruleset)
        copy.encoding, copy.encoding_from = seed.encoding, seed.encoding_from
        batch.items.append(copy_to_row(copy))
    return batch


def save_rows(
    db_path: Path, rows: list[dict], log: list[dict], run_id: str, seen_at: datetime,
    settled: Sequence[str] = (), failed_again: dict[str, int] | None = None,
) -> SaveResult:  # fmt: skip
    """Save one batch of article rows and its fetch-log rows; the file is closed afterwards.
    ``settled``: the feed entries this batch is done with, no longer pending; ``failed_again``: the
    ones whose page failed transiently (entry key -> failures so far), which wait for their backoff.

    Copies, signatures, topics, entities, search index, pending entries and fetch log commit as one
    transaction: a run killed at any point leaves all of the batch or none of it. Stories are the
    next step (``cluster_stories``), not part of the load."""
    with open_warehouse(db_path) as con, transaction(con):
        batch = batch_table(rows)
        batch = batch.set_column(
            batch.schema.get_field_index("near_article_id"), "near_article_id", near_duplicates(con, batch)
        )
        result = save_batch(con, batch, seen_at, index=True)  # indexes what it can from the batch's terms
        index_pending(con)  # the rest, and any entry a killed run left stale
        settle_pending_entries(con, settled, failed_again or {}, seen_at)
        save_fetch_log(con, log, run_id)
        fault_point("save-before-commit")
    fault_point("batch-saved")
    return result


def cluster_stories(db_path: Path, rows: Sequence[dict] = ()) -> int:
    """The step after each load: every article without a story joins one, a late article its
    existing story (``warehouse.clustering.cluster_pending``), in transactions of its own. A run
    killed between a load and this step leaves articles without a story: the next step clusters
    them. ``rows``: the batch just loaded, whose text features the workers made (``story_text``).
    Returns how many articles were clustered."""
    made = {(row["title"], row["text"]): row["story_text"] for row in rows if "story_text" in row}
    with open_warehouse(db_path) as con:
        return cluster_pending(con, made=made)
