"""The HTTP fetcher: polite, bounded, and honest about every attempt.

- a descriptive User-Agent; connect/read timeouts and a wall-clock limit per request (slow bodies);
- a body-size cap applied to the decoded bytes (so a gzip bomb stops at the cap too);
- redirects followed by hand up to a limit, http/https only;
- only public addresses, checked where they are dialled (``flows.addresses``: no DNS rebinding);
- conditional GET (ETag / Last-Modified) so an unchanged feed costs a 304;
- retries with backoff on connection errors and 5xx, honouring Retry-After on 429/503; a response
  cut off at the total timeout, or silent past the read timeout, is not retried in the same run
  (a dripping or silent server would cost that timeout again per attempt): it is a transient
  failure, retried by a later run;
- bounded concurrency overall and per host, with a minimum delay between requests to one host;
- a run asked to stop (``flows.stopping``) stops fetching within a fraction of a second: reads
  wait in slices (``BoundedStream``), delays and backoffs wait on the stop, and a fetch stopped
  half-way is ``stopped``, not a failure: it is not logged, and its feed or page is left for the
  next run.

Every attempt becomes a ``FetchResult`` that the caller writes to ``fetch_log``.
"""

from __future__ import annotations

import email.utils
import math
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from silkwatch.flows import stopping
from silkwatch.flows.addresses import AddressRefused, PinnedTransport, Resolver, system_resolver
from silkwatch.flows.config import FetchSection
from silkwatch.warehouse.clock import utc_now
from silkwatch.warehouse.load import fetch_log_row

USER_AGENT = "silkwatch/0.1 (news monitoring of China-Central Asia affairs; +https://pypi.org/project/silkwatch/)"
RETRY_STATUSES = {500, 502, 503, 504, 429}
READ_SLICE = 0.25  # seconds a read waits before it looks at the stop flag and the request's deadline again


@dataclass(frozen=True)
class FetchPolicy:
    user_agent: str = USER_AGENT
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0  # wall clock for one request, body included
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    retries: int = 2  # further attempts after the first, for transient failures
    backoff: float = 1.0  # seconds, doubled on each retry
    max_retry_after: float = 120.0  # a longer Retry-After is recorded as a failure, not waited for
    max_concurrency: int = 8
    per_host_concurrency: int = 2
    per_host_delay: float = 0.5  # seconds between the starts of two requests to one host
    allow_private_networks: bool = False  # loopback, private, link-local... refused unless True
    allowed_private_addresses: tuple[str, ...] = ()  # addresses or networks allowed even so (a local feed server)
    resolver: Resolver = field(default=system_resolver, repr=False, compare=False)  # host, port -> addresses


@dataclass
class FetchResult:
    url: str  # as requested
    kind: str  # feed or page
    status: str  # ok, not_modified, error; stopped: the run stopped first (not a failure, not logged)
    final_url: str | None = None
    http_status: int | None = None
    content_type: str | None = None
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    ms: float = 0.0
    attempts: int = 0
    error: str | None = None
    transient: bool = False  # the failure may go away (timeout, 5xx, 429): worth another try later
    fetched_at: datetime = field(default_factory=utc_now)

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "not_modified")

    def log_row(self, run_id: str | None = None) -> dict:
        return fetch_log_row(self.url, self.kind, self.status, fetched_at=self.fetched_at, run_id=run_id,
                             http_status=self.http_status, nbytes=len(self.body), ms=round(self.ms, 1),
                             error=self.error)  # fmt: skip


class FetchFailed(Exception):
    """One attempt failed; ``transient`` says whether another attempt may succeed, ``retry_now``
    whether it may be in this run (not after a whole total timeout spent on it)."""

    def __init__(
        self, message: str, *, transient: bool, http_status: int | None = None, wait: float = 0.0,
        retry_now: bool = True,
    ):  # fmt: skip
        super().__init__(message)
        self.transient = transient
        self.http_status = http_status
        self.wait = wait
        self.retry_now = retry_now


class FetchStopped(Exception):
    """The run is stopping (``flows.stopping``): this fetch ends without an answer."""


class OutOfTime(Exception):
    """The request's total time is up while the server is still sending."""


_request_deadline = threading.local()  # .at: when the request this thread is making must be over (monotonic)


