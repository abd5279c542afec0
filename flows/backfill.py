"""Backfill: history from sitemaps (indexes, Google News sitemaps) and WARC files, through the
pipeline's own page path: pages are fetched and extracted in batches by ``fetch_pages_task`` (WARC
records, already fetched, are extracted by the same ``PagePool``), and saved by ``save_batch_task``.
Those two calls (``_fetch_extract``, ``_extract_archived``, ``_save``) are the whole seam.

Polite: robots.txt is read for every host (sitemaps and pages), a disallowed URL is recorded in
``fetch_log`` as ``skipped`` with the reason, and a host's Crawl-delay spaces its requests.
Bounded: at most ``MAX_SITEMAPS`` sitemap files, 50,000 URLs a file, ``MAX_LISTED`` pages (or
--limit); a sitemap listed twice (an index that lists itself) is read once.
Resumable: the work list is in the warehouse (``warehouse.sources``); a backfill stopped (Ctrl-C,
SIGTERM) saves the pages fetched before the stop, and run again goes on with the others; one killed
outright (SIGKILL, power cut) fetches again only the pages of the batch that had not committed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from silkwatch.flows import stopping
from silkwatch.flows.config import Config
from silkwatch.flows.feeds import PageBatch
from silkwatch.flows.fetch import FetchResult, HostLimiter, fetch, make_client, policy_from_config
from silkwatch.flows.pages import PagePool
from silkwatch.flows.pipeline import PAGE_BATCH_SIZE, cluster_after_load, fetch_pages_task, save_batch_task
from silkwatch.flows.robots import RobotsCache, skipped_row
from silkwatch.flows.steps import flow, quote, task
from silkwatch.parsers.feeds import FeedEntry
from silkwatch.parsers.sitemaps import MAX_SITEMAP_BYTES, SitemapError, parse_sitemap
from silkwatch.parsers.warc import ArchivedPage, WarcError, archived_pages, starts_as_warc
from silkwatch.warehouse.clock import utc_now
from silkwatch.warehouse.db import open_warehouse
from silkwatch.warehouse.load import finish_run, save_fetch_log, start_run
from silkwatch.warehouse.sources import (
    Backfill,
    finish_backfill,
    list_urls,
    listed_count,
    pending_urls,
    save_listing,
    start_backfill,
)

MAX_SITEMAPS = 1000  # sitemap files read by one backfill
MAX_LISTED = 1_000_000  # pages listed by one backfill without --limit

Progress = Callable[[int, int], None]  # (pages done, pages listed), called as batches are saved


class BackfillInputError(ValueError):
    """A backfill's input cannot be used at all (a WARC file that is not one); the message names it."""


