"""The flows and their steps: thin orchestration over ``flows.ingest`` and ``flows.digest``.

One step per batch (never per article): each Prefect task run costs milliseconds. A step is a
Prefect task in a Prefect flow run and a plain call in a one-off command (``flows.steps``);
the scheduled flows that ``silkwatch serve`` and the deployments run are in ``flows.scheduled``.

A run asked to stop (SIGINT, SIGTERM: ``flows.stopping``) ends within seconds: the flow looks at
the stop between batches and phases, the fetches and the extraction workers end on their own, a
save in progress commits, and the run is recorded ``interrupted``; the flow run ends Cancelled
(its state's data is the summary of what was done).
"""

from __future__ import annotations

import os
import queue
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from silkwatch.flows import stopping
from silkwatch.flows.config import Config, EmailConfig
from silkwatch.flows.ingest import Batch, SeedText, cluster_stories, prepare_seeds, read_seeds, save_rows
from silkwatch.flows.steps import cancelled, flow, in_prefect_run, quote, task
from silkwatch.parsers.classify import topic_ruleset
from silkwatch.parsers.digest import MAX_PER_TOPIC
from silkwatch.parsers.seeds import seed_url
from silkwatch.warehouse.clock import utc_now
from silkwatch.warehouse.db import open_warehouse
from silkwatch.warehouse.faults import fault_point
from silkwatch.warehouse.feeds import known_source_urls
from silkwatch.warehouse.load import SaveResult, finish_run, start_run
from silkwatch.warehouse.tx import transaction

if TYPE_CHECKING:
    from prefect.futures import PrefectFuture
    from prefect.states import State

    from silkwatch.flows.alerts import AlertSummary
    from silkwatch.flows.digest import DigestResult
    from silkwatch.flows.email import SendOutcome
    from silkwatch.flows.feeds import FeedOutcome, PageBatch
    from silkwatch.flows.fetch import FetchPolicy, HostLimiter
    from silkwatch.flows.pages import PagePool
    from silkwatch.flows.steps import LocalFuture, Stopped

# The feed path (fetcher, feed parser, extraction pool) and the alerts are imported by the steps
# that use them: an ingest of seeds with no feeds and no watches, the commonest one-off command,
# does not pay for httpx, feedparser or Apprise.

BATCH_SIZE = 500  # article copies per prepare/save task
# pages per fetch+extract task (the crash tests set small batches through the environment)
PAGE_BATCH_SIZE = int(os.environ.get("SILKWATCH_PAGE_BATCH_SIZE", "200"))
# While slower feeds are still being checked, a page batch starts with fewer pages once the first of
# them has waited this long: a dripping feed holds up the others' pages this long, not its timeout.
PAGE_BATCH_FILL_SECONDS = 1.0
# Steps are Prefect tasks in a Prefect flow run, plain calls in a one-off command (flows/steps.py).
# Their large inputs are passed quote()d, so Prefect does not walk (and copy) every row, term and
# band key of them to track dependencies: that walk cost more main-process time than the saves.


@task(name="load-seeds")
def load_seeds_task(seed_dir: Path) -> Batch:
    return read_seeds(seed_dir)


@task(name="clean-classify-batch")
def prepare_batch_task(seeds: list[SeedText], topics_file: Path | None = None) -> Batch:
    return prepare_seeds(seeds, topic_ruleset(topics_file))


@task(name="save-batch")
def save_batch_task(
    db_path: Path, rows: list[dict], log: list[dict], run_id: str, seen_at, settled=(), failed_again=None
) -> SaveResult:
    return save_rows(db_path, rows, log, run_id, seen_at, settled, failed_again)


@task(name="cluster-stories")
def cluster_task(db_path: Path, rows: list[dict]) -> int:
    return cluster_stories(db_path, rows)