class BoundedStream(httpcore.NetworkStream):
    """A connection whose reads wait in slices of ``READ_SLICE``: they end as soon as the run stops,
    and when the request's total time is up, though each byte arrives within the read timeout
    (a server dripping its headers or body a byte every few seconds). Everything else is the
    wrapped stream's."""

    def __init__(self, stream: httpcore.NetworkStream):
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        silence_limit = time.monotonic() + timeout if timeout is not None else math.inf
        while True:
            if stopping.stop_requested():
                raise FetchStopped
            now, deadline = time.monotonic(), getattr(_request_deadline, "at", math.inf)
            if now >= deadline:
                raise OutOfTime
            if now >= silence_limit:
                raise httpcore.ReadTimeout(f"no byte for {timeout:g} s")
            try:
                return self._stream.read(max_bytes, min(silence_limit, deadline, now + READ_SLICE) - now)
            except httpcore.ReadTimeout:
                continue  # a slice without data: look at the stop flag and the clocks again

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname: str | None = None, timeout: float | None = None):
        return BoundedStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class HostLimiter:
    """Per-host politeness shared by all threads: at most N requests at once, and a delay between starts.

    Picklable, for task runners that ship tasks to other processes (Dask): a limiter unpickled in a
    process is that process's one copy of it, shared by every task there, with fresh locks. So
    politeness holds per process: N worker processes may each send to a host at the allowed rate.
    """

    def __init__(self, per_host: int, delay: float, key: str | None = None):
        self._per_host, self._delay = per_host, delay
        self._key = key or uuid.uuid4().hex
        self._lock = threading.Lock()
        self._slots: dict[str, threading.Semaphore] = {}
        self._next_start: dict[str, float] = {}
        self._host_delays: dict[str, float] = {}  # a host's own delay (robots.txt Crawl-delay), when longer
        with _process_limiters_lock:
            _process_limiters[self._key] = self

    def __reduce__(self):
        return _limiter_in_this_process, (self._key, self._per_host, self._delay)

    def set_delay(self, host: str, seconds: float) -> None:
        """Space the requests to ``host`` ``seconds`` apart (its robots.txt Crawl-delay)."""
        with self._lock:
            self._host_delays[host] = seconds

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        with self._lock:
            sem = self._slots.setdefault(host, threading.Semaphore(self._per_host))
        with sem:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._next_start.get(host, now))
                self._next_start[host] = start + self._host_delays.get(host, self._delay)
            if start > now and stopping.pause(start - now):
                raise FetchStopped
            yield


_process_limiters: weakref.WeakValueDictionary[str, HostLimiter] = weakref.WeakValueDictionary()
_process_limiters_lock = threading.RLock()  # re-entered: HostLimiter() registers itself


def _limiter_in_this_process(key: str, per_host: int, delay: float) -> HostLimiter:
    """The limiter ``key`` of this process, made on first use (how a HostLimiter unpickles)."""
    with _process_limiters_lock:
        limiter = _process_limiters.get(key)
        return limiter if limiter is not None else HostLimiter(per_host, delay, key)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def make_client(policy: FetchPolicy) -> httpx.Client:
    timeout = httpx.Timeout(policy.read_timeout, connect=policy.connect_timeout)
    limits = httpx.Limits(max_connections=policy.max_concurrency, max_keepalive_connections=policy.max_concurrency)
    return httpx.Client(
        headers={"User-Agent": policy.user_agent, "Accept-Encoding": "gzip, deflate, br"},
        timeout=timeout,
        transport=PinnedTransport(
            policy.resolver, policy.allow_private_networks, policy.allowed_private_addresses, limits, BoundedStream
        ),
        follow_redirects=False,
        trust_env=False,  # no proxies from the environment: fetches go where the URL says
    )


def _read_capped(response: httpx.Response, policy: FetchPolicy) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > policy.max_bytes:
        raise FetchFailed(f"body of {int(declared)} bytes is over the {policy.max_bytes}-byte cap", transient=False)
    chunks, size = [], 0
    try:
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > policy.max_bytes:
                raise FetchFailed(f"body over the {policy.max_bytes}-byte cap (decompressed)", transient=False)
            chunks.append(chunk)
    except OutOfTime:
        raise FetchFailed(
            f"body still arriving after {policy.total_timeout:g} s; gave up", transient=True, retry_now=False
        ) from None
    return b"".join(chunks)


@contextmanager
def _deadline(at: float) -> Iterator[None]:
    """The reads of this thread's request end at ``at`` (``BoundedStream``)."""
    _request_deadline.at = at
    try:
        yield
    finally:
        _request_deadline.at = math.inf


def _attempt(client, url, kind, headers, policy, limiter) -> FetchResult:
    """One attempt, redirects included, within ``policy.total_timeout`` from its first request
    (time spent waiting for a turn at the host does not count)."""
    try:
        return _follow(client, url, kind, headers, policy, limiter)
    except OutOfTime:
        raise FetchFailed(
            f"no complete answer after {policy.total_timeout:g} s; gave up", transient=True, retry_now=False
        ) from None


def _follow(client, url, kind, headers, policy, limiter) -> FetchResult:
    deadline = None
    current = url
    for _ in range(policy.max_redirects + 1):
        parts = urlsplit(current)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchFailed(f"refused: {current!r} is not an http(s) URL", transient=False)
        # The address is checked by the transport as it dials (PinnedTransport), redirects included.
        with limiter.slot(parts.hostname):
            deadline = deadline or time.monotonic() + policy.total_timeout
            with _deadline(deadline), client.stream("GET", current, headers=headers) as response:
                result = _answer(response, url, current, kind, policy)
        if result is not None:
            return result
        current = urljoin(current, response.headers["location"])
    raise FetchFailed(f"more than {policy.max_redirects} redirects", transient=False)


