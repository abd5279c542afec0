"""Article pages: fetched by threads, extracted by a pool of processes while the fetches go on.

Fetching is network-bound and stays in threads (``flows.fetch``, with its politeness and caps).
Everything pure per page — extraction, cleaning, classification, entity tagging, the MinHash
signature, the warehouse row (``parsers.pages.page_outcome``) — is CPU-bound, and runs in worker
processes, in chunks of a few pages to amortise pickling, handed over as the pages arrive. The
pool uses ``spawn`` (forking a process that runs Prefect's threads can deadlock) and is started
once per run, when there are pages to extract.

A worker that dies (a page that crashes lxml, the OOM killer) costs only its pages: the pool is
restarted, the chunks in flight are retried one by one, and a page that kills a worker on its own
is recorded as a failed page (its feed's summary is stored instead).

A run asked to stop (``flows.stopping``) kills the workers and returns what was done: workers
ignore SIGINT and SIGTERM themselves (Ctrl-C reaches the whole process group, systemd's stop the
whole cgroup), so that only their run decides when they end, and a worker killed mid-chunk is
never taken for a page that crashed it.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime

from silkwatch.flows import stopping
from silkwatch.flows.feeds import PageBatch
from silkwatch.flows.fetch import READ_SLICE, FetchPolicy, HostLimiter, fetch_as_completed
from silkwatch.parsers.feeds import FeedEntry
from silkwatch.parsers.pages import PageOutcome, page_outcome
from silkwatch.warehouse.faults import fault_point

CHUNK = 8  # pages per hand-over to a worker: large enough to amortise pickling, small enough to keep both busy
CRASHED = "extraction crashed its worker process"

PageJob = tuple  # page_outcome's arguments: (entry, feed, fetch result or None, tries before, now, run id, topics file)


def extract_chunk(jobs: list[PageJob]) -> list[PageOutcome]:
    """The work of one chunk, in a worker process (or in-process when there is no pool)."""
    fault_point("extraction")
    return [page_outcome(*job) for job in jobs]


class _Stopped(Exception):
    """The run stopped while the pool was working: what is not done is left undone."""


PARENT_POLL_SECONDS = 0.5


def _worker_init(parent: int) -> None:
    """Worker initializer. The worker leaves as soon as the run that started it is gone: a run killed
    with SIGKILL runs no clean-up, and a worker blocked on the pool's queue would otherwise live on
    (holding the run's terminal and pipes open) for ever. The watch ends before the worker's
    interpreter tears down: a thread still running then keeps DuckDB's type objects alive, and its
    bindings print "nanobind: leaked ..." on the run's terminal."""
    import atexit

    fault_point("worker-setup")
    stopping.ignore_stop_signals()  # the run ends its workers (and a dying run's watch below)
    worker_exits = threading.Event()

    def watch() -> None:
        while not worker_exits.wait(PARENT_POLL_SECONDS):
            if os.getppid() != parent:
                os._exit(1)

    watcher = threading.Thread(target=watch, name="exit-with-parent", daemon=True)
    watcher.start()
    atexit.register(lambda: (worker_exits.set(), watcher.join()))


def _warm_up() -> None:
    """Import the extraction stack in a fresh worker while the first pages are being fetched."""
    import trafilatura  # noqa: F401


class PagePool:
    """Extraction workers for one run: ``workers`` processes (0 = one per core); 1 = no pool, in-process."""

    def __init__(self, workers: int = 0, work: Callable[[list[PageJob]], list[PageOutcome]] = extract_chunk):
        self.size = workers or os.cpu_count() or 1
        self._work = work
        self._executor: ProcessPoolExecutor | None = None
        self._processes: list[multiprocessing.Process] = []

    @property
    def in_process(self) -> bool:
        return self.size == 1

    def __enter__(self) -> PagePool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._executor is not None:
            if stopping.stop_requested():
                self._kill()
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def start(self) -> None:
        """Start the workers now, while the first pages are fetched (else on the first chunk)."""
        if not self.in_process:
            self._pool()

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            before = set(multiprocessing.active_children())
            self._executor = self._start_workers()
            self._processes = [p for p in multiprocessing.active_children() if p not in before]
        return self._executor

    def _start_workers(self) -> ProcessPoolExecutor:
        """The pool, its workers started with SIGINT and SIGTERM blocked (``_worker_init`` ignores them)."""
        # Made before the block: its queues start multiprocessing's resource tracker, whose start
        # ends with SIGINT and SIGTERM unblocked in this thread (cpython#110844), not as they were.
        executor = ProcessPoolExecutor(
            self.size,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
            initargs=(os.getpid(),),
        )
        with stopping.stop_signals_blocked():
            for _ in range(self.size):  # each submit starts a worker, up to ``size``
                executor.submit(_warm_up)
            fault_point("workers-starting")
        return executor

    def _restart(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def _kill(self) -> None:
        """End the workers now, whatever they are doing (the run is stopping)."""
        for process in self._processes:
            process.kill()
        self._processes = []

    def _submit(self, jobs: list[PageJob]) -> Future | None:
        try:
            return self._pool().submit(self._work, jobs)
        except BrokenProcessPool:
            return None  # a worker died meanwhile: run this chunk again once the pool is restarted

    def run(self, jobs: Iterable[tuple[int, PageJob]]) -> dict[int, PageOutcome]:
        """Outcome of each job, by its key; ``jobs`` may be a generator fed by fetches in flight:
        each chunk goes to the workers as soon as it is full. When the run stops meanwhile, the
        outcomes of the jobs done so far (the workers are killed)."""
        outcomes: dict[int, PageOutcome] = {}
        if self.in_process:
            for chunk in _chunks(jobs):
                if stopping.stop_requested():
                    break
                outcomes.update(self._run_here(chunk))
            return outcomes
        submitted = [(chunk, self._submit([job for _, job in chunk])) for chunk in _chunks(jobs)]
        try:
            for chunk, future in submitted:
                outcomes.update(self._gather(chunk, future))
        except _Stopped:
            self._kill()
        return outcomes

    def _run_here(self, chunk: list[tuple[int, PageJob]]) -> list[tuple[int, PageOutcome]]:
        return list(zip((k for k, _ in chunk), self._work([job for _, job in chunk]), strict=True))

    def _gather(self, chunk: list[tuple[int, PageJob]], future: Future | None) -> list[tuple[int, PageOutcome]]:
        if future is not None:
            try:
                return list(zip((k for k, _ in chunk), _result(future), strict=True))
            except BrokenProcessPool:
                if stopping.stop_requested():  # killed by the stop, or by a signal sent to every process
                    raise _Stopped from None
                self._restart()
        # A worker died while this chunk was in flight (maybe not because of it): retry it alone,
        # then page by page, until the page that kills a worker by itself is found.
        retried = self._alone(chunk)
        if retried is not None:
            return retried
        if len(chunk) > 1:
            return [pair for item in chunk for pair in self._gather([item], None)]
        key, job = chunk[0]
        return [(key, page_outcome(*job, failure=CRASHED))]

    def _alone(self, chunk: list[tuple[int, PageJob]]) -> list[tuple[int, PageOutcome]] | None:
        """Run one chunk with nothing else in flight; None when it killed its worker."""
        jobs = [job for _, job in chunk]
        try:
            future = self._pool().submit(self._work, jobs)
        except BrokenProcessPool:  # broken by an earlier chunk: this one never ran
            self._restart()
            future = self._pool().submit(self._work, jobs)
        try:
            return list(zip((k for k, _ in chunk), _result(future), strict=True))
        except BrokenProcessPool:
            if stopping.stop_requested():
                raise _Stopped from None
            self._restart()
            return None


def _result(future: Future) -> list[PageOutcome]:
    """A chunk's outcomes, once its worker is done; ``_Stopped`` as soon as the run stops."""
    while True:
        try:
            return future.result(timeout=READ_SLICE)
        except TimeoutError:
            if stopping.stop_requested():
                raise _Stopped from None


def _chunks(jobs: Iterable[tuple[int, PageJob]]) -> Iterator[list[tuple[int, PageJob]]]:
    chunk: list[tuple[int, PageJob]] = []
    for item in jobs:
        chunk.append(item)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def fetch_pages(
    items: list[tuple[FeedEntry, dict]],
    policy: FetchPolicy,
    limiter: HostLimiter,
    failures_before: dict[str, int],
    now: datetime,
    run_id: str | None = None,
    pool: PagePool | None = None,
    topics_file: str | None = None,
) -> PageBatch:
    """Fetch each entry's page once and turn it into a warehouse row (``parsers.pages.page_outcome``),
    extracting in ``pool`` while later pages are still being fetched. Rows and log rows come out in
    the order of ``items``, whatever order the pages arrived in."""

    def arriving() -> Iterator[tuple[int, PageJob]]:
        linked = [i for i, (entry, _) in enumerate(items) if entry.link]
        for i, (entry, feed) in enumerate(items):
            if not entry.link:
                yield i, (entry, feed, None, 0, now, run_id, topics_file)
        urls = ((items[i][0].link, {}) for i in linked)
        for position, result in fetch_as_completed(urls, "page", policy, limiter):
            if result.status == "stopped":
                continue  # left pending, for the next run
            entry, feed = items[linked[position]]
            tries = failures_before.get(entry.link, 0)
            yield linked[position], (entry, feed, result, tries, now, run_id, topics_file)

    outcomes = (pool or PagePool(1)).run(arriving())
    batch = PageBatch()
    for i, (entry, _) in enumerate(items):
        outcome = outcomes.get(i)
        if outcome is None:  # the run stopped first
            batch.stopped = True
            continue
        if outcome.log is not None:
            batch.log.append(outcome.log)
        if outcome.failure:
            batch.failures.append(outcome.failure)
        if outcome.deferred:
            batch.deferred += 1
            batch.retry_later[entry.key] = failures_before.get(entry.link, 0) + 1
        else:
            batch.settled.append(entry.key)
        if outcome.row is not None:
            batch.rows.append(outcome.row)
    batch.stopped = batch.stopped or stopping.stop_requested()
    return batch