@task(name="record-feed-checks")
def record_feeds_task(db_path: Path, outcomes: list[FeedOutcome], run_id: str, now) -> tuple[list, dict]:
    """Write each feed's health and fetch-log row, and keep its entries not stored yet as pending
    until their copy is saved: in one transaction with the feed's new ETag, so that no stop can
    leave an entry behind a 304. Return the entries newly pending, with their pages' past failures.
    A check cut short by a stop is left out: it is no failure of its feed (no backoff)."""
    from silkwatch.flows.feeds import entry_to_json, poll_plans
    from silkwatch.warehouse.feeds import add_pending_entries, page_failure_counts, record_feed_check
    from silkwatch.warehouse.load import save_fetch_log
    from silkwatch.warehouse.sources import schedule_feeds

    outcomes = [o for o in outcomes if not o.stopped]
    with open_warehouse(db_path) as con, transaction(con):
        links = [e.link for o in outcomes for e in o.entries if e.link]
        known = known_source_urls(con, links)
        fresh, seen = [], set()
        for outcome in outcomes:
            new = [e for e in outcome.entries if (e.link or e.key) not in known and e.key not in seen]
            seen.update(e.key for e in new)
            fresh.extend((entry, outcome.feed) for entry in new)
            record_feed_check(
                con, outcome.feed["url"], now, ok=outcome.ok, error=outcome.error, etag=outcome.result.etag,
                last_modified=outcome.result.last_modified, items=len(outcome.entries) if outcome.ok else None,
                new_items=len(new), title=outcome.title, bozo=outcome.bozo,
            )  # fmt: skip
        added = add_pending_entries(
            con,
            [{"entry_key": e.key, "feed_url": f["url"], "link": e.link, "entry": entry_to_json(e)} for e, f in fresh],
            now,
            run_id,
        )
        new_items = [(e, f) for e, f in fresh if e.key in added]  # the others wait already (or back off)
        save_fetch_log(con, [o.result.log_row(run_id) for o in outcomes])
        schedule_feeds(con, poll_plans(outcomes, now), now)  # adaptive polling (parsers/polling.py)
        failures = page_failure_counts(con, [e.link for e, _ in new_items if e.link])
    return new_items, failures


@task(name="fetch-extract-pages")
def fetch_pages_task(
    items: list, policy: FetchPolicy, limiter: HostLimiter, failures: dict, now, run_id, pool: PagePool,
    topics_file: str | None = None,
) -> PageBatch:  # fmt: skip
    from silkwatch.flows.pages import fetch_pages

    return fetch_pages(items, policy, limiter, failures, now, run_id, pool, topics_file)


@task(name="write-digest")
def write_digest_task(
    db_path: Path, digest_dir: Path, period: str, now, out=None, force=False, max_per_topic: int = MAX_PER_TOPIC,
    topics_file: Path | None = None,
) -> DigestResult:  # fmt: skip
    from silkwatch.flows.digest import (
        write_digest,  # the templates and charts: imported by the runs that write a digest
    )

    result = write_digest(db_path, digest_dir, period, now, out=out, force=force, max_per_topic=max_per_topic,
                          ruleset=topic_ruleset(topics_file))  # fmt: skip
    if in_prefect_run():  # the digest as a Prefect artifact, for whoever watches the runs in Prefect's UI
        from prefect.artifacts import create_markdown_artifact

        create_markdown_artifact(
            markdown=result.path.read_text("utf-8"),
            key=f"silkwatch-digest-{period}",
            description=f"{result.path.name}: {len(result.article_ids)} articles",
        )
    return result


@task(name="watches-and-alerts")
def alerts_task(config: Config, run_id: str) -> AlertSummary:
    """The new articles against the watches, breaking stories, and every alert not sent yet."""
    from silkwatch.flows.alerts import check_and_alert

    return check_and_alert(config, run_id)


@task(name="send-digest", retries=1, retry_delay_seconds=30)
def send_digest_task(db_path: Path, email: EmailConfig, digest_id: str, force: bool = False) -> SendOutcome:
    from silkwatch.flows.email import send_digest

    return send_digest(db_path, email, digest_id, force=force)


