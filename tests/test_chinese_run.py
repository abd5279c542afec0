"""Chinese pages, a GB2312 feed and a GB18030 seed through a whole run, served from 127.0.0.1: each is
decoded right with or without a charset, stored as an article with clean text, and the encoding it
was read in, and why, is recorded on its copy (``article_sources.encoding``, ``encoding_from``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from silkwatch.flows.config import load_config
from silkwatch.flows.pipeline import run_flow
from silkwatch.parsers.measure import word_count
from silkwatch.warehouse.db import check_integrity, open_warehouse
from tests.conftest import FIXTURES

NEWSPAPER4K = FIXTURES / "newspaper4k"
GB2312_FEED = (FIXTURES / "feeds" / "acnnewswire_rss20_gb2312.xml").read_bytes()


def gb2312_page() -> bytes:
    """An article page whose text is real GB2312 bytes: an item of the GB2312 fixture feed (an ADB
    press release), its title and paragraphs set in plain HTML. Nothing in it declares a charset."""
    item = re.findall(rb"<item>(.*?)</item>", GB2312_FEED, re.DOTALL)[1]
    title = re.search(rb"<title>(.*?)</title>", item).group(1)
    body = re.search(rb"<!\[CDATA\[(.*?)\.\.\. more \]\]>", item, re.DOTALL).group(1)
    paragraphs = b"".join(b"<p>" + p.strip() + b"</p>\n" for p in body.split(b"  ") if p.strip())
    return (
        b"<!DOCTYPE html>\n<html><head><title>" + title + b"</title></head>\n<body><article><h1>" + title + b"</h1>\n"
        + paragraphs + b"</article></body></html>\n"
    )  # fmt: skip


PAGES = {  # path -> (bytes, Content-Type, the encoding and why silkwatch must record)
    "/zh/xinhua": ((NEWSPAPER4K / "chinese_article_002.html").read_bytes(), "text/html; charset=utf-8",
                   ("utf-8", "http")),
    "/zh/chinadaily": ((NEWSPAPER4K / "chinese_article_001.html").read_bytes(), "text/html", ("utf-8", "meta")),
    "/zh/adb": (gb2312_page(), "text/html", ("gb18030", "detected")),
    "/zh/adb-latin1": (gb2312_page(), "text/html; charset=iso-8859-1",
                       ("gb18030", "detected (declared windows-1252 decodes to mojibake)")),
}  # fmt: skip


def gb2312_feed(url_for) -> bytes:
    """A GB2312 feed (declared in its XML declaration only): an entry for each page, and one real
    item of the GB2312 fixture feed, its link taken away, so that its summary is what is stored."""
    july = format_datetime(datetime(2024, 7, 3, 9, 0, tzinfo=UTC))
    items = "".join(
        f"<item><link>{escape(url_for(path))}</link><title>Story {i}</title>"
        f"<description>A summary.</description><pubDate>{july}</pubDate></item>"
        for i, path in enumerate(PAGES)
    ).encode()
    visit = re.findall(rb"<item>.*?</item>", GB2312_FEED, re.DOTALL)[
        3
    ]  # a visit to the China Quality Certification Centre
    linkless = re.sub(rb"<link>.*?</link>|<guid[^>]*>.*?</guid>", b"", visit)
    head = b'<?xml version="1.0" encoding="gb2312"?><rss version="2.0"><channel><title>ACN</title>'
    return head + items + linkless + b"</channel></rss>"


@pytest.fixture
def config(workdir: Path, httpserver):
    for path, (body, content_type, _) in PAGES.items():
        httpserver.expect_request(path).respond_with_data(body, content_type=content_type)
    httpserver.expect_request("/zh.xml").respond_with_data(
        gb2312_feed(httpserver.url_for), content_type="application/rss+xml"
    )
    seeds = workdir / "seeds"
    for old in seeds.glob("*.txt"):
        old.unlink()
    bbc = (NEWSPAPER4K / "chinese_article.txt").read_text("utf-8")
    (seeds / "bbc-zh.txt").write_bytes(
        f"港特首梁振英就住宅违建事件道歉\n\n{bbc}".encode("gb18030")
    )  # a Windows default
    (workdir / "feeds.toml").write_text(
        f'[[feed]]\nurl = "{httpserver.url_for("/zh.xml")}"\nname = "中文新闻"\nlanguage = "zh"\n', "utf-8"
    )
    (workdir / "silkwatch.toml").write_text(
        '[warehouse]\npath = "data/w.duckdb"\n[seeds]\ndir = "seeds"\n[feeds]\nfile = "feeds.toml"\n'
        "[fetch]\nallow_private_networks = true\nper_host_delay = 0\nper_host_concurrency = 4\nretries = 0\n",
        "utf-8",
    )
    return load_config(workdir / "silkwatch.toml")


def test_chinese_copies_are_stored_clean_with_their_encoding(prefect_harness, config, httpserver):
    summary = run_flow(config)
    assert (summary.failures, summary.feed_failures) == ([], [])
    with open_warehouse(config.warehouse_path, read_only=True) as con:
        assert check_integrity(con) == []
        rows = con.execute(
            "SELECT s.url, s.encoding, s.encoding_from, s.text_from, a.title, a.text, a.language, a.word_count "
            "FROM article_sources s JOIN articles a USING (article_id) ORDER BY s.url"
        ).fetchall()
    by_url = {url: rest for url, *rest in rows}
    for path, (_, _, recorded) in PAGES.items():
        encoding, encoding_from, text_from, title, text, language, words = by_url[httpserver.url_for(path)]
        assert (encoding, encoding_from) == recorded, path
        assert text_from == "page" and language == "zh" and words == word_count(text) >= 25, path
        assert not re.search(r"[ÃÂÐÑ]|â€|\ufffd", title + text), path  # no mojibake
    assert "短缺药品信息监测共享正在多维度推进" in by_url[httpserver.url_for("/zh/xinhua")][4]
    adb = by_url[httpserver.url_for("/zh/adb")]
    assert (
        "亚行将提供1 亿美元贷款，支持河南省海河流域" in adb[4]
        and adb[3] == "亚洲开发银行新闻稿亚行贷款力推中国河南省海河流域环境污染治理"
    )
    assert by_url[httpserver.url_for("/zh/adb-latin1")][4] == adb[4]  # one article, two copies
    (linkless,) = [r for url, *r in rows if url.startswith("sha1:")]
    assert tuple(linkless[:3]) == ("gb18030", "xml-declaration", "feed-summary")
    assert "中国质量认证中心（CQC）李怀林主任会见澳大利亚SAI GLOBAL首席执行官" in linkless[4]
    encoding, encoding_from, text_from, title, text, language, words = by_url["seed:bbc-zh.txt"]
    assert (encoding, encoding_from, text_from, language) == ("gb18030", "detected", "text", "zh")
    assert title == "港特首梁振英就住宅违建事件道歉" and text.startswith("香港行政长官梁振英") and words > 100