@dataclass
class BackfillSummary:
    backfill_id: str
    source: str
    resumed: bool = False
    sitemaps_read: int = 0
    listed: int = 0  # pages on the work list
    done_before: int = 0  # done by earlier runs of this backfill (a resumed one)
    pages: int = 0  # pages fetched (or read from the WARC files) and extracted by this run
    skipped: int = 0  # refused by robots.txt
    articles_new: int = 0
    duplicates: int = 0
    already_seen: int = 0
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0  # fetching, extracting and saving pages
    stopped: bool = False

    @property
    def rate(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


@task(name="read-sitemap")
def read_sitemap_task(url: str, backfill: Backfill, robots: RobotsCache, config: Config, run_id: str) -> list[str]:
    """Fetch and parse one sitemap, list what it lists, and record it; returns its failures."""
    now = utc_now()
    refusal = robots.refuses(url)
    if refusal:
        with open_warehouse(config.warehouse_path) as con:
            save_listing(con, backfill.backfill_id, skipped_row(url, "sitemap", refusal, run_id), [], now)
        return [f"sitemap {url}: not read: {refusal}"]
    policy = replace(policy_from_config(config.fetch), max_bytes=MAX_SITEMAP_BYTES)
    with make_client(policy) as client:
        result = fetch(client, url, "sitemap", policy, robots.limiter)
    if result.status == "stopped":
        return []
    failures, listed = [], []
    if result.status == "ok":
        try:
            sitemap = parse_sitemap(result.body)
        except SitemapError as exc:
            result.status, result.error = "error", f"not a usable sitemap: {exc}"
        else:
            listed = _listing(sitemap, backfill, config, url)
            notes = [f"{sitemap.skipped} entries without an absolute http(s) <loc> ignored"] if sitemap.skipped else []
            notes += ["over 50,000 entries: the rest were not read"] if sitemap.truncated else []
            notes += [sitemap.damage] if sitemap.damage else []
            failures += [f"sitemap {url}: {note}" for note in notes]
    if result.status == "error":
        failures.append(f"sitemap {url}: {result.error}")
    with open_warehouse(config.warehouse_path) as con:
        if sitemap_pages := [x for x in listed if x["kind"] == "page"]:
            room = _room(con, backfill)
            if len(sitemap_pages) > room:
                failures.append(f"sitemap {url}: {len(sitemap_pages) - room} pages over the limit not listed")
                listed = [x for x in listed if x["kind"] == "sitemap"] + sitemap_pages[:room]
        result.body = b""
        save_listing(con, backfill.backfill_id, result.log_row(run_id), listed, now)
    return failures


def _room(con, backfill: Backfill) -> int:
    return max(0, (backfill.max_pages or MAX_LISTED) - listed_count(con, backfill.backfill_id, "page"))


def _listing(sitemap, backfill: Backfill, config: Config, url: str) -> list[dict]:
    """What a sitemap adds to the work list: child sitemaps and pages, minus those before --since
    (an undated page is kept: nothing says it is old)."""
    kind = "sitemap" if sitemap.kind == "index" else "page"
    since = backfill.since
    return [
        {"url": x.url, "kind": kind, "lastmod": x.lastmod, "title": x.title, "language": x.language,
         "publication": x.publication}
        for x in sitemap.urls
        if since is None or x.lastmod is None or x.lastmod >= since
    ]  # fmt: skip


def _entry(row: dict) -> FeedEntry:
    """A listed page as the pipeline's unit of work (a feed entry with no summary)."""
    lastmod = row.get("lastmod")
    return FeedEntry(
        key=row["url"], link=row["url"], guid=None, title=row.get("title") or "", summary="", author=None,
        published=lastmod, date_found=f"sitemap date '{lastmod:%Y-%m-%dT%H:%M:%S}'" if lastmod else None,
    )  # fmt: skip


def _source_feed(backfill: Backfill, row: dict) -> dict:
    """The "feed" a backfilled page came from: the sitemap or WARC files (``article_sources.feed_url``)."""
    return {"url": backfill.source, "name": row.get("publication"), "language": row.get("language"), "timezone": None}


@task(name="extract-archived-pages")
def extract_archived_task(
    items: list[tuple[FeedEntry, dict, ArchivedPage]], now: datetime, run_id: str, pool: PagePool,
    topics_file: str | None,
) -> PageBatch:  # fmt: skip
    """Extract pages read from WARC files, as ``fetch_pages`` extracts fetched ones."""
    jobs = (
        (i, (entry, feed, _as_fetched(page), 0, now, run_id, topics_file))
        for i, (entry, feed, page) in enumerate(items)
    )
    outcomes = pool.run(jobs)
    batch = PageBatch(stopped=len(outcomes) < len(items))
    for i in sorted(outcomes):
        outcome = outcomes[i]
        batch.log += [outcome.log] if outcome.log else []
        batch.failures += [outcome.failure] if outcome.failure else []
        batch.rows += [outcome.row] if outcome.row else []
    return batch


def _as_fetched(page: ArchivedPage) -> FetchResult:
    return FetchResult(page.url, "page", "ok", final_url=page.url, http_status=page.http_status,
                       content_type=page.content_type, body=page.body)  # fmt: skip


@flow(name="silkwatch-backfill", validate_parameters=False)
def backfill_flow(
    config: Config, sitemap: str | None = None, warcs: list[Path] | None = None, since: datetime | None = None,
    limit: int | None = None, progress: Progress | None = None,
) -> BackfillSummary:  # fmt: skip
    """Backfill from a sitemap (``sitemap``) or WARC files (``warcs``), resuming an unfinished one."""
    source = sitemap or "warc:" + ",".join(str(p.resolve()) for p in warcs or [])
    now = utc_now()
    run_id = f"{now:%Y%m%dT%H%M%S}-backfill-{uuid.uuid4().hex[:6]}"
    with open_warehouse(config.warehouse_path) as con:
        backfill = start_backfill(con, source, since, limit, now)
        start_run(con, run_id, now)
    summary = BackfillSummary(backfill.backfill_id, source, backfill.resumed)
    policy = policy_from_config(config.fetch)
    robots = RobotsCache(policy, HostLimiter(policy.per_host_concurrency, policy.per_host_delay))
    try:
        if sitemap:
            _read_sitemaps(config, backfill, robots, summary, run_id, now)
            _sitemap_pages(config, backfill, robots, summary, run_id, progress or _silent)
        else:
            _warc_pages(config, backfill, warcs or [], summary, run_id, progress or _silent)
    finally:
        summary.stopped = stopping.stop_requested()
        with open_warehouse(config.warehouse_path, wait_seconds=10) as con:
            save_fetch_log(con, [{**row, "run_id": run_id} for row in robots.log])
            if not summary.stopped:
                finish_backfill(con, backfill.backfill_id, utc_now())
            status = "interrupted" if summary.stopped else "partial" if summary.failures else "ok"
            finish_run(con, run_id, utc_now(), status=status, articles_new=summary.articles_new,
                       duplicates=summary.duplicates, copies_seen=summary.pages,
                       error="; ".join(summary.failures)[:10000] or None)  # fmt: skip
    return summary


def _silent(done: int, total: int) -> None:
    return None


def _read_sitemaps(config, backfill, robots, summary, run_id, now) -> None:
    with open_warehouse(config.warehouse_path) as con:
        if not backfill.resumed:
            list_urls(con, backfill.backfill_id, [{"url": backfill.source, "kind": "sitemap"}], now)
    while not stopping.stop_requested():
        with open_warehouse(config.warehouse_path) as con:
            waiting = pending_urls(con, backfill.backfill_id, "sitemap")
        if not waiting:
            return
        for row in waiting:
            if summary.sitemaps_read >= MAX_SITEMAPS:
                summary.failures.append(f"more than {MAX_SITEMAPS} sitemaps: the rest were not read")
                return
            if stopping.stop_requested():
                return
            summary.failures += read_sitemap_task(row["url"], backfill, robots, config, run_id)
            summary.sitemaps_read += 1


def _sitemap_pages(config, backfill, robots, summary, run_id, progress: Progress) -> None:
    with open_warehouse(config.warehouse_path) as con:
        waiting = pending_urls(con, backfill.backfill_id, "page")
        summary.listed = listed_count(con, backfill.backfill_id, "page")
    summary.done_before = summary.listed - len(waiting)
    allowed, skipped = [], []
    for row in waiting:
        refusal = robots.refuses(row["url"])
        if refusal:
            skipped.append(skipped_row(row["url"], "page", refusal, run_id))
        else:
            allowed.append(row)
    if skipped:
        save_batch_task(config.warehouse_path, [], quote(skipped), run_id, utc_now())
        summary.skipped = len(skipped)
    done = summary.done_before + len(skipped)
    progress(done, summary.listed)
    items = [(_entry(row), _source_feed(backfill, row)) for row in allowed]
    batches = [items[i : i + PAGE_BATCH_SIZE] for i in range(0, len(items), PAGE_BATCH_SIZE)]
    policy = robots.policy
    topics_file = str(config.topics_file) if config.topics_file else None
    started = time.perf_counter()
    with PagePool(1 if config.task_runner == "dask" else config.workers) as pool:

        def fetch_extract(batch: list):
            pool.start()
            return fetch_pages_task.submit(quote(batch), policy, robots.limiter, {}, utc_now(), run_id, pool,
                                           topics_file)  # fmt: skip

        _pipelined(config, batches, fetch_extract, summary, run_id, progress, done, started)


def _pipelined(config, batches, fetch_extract, summary, run_id, progress, done, started) -> None:
    """One batch fetched and extracted while the one before is saved."""
    in_flight = fetch_extract(batches[0]) if batches else None
    for k in range(len(batches)):
        batch: PageBatch = in_flight.result()
        in_flight = None
        if batch.stopped or stopping.stop_requested():
            _save(config, batch, summary, run_id)  # the pages fetched before the stop: not fetched again
            return
        if k + 1 < len(batches):
            in_flight = fetch_extract(batches[k + 1])
        _save(config, batch, summary, run_id)
        done += len(batches[k])
        summary.seconds = time.perf_counter() - started
        progress(done, summary.listed)


def _save(config: Config, batch: PageBatch, summary: BackfillSummary, run_id: str) -> None:
    saved = save_batch_task(config.warehouse_path, quote(batch.rows), quote(batch.log), run_id, utc_now())
    summary.pages += len(batch.log)
    summary.failures += batch.failures
    summary.articles_new += saved.articles_new
    summary.duplicates += saved.duplicates
    summary.already_seen += saved.already_seen
    cluster_after_load(config, batch.rows)


def _read_warc(path: Path, with_bodies: bool, failures: list[str]) -> Iterator[ArchivedPage]:
    """The HTML pages of one WARC file; damage part-way ends the file (the pages before it are
    kept) and is reported in ``failures``. A file that is no WARC at all is a ``BackfillInputError``."""
    try:
        with path.open("rb") as stream:
            yield from archived_pages(stream, with_bodies)
    except OSError as exc:
        raise BackfillInputError(f"{path}: cannot read: {exc.strerror}") from None
    except WarcError as exc:
        if str(exc).startswith("not a WARC file"):
            raise BackfillInputError(f"{path}: {exc}") from None
        if with_bodies:  # reported once, on the pass that reads the pages
            failures.append(f"{path}: {exc}")


def check_warc_files(paths: list[Path]) -> None:
    """``BackfillInputError`` naming the first of ``paths`` that is missing, unreadable or no WARC file."""
    for path in paths:
        try:
            with path.open("rb") as stream:
                if not starts_as_warc(stream):
                    raise BackfillInputError(
                        f"{path}: not a WARC file (it does not begin with a WARC/1.x record; ARC files are not read)"
                    )
        except OSError as exc:
            raise BackfillInputError(f"{path}: cannot read: {exc.strerror}") from None


def _warc_pages(config, backfill, warcs: list[Path], summary, run_id, progress: Progress) -> None:
    """List the HTML pages of the WARC files, then extract and save those not done, in batches."""
    now = utc_now()
    with open_warehouse(config.warehouse_path) as con:
        if not backfill.resumed:
            for path in warcs:
                room = _room(con, backfill)
                listed = []
                for page in _read_warc(path, False, summary.failures):
                    if len(listed) >= room:
                        break
                    listed.append({"url": page.url, "kind": "page", "publication": None})
                list_urls(con, backfill.backfill_id, listed, now)
        waiting = {row["url"]: row for row in pending_urls(con, backfill.backfill_id, "page")}
        summary.listed = listed_count(con, backfill.backfill_id, "page")
    summary.done_before = summary.listed - len(waiting)
    done = summary.done_before
    progress(done, summary.listed)
    topics_file = str(config.topics_file) if config.topics_file else None
    started = time.perf_counter()
    with PagePool(1 if config.task_runner == "dask" else config.workers) as pool:
        for batch_items in _archived_batches(warcs, waiting, backfill, summary.failures):
            if stopping.stop_requested():
                return
            pool.start()
            batch = extract_archived_task(quote(batch_items), utc_now(), run_id, pool, topics_file)
            _save(config, batch, summary, run_id)  # stopped, what was extracted before the stop
            if batch.stopped or stopping.stop_requested():
                return
            done += len(batch_items)
            summary.seconds = time.perf_counter() - started
            progress(done, summary.listed)


def _archived_batches(warcs: list[Path], waiting: dict, backfill: Backfill, failures: list[str]) -> Iterator[list]:
    batch = []
    for path in warcs:
        for page in _read_warc(path, True, failures):
            row = waiting.pop(page.url, None)
            if row is None:  # done already, a second copy in the files, or over --limit
                continue
            batch.append((_entry(row), _source_feed(backfill, row), page))
            if len(batch) == PAGE_BATCH_SIZE:
                yield batch
                batch = []
    if batch:
        yield batch