@task(name="retry-failed-sends")
def retry_sends_task(db_path: Path, email: EmailConfig) -> list[SendOutcome]:
    from silkwatch.flows.email import retry_failed_sends

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
    feeds_not_due: int = 0  # checked recently enough for their publishing rate (parsers/polling.py)
    pages_deferred: int = 0
    sends: list[SendOutcome] = field(default_factory=list)  # digest emails retried in this run
    failures: list[str] = field(default_factory=list)  # seeds and pages that could not be used
    feed_failures: list[tuple[str, str]] = field(default_factory=list)  # (feed url, error)
    digest: DigestResult | None = None
    phase: str = "starting"  # what the run was doing last (says where a stopped run stopped)
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
    # A seed whose copy is stored already needs no parsing, cleaning or classifying: the load would
    # find its URL stored and leave it as it is (``SaveResult.already_seen``).
    with open_warehouse(config.warehouse_path) as con:
        stored = known_source_urls(con, [seed_url(s.name) for s in loaded.items])
    fresh = [s for s in loaded.items if seed_url(s.name) not in stored]
    summary.seeds_read += len(stored)
    summary.copies_seen += len(stored)
    summary.already_seen += len(stored)
    if not fresh:
        save_batch_task(config.warehouse_path, [], quote(pending_log), summary.run_id, seen_at)
        cluster_after_load(config, [])  # heals what a killed run left unclustered, as every load does
    for start in range(0, len(fresh), BATCH_SIZE):
        if stopping.stop_requested():
            return
        prepared = prepare_batch_task(quote(fresh[start : start + BATCH_SIZE]), config.topics_file)
        summary.failures.extend(prepared.failures)
        summary.seeds_failed += len(prepared.failures)
        saved = save_batch_task(
            config.warehouse_path, quote(prepared.items), quote(pending_log + prepared.log), summary.run_id, seen_at
        )
        pending_log = []
        _add_saved(summary, saved, len(prepared.items))
        cluster_after_load(config, prepared.items)
        summary.seeds_read += len(prepared.items)  # seed files read and parsed into an article copy


def _add_saved(summary: IngestSummary, saved: SaveResult, copies: int) -> None:
    summary.copies_seen += copies
    summary.articles_new += saved.articles_new
    summary.sources_new += saved.sources_new
    summary.duplicates += saved.duplicates
    summary.already_seen += saved.already_seen


@dataclass
class _Waiting:
    """Feed entries whose pages are still to be fetched, in the order they were read, with the
    failures of their pages in earlier runs."""

    items: list = field(default_factory=list)
    failures: dict = field(default_factory=dict)
    since: float = field(default_factory=time.monotonic)  # when the first of them began to wait

    def add(self, items: list, failures: dict) -> None:
        if not self.items:
            self.since = time.monotonic()
        self.items.extend(items)
        self.failures.update(failures)

    def ready(self, feeds_unanswered: int) -> bool:
        """Whether a page batch starts now: full, or no feed left to wait for, or waited long enough."""
        full = len(self.items) >= PAGE_BATCH_SIZE or not feeds_unanswered
        return bool(self.items) and (full or time.monotonic() - self.since >= PAGE_BATCH_FILL_SECONDS)

    def take(self) -> list:
        batch, self.items = self.items[:PAGE_BATCH_SIZE], self.items[PAGE_BATCH_SIZE:]
        self.since = time.monotonic()
        return batch


