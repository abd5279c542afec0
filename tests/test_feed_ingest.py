"""Whole runs against feeds and pages served from 127.0.0.1, under Prefect's harness."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from werkzeug import Request, Response

from silkwatch.flows import stopping
from silkwatch.flows.config import load_config
from silkwatch.flows.pipeline import run_flow
from silkwatch.warehouse.db import check_integrity, open_warehouse
from tests.conftest import FIXTURES

PAGES = sorted((FIXTURES / "pages").glob("*.html"))


def rss(items: list[dict]) -> bytes:
    body = "".join(
        "<item>"
        + (f"<link>{escape(i['link'])}</link>" if i.get("link") else "")
        + f"<title>{escape(i['title'])}</title><description>{escape(i['summary'])}</description>"
        + f"<pubDate>{format_datetime(i['date'])}</pubDate></item>"
        for i in items
    )
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Local</title>'
    return f"{head}{body}</channel></rss>".encode()


@pytest.fixture
def site(httpserver):
    """A feed of the 8 fixture pages, one entry whose page is gone (404), one without a link; ETag-aware."""
    items = [
        {"link": httpserver.url_for(f"/news/{p.stem[:8]}?utm_source=rss"), "title": f"Story {p.stem[:8]}",
         "summary": "A summary of the story.", "date": datetime(2019, 11, 18, 10, 0, tzinfo=UTC)}
        for p in PAGES
    ]  # fmt: skip
    july = datetime(2024, 7, 3, 9, 0, tzinfo=UTC)
    gone_summary = "Kazakhstan and China signed an agreement to expand bilateral trade and cut tariffs on grain."
    linkless_summary = "An entry with no link still carries a summary long enough to keep as an article."
    items.append(
        {"link": httpserver.url_for("/news/gone"), "title": "Trade deal", "summary": gone_summary, "date": july}
    )
    items.append({"link": None, "title": "Linkless item", "summary": linkless_summary, "date": july})
    feed = rss(items)
    counts = {"feed": 0, "not_modified": 0, "pages": 0}

    def serve_feed(request: Request) -> Response:
        counts["feed"] += 1
        if request.headers.get("If-None-Match") == '"v1"':
            counts["not_modified"] += 1
            return Response(status=304)
        return Response(feed, content_type="application/rss+xml", headers={"ETag": '"v1"'})

    def serve_page(request: Request) -> Response:
        counts["pages"] += 1
        stem = request.path.rsplit("/", 1)[1]
        match = [p for p in PAGES if p.stem.startswith(stem)]
        if not match:
            return Response("not found", status=404)
        return Response(match[0].read_bytes(), content_type="text/html; charset=utf-8")

    httpserver.expect_request("/feed.xml").respond_with_handler(serve_feed)
    httpserver.expect_request("/broken.xml").respond_with_data("server error", status=500)
    httpserver.expect_request("/truncated.xml").respond_with_data(
        (FIXTURES / "feeds" / "reuters_rss20_truncated_malformed.xml").read_bytes(), content_type="application/rss+xml"
    )
    httpserver.expect_request(re.compile(r"/news/.*")).respond_with_handler(serve_page)
    return httpserver, counts


@pytest.fixture
def config(workdir: Path, site):
    server, _ = site
    (workdir / "feeds.toml").write_text(
        f'[[feed]]\nurl = "{server.url_for("/feed.xml")}"\nname = "Local News"\nlanguage = "en"\n'
        f'[[feed]]\nurl = "{server.url_for("/broken.xml")}"\nname = "Broken"\n'
        f'[[feed]]\nurl = "{server.url_for("/truncated.xml")}"\nname = "Truncated"\n',
        "utf-8",
    )
    (workdir / "silkwatch.toml").write_text(
        '[warehouse]\npath = "data/w.duckdb"\n[seeds]\ndir = "seeds"\n[feeds]\nfile = "feeds.toml"\n'
        "[fetch]\nallow_private_networks = true\nper_host_delay = 0\nper_host_concurrency = 4\n"
        "retries = 1\nread_timeout = 5.0\n",
        "utf-8",
    )
    return load_config(workdir / "silkwatch.toml")


def test_full_ingest_then_a_304_run(prefect_harness, config, site):
    _, counts = site
    first = run_flow(config)
    assert (first.feeds_ok, first.feeds_failed) == (1, 2)
    assert first.articles_new == 5 + len(PAGES) + 2
    with open_warehouse(config.warehouse_path, read_only=True) as con:
        assert check_integrity(con) == []
        rows = con.execute(
            "SELECT s.url, s.text_from, a.published_from, a.source_name, a.title, a.text "
            "FROM article_sources s JOIN articles a USING (article_id) WHERE s.feed_url IS NOT NULL ORDER BY s.url"
        ).fetchall()
        by_from = {}
        for url, text_from, _, source, _title, text in rows:
            by_from.setdefault(text_from, []).append(url)
            assert source == "Local News"
            assert "utm_source" not in url  # stored under the canonical URL
            assert len(text.split()) >= 8
        assert len(by_from["page"]) == len(PAGES)
        fallbacks = sorted(by_from["feed-summary"])  # the 404 page and the linkless entry
        assert len(fallbacks) == 2
        assert fallbacks[0].endswith("/news/gone") and fallbacks[1].startswith("sha1:")
        titan = con.execute("SELECT text, published_at FROM articles WHERE text LIKE '%Titan%'").fetchone()
        assert "first global geological map of Saturn's moon Titan" in titan[0]
        assert titan[1] == datetime(2019, 11, 18, 10, 0)  # the feed's date, in UTC
        feeds = dict(con.execute("SELECT name, consecutive_failures FROM feeds").fetchall())
        assert feeds == {"Local News": 0, "Broken": 1, "Truncated": 1}
        (error,) = con.execute("SELECT last_error FROM feeds WHERE name = 'Truncated'").fetchone()
        assert "no entries in a malformed feed" in error
        statuses = con.execute(
            "SELECT kind, status, http_status, count(*) FROM fetch_log "
            "WHERE kind IN ('feed', 'page') GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        assert ("page", "error", 404, 1) in statuses
        assert ("page", "ok", 200, len(PAGES)) in statuses
    digest = first.digest.path.read_text("utf-8")
    assert "## Feed health" in digest and "Broken" in digest and "Truncated" in digest

    pages_before = counts["pages"]
    second = run_flow(config)
    assert (second.articles_new, second.sources_new) == (0, 0)
    assert counts["not_modified"] == 1  # the unchanged feed cost a 304
    assert counts["pages"] == pages_before  # no page fetched twice
    assert second.feeds_backing_off == 2  # the failing feeds wait for their backoff


def test_a_stopped_run_leaves_its_entries_to_the_next_even_behind_a_304(prefect_harness, workdir, httpserver):
    """Stopped while it fetches pages, after the feed's ETag was stored: the entries it read and
    did not save stay pending, and the next run saves them though the feed answers 304."""
    items = [{"link": httpserver.url_for(f"/news/{p.stem[:8]}"), "title": f"Story {p.stem[:8]}",
              "summary": "A summary of the story.", "date": datetime(2019, 11, 18, 10, 0, tzinfo=UTC)}
             for p in PAGES]  # fmt: skip
    feed, answers = rss(items), []

    def serve_feed(request: Request) -> Response:
        answers.append(304 if request.headers.get("If-None-Match") == '"v1"' else 200)
        return Response(status=304) if answers[-1] == 304 else Response(feed, headers={"ETag": '"v1"'})

    def serve_page(request: Request) -> Response:
        stopping.request_stop()  # as Ctrl-C would, while the first page is in flight
        time.sleep(1.0)
        match = [p for p in PAGES if p.stem.startswith(request.path.rsplit("/", 1)[1])]
        return Response(match[0].read_bytes(), content_type="text/html; charset=utf-8")

    httpserver.expect_request("/feed.xml").respond_with_handler(serve_feed)
    httpserver.expect_request(re.compile(r"/news/.*")).respond_with_handler(serve_page)
    (workdir / "feeds.toml").write_text(f'[[feed]]\nurl = "{httpserver.url_for("/feed.xml")}"\n', "utf-8")
    (workdir / "silkwatch.toml").write_text(
        '[warehouse]\npath = "w.duckdb"\n[seeds]\ndir = "seeds"\n[feeds]\nfile = "feeds.toml"\n'
        "[fetch]\nallow_private_networks = true\nper_host_delay = 0\n",
        "utf-8",
    )
    config = load_config(workdir / "silkwatch.toml")
    stopped = run_flow(config, return_state=True)
    assert stopped.is_cancelled()
    with open_warehouse(config.warehouse_path, read_only=True) as con:
        assert con.execute("SELECT status FROM runs").fetchall() == [("interrupted",)]
        assert con.execute("SELECT etag FROM feeds").fetchall() == [('"v1"',)]
        assert con.execute("SELECT count(*) FROM pending_entries").fetchone()[0] == len(PAGES)
        assert con.execute("SELECT count(*) FROM article_sources WHERE feed_url IS NOT NULL").fetchone()[0] == 0

    httpserver.clear_all_handlers()
    httpserver.expect_request("/feed.xml").respond_with_handler(serve_feed)
    httpserver.expect_request(re.compile(r"/news/.*")).respond_with_handler(
        lambda r: Response(next(p for p in PAGES if p.stem.startswith(r.path.rsplit("/", 1)[1])).read_bytes(),
                           content_type="text/html; charset=utf-8")
    )  # fmt: skip
    again = run_flow(config)
    assert answers == [200, 304]
    assert again.articles_new == len(PAGES)  # the seeds were saved before the stop
    with open_warehouse(config.warehouse_path, read_only=True) as con:
        assert check_integrity(con, indexed=True, idle=True) == []
        assert con.execute("SELECT count(*) FROM pending_entries").fetchone()[0] == 0


def test_a_feed_check_cut_short_by_a_stop_is_no_failure(workdir):
    """A feed whose check a stop cut short is not recorded: no failure, no backoff, no log row."""
    from silkwatch.flows.feeds import FeedOutcome
    from silkwatch.flows.fetch import FetchResult
    from silkwatch.flows.pipeline import record_feeds_task
    from silkwatch.warehouse.feeds import sync_feeds

    db, url, now = workdir / "w.duckdb", "https://feeds.example/a.xml", datetime(2026, 11, 2, 8, 0)
    with open_warehouse(db) as con:
        sync_feeds(con, [{"url": url, "name": "A"}], now)
    cut_short = FeedOutcome({"url": url}, FetchResult(url, "feed", "stopped", error="the run stopped before an answer"))
    assert record_feeds_task.fn(db, [cut_short], "run-1", now) == ([], {})
    with open_warehouse(db, read_only=True) as con:
        assert con.execute("SELECT last_checked_at, consecutive_failures, next_due_at FROM feeds").fetchall() == [
            (None, 0, None)
        ]
        assert con.execute("SELECT count(*) FROM fetch_log").fetchone()[0] == 0
