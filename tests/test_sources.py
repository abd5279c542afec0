"""Sources (issue 20): feed discovery, OPML in and out, per-feed settings, adaptive polling,
robots.txt, and backfills from sitemaps and WARC files, against real files served on 127.0.0.1.

The pages are the 8 real fixture pages (tests/fixtures/pages, see its README); the home page, the
OPML file, the sitemaps and robots.txt around them are written here, in the shapes real sites and
readers produce (a WordPress-style home page, a FreshRSS-style OPML export, a Google News sitemap).
"""

from __future__ import annotations

import gzip
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from werkzeug import Request, Response

from silkwatch.flows import stopping
from silkwatch.flows.config import FeedListError, load_config
from silkwatch.flows.feeds import load_feed_list
from silkwatch.parsers.discovery import linked_feeds
from silkwatch.parsers.opml import OpmlError, parse_opml, write_opml
from silkwatch.parsers.polling import MAX_INTERVAL, MIN_INTERVAL, poll_plan
from silkwatch.parsers.robots import robots_rules
from silkwatch.parsers.sitemaps import SitemapError, parse_sitemap
from silkwatch.warehouse.db import open_warehouse
from tests.conftest import FIXTURES
from tests.test_cli import silkwatch

PAGES = sorted((FIXTURES / "pages").glob("*.html"))
NEWS_NS = (
    'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'
)
UTC_NOW = datetime.now(UTC).replace(tzinfo=None)


def news_sitemap(urls: list[str], published: datetime) -> bytes:
    entries = "".join(
        f"<url><loc>{url}</loc><news:news><news:publication><news:name>Local Wire</news:name>"
        f"<news:language>en</news:language></news:publication>"
        f"<news:publication_date>{published:%Y-%m-%dT%H:%M:%S}+00:00</news:publication_date>"
        f"<news:title>Story {i}</news:title></news:news></url>"
        for i, url in enumerate(urls)
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><urlset {NEWS_NS}>{entries}</urlset>'.encode()


def sitemap_index(urls: list[str], lastmod: datetime) -> bytes:
    entries = "".join(f"<sitemap><loc>{u}</loc><lastmod>{lastmod:%Y-%m-%d}</lastmod></sitemap>" for u in urls)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{entries}</sitemapindex>"
    ).encode()


# -- pure parsers -------------------------------------------------------------------------------


def test_news_sitemap_entries_with_their_dates_titles_and_publication():
    sitemap = parse_sitemap(gzip.compress(news_sitemap(["https://a.kz/x?utm_source=tw", "/relative"], UTC_NOW)))
    assert sitemap.kind == "urlset" and sitemap.skipped == 1
    (entry,) = sitemap.urls
    assert entry.url == "https://a.kz/x"  # canonical
    assert (entry.title, entry.language, entry.publication) == ("Story 0", "en", "Local Wire")
    assert entry.lastmod == UTC_NOW.replace(microsecond=0)


def test_sitemap_bombs_and_garbage_are_refused_with_a_reason():
    page = news_sitemap(["https://a.kz/x"], UTC_NOW)
    with pytest.raises(SitemapError, match="gzip inside gzip"):
        parse_sitemap(gzip.compress(gzip.compress(page)))
    with pytest.raises(SitemapError, match="once gunzipped"):
        parse_sitemap(gzip.compress(b"<" + b" " * (60 * 1024 * 1024)))
    with pytest.raises(SitemapError, match="not a sitemap"):
        parse_sitemap(b"<html><body>Hello</body></html>")
    with pytest.raises(SitemapError, match="malformed XML"):
        parse_sitemap(b"<urlset><url><loc>https://a.kz/x</lo")
    many = "\n".join(f"https://a.kz/{i}" for i in range(50_100)).encode()
    listed = parse_sitemap(many)
    assert len(listed.urls) == 50_000 and listed.truncated
    two = news_sitemap(["https://a.kz/x", "https://a.kz/y"], UTC_NOW)
    damaged = parse_sitemap(two[:-40])  # entries before the damage are kept
    assert [u.url for u in damaged.urls] == ["https://a.kz/x"] and "malformed XML" in damaged.damage


OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>FreshRSS</title></head>
  <body>
    <outline text="Central Asia">
      <outline text="Kazakhstan">
        <outline text="Register" type="rss" xmlUrl="{a}" htmlUrl="https://www.theregister.com/"/>
      </outline>
      <outline text="Ars" type="rss" xmlUrl="{b}" language="en" category="/Tech"/>
    </outline>
    <outline text="NASA" type="rss" xmlUrl="{c}"/>
    <outline text="Local file" type="rss" xmlUrl="file:///etc/passwd"/>
  </body>
</opml>
"""


def test_opml_nested_outlines_become_tags_and_round_trip():
    listed = parse_opml(OPML.format(a="https://a.kz/rss", b="https://b.kz/rss", c="https://c.kz/rss").encode())
    assert [(f.url, f.name, f.language, f.tags) for f in listed.feeds] == [
        ("https://a.kz/rss", "Register", None, ["Central Asia", "Kazakhstan"]),
        ("https://b.kz/rss", "Ars", "en", ["Central Asia", "Tech"]),
        ("https://c.kz/rss", "NASA", None, []),
    ]
    assert listed.skipped == ["'file:///etc/passwd' is not an http(s) URL"]
    feeds = [{"url": f.url, "name": f.name, "language": f.language, "tags": f.tags} for f in listed.feeds]
    again = parse_opml(write_opml(feeds, "silkwatch feeds", datetime.now(UTC)))
    assert [(f.url, f.name, f.language, f.tags) for f in again.feeds] == [
        (f["url"], f["name"], f["language"], f["tags"]) for f in feeds
    ]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"<opml><body><outline", "malformed XML"),
        (b"<rss><channel/></rss>", "not OPML"),
        (b"<opml><body><outline text='empty folder'/></body></opml>", "no feeds in it"),
        (b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><opml><body>&b;</body></opml>', "no feeds"),
    ],
)
def test_malformed_opml_is_one_clear_error(data, error):
    with pytest.raises(OpmlError, match=error):
        parse_opml(data)


def test_poll_plan_follows_the_publishing_rate_within_bounds():
    now = datetime(2026, 11, 29, 12, 0)
    hourly = [now - timedelta(hours=h) for h in range(1, 25)]
    plan = poll_plan(hourly, now)
    assert plan.interval == timedelta(hours=1) and "24.0 items a day" in plan.reason
    busy = [now - timedelta(minutes=m) for m in range(0, 60, 2)]
    assert poll_plan(busy, now).interval == MIN_INTERVAL
    assert "(the shortest)" in poll_plan(busy, now).reason
    quiet = [now - timedelta(days=30)]
    assert poll_plan(quiet, now) == poll_plan(quiet, now)
    assert (
        poll_plan(quiet, now).interval == MAX_INTERVAL and "nothing new for over a week" in poll_plan(quiet, now).reason
    )
    assert "no dated entries" in poll_plan([None, None], now).reason
    fixed = poll_plan(hourly, now, timedelta(minutes=45))
    assert fixed.interval == timedelta(minutes=45) and "interval set in the feed list" in fixed.reason


def test_robots_rules_as_rfc_9309_reads_them():
    rules = robots_rules(200, b"User-agent: *\nDisallow: /private/\nAllow: /private/open$\nCrawl-delay: 2\n")
    agent = "silkwatch/0.1 (+https://example.org)"
    assert rules.refuses("https://a.kz/news/1", agent) is None
    assert "disallowed by robots.txt for user agent 'silkwatch'" in rules.refuses("https://a.kz/private/1", agent)
    assert rules.refuses("https://a.kz/private/open", agent) is None  # the longer Allow wins
    assert rules.crawl_delay(agent) == 2.0
    assert robots_rules(404, b"").refuses("https://a.kz/private/1", agent) is None
    assert "robots.txt unreachable (HTTP 503)" in robots_rules(503, b"").refuses("https://a.kz/", agent)


def test_feed_list_settings_are_read_and_checked(tmp_path):
    path = tmp_path / "feeds.toml"
    path.write_text(
        '[[feed]]\nurl = "https://a.kz/rss"\ntags = ["Kazakhstan", "Trade"]\ninterval = "2h"\n'
        '[[feed]]\nurl = "https://b.kz/rss"\nenabled = false\nlanguage = "ru"\n',
        "utf-8",
    )
    a, b = load_feed_list(path)
    assert (a["tags"], a["enabled"], a["interval"]) == (["Kazakhstan", "Trade"], True, timedelta(hours=2))
    assert (b["tags"], b["enabled"], b["interval"], b["language"]) == ([], False, None, "ru")
    path.write_text('[[feed]]\nurl = "https://a.kz/rss"\ninterval = "soon"\n', "utf-8")
    with pytest.raises(FeedListError, match=r"feeds.toml: feed 1: interval 'soon' is not an interval"):
        load_feed_list(path)


# -- against a local server ---------------------------------------------------------------------

HOME = """<!DOCTYPE html><html lang="en"><head><title>Local Wire</title>
<link rel="alternate" type="application/rss+xml" title="Local Wire RSS" href="/rss.xml">
<link rel="stylesheet" href="/style.css"></head>
<body><h1>Local Wire</h1><a href="/news/1">Story</a></body></html>"""


def _config(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "silkwatch.toml").write_text(
        '[warehouse]\npath = "data/w.duckdb"\n[seeds]\ndir = "seeds"\n[feeds]\nfile = "feeds.toml"\n'
        "[fetch]\nallow_private_networks = true\nper_host_delay = 0\nper_host_concurrency = 4\nretries = 0\n"
        "[pipeline]\nworkers = 1\n" + extra,
        "utf-8",
    )
    (tmp_path / "seeds").mkdir(exist_ok=True)
    return tmp_path / "silkwatch.toml"


def test_feeds_add_finds_the_feed_a_home_page_links(httpserver, tmp_path):
    rss = (FIXTURES / "feeds" / "nasa_breaking_news_rss20.xml").read_bytes()
    httpserver.expect_request("/").respond_with_data(HOME, content_type="text/html; charset=utf-8")
    httpserver.expect_request("/rss.xml").respond_with_data(rss, content_type="application/rss+xml")
    httpserver.expect_request("/empty/").respond_with_data(
        "<html><body>No feed</body></html>", content_type="text/html"
    )
    _config(tmp_path)
    assert linked_feeds(HOME, httpserver.url_for("/")) == [httpserver.url_for("/rss.xml")]

    added = silkwatch("feeds", "add", httpserver.url_for("/"), cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert f"(found at {httpserver.url_for('/')})" in added.stdout
    (feed,) = load_feed_list(tmp_path / "feeds.toml")
    assert feed["url"] == httpserver.url_for("/rss.xml") and feed["name"] == "NASA Breaking News"

    again = silkwatch("feeds", "add", httpserver.url_for("/"), cwd=tmp_path)
    assert again.returncode == 2 and "listed already" in again.stderr
    none = silkwatch("feeds", "add", httpserver.url_for("/empty/"), cwd=tmp_path)
    assert none.returncode == 2
    assert none.stderr.count("\n") == 1 and "/empty/: not added: not an RSS or Atom feed" in none.stderr


def test_opml_of_three_feeds_imported_twice_and_exported(httpserver, tmp_path):
    urls = [httpserver.url_for(f"/{name}.xml") for name in ("a", "b", "c")]
    opml = tmp_path / "freshrss.opml"
    opml.write_text(OPML.format(a=urls[0], b=urls[1], c=urls[2]), "utf-8")
    _config(tmp_path)
    (tmp_path / "feeds.toml").write_text('# our feeds\n[[feed]]\nurl = "https://kept.kz/rss"\nname = "Kept"\n', "utf-8")

    first = silkwatch("feeds", "import", str(opml), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "imported 3 feeds" in first.stdout and "file:///etc/passwd" in first.stderr
    listed = (tmp_path / "feeds.toml").read_text("utf-8")
    second = silkwatch("feeds", "import", str(opml), cwd=tmp_path)
    assert second.returncode == 0 and "imported 0 feeds" in second.stdout and "(3 already listed)" in second.stdout
    assert (tmp_path / "feeds.toml").read_text("utf-8") == listed  # nothing added, nothing changed
    assert listed.startswith("# our feeds\n")
    feeds = load_feed_list(tmp_path / "feeds.toml")
    assert [(f["url"], f["tags"]) for f in feeds] == [
        ("https://kept.kz/rss", []),
        (urls[0], ["Central Asia", "Kazakhstan"]),
        (urls[1], ["Central Asia", "Tech"]),
        (urls[2], []),
    ]

    exported = silkwatch("feeds", "export", "--out", "out.opml", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    back = parse_opml((tmp_path / "out.opml").read_bytes())
    assert [(f.url, f.name, f.language, f.tags) for f in back.feeds] == [
        (f["url"], f["name"], f["language"], f["tags"]) for f in feeds
    ]
    # Miniflux and FreshRSS read a feed's category from the outline it sits in
    assert re.search(r'<outline text="Central Asia" title="Central Asia">\s*<outline type="rss" text="Register"',
                     (tmp_path / "out.opml").read_text("utf-8"))  # fmt: skip
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    _config(fresh)
    assert silkwatch("feeds", "import", str(tmp_path / "out.opml"), cwd=fresh).returncode == 0
    assert load_feed_list(fresh / "feeds.toml") == feeds

    bad = tmp_path / "bad.opml"
    bad.write_bytes(b"<opml><body><outline")
    failed = silkwatch("feeds", "import", str(bad), cwd=tmp_path)
    assert failed.returncode == 2 and failed.stderr.count("\n") == 1
    assert "bad.opml: malformed XML" in failed.stderr
    assert load_feed_list(tmp_path / "feeds.toml") == feeds  # nothing lost


@pytest.fixture
def news_site(httpserver):
    """A Google News sitemap (gzipped) behind a sitemap index that also lists itself; robots.txt
    disallows /private/; pages are the real fixture pages, under /news/ and /private/."""
    published = UTC_NOW - timedelta(days=1)
    allowed = [httpserver.url_for(f"/news/{p.stem[:12]}") for p in PAGES]
    private = [httpserver.url_for(f"/private/{p.stem[:12]}") for p in PAGES[:3]]
    old = [httpserver.url_for("/news/old-story")]
    index = httpserver.url_for("/sitemap_index.xml")
    news = news_sitemap(allowed[:4] + private + allowed[4:], published) + b""
    old_sitemap = news_sitemap(old, published - timedelta(days=400))
    httpserver.expect_request("/robots.txt").respond_with_data(
        f"User-agent: *\nDisallow: /private/\n\nSitemap: {index}\n", content_type="text/plain"
    )
    httpserver.expect_request("/sitemap_index.xml").respond_with_data(
        sitemap_index([index, httpserver.url_for("/news.xml.gz"), httpserver.url_for("/old.xml")], published),
        content_type="application/xml",
    )
    httpserver.expect_request("/news.xml.gz").respond_with_data(gzip.compress(news), content_type="application/gzip")
    httpserver.expect_request("/old.xml").respond_with_data(old_sitemap, content_type="application/xml")

    def page(request: Request) -> Response:
        stem = request.path.rsplit("/", 1)[1]
        match = [p for p in PAGES if p.stem.startswith(stem)]
        return Response(match[0].read_bytes(), content_type="text/html; charset=utf-8")

    httpserver.expect_request(re.compile(r"/(news|private)/[0-9a-f]+")).respond_with_handler(page)
    return httpserver, index, allowed, private


def _requested(httpserver, prefix: str) -> list[str]:
    return [request.path for request, _ in httpserver.log if request.path.startswith(prefix)]


def test_sitemap_backfill_ingests_all_but_what_robots_disallows(news_site, tmp_path):
    server, index, allowed, private = news_site
    _config(tmp_path)
    since = (UTC_NOW - timedelta(days=30)).strftime("%Y-%m-%d")
    done = silkwatch("backfill", "--sitemap", index, "--since", since, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "pages/s" in done.stderr  # the progress bar's rate
    assert _requested(server, "/private/") == []  # robots.txt disallows them: never requested
    assert _requested(server, "/news/old-story") == []  # before --since
    assert sorted(_requested(server, "/news/")) == sorted(u.split(str(server.port), 1)[1] for u in allowed)
    assert _requested(server, "/sitemap_index.xml") == ["/sitemap_index.xml"]  # listed twice, read once
    with open_warehouse(tmp_path / "data" / "w.duckdb", read_only=True) as con:
        stored = {r[0] for r in con.execute("SELECT url FROM article_sources").fetchall()}
        assert stored == set(allowed)
        (feed_urls,) = con.execute("SELECT list(DISTINCT feed_url) FROM article_sources").fetchone()
        assert feed_urls == [index]
        skipped = con.execute(
            "SELECT url, error FROM fetch_log WHERE status = 'skipped' AND kind = 'page' ORDER BY url"
        ).fetchall()
        assert [u for u, _ in skipped] == sorted(private)
        assert all("disallowed by robots.txt for user agent 'silkwatch'" in e for _, e in skipped)
        titles = con.execute("SELECT count(*) FROM articles WHERE published_at IS NOT NULL").fetchone()[0]
        assert titles == len(PAGES)

    # a new backfill of the same sitemap: nothing stored is fetched again
    again = silkwatch("backfill", "--sitemap", index, "--since", since, cwd=tmp_path, timeout=300)
    assert again.returncode == 0, again.stderr
    assert len(_requested(server, "/news/")) == len(allowed)  # no page fetched twice


def test_a_stopped_backfill_resumes_and_fetches_nothing_twice(prefect_harness, news_site, tmp_path, monkeypatch):
    from silkwatch.flows import backfill

    server, index, allowed, _ = news_site
    config = load_config(_config(tmp_path))
    monkeypatch.setattr(backfill, "PAGE_BATCH_SIZE", 3)
    since = UTC_NOW - timedelta(days=30)

    def stop_after_first_batch(done: int, total: int) -> None:
        if done > 3:  # the 3 skipped by robots, then the first batch saved
            stopping.request_stop()

    try:
        first = backfill.backfill_flow(config, sitemap=index, since=since, progress=stop_after_first_batch)
    finally:
        stopping.reset()
    assert first.stopped and 0 < first.pages < len(allowed)
    second = backfill.backfill_flow(config, sitemap=index)  # resumed with its --since
    assert second.resumed and not second.stopped
    assert first.skipped == 3 and second.done_before == first.pages + first.skipped
    assert first.pages + second.pages == len(allowed)
    requested = _requested(server, "/news/")
    assert sorted(requested) == sorted(set(requested)) and len(requested) == len(allowed)  # none twice
    with open_warehouse(config.warehouse_path, read_only=True) as con:
        assert {r[0] for r in con.execute("SELECT url FROM article_sources").fetchall()} == set(allowed)
        assert con.execute("SELECT count(*) FROM backfills WHERE finished_at IS NULL").fetchone() == (0,)


def write_warc(path: Path, base: str) -> list[str]:
    """A WARC file with warcio, as a crawler writes it: a request and a response per fixture page,
    plus a 404 and an image, which are not articles."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    urls = []
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        for page in PAGES:
            url = f"{base}/news/{page.stem[:12]}"
            urls.append(url)
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            body = page.read_bytes()
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), length=len(body),
                                                          http_headers=headers))  # fmt: skip
        for url, status, kind in (
            (f"{base}/gone", "404 Not Found", "text/html"),
            (f"{base}/a.png", "200 OK", "image/png"),
        ):
            headers = StatusAndHeaders(status, [("Content-Type", kind)], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(b"x" * 100),
                                                          length=100, http_headers=headers))  # fmt: skip
    return urls


