"""Hostile feeds and pages, served from 127.0.0.1, in one real run beside a good feed.

A first run stores a good feed's article; a second run reads the good feed (one new item) together
with every hostile feed and page below. Each case then checks its own outcome: recorded as a failure
with a clear reason (fetch_log, feed health, the run's failures) or stored clean, bounded by the
caps of the config below, with the good feed's new item stored and nothing from the first run lost.
"""

from __future__ import annotations

import gzip
import itertools
import json
import time
import unicodedata
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from silkwatch.flows.config import load_config
from silkwatch.flows.pipeline import run_flow
from silkwatch.parsers.text import strip_invisible
from silkwatch.warehouse.db import check_integrity, open_warehouse
from tests.conftest import FIXTURES

PAGES = [p.read_bytes() for p in sorted((FIXTURES / "pages").glob("*.html"))]
PAGE = PAGES[0]
MAX_BYTES = 6_000_000  # over the 4 MiB extraction limit, so that a huge page is fetched and then refused
SLOW_SECONDS = 6.0  # the slow body would go on this long; the fetcher gives up after total_timeout
JULY = datetime(2024, 7, 3, 9, 0, tzinfo=UTC)
# Every item gets a different real text (the corpora bodies), so that no two are merged as duplicates.
_BODIES = (
    b["articleBody"] for b in json.loads((FIXTURES / "corpora_bodies.json").read_text("utf-8"))["pages"].values()
)
SUMMARIES = itertools.cycle([" ".join(b.split()[:60]) for b in _BODIES if not set(b) & set("<>&")])
CONTROLS = "\x00\x01\x07\x1b\x7f\x85\x9b\u202e\u2066\u200b\u200e\ufeff\u2028"


def rss(items: list[dict], doctype: str = "", encoding: str = "utf-8") -> str:
    body = "".join(
        "<item>"
        + (f"<link>{i['link']}</link>" if i.get("link") else "")
        + f"<title>{i['title']}</title>"
        + f"<description>{i.get('summary') or escape(i.setdefault('text', next(SUMMARIES)))}</description>"
        + (f"<author>{i['author']}</author>" if i.get("author") else "")
        + f"<pubDate>{i.get('date', format_datetime(JULY))}</pubDate></item>"
        for i in items
    )
    head = f'<?xml version="1.0" encoding="{encoding}"?>{doctype}<rss version="2.0"><channel><title>Hostile</title>'
    return f"{head}{body}</channel></rss>"


def billion_laughs() -> str:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    return rss([{"link": "", "title": "Laughs &lol9;"}], f"<!DOCTYPE rss [{entities}]>")


def quadratic_blowup() -> str:
    doctype = f'<!DOCTYPE rss [<!ENTITY a "{"a" * 50_000}">]>'
    return rss([{"title": "Blowup " + "&a;" * 20_000}], doctype)


def slow_body(_request: Request) -> Response:
    def drip():
        yield b'<?xml version="1.0"?><rss version="2.0"><channel><title>Slow</title>'
        end = time.monotonic() + SLOW_SECONDS
        while time.monotonic() < end:
            time.sleep(0.1)
            yield b" "

    return Response(drip(), content_type="application/rss+xml")


DATES = {  # title -> (pubDate, what the stored date or date_note must say)
    "Year zero": ("Mon, 01 Jan 0000 00:00:00 GMT", "could not be read"),
    "Year one": ("Mon, 01 Jan 0001 00:00:00 GMT", "before 1990"),
    "Year 9999": ("Fri, 31 Dec 9999 23:59:59 GMT", "in the future"),
    "Far future": ("Tue, 01 Jan 2999 00:00:00 GMT", "in the future"),
    "Before 1990": ("Sun, 01 Jan 1984 00:00:00 GMT", "before 1990"),
    "Garbage offset": ("Mon, 01 Jan 2024 00:00:00 +9999", "impossible time zone"),
    "Epoch out of range": ("99999999999999", "in the future"),
    "Not a date": ("not a date", "could not be read"),
}


