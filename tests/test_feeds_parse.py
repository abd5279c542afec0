"""Pure feed, URL, date and page parsing on real fixtures (no network)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from silkwatch.parsers.dates import best_date, check_plausible, date_from_url
from silkwatch.parsers.entries import copy_from_entry
from silkwatch.parsers.extract import extract_page, headline_without_site_name
from silkwatch.parsers.feeds import FeedEntry, FeedError, effective_content_type, parse_feed
from silkwatch.parsers.urls import canonical_url
from tests.conftest import FIXTURES

FEEDS = FIXTURES / "feeds"
MANIFEST = {m["file"]: m["feedparser_6_0_14"] for m in json.loads((FEEDS / "manifest.json").read_text("utf-8"))}
NOW = datetime(2026, 11, 23, 12, 0)


@pytest.mark.parametrize("name", sorted(n for n, m in MANIFEST.items() if m["entries"]))
def test_every_fixture_feed_parses_with_all_its_entries(name):
    expected = MANIFEST[name]
    feed = parse_feed((FEEDS / name).read_bytes(), f"http://127.0.0.1/{name}")
    assert feed.version == expected["version"]
    assert len(feed.entries) + feed.empty_entries == expected["entries"]
    assert feed.empty_entries <= 1  # one real feed has an empty <item>
    assert all(e.title or e.summary for e in feed.entries)
    assert len({e.key for e in feed.entries}) == len(feed.entries)


def test_truncated_feed_with_no_entries_is_a_failure():
    with pytest.raises(FeedError, match="no entries in a malformed feed"):
        parse_feed((FEEDS / "reuters_rss20_truncated_malformed.xml").read_bytes())


def test_malformed_feed_with_entries_is_used_and_flagged():
    feed = parse_feed((FEEDS / "coolloud_org_tw_rss10_big5_malformed.xml").read_bytes())
    assert len(feed.entries) == 20
    assert feed.bozo and "not well-formed" in feed.bozo
    assert feed.entries[0].title.startswith("1226檔下點交之後")


@pytest.mark.parametrize(
    ("name", "expected_start"),
    [
        ("newsru_com_rss20_cp1251.xml", "В Турции"),
        ("acnnewswire_rss20_gb2312.xml", "JCB 与中国银联"),
        ("golem_de_rss20_iso8859-1.xml", "Red Dead Redemption 2"),
        ("le_cercle_psy_rss20_noprolog_iso8859-1.xml", "Perturbateurs endocriniens"),
        ("bbc_urdu_rss20_media.xml", "امریکی"),
    ],
)
def test_encodings_decode_to_the_right_text(name, expected_start):
    assert parse_feed((FEEDS / name).read_bytes()).entries[0].title.startswith(expected_start)


def test_wrong_charset_header_loses_to_the_xml_declaration():
    data = (FEEDS / "newsru_com_rss20_cp1251.xml").read_bytes()
    feed = parse_feed(data, "http://127.0.0.1/f", "text/xml; charset=iso-8859-1")
    assert feed.entries[0].title.startswith("В Турции")


def test_mislabelled_utf8_without_declaration():
    data = '<rss version="2.0"><channel><title>t</title><item><title>Рахмон в Пекине</title></item></channel></rss>'
    ct = effective_content_type(data.encode(), "application/rss+xml; charset=ISO-8859-1")
    assert ct == "application/rss+xml; charset=utf-8"
    assert parse_feed(data.encode(), "", ct).entries[0].title == "Рахмон в Пекине"


def test_links_are_canonical_and_fragment_permalinks_stay_distinct():
    feed = parse_feed((FEEDS / "cnblog_org_rss092_gb2312.xml").read_bytes())
    assert len(feed.entries) == 16
    assert all("#" in e.link for e in feed.entries)
    feed = parse_feed((FEEDS / "newyorker_news_rss20_media.xml").read_bytes())
    assert feed.entries[0].link == feed.entries[0].link.strip()


def test_not_a_feed():
    with pytest.raises(FeedError, match="not an RSS or Atom feed"):
        parse_feed(b"<html><body>Hello</body></html>")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://Example.ORG:443/a?utm_source=x&b=2&a=1#top", "https://example.org/a?a=1&b=2"),
        ("http://example.org:8080/x?fbclid=abc", "http://example.org:8080/x"),
        ("http://example.org", "http://example.org/"),
        ("seed:001.txt", "seed:001.txt"),
        ("https://m.timesca.com/news/sco-summit/amp/", "https://timesca.com/news/sco-summit"),
        ("https://amp.example.org/a/story.amp.html?outputType=amp", "https://example.org/a/story.html"),
        ("https://m.kz/", "https://m.kz/"),  # a domain is never stripped to its suffix
    ],
)
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected


@given(st.text())
def test_canonical_url_is_idempotent_on_any_text(text):
    assert canonical_url(canonical_url(text)) == canonical_url(text)


@given(
    edition=st.sampled_from(["", "m.", "amp.", "m.m.", "mobile.amp."]),
    host=st.from_regex(r"[a-zA-Z][a-zA-Z0-9-]{0,10}\.(org|com|kz)", fullmatch=True),
    path=st.from_regex(r"(/[a-zA-Z0-9_.-]{1,8}){0,3}(/amp/?|\.amp\.html)?", fullmatch=True),
    query=st.dictionaries(st.sampled_from(["a", "b", "utm_medium", "id", "fbclid", "amp"]), st.text(max_size=5)),
)
def test_canonical_url_is_idempotent_on_urls(edition, host, path, query):
    from urllib.parse import urlencode

    url = f"https://{edition}{host}{path}?{urlencode(query)}#frag"
    once = canonical_url(url)
    assert canonical_url(once) == once
    assert "utm_" not in once and "fbclid" not in once and "#" not in once


def test_dates_outside_plausible_range_are_notes_not_values():
    assert check_plausible(datetime(2099, 1, 1), "feed", NOW).value is None
    assert "in the future" in check_plausible(datetime(2099, 1, 1), "feed", NOW).note
    assert "before 1990" in check_plausible(datetime(1970, 1, 1), "page", NOW).note
    dated = best_date([(datetime(2099, 1, 1), "feed"), (datetime(2024, 7, 4), "page")], NOW)
    assert (dated.value, dated.source) == (datetime(2024, 7, 4), "page")
    assert "future" in dated.note
    assert date_from_url("https://timesca.com/2024/07/04/sco-summit/") == datetime(2024, 7, 4)
    assert date_from_url("https://example.org/2024/13/40/x") is None


def _entry(**kw) -> FeedEntry:
    base = {"key": "http://127.0.0.1/a", "link": "http://127.0.0.1/a", "guid": None, "title": "SCO summit opens",
            "summary": "Leaders of the Shanghai Cooperation Organisation met in Astana on Wednesday for talks.",
            "author": None, "published": datetime(2024, 7, 3, 8, 0)}  # fmt: skip
    return FeedEntry(**{**base, **kw})


def test_entry_without_page_falls_back_to_summary():
    copy = copy_from_entry(_entry(), "http://127.0.0.1/feed", "Example", None, NOW, "en")
    assert copy.text_from == "feed-summary"
    assert copy.published_at == datetime(2024, 7, 3, 8, 0) and copy.published_from == "feed"
    assert copy.source_name == "Example"
    assert copy_from_entry(_entry(summary="Too short."), "f", None, None, NOW) is None


def test_page_canonical_replaces_the_link_only_on_the_same_site():
    from silkwatch.parsers.extract import ExtractedPage

    def page(canonical):
        return ExtractedPage("T", "word " * 40, None, None, None, canonical)

    same = copy_from_entry(_entry(), "f", None, page("http://127.0.0.1/stories/a?utm_source=x"), NOW)
    assert same.url == "http://127.0.0.1/stories/a"
    other = copy_from_entry(_entry(), "f", None, page("https://elsewhere.example/a"), NOW)
    assert other.url == "http://127.0.0.1/a"


def test_extract_page_from_a_real_page(corpora_pages):
    page_id = "359fee228518d55b921194561e9ca88e428df81940246f8fac7a75398377daea"
    html = (FIXTURES / "pages" / f"{page_id}.html").read_bytes()
    page = extract_page(html, corpora_pages[page_id]["url"])
    assert page is not None
    assert "Scientists on Monday unveiled the first global geological map of Saturn's moon Titan" in page.text
    assert page.title and "Titan" in page.title
    assert page.date and page.date.value.year == 2019  # the page states "19 NOV 2019" under its headline


def test_a_title_loses_the_site_name_its_h1_does_not_have():
    """news.cn's <title> is "headline-新华网" (tests/fixtures/newspaper4k); its <h1> is the headline."""
    html = (FIXTURES / "newspaper4k" / "chinese_article_002.html").read_bytes()
    assert extract_page(html, "http://www.news.cn/a", "text/html").title == "短缺药品保供稳价 全力保障临床用药需求"
    assert (
        headline_without_site_name("新浪网_峰会在阿斯塔纳举行", "<h1>峰会在阿斯塔纳举行</h1>") == "峰会在阿斯塔纳举行"
    )
    # a site's name in an <h1> (a logo) is not the headline; a title the <h1> does not start is kept
    logo = "<h1>РИА Новости</h1>"
    assert headline_without_site_name("РИА Новости - Путин и Си Цзиньпин встретились в Астане", logo) == (
        "РИА Новости - Путин и Си Цзиньпин встретились в Астане"
    )
    assert headline_without_site_name("Xi-Putin talks end", "<h1>Talks end in Astana</h1>") == "Xi-Putin talks end"
