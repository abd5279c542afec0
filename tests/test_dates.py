"""Dates as texts and pages state them: read in three languages, placed in UTC, reconciled, never chrome.

Snippets are real unless marked otherwise; each names its page. Pages under fixtures/newspaper4k/
are newspaper4k 0.9.6's test pages (MIT, see fixtures/README.md); the Russian snippets are from the
feeds under fixtures/feeds/ (chardet's captures of aviaport.ru and money.rin.ru, 2005-2006).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import feedparser
import pytest
import trafilatura

from silkwatch.parsers.dates import (
    StatedDate,
    dates_in_text,
    outlet_zone,
    parse_stated,
    reconcile_dates,
    to_utc,
)
from silkwatch.parsers.extract import TRAFILATURA_DATE_PARAMS
from silkwatch.parsers.pagedates import page_date
from silkwatch.parsers.seeds import parse_seed
from tests.conftest import FIXTURES

BEIJING, MOSCOW = ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 1, 1)


def only_date(text: str, context: datetime | None = None) -> StatedDate | None:
    found = dates_in_text(text, context)
    assert len(found) <= 1, found
    return found[0][1] if found else None


@pytest.mark.parametrize(
    ("text", "value", "has_time", "zone"),
    [
        # Chinese
        ("2023-11-17 20:52:15", datetime(2023, 11, 17, 20, 52, 15), True, None),  # www.news.cn byline
        ("2023-11-17 15:13", datetime(2023, 11, 17, 15, 13), True, None),  # china.chinadaily.com.cn byline
        ("2012年12月10日, 格林尼治标准时间10:41", datetime(2012, 12, 10, 10, 41), True, UTC),  # BBC 中文网 byline
        ("2024年7月4日", datetime(2024, 7, 4), False, None),  # the forms issue 16 names (written for silkwatch)
        ("2024年07月04日 10:30", datetime(2024, 7, 4, 10, 30), True, None),
        ("北京时间2024年7月4日10时30分", datetime(2024, 7, 4, 10, 30), True, BEIJING),
        ("2024年7月4日 下午3:05", datetime(2024, 7, 4, 15, 5), True, None),
        ("2024-7-4", datetime(2024, 7, 4), False, None),
        ("2024/07/04", datetime(2024, 7, 4), False, None),
        # Russian
        ("28 декабря 2005 г. в Баку", datetime(2005, 12, 28), False, None),  # aviaport.ru, 29 Dec 2005
        ("N 729 от 5.12.2005 г.", datetime(2005, 12, 5), False, None),  # money.rin.ru, 4 Jan 2006
        ("N 730 от 05.12.2005 г.", datetime(2005, 12, 5), False, None),  # money.rin.ru, 4 Jan 2006
        ("27 декабря 2005 года", datetime(2005, 12, 27), False, None),  # money.rin.ru
        ("4 июля 2024, 10:30", datetime(2024, 7, 4, 10, 30), True, None),  # written for silkwatch
        ("04.07.2024 10:30 (мск)", datetime(2024, 7, 4, 10, 30), True, MOSCOW),
        ("Среда, 2 декабря 2020, 16:34", datetime(2020, 12, 2, 16, 34), True, None),
        # English
        ("November 2, 2023 3:53 PM EDT", datetime(2023, 11, 2, 15, 53), True, ZoneInfo("America/New_York")),  # time.com
        ("09:31 August 20, 2019", datetime(2019, 8, 20, 9, 31), True, None),  # en.yna.co.kr
        ("December 27, 2014 at 12:06 PM", datetime(2014, 12, 27, 12, 6), True, None),  # cleveland.com
        ("9/17/2004 5:54:13 AM", datetime(2004, 9, 17, 5, 54, 13), True, None),  # month-first: 17 is no month
    ],
)
def test_dates_in_text(text, value, has_time, zone):
    stated = only_date(text)
    assert stated is not None
    assert (stated.value, stated.has_time, stated.zone) == (value, has_time, zone)


@pytest.mark.parametrize(
    "text",
    [
        "7/5/2005 9:23:57 PM",  # July 5 or May 7? (a Chinese site in the US): not read
        "© 2023 TIME USA, LLC. All Rights Reserved.",  # a copyright year is no date
        "Copyright 1995 - 2023",
        "v1.2.2020",
        "2005-13-40",
    ],
)
def test_no_date_is_guessed(text):
    assert dates_in_text(text) == []


def test_yearless_dates_take_the_year_from_context_only_when_one_fits():
    dateline = "新华社北京11月17日电"  # www.news.cn, 17 Nov 2023
    assert only_date(dateline) is None  # no context: no year
    assert only_date(dateline, datetime(2023, 11, 17, 12, 52)).value == datetime(2023, 11, 17)
    assert only_date("МОСКВА, 29 июня. /ТАСС/.", datetime(2020, 6, 28, 21, 16)).value == datetime(2020, 6, 29)
    assert only_date("12月31日", datetime(2025, 1, 2)).value == datetime(2024, 12, 31)  # across New Year
    assert only_date("7月4日", datetime(2024, 12, 1)) is None  # months before: this year's or an old story?


def test_metadata_values():
    assert parse_stated("2019-08-20T09:31:01+09:00").zone == timezone(timedelta(hours=9))  # en.yna.co.kr
    assert parse_stated("2020-10-19T06:34:31+0300").zone == timezone(timedelta(hours=3))  # aif.ru
    midnight = parse_stated("2022-01-28 00:00:00")  # a CMS's "no time" (jl.gov.cn PubDate)
    assert (midnight.value, midnight.has_time) == (datetime(2022, 1, 28), False)
    assert parse_stated("2999-05-19 11:25").value.year == 2999  # read; plausibility is checked later


def test_to_utc_in_the_stated_zone_else_the_outlets():
    byline = only_date("2023-11-17 20:52:15")
    assert to_utc(byline, BEIJING)[0] == datetime(2023, 11, 17, 12, 52, 15)
    assert "kept as written" in to_utc(byline, None)[1]
    assert to_utc(byline, None)[0] == datetime(2023, 11, 17, 20, 52, 15)
    stated_zone = only_date("04.07.2024 10:30 (мск)")
    assert to_utc(stated_zone, BEIJING)[0] == datetime(2024, 7, 4, 7, 30)  # its own zone wins
    bare = only_date("2024年7月4日")
    assert to_utc(bare, BEIJING)[0] == datetime(2024, 7, 4)  # a day stays on its day, never 07-03 16:00
    almaty = ZoneInfo("Asia/Almaty")  # UTC+6 until March 2024, UTC+5 since: the tz database knows
    assert to_utc(only_date("2020-07-04 10:00"), almaty)[0] == datetime(2020, 7, 4, 4, 0)
    assert to_utc(only_date("2024-07-04 10:00"), almaty)[0] == datetime(2024, 7, 4, 5, 0)


@pytest.mark.parametrize(
    ("url", "language", "declared", "zone"),
    [
        ("http://www.news.cn/fortune/2023-11/17/c_1129981476.htm", None, None, "Asia/Shanghai"),
        ("https://www.inform.kz/ru/x", "ru", None, "Asia/Almaty"),
        ("https://24.kg/x", "ru", None, "Asia/Bishkek"),
        ("https://tass.ru/moskva/8836033", "ru", None, "Europe/Moscow"),
        ("https://www.zaobao.com/news/china/story", "zh", None, "Asia/Shanghai"),  # every zh zone is UTC+8
        ("https://akipress.org/news:1", "ru", None, None),  # Russian is written from UTC+2 to UTC+6 and on
        ("https://akipress.org/news:1", "ru", "Asia/Bishkek", "Asia/Bishkek"),  # the feed's timezone key
        ("seed:a.txt", "en", None, None),
    ],
)
def test_outlet_zone(url, language, declared, zone):
    found, why = outlet_zone(url, language, declared)
    assert (found.key if found else None) == zone
    assert (why is None) == (zone is None)


def test_reconcile_a_feed_that_stamps_the_fetch_time():
    page = only_date("2023-11-17 20:52:15")
    fetched = datetime(2023, 11, 20, 6, 0)
    dates = reconcile_dates(fetched, "published 'Mon, 20 Nov 2023 06:00:00 +0000'", page,
                            "http://www.news.cn/fortune/2023-11/17/c_1129981476.htm", NOW)  # fmt: skip
    assert (dates.chosen.value, dates.chosen.source) == (datetime(2023, 11, 17, 12, 52, 15), "page")
    assert "the earlier, the page's, kept" in dates.chosen.note
    assert dates.feed_published_at == fetched and dates.feed_date_found.startswith("published")
    assert dates.page_published_at == datetime(2023, 11, 17, 12, 52, 15)
    assert "2023-11-17 20:52:15" in dates.page_date_found and "Asia/Shanghai" in dates.page_date_found


def test_reconcile_a_page_that_shows_an_update():
    feed = datetime(2005, 12, 29, 13, 31)
    update = parse_stated("2006-01-04T12:00:00+03:00", found="meta article:published_time")
    dates = reconcile_dates(feed, "published 'x'", update, "http://www.aviaport.ru/news/2005/12/29/99257.html", NOW)
    assert (dates.chosen.value, dates.chosen.source) == (feed, "feed")
    assert "the earlier, the feed's, kept" in dates.chosen.note
    assert dates.page_published_at == datetime(2006, 1, 4, 9, 0)


def test_reconcile_same_day_in_the_outlets_zone_keeps_the_feeds_time():
    # 17:00 UTC is already 18 Nov in Beijing: the page's bare "2023-11-18" is the same day there
    dates = reconcile_dates(datetime(2023, 11, 17, 17, 0), None, only_date("2023年11月18日"), "http://x.cn/a", NOW)
    assert (dates.chosen.value, dates.chosen.source, dates.chosen.note) == (datetime(2023, 11, 17, 17, 0), "feed", None)


def test_reconcile_falls_back_to_the_url_and_distrusts_the_future():
    future = parse_stated("2999-01-01T10:00:00Z")
    dates = reconcile_dates(None, None, future, "https://example.org/2024/07/04/story", NOW)
    assert (dates.chosen.value, dates.chosen.source) == (datetime(2024, 7, 4), "url")
    assert "in the future" in dates.chosen.note


def _page_date(name: str, url: str):
    html = (FIXTURES / "newspaper4k" / f"{name}.html").read_bytes().decode("utf-8")
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, date_extraction_params=TRAFILATURA_DATE_PARAMS)
    return page_date(html, doc.title, doc.text, NOW)


@pytest.mark.parametrize(
    ("name", "url", "value", "found"),
    [
        # the byline has the time the metadata lacks (meta publishdate 2023-11-17)
        ("chinese_article_001", "https://china.chinadaily.com.cn/a/202311/17/WS65571297a310d5acd876f404.html",
         datetime(2023, 11, 17, 15, 13), "text by the headline"),
        ("chinese_article_002", "http://www.news.cn/fortune/2023-11/17/c_1129981476.htm",
         datetime(2023, 11, 17, 20, 52, 15), "text by the headline"),
        # BBC 中文网: ten dates of related stories below it (2012年12月6日 ... 2014年1月9日) are not read
        ("chinese_article", "http://www.bbc.co.uk/zhongwen/simp/chinese_news/2012/12/121210_hongkong_lau.shtml",
         datetime(2012, 12, 10, 9, 24, 1), "meta dcterms.created"),
        ("yna_co_kr", "https://en.yna.co.kr/view/AEN20190820002300325", datetime(2019, 8, 20, 9, 31, 1),
         "json-ld datePublished"),
        # "on December 27, 2014 at 12:06 PM, updated December 27, 2014 at 12:10 PM"
        ("cleveland.com1", "http://www.cleveland.com/food/index.ssf/2014/12/let_me_google_that_for_you_201.html",
         datetime(2014, 12, 27, 12, 6), "text by the headline"),
        # a photo caption under the headline says "March 24, 2014"; the footer "© 2023 TIME USA"
        ("time_001", "https://time.com/6330957/james-hansen-climate-warning-geoengineering-study/",
         datetime(2023, 11, 2, 19, 53, 52), "json-ld datePublished"),
    ],
)  # fmt: skip
def test_page_date_on_real_pages(name, url, value, found):
    stated = _page_date(name, url).stated
    assert (stated.value, stated.found) == (value, found)


# Chrome traps on one page, written for silkwatch in the layout of the Chinese portals of
# zh-cwced (sina, sohu, 163): today's date in the header, the byline under the headline, a lede
# that names an earlier day, a list of related articles and comments with their dates, a footer.
PORTAL = """<html><head><title>{title}_新闻中心</title></head><body>
<div class="top">2024年07月10日 星期三 | 登录 | 注册</div>
<div class="nav">首页 - 新闻 - 体育 - 财经</div>
<h1>{title}</h1>
<div class="info">{byline}</div>
<div id="text"><p>{lede}</p><p>{body}</p><p>{body}</p></div>
<ul class="related"><li>·中吉乌铁路项目进展顺利（2024-07-09 18:03）</li>
<li>·霍尔果斯口岸货运量增长（2024-07-01 09:56）</li></ul>
<div class="comments"><p>网友评论 2024-07-05 12:46</p><p>支持！</p></div>
<div class="footer">Copyright © 1997-2024 新闻中心 版权所有</div>
</body></html>"""
PORTAL_TEXT = {
    "title": "中吉乌铁路项目举行开工仪式",
    "lede": "7月1日，中吉乌铁路项目在吉尔吉斯斯坦贾拉拉巴德州举行开工仪式，"
    "三国领导人通过视频致贺，标志着这一项目进入实施阶段。",
    "body": "这条铁路全长约五百公里，建成后将大大缩短中国与中亚、欧洲之间的货物运输距离，对地区互联互通具有重要意义。"
    * 3,
}


def _portal_date(byline: str):
    html = PORTAL.format(byline=byline, **PORTAL_TEXT)
    doc = trafilatura.bare_extraction(html, with_metadata=True, date_extraction_params=TRAFILATURA_DATE_PARAMS)
    return page_date(html, doc.title, doc.text, datetime(2024, 7, 10, 4, 0))


def test_page_chrome_is_never_a_date():
    assert _portal_date("2024-07-04 10:30 来源：新华社").stated.value == datetime(2024, 7, 4, 10, 30)
    # no byline: not the header's today, the lede's event, a related article, a comment or the copyright
    assert _portal_date("来源：新华社 作者：记者").stated is None


def test_trafilatura_default_takes_chrome_where_silkwatch_takes_none():
    html = PORTAL.format(byline="来源：新华社 作者：记者", **PORTAL_TEXT)
    assert trafilatura.bare_extraction(html, with_metadata=True).date is not None  # the extensive search
    assert _portal_date("来源：新华社 作者：记者").stated is None


def test_an_ambiguous_byline_is_not_passed_over_for_the_next_date():
    stated = _portal_date("7/5/2024 9:23:57 PM")
    assert stated.stated is None


def test_undeclared_utf8_bytes_are_read_as_utf8():
    html = PORTAL.format(byline="2024年07月04日 10:30 来源：新华社", **PORTAL_TEXT)  # no charset declared
    doc = trafilatura.bare_extraction(html, with_metadata=True, date_extraction_params=TRAFILATURA_DATE_PARAMS)
    stated = page_date(html.encode("utf-8"), doc.title, doc.text).stated
    assert stated.value == datetime(2024, 7, 4, 10, 30)


def test_undeclared_gb18030_bytes_are_decoded_as_pages_are():
    html = PORTAL.format(byline="2024年07月04日 10:30 来源：新华社", **PORTAL_TEXT)  # no charset declared
    doc = trafilatura.bare_extraction(html, with_metadata=True, date_extraction_params=TRAFILATURA_DATE_PARAMS)
    stated = page_date(html.encode("gb18030"), doc.title, doc.text).stated  # parsers.decode detects it
    assert stated.value == datetime(2024, 7, 4, 10, 30)


@pytest.mark.parametrize(
    ("date_line", "published"),
    [
        ("29.12.2005 17:18 (мск)", datetime(2005, 12, 29, 14, 18)),  # the zone it states
        ("29 декабря 2005 г., 17:18", datetime(2005, 12, 29, 17, 18)),  # a seed has no host: as written
        ("Опубликовано: 29.12.2005", datetime(2005, 12, 29)),
        ("2005-12-29 17:18 +03:00", datetime(2005, 12, 29, 14, 18)),
    ],
)
def test_seeds_read_the_same_date_forms(date_line, published):
    feed = feedparser.parse((FIXTURES / "feeds" / "aviaport_ru_rss20_yandex_cp1251.xml").read_bytes())
    entry = next(e for e in feed.entries if e.link.endswith("/99265.html"))  # aviaport.ru, 29 Dec 2005
    seed = parse_seed("ru.txt", f"{entry.title}\n{date_line}\n\n{entry['yandex_full-text']}")
    assert (seed.published_at, seed.published_from) == (published, "text")
    assert date_line not in seed.text


def test_a_placeholder_in_metadata_is_no_date():
    epoch = '<meta property="article:published_time" content="1970-01-01T00:00:00Z">'
    html = PORTAL.format(byline="2024-07-04 10:30 来源：新华社", **PORTAL_TEXT).replace("</head>", epoch + "</head>")
    doc = trafilatura.bare_extraction(html, with_metadata=True, date_extraction_params=TRAFILATURA_DATE_PARAMS)
    assert page_date(html, doc.title, doc.text).stated.value == datetime(2024, 7, 4, 10, 30)


def test_the_page_text_the_byline_is_read_in():
    """The page's text as the byline search reads it: blocks on their own lines, inline pieces one
    space apart, scripts and comments left out but the text after them kept, <h1> and <time> marked."""
    from lxml import html

    from silkwatch.parsers.pagedates import _linear_text

    tree = html.document_fromstring(  # as page_date parses a page given as text: comments kept
        "<html><head><title>T</title></head><body><div>Top<!-- a comment -->after\n  <b> bold </b>"
        "<script>var x;</script>tail</div>  <h1>Head\u200bline</h1><p>By <time datetime='2024-07-04'>July 4"
        "</time>, 2024</p><ul><li>one</li><li>two</li></ul>end<svg><text>no</text></svg> last</body></html>"
    )
    text, marks = _linear_text(tree)
    assert text == "Top after bold tail\nHeadline\nBy July 4 , 2024\none\ntwo\nend last"
    assert [(pos, kind, el.tag) for pos, kind, el in marks] == [(20, "h1", "h1"), (31, "time", "time")]
