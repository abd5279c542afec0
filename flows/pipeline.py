"""Prefect flows and tasks: thin orchestration over ``flows.ingest`` and ``flows.digest``.

One task per batch (never per article): each Prefect task run costs milliseconds.
"""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from flows.alerts import AlertSummary, check_and_alert
from flows.config import Config, EmailConfig, load_config
from flows.digest import MAX_PER_TOPIC, DigestResult, write_digest
from flows.email import SendOutcome, retry_failed_sends, send_digest
from flows.feeds import FeedOutcome, PageBatch, check_feed, load_feed_list
from flows.fetch import FetchPolicy, HostLimiter, policy_from_config
from flows.ingest import Batch, SeedText, prepare_seeds, read_seeds, save_rows
from flows.notify import check_notify
from flows.pages import PagePool, fetch_pages
from flows.runners import with_task_runner
from parsers.classify import topic_ruleset
from warehouse.clock import utc_now
from warehouse.db import open_warehouse
from warehouse.feeds import feed_states, known_source_urls, page_failure_counts, record_feed_check, sync_feeds
from warehouse.load import SaveResult, finish_run, save_fetch_log, start_run
from warehouse.lock import writer_lock
from warehouse.tx import transaction

BATCH_SIZE = 500  # article copies per prepare/save task
# pages per fetch+extract task (the crash tests set small batches through the environment)
PAGE_BATCH_SIZE = int(os.environ.get("SILKWATCH_PAGE_BATCH_SIZE", "200"))
FEED_BATCH_SIZE = 50  # feeds per check task

# Inputs are large plain data: no caching by input hash, no result persistence; and the large
# ones are passed quote()d, so Prefect does not walk (and copy) every row, term and band key of
# them to track dependencies: that walk cost more main-process time than the saves.
_task = {"cache_policy": NO_CACHE, "persist_result": False}


@task(name="load-seeds", **_task)
def load_seeds_task(seed_dir: Path) -> Batch:
    return read_seeds(seed_dir)


@task(name="clean-classify-batch", **_task)
def prepare_batch_task(seeds: list[SeedText], topics_file: Path | None = None) -> Batch:
    return prepare_seeds(seeds, topic_ruleset(topics_file))


@task(name="save-batch", **_task)
def save_batch_task(db_path: Path, rows: list[dict], log: list[dict], run_id: str, seen_at) -> SaveResult:
    return save_rows(db_path, rows, log, run_id, seen_at)


@task(name="check-feeds", retries=1, **_task)
def check_feeds_task(
    feeds: list[dict], states: list[dict | None], policy: FetchPolicy, limiter: HostLimiter
) -> list[FeedOutcome]:
    """A batch of feeds fetched concurrently (bounded by the policy): one task per batch, not one
    mapped task per feed (~40 ms each, most of an unchanged rerun)."""
    with ThreadPoolExecutor(max_workers=policy.max_concurrency) as threads:
        return list(threads.map(check_feed, feeds, states, repeat(policy), repeat(limiter)))


@task(name="record-feed-checks", **_task)
def record_feeds_task(db_path: Path, outcomes: list[FeedOutcome], run_id: str, now) -> tuple[list, dict]:
    """Write each feed's health and fetch-log row; return the entries not stored yet, with past page failures."""
    with open_warehouse(db_path) as con, transaction(con):  # feed states and their log rows together
        links = [e.link for o in outcomes for e in o.entries if e.link]
        known = known_source_urls(con, links)
        new_items, seen = [], set()
        for outcome in outcomes:
            fresh = [e for e in outcome.entries if (e.link or e.key) not in known and e.key not in seen]
            seen.update(e.key for e in fresh)
            new_items.extend((entry, outcome.feed) for entry in fresh)
            record_feed_check(
                con, outcome.feed["url"], now, ok=outcome.ok, error=outcome.error, etag=outcome.result.etag,
                last_modified=outcome.result.last_modified, items=len(outcome.entries) if outcome.ok else None,
                new_items=len(fresh), title=outcome.title, bozo=outcome.bozo,
            )  # fmt: skip
        save_fetch_log(con, [o.result.log_row(run_id) for o in outcomes])
        failures = page_failure_counts(con, [e.link for e, _ in new_items if e.link])
    return new_items, failures


@task(name="fetch-extract-pages", **_task)
def fetch_pages_task(
    items: list, policy: FetchPolicy, limiter: HostLimiter, failures: dict, now, run_id, pool: PagePool,
    topics_file: str | None = None,
) -> PageBatch:  # fmt: skip
    return fetch_pages(items, policy, limiter, failures, now, run_id, pool, topics_file)


@task(name="write-digest", **_task)
def write_digest_task(
    db_path: Path, digest_dir: Path, period: str, now, out=None, force=False, max_per_topic: int = MAX_PER_TOPIC,
    topics_file: Path | None = None,
) -> DigestResult:  # fmt: skip
    result = write_digest(db_path, digest_dir, period, now, out=out, force=force, max_per_topic=max_per_topic,
                          ruleset=topic_ruleset(topics_file))  # fmt: skip
    # The digest as a Prefect artifact, for whoever watches the runs in Prefect's UI.
    create_markdown_artifact(
        markdown=result.path.read_text("utf-8"),
        key=f"silkwatch-digest-{period}",
        description=f"{result.path.name}: {len(result.article_ids)} articles",
    )
    return result