@pytest.fixture(scope="module")
def server():
    server = HTTPServer(host="127.0.0.1", threaded=True)  # the slow body must not hold up the others
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture(scope="module")
def hostile_run(prefect_harness, tmp_path_factory, server: HTTPServer):
    url = server.url_for
    good_items = [{"link": url("/good/1"), "title": "Good one"}]
    page_texts: dict[str, str] = {}
    serve = server.expect_request

    serve("/good.xml").respond_with_handler(lambda _r: Response(rss(good_items), content_type="application/rss+xml"))
    serve("/good/1").respond_with_data(PAGE, content_type="text/html; charset=utf-8")
    serve("/good/2").respond_with_data(PAGES[1], content_type="text/html")
    xml = "application/rss+xml"
    serve("/billion.xml").respond_with_data(billion_laughs(), content_type=xml)
    serve("/quadratic.xml").respond_with_data(quadratic_blowup(), content_type=xml)
    xxe = '<!DOCTYPE rss [<!ENTITY f SYSTEM "file:///etc/passwd"><!ENTITY h SYSTEM "{}">]>'.format(url("/xxe-probe"))
    serve("/xxe.xml").respond_with_data(rss([{"title": "File &f; and web &h;"}], xxe), content_type=xml)
    serve("/xxe-probe").respond_with_data("<!ENTITY leaked 'probe'>")
    bomb = gzip.compress(b" " * 20 * MAX_BYTES)
    serve("/bomb.xml").respond_with_data(bomb, headers={"Content-Encoding": "gzip"}, content_type=xml)
    serve("/big.xml").respond_with_data(rss([{"title": "Big", "summary": "x" * 2 * MAX_BYTES}]), content_type=xml)
    serve("/slow.xml").respond_with_handler(slow_body)
    serve("/loop.xml").respond_with_data("", status=302, headers={"Location": "/loop.xml"})
    for name, target in {
        "file": "file:///etc/passwd",
        "ftp": "ftp://127.0.0.1/feed.xml",
        "js": "javascript:alert(1)",
    }.items():
        serve(f"/to-{name}.xml").respond_with_data("", status=302, headers={"Location": target})
    hostile = rss(
        [{"title": f"Con{CONTROLS}trol &#x202E;title&#0;", "author": f"a{CONTROLS}@x.example (Au{CONTROLS}thor)",
          "summary": escape(f"Kazakhstan{CONTROLS} and China signed an agreement to expand trade{CONTROLS} "
                            "along the Middle Corridor.")},
         {"link": url("/p/controls"), "title": "Controlled page"}]
    )  # fmt: skip
    serve("/controls.xml").respond_with_data(hostile.encode("utf-8", "surrogatepass"), content_type=xml)
    dates = [{"title": title, "date": date} for title, (date, _) in DATES.items()]
    serve("/dates.xml").respond_with_data(rss(dates), content_type=xml)
    russian = rss([{"title": "Рахмон в Пекине",
                    "summary": "Президент Таджикистана Эмомали Рахмон прибыл в Пекин на переговоры."}])  # fmt: skip
    serve("/charset-wrong.xml").respond_with_data(russian.encode(), content_type=f"{xml}; charset=iso-8859-1")
    cp1251 = russian.replace('encoding="utf-8"', 'encoding="windows-1251"').encode("cp1251")
    serve("/charset-missing.xml").respond_with_data(cp1251, content_type=xml)
    broken = russian.encode().replace("Пекин".encode(), b"\xff\xfe\xc3(")
    serve("/invalid-utf8.xml").respond_with_data(broken, content_type=f"{xml}; charset=utf-8")

    pages = {
        "pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n" + bytes(range(256)) * 40, "application/pdf"),
        "png": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, "image/png"),
        "pdf-lying": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 40, "text/html"),
        "png-lying": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, "text/html; charset=utf-8"),
        "huge": (b"<html><body>" + b"<div><span>x</span></div>" * 200_000 + b"</body></html>", "text/html"),  # 5 MB
        "deep": (b"<html><body>" + b"<div>" * 100_000 + b"<p>deep</p>" + b"</div>" * 100_000 + b"</body></html>",
                 "text/html"),
        "controls": (PAGES[2].replace(b"<title>", b"<title>" + CONTROLS.encode())
                     .replace(b"<p>", b"<p>" + CONTROLS.encode()), "text/html"),
        "wrong-charset": (PAGES[3], "text/html; charset=iso-8859-1"),
        "invalid-utf8": (PAGES[4].replace(b"<p>", b"<p>\xff\xfe\xc3(", 5), "text/html; charset=utf-8"),
    }  # fmt: skip
    for name, (body, content_type) in pages.items():
        serve(f"/p/{name}").respond_with_data(body, content_type=content_type)
    page_items = [{"link": url(f"/p/{name}"), "title": f"Page {name}"} for name in pages if name != "controls"]
    serve("/pages.xml").respond_with_data(rss(page_items), content_type=xml)
    page_texts.update({item["link"]: item["text"] for item in page_items})

    work = tmp_path_factory.mktemp("hostile")
    (work / "seeds").mkdir()
    feeds = ["/good.xml"]
    write_feeds = lambda: (work / "feeds.toml").write_text(  # noqa: E731
        "".join(f'[[feed]]\nurl = "{url(f)}"\nname = "{f}"\n' for f in feeds), "utf-8"
    )
    write_feeds()
    (work / "silkwatch.toml").write_text(
        '[warehouse]\npath = "w.duckdb"\n[seeds]\ndir = "seeds"\n[feeds]\nfile = "feeds.toml"\n'
        f"[fetch]\nallow_private_networks = true\nper_host_delay = 0\nper_host_concurrency = 8\nretries = 0\n"
        f"read_timeout = 3.0\ntotal_timeout = 2.0\nmax_bytes = {MAX_BYTES}\n",
        "utf-8",
    )
    config = load_config(work / "silkwatch.toml")
    run_flow(config)
    with open_warehouse(config.warehouse_path, read_only=True) as con:
        before = stored(con)
    assert len(before["articles"]) == 1

    good_items.append({"link": url("/good/2"), "title": "Good two"})
    feeds.extend(f"/{name}" for name in FEED_CASES)
    feeds.append("/pages.xml")
    write_feeds()
    summary = run_flow(config)
    with open_warehouse(config.warehouse_path, read_only=True) as con:
        after = stored(con)
        log = con.execute("SELECT url, kind, status, error FROM fetch_log WHERE kind IN ('feed', 'page')").fetchall()
        health = dict(con.execute("SELECT name, last_error FROM feeds").fetchall())
        bozo = dict(con.execute("SELECT name, last_bozo FROM feeds").fetchall())
        integrity = check_integrity(con)
        articles = con.execute(
            "SELECT s.title, a.text, a.author, a.source_name, a.published_at, a.date_note, s.url, s.text_from, a.title "
            "FROM articles a JOIN article_sources s USING (article_id)"
        ).fetchall()
    lost = sum(1 for table, rows in before.items() for row in rows if row not in after[table])
    return {
        "summary": summary, "log": log, "health": health, "bozo": bozo, "articles": articles, "lost": lost,
        "integrity": integrity, "server": server, "url": url, "page_texts": page_texts,
    }  # fmt: skip


