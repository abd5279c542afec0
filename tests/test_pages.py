"""Parallel extraction: the pool stores exactly what the in-process path stores, and a worker
that dies costs only its pages. Feeds and pages are served from 127.0.0.1."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from werkzeug import Request, Response

from silkwatch.flows.config import ConfigError, config_from_dict, load_config
from silkwatch.flows.fetch import FetchPolicy, HostLimiter
from silkwatch.flows.pages import CRASHED, PagePool, extract_chunk, fetch_pages
from silkwatch.flows.pipeline import run_flow
from silkwatch.parsers.feeds import parse_feed
from silkwatch.warehouse.db import open_warehouse
from tests.conftest import FIXTURES, ROOT, process_alive, processes_exit
from tests.test_feed_ingest import rss

PAGES = sorted((FIXTURES / "pages").glob("*.html"))
WHEN = datetime(2024, 7, 3, 9, 0, tzinfo=UTC)
CRASH = "crash-me"


def crash_on_marker(jobs: list) -> list:
    """Pool work that kills its worker process on a page whose URL holds the marker, like a page
    that crashes lxml would."""
    if any(CRASH in (job[0].link or "") for job in jobs):
        os._exit(70)
    return extract_chunk(jobs)


@pytest.fixture
def feed_site(httpserver):
    """One feed: the 8 fixture pages, one of them again under a second URL (an exact copy), a page
    that is gone, a linkless entry and a page named to crash a worker."""
    links = [f"/news/{p.stem[:8]}" for p in PAGES] + [f"/mirror/{PAGES[0].stem[:8]}", "/news/gone", f"/news/{CRASH}"]
    items = [
        {"link": httpserver.url_for(link), "title": f"Story {link}", "date": WHEN,
         "summary": "Kazakhstan and China signed an agreement to expand bilateral trade and cut tariffs."}
        for link in links
    ]  # fmt: skip
    items.append({"link": None, "title": "Linkless", "summary": "An entry with no link but a summary long enough.",
                  "date": WHEN})  # fmt: skip

    def serve_page(request: Request) -> Response:
        stem = request.path.rsplit("/", 1)[1]
        match = [p for p in PAGES if p.stem.startswith(stem)] or (PAGES[1:2] if stem == CRASH else [])
        if not match:
            return Response("not found", status=404)
        return Response(match[0].read_bytes(), content_type="text/html; charset=utf-8")

    feed = rss(items)
    httpserver.expect_request("/feed.xml").respond_with_data(feed, content_type="application/rss+xml")
    httpserver.expect_request(re.compile(r"/(news|mirror)/.*")).respond_with_handler(serve_page)
    httpserver.feed_bytes = feed
    return httpserver


def _fetch(feed_site, pool: PagePool):
    entries = parse_feed(feed_site.feed_bytes).entries
    policy = FetchPolicy(allow_private_networks=True, per_host_delay=0, per_host_concurrency=4, retries=0)
    items = [(entry, {"url": feed_site.url_for("/feed.xml"), "name": "Local"}) for entry in entries]
    now = datetime(2024, 7, 4, 12, 0)
    with pool:
        return fetch_pages(items, policy, HostLimiter(4, 0), {}, now, "run-1", pool)


def _comparable_log(batch) -> list[tuple]:
    return [(r["url"], r["status"], r["http_status"], r["error"]) for r in batch.log]


def test_a_crashing_worker_costs_only_its_page(feed_site):
    in_process = _fetch(feed_site, PagePool(1, work=extract_chunk))
    crashing = _fetch(feed_site, PagePool(2, work=crash_on_marker))
    by_url = {row["url"]: row for row in crashing.rows}
    crashed = by_url.pop(feed_site.url_for(f"/news/{CRASH}"))
    assert crashed["text_from"] == "feed-summary"  # its feed's summary is kept instead
    assert [f for f in crashing.failures if CRASH in f] == [
        f"{feed_site.url_for(f'/news/{CRASH}')}: {CRASHED}; stored the feed's summary instead"
    ]
    assert (feed_site.url_for(f"/news/{CRASH}"), "error", 200, CRASHED) in _comparable_log(crashing)
    # every other page is exactly what the in-process path made of it
    expected = [row for row in in_process.rows if CRASH not in row["url"]]
    assert [r for r in crashing.rows if CRASH not in r["url"]] == expected
    assert sum(r["text_from"] == "page" for r in expected) == len(PAGES) + 1


def test_the_pool_builds_the_same_rows_as_in_process(feed_site):
    in_process = _fetch(feed_site, PagePool(1))
    pooled = _fetch(feed_site, PagePool(2))
    assert pooled.rows == in_process.rows
    assert _comparable_log(pooled) == _comparable_log(in_process)
    assert (pooled.failures, pooled.deferred) == (in_process.failures, in_process.deferred)


TABLES = {
    "articles": "SELECT * EXCLUDE (first_seen_at) FROM articles ORDER BY article_id",
    "article_sources": "SELECT * EXCLUDE (seen_at) FROM article_sources ORDER BY url",
    "article_topics": "SELECT * EXCLUDE (classified_at) FROM article_topics ORDER BY article_id, topic",
    "article_entities": "SELECT * FROM article_entities ORDER BY ALL",
    "copy_signatures": "SELECT * FROM copy_signatures ORDER BY url",
    "lsh_bands": "SELECT * FROM lsh_bands ORDER BY ALL",
    "search_postings": "SELECT p.term_hash, d.article_id, p.tf FROM search_postings p JOIN search_docs d USING (doc) "
    "ORDER BY ALL",  # an article by its id: its number (doc) is the order it was indexed in
    "search_docs": "SELECT * EXCLUDE (doc) FROM search_docs ORDER BY ALL",
}


def test_parallel_and_in_process_runs_store_the_same_rows(prefect_harness, workdir: Path, feed_site, monkeypatch):
    from silkwatch.flows import pages, pipeline

    monkeypatch.setattr(pipeline, "PAGE_BATCH_SIZE", 4)  # several batches, pipelined with their saves
    monkeypatch.setattr(pages, "CHUNK", 2)  # several chunks per batch
    (workdir / "feeds.toml").write_text(f'[[feed]]\nurl = "{feed_site.url_for("/feed.xml")}"\nname = "Local"\n')
    stored = {}
    for workers in (1, 2):
        (workdir / "silkwatch.toml").write_text(
            f'[warehouse]\npath = "w{workers}.duckdb"\n[seeds]\ndir = "seeds"\n[feeds]\nfile = "feeds.toml"\n'
            "[fetch]\nallow_private_networks = true\nper_host_delay = 0\nretries = 0\n"
            f"[pipeline]\nworkers = {workers}\n",
            "utf-8",
        )
        config = load_config(workdir / "silkwatch.toml")
        assert config.workers == workers
        summary = run_flow(config, write_report=False)
        assert summary.articles_new > len(PAGES)
        with open_warehouse(config.warehouse_path, read_only=True) as con:
            stored[workers] = {name: con.execute(sql).fetchall() for name, sql in TABLES.items()}
    for name in TABLES:
        assert stored[2][name] == stored[1][name], name
    # the mirrored page and the crash-me page (the same HTML as another page) merged as copies
    assert len(stored[2]["article_sources"]) == len(stored[2]["articles"]) + 2


def test_pipeline_workers_config(tmp_path: Path):
    assert config_from_dict({}, tmp_path).workers == 0  # one per core
    with pytest.raises(ConfigError, match=r"\[pipeline\] workers must be 0"):
        config_from_dict({"pipeline": {"workers": -1}}, tmp_path)
    with pytest.raises(ConfigError, match=r"\[pipeline\] workers must be int"):
        config_from_dict({"pipeline": {"workers": "2"}}, tmp_path)


def test_workers_exit_when_a_killed_run_leaves_them_behind():
    """SIGKILL runs no clean-up: the extraction workers must notice their run is gone and exit,
    or they hold its pipes open (a caller waiting for its output waits for ever)."""
    code = (
        "import time; from silkwatch.flows.pages import PagePool\n"
        "pool = PagePool(2); executor = pool._pool(); time.sleep(1)\n"
        "print(' '.join(str(p) for p in executor._processes), flush=True); time.sleep(120)\n"
    )
    run = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    workers = [int(pid) for pid in run.stdout.readline().split()]
    assert len(workers) == 2 and all(process_alive(pid) for pid in workers)
    run.send_signal(signal.SIGKILL)
    run.wait()
    run.stdout.close()
    assert processes_exit(workers, within=30)


def test_command_with_extraction_workers_keeps_stderr_clean(prefect_harness, tmp_path: Path):
    """The pool's workers import DuckDB, whose bindings print "nanobind: leaked ..." when an
    interpreter tears down: a worker's exit must not print that on the user's terminal."""
    from tests.local_site import LocalSite, make_workdir
    from tests.local_site import run as run_cli

    site = LocalSite()
    try:
        work = make_workdir(tmp_path, site)
        config = work / "silkwatch.toml"
        config.write_text(config.read_text("utf-8") + "[pipeline]\nworkers = 2\n", "utf-8")
        done = run_cli("ingest", cwd=work)
    finally:
        site.close()
    assert done.returncode == 0, done.stderr
    assert "new articles" in done.stdout
    assert done.stderr == ""
