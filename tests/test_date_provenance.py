"""A whole run where a feed's dates and its pages' dates disagree: the chosen date, and both provenances.

The feed and its pages are served from 127.0.0.1. Their text is real: two items of aviaport.ru's
feed of 29 December 2005 (fixtures/feeds/aviaport_ru_rss20_yandex_cp1251.xml, with its full texts
in yandex:full-text), each put on a page the way the site printed its news: headline, then the
byline "29.12.2005 17:18". One item's feed date is a later stamp (as feeds that stamp the time
they were generated do); the other's page carries a later date in its metadata (an update).
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from pathlib import Path

import feedparser
import pytest

from silkwatch.flows.config import load_config
from silkwatch.flows.pipeline import run_flow
from silkwatch.warehouse.db import open_warehouse
from tests.conftest import FIXTURES
from tests.test_feed_ingest import rss

STAMPED, UPDATED = "99265", "99257"  # aviaport.ru news ids


def aviaport_items() -> dict[str, dict]:
    feed = feedparser.parse((FIXTURES / "feeds" / "aviaport_ru_rss20_yandex_cp1251.xml").read_bytes())
    return {e.link.rsplit("/", 1)[1].removesuffix(".html"): e for e in feed.entries}


def article_page(entry, byline: str, meta: str = "") -> bytes:
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in entry["yandex_full-text"].split("\n") if p.strip())
    return (
        f'<html><head><meta charset="utf-8"><title>{escape(entry.title)} - АвиаПорт.Ru</title>{meta}</head>'
        f'<body><div class="top">АвиаПорт.Ru | Новости | Аналитика</div><h1>{escape(entry.title)}</h1>'
        f'<div class="date">{byline}</div><div class="text">{paragraphs}</div>'
        '<div class="footer">© 2001-2006 АвиаПорт.Ru</div></body></html>'
    ).encode()


@pytest.fixture
def config(workdir: Path, httpserver):
    items = aviaport_items()
    stamped, updated = items[STAMPED], items[UPDATED]
    feed = rss(
        [
            {"link": httpserver.url_for(f"/news/{STAMPED}"), "title": stamped.title, "summary": stamped.summary,
             "date": datetime(2006, 1, 6, 9, 0, tzinfo=UTC)},  # stamped when the feed was made
            {"link": httpserver.url_for(f"/news/{UPDATED}"), "title": updated.title, "summary": updated.summary,
             "date": datetime(2005, 12, 29, 13, 31, tzinfo=UTC)},  # as aviaport.ru's feed states it: 16:31 +0300
        ]
    )  # fmt: skip
    httpserver.expect_request("/feed.xml").respond_with_data(feed, content_type="application/rss+xml")
    httpserver.expect_request(f"/news/{STAMPED}").respond_with_data(
        article_page(stamped, "29.12.2005 17:18"), content_type="text/html"
    )
    update = '<meta property="article:published_time" content="2006-01-04T12:00:00+03:00">'
    httpserver.expect_request(f"/news/{UPDATED}").respond_with_data(
        article_page(updated, "", update), content_type="text/html"
    )
    (workdir / "feeds.toml").write_text(
        f'[[feed]]\nurl = "{httpserver.url_for("/feed.xml")}"\nname = "АвиаПорт"\nlanguage = "ru"\n'
        'timezone = "Europe/Moscow"\n',
        "utf-8",
    )
    (workdir / "seeds").mkdir(exist_ok=True)
    for seed in (workdir / "seeds").glob("*.txt"):
        seed.unlink()
    (workdir / "silkwatch.toml").write_text(
        '[warehouse]\npath = "data/w.duckdb"\n[seeds]\ndir = "seeds"\n[feeds]\nfile = "feeds.toml"\n'
        "[fetch]\nallow_private_networks = true\nper_host_delay = 0\nretries = 1\nread_timeout = 5.0\n",
        "utf-8",
    )
    return load_config(workdir / "silkwatch.toml")


def test_feed_and_page_dates_disagree(prefect_harness, config):
    summary = run_flow(config, write_report=False)
    assert summary.articles_new == 2
    with open_warehouse(config.warehouse_path, read_only=True) as con:
        rows = con.execute(
            "SELECT regexp_extract(s.url, '[0-9]+$'), a.published_at, a.published_from, s.feed_published_at, "
            "s.feed_date_found, s.page_published_at, s.page_date_found, s.date_note "
            "FROM article_sources s JOIN articles a USING (article_id)"
        ).fetchall()
    by_id = {r[0]: r[1:] for r in rows}

    # the feed stamped 6 Jan; the page states 29.12.2005 17:18 in Moscow (the feed's timezone key)
    published, source, feed_at, feed_found, page_at, page_found, note = by_id[STAMPED]
    assert (published, source) == (datetime(2005, 12, 29, 14, 18), "page")
    assert feed_at == datetime(2006, 1, 6, 9, 0) and feed_found.startswith("published 'Fri, 06 Jan 2006 09:00:00")
    assert page_at == datetime(2005, 12, 29, 14, 18)
    assert "29.12.2005 17:18" in page_found and "Europe/Moscow: the feed's timezone" in page_found
    assert "the earlier, the page's, kept" in note
    # the lede's "28 декабря 2005 г." (the day of a press conference) is not the article's date

    # the page's metadata says 4 Jan (an update); the feed's 29 Dec 13:31 UTC is kept
    published, source, feed_at, _, page_at, page_found, note = by_id[UPDATED]
    assert (published, source) == (datetime(2005, 12, 29, 13, 31), "feed")
    assert page_at == datetime(2006, 1, 4, 9, 0) and page_found.startswith("meta article:published_time")
    assert "the earlier, the feed's, kept" in note


def test_a_feed_timezone_that_is_no_zone_is_refused(workdir):
    from silkwatch.flows.config import FeedListError
    from silkwatch.flows.feeds import load_feed_list

    (workdir / "feeds.toml").write_text('[[feed]]\nurl = "https://a.example/rss"\ntimezone = "Astana"\n', "utf-8")
    with pytest.raises(FeedListError, match=r"feed 1: timezone 'Astana' is not a time zone name"):
        load_feed_list(workdir / "feeds.toml")