@task(name="watches-and-alerts", **_task)
def alerts_task(config: Config, run_id: str) -> AlertSummary:
    """The new articles against the watches, breaking stories, and every alert not sent yet."""
    return check_and_alert(config, run_id)


@task(name="send-digest", retries=1, retry_delay_seconds=30, **_task)
def send_digest_task(db_path: Path, email: EmailConfig, digest_id: str, force: bool = False) -> SendOutcome:
    return send_digest(db_path, email, digest_id, force=force)


@task(name="retry-failed-sends", **_task)
def retry_sends_task(db_path: Path, email: EmailConfig) -> list[SendOutcome]:
    return retry_failed_sends(db_path, email)


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
    feeds_ok: int = 0
    feeds_failed: int = 0
    feeds_backing_off: int = 0
    pages_deferred: int = 0
    sends: list[SendOutcome] = field(default_factory=list)  # digest emails retried in this run
    failures: list[str] = field(default_factory=list)  # seeds and pages that could not be used
    feed_failures: list[tuple[str, str]] = field(default_factory=list)  # (feed url, error)
    digest: DigestResult | None = None
    alerts: AlertSummary | None = None  # watch hits, breaking stories, alerts sent in this run

    @property
    def status(self) -> str:
        alerts_failed = self.alerts.failures if self.alerts else []
        return "partial" if self.failures or self.feed_failures or alerts_failed else "ok"


def _ingest_seeds(config: Config, summary: IngestSummary, seen_at) -> None:
    loaded = load_seeds_task(config.seeds_dir)
    summary.failures.extend(loaded.failures)
    summary.seeds_failed += len(loaded.failures)
    pending_log = loaded.log
    if not loaded.items:
        save_batch_task(config.warehouse_path, [], quote(pending_log), summary.run_id, seen_at)
    for start in range(0, len(loaded.items), BATCH_SIZE):
        prepared = prepare_batch_task(quote(loaded.items[start : start + BATCH_SIZE]), config.topics_file)
        summary.failures.extend(prepared.failures)
        summary.seeds_failed += len(prepared.failures)
        saved = save_batch_task(
            config.warehouse_path, quote(prepared.items), quote(pending_log + prepared.log), summary.run_id, seen_at
        )
        pending_log = []
        _add_saved(summary, saved, len(prepared.items))
        summary.seeds_read += len(prepared.items)  # seed files read and parsed into an article copy


def _add_saved(summary: IngestSummary, saved: SaveResult, copies: int) -> None:
    summary.copies_seen += copies
    summary.articles_new += saved.articles_new
    summary.sources_new += saved.sources_new
    summary.duplicates += saved.duplicates
    summary.already_seen += saved.already_seen


def _ingest_feeds(config: Config, summary: IngestSummary, now) -> None:
    feeds = load_feed_list(config.feeds_file)
    if not feeds:
        return
    with open_warehouse(config.warehouse_path) as con:
        sync_feeds(con, feeds, now)
        states = feed_states(con)
    due = [f for f in feeds if (states[f["url"]]["next_due_at"] or now) <= now]
    summary.feeds_backing_off = len(feeds) - len(due)
    policy = policy_from_config(config.fetch)
    limiter = HostLimiter(policy.per_host_concurrency, policy.per_host_delay)
    outcomes: list[FeedOutcome] = []
    for start in range(0, len(due), FEED_BATCH_SIZE):
        batch = due[start : start + FEED_BATCH_SIZE]
        outcomes.extend(check_feeds_task(quote(batch), quote([states.get(f["url"]) for f in batch]), policy, limiter))
    for outcome in outcomes:
        if outcome.ok:
            summary.feeds_ok += 1
        else:
            summary.feeds_failed += 1
            summary.feed_failures.append((outcome.feed["url"], outcome.error or "failed"))
    new_items, failures_before = record_feeds_task(config.warehouse_path, quote(outcomes), summary.run_id, now)
    if not new_items:
        return  # nothing new: no pool to start, no page to fetch
    batches = [new_items[start : start + PAGE_BATCH_SIZE] for start in range(0, len(new_items), PAGE_BATCH_SIZE)]
    # On Dask the page batches run on the cluster's workers, daemon processes that may not start a
    # process pool of their own: there each worker extracts in-process, and Dask is the parallelism.
    # Dask also reads tuples in task arguments as its own task specs, so quote() (a tuple) stays home.
    on_dask = config.task_runner == "dask"
    ship = (lambda value: value) if on_dask else quote
    with PagePool(1 if on_dask else config.workers) as pool:

        def fetch_extract(items: list):
            topics_file = str(config.topics_file) if config.topics_file else None
            return fetch_pages_task.submit(
                ship(items), policy, limiter, ship(failures_before), now, summary.run_id, pool, topics_file
            )

        upcoming = fetch_extract(batches[0])
        for k in range(len(batches)):
            batch = upcoming.result()
            if k + 1 < len(batches):  # fetch and extract the next batch while this one is saved
                upcoming = fetch_extract(batches[k + 1])
            summary.failures.extend(batch.failures)
            summary.pages_deferred += batch.deferred
            saved = save_batch_task(config.warehouse_path, quote(batch.rows), quote(batch.log), summary.run_id, now)
            _add_saved(summary, saved, len(batch.rows))


