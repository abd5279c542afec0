"""The fetcher against a real HTTP server on 127.0.0.1 (pytest-httpserver)."""

from __future__ import annotations

import gzip
import itertools
import threading
import time

import pytest
from werkzeug import Response

from silkwatch.flows import stopping
from silkwatch.flows.fetch import (
    USER_AGENT,
    FetchPolicy,
    HostLimiter,
    fetch,
    fetch_as_completed,
    make_client,
    retry_after_seconds,
)
from tests.test_hostile_input import slow_body

LOCAL = {"allow_private_networks": True}  # the test server is on 127.0.0.1
FAST = FetchPolicy(backoff=0.01, per_host_delay=0.0, read_timeout=2.0, total_timeout=5.0, **LOCAL)


@pytest.fixture
def get(httpserver):
    waits: list[float] = []

    def _get(path: str, policy: FetchPolicy = FAST, **kw):
        limiter = HostLimiter(policy.per_host_concurrency, policy.per_host_delay)
        with make_client(policy) as client:
            return fetch(client, httpserver.url_for(path), "feed", policy, limiter, sleep=waits.append, **kw)

    _get.waits = waits
    return _get


def test_ok_with_user_agent_and_validators(httpserver, get):
    httpserver.expect_request("/feed", headers={"User-Agent": USER_AGENT}).respond_with_data(
        "<rss/>", headers={"ETag": '"v1"', "Last-Modified": "Mon, 23 Nov 2026 08:00:00 GMT"},
        content_type="application/rss+xml",
    )  # fmt: skip
    result = get("/feed")
    assert (result.status, result.http_status, result.body) == ("ok", 200, b"<rss/>")
    assert (result.etag, result.last_modified) == ('"v1"', "Mon, 23 Nov 2026 08:00:00 GMT")
    assert result.content_type == "application/rss+xml"


def test_conditional_get_gets_304(httpserver, get):
    httpserver.expect_request("/feed", headers={"If-None-Match": '"v1"'}).respond_with_data("", status=304)
    result = get("/feed", etag='"v1"')
    assert (result.status, result.http_status, result.body) == ("not_modified", 304, b"")


def test_500_then_success_on_retry(httpserver, get):
    httpserver.expect_ordered_request("/feed").respond_with_data("oops", status=500)
    httpserver.expect_ordered_request("/feed").respond_with_data("<rss/>")
    result = get("/feed")
    assert (result.status, result.attempts) == ("ok", 2)
    assert get.waits == [0.01]


def test_429_honours_retry_after(httpserver, get):
    httpserver.expect_ordered_request("/feed").respond_with_data("slow down", status=429, headers={"Retry-After": "7"})
    httpserver.expect_ordered_request("/feed").respond_with_data("<rss/>")
    result = get("/feed")
    assert result.status == "ok"
    assert get.waits == [7.0]


def test_long_retry_after_is_a_failure_for_next_run(httpserver, get):
    httpserver.expect_request("/feed").respond_with_data("busy", status=503, headers={"Retry-After": "86400"})
    result = get("/feed")
    assert result.status == "error" and result.transient
    assert "asked to wait 86400 s" in result.error
    assert get.waits == []


def test_persistent_500_gives_up_after_retries(httpserver, get):
    httpserver.expect_request("/feed").respond_with_data("oops", status=500)
    result = get("/feed")
    assert (result.status, result.http_status, result.attempts, result.error) == ("error", 500, 3, "HTTP 500")


def test_404_is_not_retried(httpserver, get):
    httpserver.expect_request("/gone").respond_with_data("no", status=404)
    result = get("/gone")
    assert (result.status, result.attempts, result.transient) == ("error", 1, False)


def test_timeout(httpserver, get):
    def slow(_request):
        time.sleep(1.0)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    result = get("/slow", FetchPolicy(read_timeout=0.2, retries=2, **LOCAL))
    assert result.status == "error"
    assert "timed out" in result.error
    # silent past the read timeout: not retried in the run (it would cost as much again), but later
    assert (result.attempts, result.transient) == (1, True)


def test_redirect_chain_is_followed(httpserver, get):
    for i in range(3):
        httpserver.expect_request(f"/r{i}").respond_with_data("", status=302, headers={"Location": f"/r{i + 1}"})
    httpserver.expect_request("/r3").respond_with_data("<rss/>")
    result = get("/r0")
    assert result.status == "ok"
    assert result.final_url.endswith("/r3")


def test_redirect_loop_stops(httpserver, get):
    httpserver.expect_request("/loop").respond_with_data("", status=301, headers={"Location": "/loop"})
    result = get("/loop")
    assert result.status == "error"
    assert "more than 5 redirects" in result.error


def test_redirect_to_other_scheme_is_refused(httpserver, get):
    httpserver.expect_request("/ftp").respond_with_data("", status=302, headers={"Location": "ftp://127.0.0.1/x"})
    result = get("/ftp")
    assert result.status == "error"
    assert "not an http(s) URL" in result.error


def test_body_over_the_cap(httpserver, get):
    httpserver.expect_request("/big").respond_with_data(b"x" * 5000)
    result = get("/big", FetchPolicy(max_bytes=1000, **LOCAL))
    assert result.status == "error"
    assert "over the 1000-byte cap" in result.error