def _ingest_feeds(config: Config, summary: IngestSummary, now, follow_polling: bool = False) -> None:
    """Check the feeds, and fetch, extract and save the pages of their new entries, as the feeds
    answer: a slow feed holds up no other feed's pages (``PAGE_BATCH_FILL_SECONDS``). Entries an
    earlier run read and did not finish (``pending_entries``) come first."""
    from silkwatch.flows.feeds import load_feed_list

    feeds = [f for f in load_feed_list(config.feeds_file) if f["enabled"]]
    if not feeds:
        return
    from silkwatch.flows.feeds import FeedChecks, entry_from_json
    from silkwatch.flows.fetch import HostLimiter, policy_from_config
    from silkwatch.flows.pages import PagePool
    from silkwatch.warehouse.feeds import feed_states, page_failure_counts, pending_entries, sync_feeds

    waiting = _Waiting()
    with open_warehouse(config.warehouse_path) as con:
        sync_feeds(con, feeds, now)
        states = feed_states(con)
        configured = {f["url"]: f for f in feeds}
        left = [(entry_from_json(e), configured[url]) for url, e in pending_entries(con, now) if url in configured]
        waiting.add(left, page_failure_counts(con, [e.link for e, _ in left if e.link]))
    # A healthy feed waits for its next check (parsers/polling.py) only in scheduled ingests: a run
    # asked for by hand checks it now.
    due = [f for f in feeds if (states[f["url"]]["next_due_at"] or now) <= now
           or not (follow_polling or states[f["url"]]["consecutive_failures"])]  # fmt: skip
    summary.feeds_backing_off = sum(bool(states[f["url"]]["consecutive_failures"]) for f in feeds if f not in due)
    summary.feeds_not_due = len(feeds) - len(due) - summary.feeds_backing_off
    summary.phase = "checking feeds and fetching pages"
    policy = policy_from_config(config.fetch)
    limiter = HostLimiter(policy.per_host_concurrency, policy.per_host_delay)
    news: queue.Queue = queue.Queue()  # each feed's outcome as it comes; each page batch's future when done
    # On Dask the page batches run on the cluster's workers, daemon processes that may not start a
    # process pool of their own: there each worker extracts in-process, and Dask is the parallelism.
    with (
        FeedChecks(due, states, policy, limiter, news),
        PagePool(1 if config.task_runner == "dask" else config.workers) as pool,
    ):

        def fetch_extract(items: list) -> PrefectFuture | LocalFuture:
            pool.start()
            # Dask reads tuples in task arguments as its own task specs, so quote() (a tuple) stays home.
            ship = (lambda value: value) if config.task_runner == "dask" else quote
            topics_file = str(config.topics_file) if config.topics_file else None
            future = fetch_pages_task.submit(
                ship(items), policy, limiter, ship(waiting.failures), now, summary.run_id, pool, topics_file
            )
            future.add_done_callback(news.put)
            return future

        _feeds_to_pages(config, summary, now, len(due), news, waiting, fetch_extract)


def _feeds_to_pages(
    config: Config, summary: IngestSummary, now, unanswered: int, news: queue.Queue, waiting: _Waiting,
    fetch_extract: Callable[[list], PrefectFuture | LocalFuture],
) -> None:  # fmt: skip
    """Record each feed as it answers, and keep one page batch in flight while the one before is saved."""
    from silkwatch.flows.feeds import FeedOutcome

    in_flight: PrefectFuture | LocalFuture | None = None  # the page batch being fetched and extracted
    while (unanswered or waiting.items or in_flight) and not stopping.stop_requested():
        arrived = _news(news)
        if stopping.stop_requested():
            break  # what came meanwhile is not recorded: a check cut short is no failure of its feed
        answered = [o for o in arrived if isinstance(o, FeedOutcome)]
        unanswered -= len(answered)
        if answered:
            _count_feeds(summary, answered)
            waiting.add(*record_feeds_task(config.warehouse_path, quote(answered), summary.run_id, now))
        done = in_flight is not None and any(a is in_flight for a in arrived)
        if done:
            batch: PageBatch = in_flight.result()
            in_flight = None
            if batch.stopped or stopping.stop_requested():
                break  # nothing of it is saved: its entries stay pending
        if in_flight is None and waiting.ready(unanswered):
            in_flight = fetch_extract(waiting.take())  # fetched and extracted while the one done is saved
        if done:
            _save_pages(config, summary, batch, now)
    if in_flight is not None:  # stopping: the batch ends within a read slice
        in_flight.wait()


def _news(news: queue.Queue) -> list:
    """What came since the last look: waits a little for the first, so the loop sees a stop soon."""
    from silkwatch.flows.fetch import READ_SLICE

    try:
        arrived = [news.get(timeout=READ_SLICE)]
    except queue.Empty:
        return []
    while not news.empty():
        arrived.append(news.get_nowait())
    return arrived


def _count_feeds(summary: IngestSummary, outcomes: list[FeedOutcome]) -> None:
    for outcome in outcomes:
        if outcome.ok:
            summary.feeds_ok += 1
        else:
            summary.feeds_failed += 1
            summary.feed_failures.append((outcome.feed["url"], outcome.error or "failed"))