def stored(con) -> dict[str, set]:
    return {
        "articles": set(con.execute("SELECT article_id, title, text, url, published_at FROM articles").fetchall()),
        "sources": set(con.execute("SELECT url, article_id, content_hash FROM article_sources").fetchall()),
    }


FEED_CASES = {  # feed -> the reason recorded in feeds.last_error
    "bomb.xml": f"body over the {MAX_BYTES}-byte cap (decompressed)",
    "big.xml": f"over the {MAX_BYTES}-byte cap",
    "slow.xml": "body still arriving after 2 s; gave up",
    "loop.xml": "more than 5 redirects",
    "to-file.xml": "refused: 'file:///etc/passwd' is not an http(s) URL",
    "to-ftp.xml": "is not an http(s) URL",
    "to-js.xml": "refused: invalid URL",  # httpx cannot even parse the Location
    "billion.xml": None,  # read by feedparser's lenient parser, the entities left unexpanded
    "quadratic.xml": None,
    "xxe.xml": None,
    "controls.xml": None,
    "dates.xml": None,
    "charset-wrong.xml": None,
    "charset-missing.xml": None,
    "invalid-utf8.xml": None,
}


def run_went_on(run: dict, record_property) -> None:
    """The good feed's new item was stored in the same run; nothing from the first run was lost."""
    record_property("data_lost", run["lost"])
    assert run["lost"] == 0
    assert run["integrity"] == []
    assert any(row[6].endswith("/good/2") and row[7] == "page" for row in run["articles"])
    assert run["health"]["/good.xml"] is None


