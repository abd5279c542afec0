"""Prefect flows and tasks: thin orchestration over ``flows.ingest`` and ``flows.digest``.

One task per batch (never per article): each Prefect task run costs milliseconds.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.config import Config
from flows.digest import DigestResult, write_digest
from flows.ingest import Batch, SeedText, prepare_seeds, read_seeds, save_rows
from warehouse.clock import utc_now
from warehouse.db import open_warehouse
from warehouse.load import SaveResult, finish_run, start_run

BATCH_SIZE = 500  # article copies per prepare/save task

# Inputs are large plain data: no caching by input hash, no result persistence.
_task = {"cache_policy": NO_CACHE, "persist_result": False}


@task(name="load-seeds", **_task)
def load_seeds_task(seed_dir: Path) -> Batch:
    return read_seeds(seed_dir)


@task(name="clean-classify-batch", **_task)
def prepare_batch_task(seeds: list[SeedText]) -> Batch:
    return prepare_seeds(seeds)


@task(name="save-batch", **_task)
def save_batch_task(db_path: Path, rows: list[dict], log: list[dict], run_id: str, seen_at) -> SaveResult:
    return save_rows(db_path, rows, log, run_id, seen_at)


@task(name="write-digest", **_task)
def write_digest_task(db_path: Path, digest_dir: Path, period: str, now) -> DigestResult:
    return write_digest(db_path, digest_dir, period, now)


@dataclass
class IngestSummary:
    run_id: str
    seeds_read: int = 0
    seeds_failed: int = 0
    copies_seen: int = 0
    articles_new: int = 0
    sources_new: int = 0
    duplicates: int = 0
    already_seen: int = 0
    failures: list[str] = field(default_factory=list)
    digest: DigestResult | None = None

    @property
    def status(self) -> str:
        return "partial" if self.failures else "ok"


def _ingest_seeds(config: Config, summary: IngestSummary, seen_at) -> None:
    loaded = load_seeds_task(config.seeds_dir)
    summary.failures.extend(loaded.failures)
    summary.seeds_failed += len(loaded.failures)
    pending_log = loaded.log
    if not loaded.items:
        save_batch_task(config.warehouse_path, [], pending_log, summary.run_id, seen_at)
    for start in range(0, len(loaded.items), BATCH_SIZE):
        prepared = prepare_batch_task(loaded.items[start : start + BATCH_SIZE])
        summary.failures.extend(prepared.failures)
        summary.seeds_failed += len(prepared.failures)
        saved = save_batch_task(
            config.warehouse_path, prepared.items, pending_log + prepared.log, summary.run_id, seen_at
        )
        pending_log = []
        summary.copies_seen += len(prepared.items)
        summary.articles_new += saved.articles_new
        summary.sources_new += saved.sources_new
        summary.duplicates += saved.duplicates
        summary.already_seen += saved.already_seen
    summary.seeds_read = summary.copies_seen  # seed files read and parsed into an article copy


@flow(name="silkwatch-run", validate_parameters=False)
def run_flow(config: Config, period: str | None = None, write_report: bool = True) -> IngestSummary:
    """The main job: ingest seeds, clean, dedupe, classify, load; then write the digest."""
    run_id = f"{utc_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    started = utc_now()
    summary = IngestSummary(run_id=run_id)
    with open_warehouse(config.warehouse_path) as con:
        start_run(con, run_id, started)
    try:
        _ingest_seeds(config, summary, started)
        if write_report:
            summary.digest = write_digest_task(
                config.warehouse_path, config.digest_dir, period or config.digest_period, utc_now()
            )
    except BaseException as exc:
        with open_warehouse(config.warehouse_path, wait_seconds=10) as con:
            finish_run(con, run_id, utc_now(), status="failed", error=f"{type(exc).__name__}: {exc}")
        raise
    with open_warehouse(config.warehouse_path, wait_seconds=10) as con:
        finish_run(
            con,
            run_id,
            utc_now(),
            status=summary.status,
            seeds_read=summary.seeds_read,
            seeds_failed=summary.seeds_failed,
            copies_seen=summary.copies_seen,
            articles_new=summary.articles_new,
            sources_new=summary.sources_new,
            duplicates=summary.duplicates,
            digest_path=str(summary.digest.path) if summary.digest else None,
            error="; ".join(summary.failures) or None,
        )
    return summary


@flow(name="silkwatch-digest", validate_parameters=False)
def digest_flow(config: Config, period: str, out: Path | None = None) -> DigestResult:
    """Build (and record) a digest for a period from what the warehouse holds."""
    return write_digest(config.warehouse_path, config.digest_dir, period, utc_now(), out=out)