def _answer(response: httpx.Response, url: str, current: str, kind: str, policy: FetchPolicy) -> FetchResult | None:
    """What one response means: a result, a failure raised, or None for a redirect to follow."""
    if response.is_redirect and "location" in response.headers:
        return None
    status = response.status_code
    if status == 304:
        return FetchResult(url, kind, "not_modified", final_url=current, http_status=304)
    if status in RETRY_STATUSES:
        wait = retry_after_seconds(response.headers.get("retry-after")) or 0.0
        raise FetchFailed(f"HTTP {status}", transient=True, http_status=status, wait=wait)
    if status >= 400:
        raise FetchFailed(f"HTTP {status}", transient=False, http_status=status)
    body = _read_capped(response, policy)
    return FetchResult(
        url,
        kind,
        "ok",
        final_url=current,
        http_status=status,
        content_type=response.headers.get("content-type"),
        body=body,
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
    )


def fetch(
    client: httpx.Client,
    url: str,
    kind: str,
    policy: FetchPolicy,
    limiter: HostLimiter,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    sleep: Callable[[float], object] = stopping.pause,
) -> FetchResult:
    """Fetch ``url`` with retries; never raises for network trouble: the result says what happened
    (``stopped`` when the run stopped before an answer came)."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    started = time.perf_counter()
    fetched_at = utc_now()
    attempts = 0
    while True:
        if stopping.stop_requested():
            result = FetchResult(url, kind, "stopped", error="the run stopped before an answer")
            break
        attempts += 1
        try:
            result = _attempt(client, url, kind, headers, policy, limiter)
            break
        except FetchStopped:
            continue  # the loop's first line records it
        except (FetchFailed, AddressRefused, httpx.HTTPError, httpx.InvalidURL) as exc:
            failure = _as_failure(exc)
            retry = failure.transient and failure.retry_now and attempts <= policy.retries
            wait = failure.wait or policy.backoff * 2 ** (attempts - 1)
            if retry and wait > policy.max_retry_after:
                failure = FetchFailed(
                    f"{failure} asked to wait {wait:g} s (over {policy.max_retry_after:g} s); retried next run",
                    transient=True,
                    http_status=failure.http_status,
                )
                retry = False
            if not retry:
                result = FetchResult(
                    url, kind, "error", http_status=failure.http_status, error=str(failure), transient=failure.transient
                )
                break
            sleep(wait)
    result.attempts = attempts
    result.fetched_at = fetched_at
    result.ms = (time.perf_counter() - started) * 1000
    return result


def _as_failure(exc: Exception) -> FetchFailed:
    if isinstance(exc, FetchFailed):
        return exc
    if isinstance(exc, AddressRefused):
        return FetchFailed(str(exc), transient=False)
    if isinstance(exc, httpx.InvalidURL):  # httpx reads a redirect's Location even when not following it
        return FetchFailed(f"refused: invalid URL in the request or its redirect ({exc})", transient=False)
    if isinstance(exc, httpx.TimeoutException):  # silent past the read timeout: a retry would cost as much again
        return FetchFailed(
            f"timed out ({type(exc).__name__})", transient=True, retry_now=not isinstance(exc, httpx.ReadTimeout)
        )
    if isinstance(exc, httpx.TransportError):
        return FetchFailed(f"network error: {exc or type(exc).__name__}", transient=True)
    return FetchFailed(f"{type(exc).__name__}: {exc}", transient=False)


def fetch_as_completed(
    urls: Iterable[tuple[str, dict]],
    kind: str,
    policy: FetchPolicy,
    limiter: HostLimiter | None = None,
) -> Iterator[tuple[int, FetchResult]]:
    """Fetch several URLs concurrently (bounded; ``urls`` pairs each URL with fetch() keyword args),
    yielding (position in ``urls``, result) as each fetch finishes, so the caller can work on the
    first pages while the others are still arriving."""
    limiter = limiter or HostLimiter(policy.per_host_concurrency, policy.per_host_delay)
    items = list(urls)
    pool = ThreadPoolExecutor(max_workers=policy.max_concurrency)
    try:
        with make_client(policy) as client:
            futures = {
                pool.submit(fetch, client, url, kind, policy, limiter, **kw): i for i, (url, kw) in enumerate(items)
            }
            pending = set(futures)
            while pending and not stopping.stop_requested():
                done, pending = wait(pending, timeout=READ_SLICE, return_when=FIRST_COMPLETED)
                for future in done:
                    yield futures[future], future.result()
            for future in pending:  # the run stopped: what has not answered yet is left for the next run
                i = futures[future]
                yield i, FetchResult(items[i][0], kind, "stopped", error="the run stopped before an answer")
    finally:
        # Stopping, the fetches still running end within a read slice (a connect, within its
        # timeout): not waited for.
        pool.shutdown(wait=not stopping.stop_requested(), cancel_futures=True)


def policy_from_config(knobs: FetchSection) -> FetchPolicy:
    """A FetchPolicy from the config's [fetch] section (an empty user_agent keeps silkwatch's own)."""
    return FetchPolicy(**{key: value for key, value in knobs.model_dump().items() if value != ""})
