"""Plain functions behind the ingest tasks: read seeds, prepare article rows, save them.

Tasks in ``flows/pipeline.py`` wrap these; tests call them directly.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from flows.dedupe import assign_near_duplicates
from flows.search import index_pending
from flows.stories import cluster_pending
from parsers.classify import Ruleset, classify_topics
from parsers.dedupe import article_id_for
from parsers.entities import tag_entities
from parsers.measure import word_count
from parsers.model import ArticleCopy
from parsers.neardup import signature
from parsers.seeds import SeedError, decode_seed, parse_seed
from parsers.stories import text_features
from parsers.text import summarise
from parsers.tokenize import term_counts
from warehouse.clock import utc_now
from warehouse.db import open_warehouse
from warehouse.faults import fault_point
from warehouse.feeds import settle_pending_entries
from warehouse.load import SaveResult, fetch_log_row, save_copies, save_fetch_log, topic_rows
from warehouse.tx import transaction

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


def copy_to_row(copy: ArticleCopy) -> dict:
    """The warehouse row for one article copy (see ``warehouse.load.save_copies``)."""
    mentions = tag_entities(copy.title, copy.text)
    return {
        "url": copy.url,
        "feed_url": copy.feed_url,
        "title": copy.title,
        "text": copy.text,
        "summary": summarise(copy.text),
        "source_name": copy.source_name,
        "published_at": copy.published_at,
        "published_from": copy.published_from,
        "language": copy.language,
        "content_hash": copy.content_hash,
        "word_count": word_count(copy.text),
        "candidate_article_id": article_id_for(copy.content_hash),
        **_signature_columns(copy.text),
        "text_from": copy.text_from,
        "encoding": copy.encoding,
        "encoding_from": copy.encoding_from,
        "author": copy.author,
        "date_note": copy.date_note,
        "feed_published_at": copy.feed_published_at,
        "feed_date_found": copy.feed_date_found,
        "page_published_at": copy.page_published_at,
        "page_date_found": copy.page_date_found,
        "removed_lines": [asdict(r) for r in copy.removed],
        "entities": [asdict(m) for m in mentions],
        # the search index's, should this copy's text be kept
        "terms": term_counts(copy.title, copy.text, mentions=[(m.entity_id, m.field) for m in mentions]),
        "story_text": text_features(copy.title, copy.text),  # story clustering's (events, key terms), likewise
        "topics": topic_rows(copy.topics),
    }


def _signature_columns(text: str) -> dict:
    sig = signature(text)
    if sig is None:
        return {"minhash": None, "shingles": None, "band_keys": []}
    return {"minhash": sig.values.tolist(), "shingles": sig.shingles, "band_keys": sig.band_keys()}


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
    transaction: a run killed at any point leaves all of the batch or none of it."""
    with open_warehouse(db_path) as con, transaction(con):
        assign_near_duplicates(con, rows)
        result = save_copies(con, rows, seen_at)
        # new articles and merged texts; heals any entry a killed run left stale
        index_pending(
            con, counted={(row["title"], row["content_hash"]): row["terms"] for row in rows if "terms" in row}
        )
        # articles without a story join one (a late article its existing story)
        cluster_pending(
            con, made={(row["title"], row["text"]): row["story_text"] for row in rows if "story_text" in row}
        )
        settle_pending_entries(con, settled, failed_again or {}, seen_at)
        save_fetch_log(con, log, run_id)
        fault_point("save-before-commit")
    fault_point("batch-saved")
    return result