def _save_pages(config: Config, summary: IngestSummary, batch: PageBatch, now) -> None:
    summary.failures.extend(batch.failures)
    summary.pages_deferred += batch.deferred
    saved = save_batch_task(
        config.warehouse_path, quote(batch.rows), quote(batch.log), summary.run_id, now,
        quote(batch.settled), quote(batch.retry_later),
    )  # fmt: skip
    _add_saved(summary, saved, len(batch.rows))
    cluster_after_load(config, batch.rows)


def cluster_after_load(config: Config, rows: list[dict]) -> None:
    """Stories, the step after each load; skipped once a stop is asked (the next run's first load
    clusters what this one left)."""
    if not stopping.stop_requested():
        cluster_task(config.warehouse_path, quote(rows))


@flow(name="silkwatch-run", validate_parameters=False)
def run_flow(
    config: Config, period: str | None = None, write_report: bool = True, include_feeds: bool = True,
    follow_polling: bool = False,
) -> IngestSummary | State | Stopped:  # fmt: skip
    """The main job: ingest seeds and feeds, clean, dedupe, classify, load; then write the digest.
    ``follow_polling``: check only the feeds due (adaptive polling; the scheduled ingest), not every one.

    Stopped (``flows.stopping``), it returns a Cancelled state whose data is the summary (``Stopped``
    when its body is run without Prefect: ``flows.steps.run_local``)."""
    with stopping.stop_on_signals():  # here too: Prefect replaces SIGTERM's handler for a flow run
        outcome = _run(config, period, write_report, include_feeds, follow_polling)
    fault_point("flow-end")  # the flow run's last instant, Prefect's SIGTERM handler back if it has one
    return outcome


def _run(
    config: Config, period: str | None, write_report: bool, include_feeds: bool, follow_polling: bool = False
) -> IngestSummary | State | Stopped:
    run_id = f"{utc_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    started = utc_now()
    summary = IngestSummary(run_id=run_id)
    with open_warehouse(config.warehouse_path) as con:
        start_run(con, run_id, started)
    try:
        summary.phase = "reading the seeds"
        _ingest_seeds(config, summary, started)
        if include_feeds and not stopping.stop_requested():
            _ingest_feeds(config, summary, started, follow_polling)
        if not stopping.stop_requested():
            summary.phase = "checking watches and sending alerts"
            summary.alerts = alerts_task(config, run_id)
        if write_report and not stopping.stop_requested():
            summary.phase = "writing the digest"
            period = period or config.digest_period
            summary.digest = write_digest_task(
                config.warehouse_path, config.digest_dir, period, utc_now(), max_per_topic=config.digest_max_per_topic,
                topics_file=config.topics_file,
            )  # fmt: skip
        if config.email.enabled and not stopping.stop_requested():
            summary.phase = "sending digest emails"
            summary.sends = retry_sends_task(config.warehouse_path, config.email)
    except BaseException as exc:
        with open_warehouse(config.warehouse_path, wait_seconds=10) as con:
            finish_run(con, run_id, utc_now(), status="failed", error=f"{type(exc).__name__}: {exc}")
        raise
    stopped = stopping.stop_requested()
    status = "interrupted" if stopped else summary.status
    alert_failures = summary.alerts.failures if summary.alerts else []
    error = (
        "; ".join(summary.failures + [f"feed {url}: {e}" for url, e in summary.feed_failures] + alert_failures) or None
    )
    if stopped:
        error = f"{stopped_while(summary)}; every batch it saved is kept, the next run does the rest"
    with open_warehouse(config.warehouse_path, wait_seconds=10) as con:
        finish_run(
            con,
            run_id,
            utc_now(),
            status=status,
            seeds_read=summary.seeds_read,
            seeds_failed=summary.seeds_failed,
            feeds_ok=summary.feeds_ok,
            feeds_failed=summary.feeds_failed,
            copies_seen=summary.copies_seen,
            articles_new=summary.articles_new,
            sources_new=summary.sources_new,
            duplicates=summary.duplicates,
            digest_path=str(summary.digest.path) if summary.digest else None,
            error=error,
        )
    if stopped:
        return cancelled(error, summary)
    return summary


def stopped_while(summary: IngestSummary) -> str:
    return f"stopped by {stopping.describe(stopping.stop_signal())} while {summary.phase}"


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