@pytest.mark.reliability("hostile feed")
@pytest.mark.parametrize("feed", [f for f, reason in FEED_CASES.items() if reason])
def test_hostile_feed_is_a_recorded_failure(hostile_run, record_property, feed):
    reason = FEED_CASES[feed]
    assert reason in (hostile_run["health"][f"/{feed}"] or "")
    feed_url = hostile_run["url"](f"/{feed}")
    assert any(
        url == feed_url and status == "error" and reason in error for url, _, status, error in hostile_run["log"]
    )
    assert any(url == feed_url and reason in error for url, error in hostile_run["summary"].feed_failures)
    run_went_on(hostile_run, record_property)


@pytest.mark.reliability("hostile feed")
@pytest.mark.parametrize("feed", ["billion.xml", "quadratic.xml"])
def test_entity_expansion_is_refused(hostile_run, record_property, feed):
    """expat's amplification limit stops the expansion; feedparser's lenient parser then reads the
    entry with the entity left as written. Nothing grows: no stored text holds the expansion."""
    assert "amplification" in hostile_run["bozo"][f"/{feed}"]
    titles = [title for title, *_, source_url, _ in hostile_run["articles"] if title.startswith(("Laughs", "Blowup"))]
    assert all(len(title) < 200_000 and "lollol" not in title and "aaaaaaaaaa" not in title for title in titles)
    run_went_on(hostile_run, record_property)


@pytest.mark.reliability("hostile feed")
def test_external_entities_are_never_fetched_or_read(hostile_run, record_property):
    stored_text = " ".join(f"{title} {text}" for title, text, *_ in hostile_run["articles"])
    assert "root:" not in stored_text and "probe" not in stored_text
    assert "/xxe-probe" not in [request.path for request, _ in hostile_run["server"].log]
    (title,) = [title for title, *_ in hostile_run["articles"] if title.startswith("File")]
    assert title == "File and web"
    run_went_on(hostile_run, record_property)


def invisible(value: str | None) -> list[str]:
    return [unicodedata.name(ch, hex(ord(ch))) for ch in value or "" if strip_invisible(ch) != ch]


@pytest.mark.reliability("hostile feed")
def test_control_characters_never_reach_the_warehouse_or_digest(hostile_run, record_property):
    for title, text, author, source, *_, article_title in hostile_run["articles"]:
        for value in (title, text, author, source, article_title):
            assert invisible(value) == [], (title, value)
    (row,) = [r for r in hostile_run["articles"] if r[0].startswith("Con")]
    # feedparser reads U+0085 and U+009B as the windows-1252 characters of those bytes (… and ›)
    assert row[0] == "Con…› trol title"
    assert row[2] == "a…› @x.example (Au…› thor)"
    assert row[1].startswith("Kazakhstan…› and China signed")
    assert any(
        r[0] != "Controlled page" and r[6].endswith("/p/controls") and r[7] == "page" for r in hostile_run["articles"]
    )
    digest = hostile_run["summary"].digest.path
    for path in (digest, digest.with_suffix(".html")):
        assert invisible(path.read_text("utf-8").replace("\n", "").replace("\t", "")) == []
    run_went_on(hostile_run, record_property)