def test_warc_backfill_stores_the_articles_of_a_warc_file(prefect_harness, tmp_path, corpora_pages):
    from silkwatch.flows.backfill import BackfillInputError, backfill_flow

    config = load_config(_config(tmp_path))
    warc = tmp_path / "crawl.warc.gz"
    urls = write_warc(warc, "https://news.example.kz")
    summary = backfill_flow(config, warcs=[warc])
    assert (summary.listed, summary.pages, summary.articles_new) == (len(PAGES), len(PAGES), len(PAGES))
    with open_warehouse(config.warehouse_path, read_only=True) as con:
        rows = dict(
            con.execute("SELECT s.url, a.text FROM article_sources s JOIN articles a USING (article_id)").fetchall()
        )
        assert set(rows) == set(urls)
        assert {r[0] for r in con.execute("SELECT DISTINCT feed_url FROM article_sources").fetchall()} == {
            f"warc:{warc.resolve()}"
        }
        # stories are the step after each load, in a backfill as in a run: every article has one
        assert con.execute("SELECT count(*) FROM articles WHERE article_id NOT IN "
                           "(SELECT article_id FROM story_articles)").fetchone() == (0,)  # fmt: skip
    titan = next(t for t in rows.values() if "Titan" in t)
    assert "first global geological map of Saturn's moon Titan" in titan

    again = backfill_flow(config, warcs=[warc])  # a new backfill of the same file: nothing read twice
    assert (again.pages, again.articles_new) == (0, 0)

    damaged = tmp_path / "damaged.warc.gz"
    damaged.write_bytes(warc.read_bytes()[:-20_000])  # the file ends inside the last page's record
    not_warc = tmp_path / "notes.warc"
    not_warc.write_text("this is not a WARC file\n", "utf-8")
    with pytest.raises(BackfillInputError, match=r"notes\.warc: not a WARC file"):
        backfill_flow(config, warcs=[not_warc])
    hurt = backfill_flow(config, warcs=[damaged])  # the pages before the damage are read, the damage reported
    assert any(f"{damaged}: damaged after record" in f and "is cut short" in f for f in hurt.failures)
    with open_warehouse(config.warehouse_path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM articles").fetchone() == (len(PAGES),)  # nothing lost


def test_scheduled_ingest_follows_each_feeds_polling_plan(prefect_harness, httpserver, tmp_path):
    from silkwatch.flows.pipeline import run_flow

    rss = (FIXTURES / "feeds" / "nasa_breaking_news_rss20.xml").read_bytes()
    httpserver.expect_request("/rss.xml").respond_with_data(rss, content_type="application/rss+xml")
    httpserver.expect_request("/fixed.xml").respond_with_data(rss, content_type="application/rss+xml")
    httpserver.expect_request("/off.xml").respond_with_data(rss, content_type="application/rss+xml")
    config = load_config(_config(tmp_path))
    (tmp_path / "feeds.toml").write_text(
        f'[[feed]]\nurl = "{httpserver.url_for("/rss.xml")}"\n'
        f'[[feed]]\nurl = "{httpserver.url_for("/fixed.xml")}"\ninterval = "45m"\n'
        f'[[feed]]\nurl = "{httpserver.url_for("/off.xml")}"\nenabled = false\n',
        "utf-8",
    )
    run_flow(config, write_report=False, follow_polling=True)
    assert _requested(httpserver, "/rss.xml") == ["/rss.xml"] and _requested(httpserver, "/off.xml") == []
    second = run_flow(config, write_report=False, follow_polling=True)
    assert second.feeds_not_due == 2 and len(_requested(httpserver, "/rss.xml")) == 1  # not due yet
    run_flow(config, write_report=False)  # by hand: every enabled feed now
    assert len(_requested(httpserver, "/rss.xml")) == 2
    with open_warehouse(config.warehouse_path, read_only=True) as con:
        plans = dict(con.execute("SELECT feed_url, poll_minutes FROM feeds").fetchall())
    assert plans[httpserver.url_for("/fixed.xml")] == 45
    assert plans[httpserver.url_for("/rss.xml")] == 24 * 60  # its items are years old
    listed = silkwatch("feeds", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "45 min: interval set in the feed list" in listed.stdout
    assert "every 1 d: nothing new for over a week" in listed.stdout
    assert "disabled" in listed.stdout


def test_backfill_bad_input_is_one_line_naming_it(httpserver, tmp_path):
    httpserver.expect_request("/robots.txt").respond_with_data("not here", status=404)
    httpserver.expect_request("/sitemap.xml").respond_with_data(
        "<html><body>Home</body></html>", content_type="text/html"
    )
    _config(tmp_path)
    sitemap = httpserver.url_for("/sitemap.xml")
    bad = silkwatch("backfill", "--sitemap", sitemap, cwd=tmp_path, timeout=300)
    assert bad.returncode == 2
    assert f"error: sitemap {sitemap}: not a usable sitemap: not a sitemap (its root element is <html>" in bad.stderr
    not_warc = tmp_path / "notes.warc.gz"
    not_warc.write_bytes(gzip.compress(b"this is not a WARC file\n"))
    failed = silkwatch("backfill", "--warc", str(not_warc), cwd=tmp_path, timeout=300)
    assert failed.returncode == 2 and failed.stderr.count("\n") == 1, failed.stderr
    assert f"error: {not_warc}: not a WARC file" in failed.stderr
    neither = silkwatch("backfill", cwd=tmp_path)
    assert neither.returncode == 2 and "give --sitemap URL or --warc FILE" in neither.stderr