def test_gzip_bomb_stops_at_the_cap(httpserver, get):
    bomb = gzip.compress(b"\0" * 20_000_000)
    assert len(bomb) < 30_000
    httpserver.expect_request("/bomb").respond_with_data(bomb, headers={"Content-Encoding": "gzip"})
    result = get("/bomb", FetchPolicy(max_bytes=1_000_000, **LOCAL))
    assert result.status == "error"
    assert "cap (decompressed)" in result.error


def test_gzip_body_is_decoded(httpserver, get):
    httpserver.expect_request("/gz").respond_with_data(gzip.compress(b"<rss/>"), headers={"Content-Encoding": "gzip"})
    assert get("/gz").body == b"<rss/>"


def test_connection_refused_is_recorded(get):
    policy = FetchPolicy(retries=0, **LOCAL)
    with make_client(policy) as client:
        result = fetch(client, "http://127.0.0.1:9/feed", "feed", policy, HostLimiter(1, 0))
    assert result.status == "error" and result.transient
    assert "network error" in result.error


def in_order(results) -> list:
    """fetch_as_completed's results in the order of its urls."""
    return [result for _, result in sorted(results, key=lambda pair: pair[0])]


def test_per_host_politeness(httpserver):
    seen: list[float] = []

    def record(_request):
        seen.append(time.monotonic())
        return Response("ok")

    httpserver.expect_request("/p").respond_with_handler(record)
    policy = FetchPolicy(per_host_concurrency=1, per_host_delay=0.3, max_concurrency=4, **LOCAL)
    results = in_order(fetch_as_completed([(httpserver.url_for("/p"), {})] * 3, "page", policy))
    assert [r.status for r in results] == ["ok"] * 3
    gaps = [b - a for a, b in itertools.pairwise(seen)]
    assert all(gap >= 0.25 for gap in gaps), gaps  # a lower bound only: never a speed assertion


def test_retry_after_parsing():
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: no wait


@pytest.mark.parametrize(
    "url",
    ["/feed", "http://localhost:{port}/feed", "http://[::1]:{port}/feed", "http://169.254.169.254/latest/meta-data/",
     "http://10.0.0.1/feed", "http://0.0.0.0:{port}/feed"],
)  # fmt: skip
def test_private_addresses_are_refused_by_default(httpserver, url):
    httpserver.expect_request("/feed").respond_with_data("<rss/>")
    target = httpserver.url_for(url) if url.startswith("/") else url.format(port=httpserver.port)
    policy = FetchPolicy(retries=0)
    with make_client(policy) as client:
        result = fetch(client, target, "feed", policy, HostLimiter(1, 0))
    assert result.status == "error" and not result.transient
    assert "not a public address" in result.error and "allow_private_networks" in result.error
    assert httpserver.log == []  # refused before connecting: the server saw nothing


def test_a_body_cut_at_the_total_timeout_is_not_retried(httpserver, get):
    httpserver.expect_request("/drip").respond_with_handler(slow_body)  # a byte every 0.1 s for 6 s
    result = get("/drip", FetchPolicy(total_timeout=1.0, read_timeout=2.0, retries=2, **LOCAL))
    assert (result.status, result.attempts, result.transient) == ("error", 1, True)  # tried again next run
    assert result.error == "body still arriving after 1 s; gave up"
    assert len(httpserver.log) == 1


@pytest.fixture
def stop_soon():
    """Asks for a stop ``after`` seconds (from another thread, as a signal handler would); the
    next test starts with none."""
    timers: list[threading.Timer] = []

    def ask(after: float) -> None:
        timers.append(threading.Timer(after, stopping.request_stop))
        timers[-1].start()

    yield ask
    for timer in timers:
        timer.cancel()
    stopping.reset()


def _stopped_within(fetching, seconds: float):
    started = time.monotonic()
    result = fetching()
    assert time.monotonic() - started < seconds
    return result


def test_a_stop_ends_a_fetch_in_flight(httpserver, stop_soon):
    httpserver.expect_request("/drip").respond_with_handler(slow_body)
    policy = FetchPolicy(total_timeout=30.0, read_timeout=10.0, **LOCAL)
    stop_soon(0.5)
    with make_client(policy) as client:
        result = _stopped_within(
            lambda: fetch(client, httpserver.url_for("/drip"), "page", policy, HostLimiter(2, 0)), 2.0
        )
    assert result.status == "stopped" and not result.ok


def test_a_stop_ends_politeness_and_backoff_waits(httpserver, stop_soon):
    httpserver.expect_request("/oops").respond_with_data("oops", status=500)
    policy = FetchPolicy(backoff=30.0, retries=2, **LOCAL)  # the first retry would wait 30 s
    stop_soon(0.5)
    with make_client(policy) as client:
        result = _stopped_within(
            lambda: fetch(client, httpserver.url_for("/oops"), "page", policy, HostLimiter(2, 0)), 2.0
        )
    assert (result.status, result.attempts) == ("stopped", 1)
    stopping.reset()
    httpserver.expect_request("/p").respond_with_data("ok")
    polite = FetchPolicy(per_host_concurrency=1, per_host_delay=30.0, **LOCAL)  # the second request would wait 30 s
    stop_soon(1.0)
    results = _stopped_within(
        lambda: in_order(fetch_as_completed([(httpserver.url_for("/p"), {})] * 2, "page", polite)), 3.0
    )
    assert [r.status for r in results] == ["ok", "stopped"]