@flow(name="silkwatch-run", validate_parameters=False)
def run_flow(
    config: Config, period: str | None = None, write_report: bool = True, include_feeds: bool = True
) -> IngestSummary:
    """The main job: ingest seeds and feeds, clean, dedupe, classify, load; then write the digest."""
    run_id = f"{utc_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    started = utc_now()
    summary = IngestSummary(run_id=run_id)
    with open_warehouse(config.warehouse_path) as con:
        start_run(con, run_id, started)
    try:
        _ingest_seeds(config, summary, started)
        if include_feeds:
            _ingest_feeds(config, summary, started)
        summary.alerts = alerts_task(config, run_id)
        if write_report:
            period = period or config.digest_period
            summary.digest = write_digest_task(
                config.warehouse_path, config.digest_dir, period, utc_now(), max_per_topic=config.digest_max_per_topic,
                topics_file=config.topics_file,
            )  # fmt: skip
        if config.email.enabled:
            summary.sends = retry_sends_task(config.warehouse_path, config.email)
    except BaseException as exc:
        with open_warehouse(config.warehouse_path, wait_seconds=10) as con:
            finish_run(con, run_id, utc_now(), status="failed", error=f"{type(exc).__name__}: {exc}")
        raise
    alert_failures = summary.alerts.failures if summary.alerts else []
    with open_warehouse(config.warehouse_path, wait_seconds=10) as con:
        finish_run(
            con,
            run_id,
            utc_now(),
            status=summary.status,
            seeds_read=summary.seeds_read,
            seeds_failed=summary.seeds_failed,
            feeds_ok=summary.feeds_ok,
            feeds_failed=summary.feeds_failed,
            copies_seen=summary.copies_seen,
            articles_new=summary.articles_new,
            sources_new=summary.sources_new,
            duplicates=summary.duplicates,
            digest_path=str(summary.digest.path) if summary.digest else None,
            error="; ".join(
                summary.failures + [f"feed {url}: {e}" for url, e in summary.feed_failures] + alert_failures
            )
            or None,
        )
    return summary


@dataclass
class DigestSummary:
    digest: DigestResult
    send: SendOutcome | None = None
    retried: list[SendOutcome] = field(default_factory=list)


@flow(name="silkwatch-digest", validate_parameters=False)
def digest_flow(
    config: Config, period: str, out: Path | None = None, email: bool = False, force: bool = False
) -> DigestSummary:
    """Build a digest for a period (markdown, HTML, Prefect artifact); email it when asked.

    A digest already emailed is not built or sent again unless ``force``; failed sends of earlier
    digests are retried first.
    """
    summary = DigestSummary(
        write_digest_task(config.warehouse_path, config.digest_dir, period, utc_now(), out, force,
                          config.digest_max_per_topic, config.topics_file)
    )  # fmt: skip
    if email:
        summary.retried = retry_sends_task(config.warehouse_path, config.email)
        if summary.digest.digest_id not in {r.digest_id for r in summary.retried if r.sent}:
            summary.send = send_digest_task(config.warehouse_path, config.email, summary.digest.digest_id, force)
    return summary


def _scheduled_wait(config: Config) -> float:
    """A scheduled flow finding another writer at work waits for it (up to one ingest interval,
    when the next scheduled ingest takes over) instead of failing like an impatient CLI user."""
    return max(config.lock_wait_seconds, config.schedule["ingest_every_minutes"] * 60.0)


# Deployments take the config file's path: a flow run's parameters must be plain JSON.
@flow(name="silkwatch-scheduled-ingest")
def scheduled_ingest(config_path: str) -> None:
    """Scheduled: ingest seeds and feeds (no digest)."""
    config = load_config(Path(config_path))
    check_notify(config)  # a bad notify URL fails the run before anything is ingested or sent
    with writer_lock(config.warehouse_path, _scheduled_wait(config), "scheduled ingest"):
        summary = with_task_runner(run_flow, config)(config, write_report=False)
    print(f"{summary.articles_new} new articles, {summary.feeds_ok} feeds ok, {summary.feeds_failed} failed")


@flow(name="silkwatch-scheduled-digest")
def scheduled_digest(config_path: str, period: str = "day") -> None:
    """Scheduled: build the digest for the period and email it when [email] is enabled."""
    config = load_config(Path(config_path))
    with writer_lock(config.warehouse_path, _scheduled_wait(config), f"scheduled {period} digest"):
        summary = with_task_runner(digest_flow, config)(config, period, email=config.email.enabled)
    if summary.send and not summary.send.sent and summary.send.reason.startswith("failed"):
        raise RuntimeError(f"digest {summary.digest.digest_id}: {summary.send.reason}")