@pytest.mark.reliability("hostile feed")
@pytest.mark.parametrize("title", DATES)
def test_absurd_dates_are_stored_as_unknown_with_the_reason(hostile_run, record_property, title):
    _, why = DATES[title]
    (row,) = [r for r in hostile_run["articles"] if r[0] == title]
    published_at, date_note = row[4], row[5]
    assert published_at is None
    assert why in date_note
    run_went_on(hostile_run, record_property)


@pytest.mark.reliability("hostile feed")
@pytest.mark.parametrize("feed", ["charset-wrong.xml", "charset-missing.xml"])
def test_wrong_and_missing_charsets_are_read_right(hostile_run, record_property, feed):
    assert hostile_run["health"][f"/{feed}"] is None
    titles = [title for title, *_ in hostile_run["articles"]]
    assert "Рахмон в Пекине" in titles
    assert not [t for t in titles if "Ð" in t or "Ã" in t]  # no mojibake stored
    run_went_on(hostile_run, record_property)


@pytest.mark.reliability("hostile feed")
def test_invalid_utf8_feed_keeps_its_good_text(hostile_run, record_property):
    """A few invalid bytes in a UTF-8 feed become U+FFFD; the rest is not read as windows-1252."""
    assert hostile_run["health"]["/invalid-utf8.xml"] is None
    feed_url = hostile_run["url"]("/invalid-utf8.xml")
    (title,) = [
        r[0] for r in hostile_run["articles"] if r[6].startswith("sha1:") and r[0].startswith("Рахмон в \ufffd")
    ]
    assert "Đ" not in title and feed_url
    run_went_on(hostile_run, record_property)


PAGE_CASES = {  # page -> the reason its fetch_log row records; the feed's summary is stored instead
    "pdf": "not an HTML page (application/pdf)",
    "png": "not an HTML page (image/png)",
    "pdf-lying": "not an HTML page (binary content: PDF)",
    "png-lying": "not an HTML page (binary content: PNG image)",
    "huge": "more markup than the 4194304-byte extraction limit",
    "deep": "no article text found on the page",
}


@pytest.mark.reliability("hostile page")
@pytest.mark.parametrize("page", PAGE_CASES)
def test_hostile_page_falls_back_to_the_summary_with_the_reason(hostile_run, record_property, page):
    page_url = hostile_run["url"](f"/p/{page}")
    (error,) = [error for url, kind, status, error in hostile_run["log"] if url == page_url and kind == "page"]
    assert PAGE_CASES[page] in error
    assert any(page_url in failure and PAGE_CASES[page] in failure for failure in hostile_run["summary"].failures)
    (row,) = [r for r in hostile_run["articles"] if r[6] == page_url]
    assert row[7] == "feed-summary" and row[1] == hostile_run["page_texts"][page_url]
    run_went_on(hostile_run, record_property)


@pytest.mark.reliability("hostile page")
@pytest.mark.parametrize("page", ["wrong-charset", "invalid-utf8", "controls"])
def test_pages_with_bad_charsets_or_controls_are_extracted_clean(hostile_run, record_property, page):
    page_url = hostile_run["url"](f"/p/{page}")
    (row,) = [r for r in hostile_run["articles"] if r[6] == page_url]
    title, text, *_ = row
    assert row[7] == "page"
    assert invisible(title) == [] and invisible(text) == []
    assert "Ã" not in text and "â€" not in text  # UTF-8 read as UTF-8 whatever the header said
    run_went_on(hostile_run, record_property)


def test_fixture_page_is_utf8_with_non_ascii():
    """The pages above test charsets only if the fixture page has non-ASCII text."""
    assert not PAGE.isascii()
    PAGE.decode("utf-8")
    assert Path(FIXTURES / "pages").is_dir()
