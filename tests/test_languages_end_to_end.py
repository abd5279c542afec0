"""Issue 16's "Done when", end to end: a Russian and a Chinese article, each as a seed and behind a
feed, with its page served with a declared charset and without one, is stored with clean text, the
date its source states, topics, entities and a story, and `silkwatch search` finds it in its own
script and through an English name.

The texts are the Russian and Chinese items of tests/fixtures/story_labels.toml on the SCO summit in
Astana, July 2024 (TASS, RIA Novosti, Xinhua), so the four make one story. What surrounds them is
modelled on real pages, and each line of chrome is a form tests/test_clean.py lists with the page it
was read off:

- the TASS seed: the text of tass.ru/moskva/8836033 (htmldate-eval's test set) as a reader copies
  it: headline, date, story, then "Теги", a tag, "Реклама на ТАСС", "Правила цитирования" and the
  agency's registration line; share, "read also" and subscribe lines of other Russian sites;
  saved in windows-1251;
- the Xinhua seed: the mobile layout of the news.cn page in tests/fixtures/newspaper4k
  (chinese_article_002.html) as copied: breadcrumb, headline, "date 来源：新华网", font and share
  buttons, story, 【纠错】, the editor line (split over two lines, as on that page), "阅读下一篇：",
  a related link, the copyright; saved in GB18030;
- the RIA page: the article layout of ria.ru in DAnIEL (20120106_www.ria.ru_3bd41a95; see
  evaluation/external.py), its "Ещё по теме" list inside the article body, a "Читайте также" link
  between the paragraphs, share buttons, comments and footer; in windows-1251;
- the Xinhua page: the news.cn layout of that fixture page; in GB18030 (Xinhua's pages are UTF-8
  today; people.com.cn and many provincial sites still serve GB2312).

Each page is listed by two section feeds of its outlet: one address serves it with its charset in
the header and in a <meta>, the other with neither, so detection alone must read it; both copies
must make one article.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from pytest_httpserver import HTTPServer

from silkwatch.warehouse.db import check_integrity, open_warehouse
from tests.conftest import FIXTURES
from tests.test_cli import silkwatch
from tests.test_cross_lingual import search_json

LABELS = {item["id"]: item for item in tomllib.loads((FIXTURES / "story_labels.toml").read_text("utf-8"))["item"]}
TASS, RIA = LABELS["astana24-ru-summit"], LABELS["astana24-ru-putin-xi"]
XINHUA_SUMMIT, XINHUA_PUTIN = LABELS["astana24-zh-summit"], LABELS["astana24-zh-putin"]


def split_after_sentence(text: str, sentences: int) -> list[str]:
    """``text`` as two paragraphs, the first of ``sentences`` sentences (as a page would print it)."""
    parts = re.split(r"(?<=[.。])\s*", text.strip())
    return [" ".join(parts[:sentences]), " ".join(p for p in parts[sentences:] if p)]


TASS_PARAGRAPHS = split_after_sentence(TASS["text"], 2)
RIA_PARAGRAPHS = split_after_sentence(RIA["text"], 1)

TASS_SEED = "\n".join(
    [
        "Поделиться",
        TASS["title"],
        "4 июля 2024, 14:30 (мск)",
        "",
        TASS_PARAGRAPHS[0],
        "Читайте также: " + RIA["title"],
        TASS_PARAGRAPHS[1],
        "",
        "Подпишись на ТАСС",
        "ВКонтакте",
        "Одноклассники",
        "Telegram",
        "Теги",
        "ШОС",
        "Реклама на ТАСС",
        "Правила цитирования",
        "ТАСС, информационное агентство (св-во о регистрации СМИ №03247 выдано 02 апреля 1999 г. "
        "Государственным комитетом Российской Федерации по печати).",
    ]
)
XINHUA_SEED = "\n".join(
    [
        "新华网 > 时政 > 正文",
        XINHUA_SUMMIT["title"],
        "2024-07-04 20:15:30 来源：新华网",
        "字体：小 中 大",
        "分享到：",
        XINHUA_SUMMIT["text"],
        "【纠错】",
        "【责任编辑:张樵苏",
        "】",
        "阅读下一篇：",
        "相关新闻",
        XINHUA_PUTIN["title"],
        "Copyright © 2000-2024 XINHUANET.com All Rights Reserved.",
    ]
)

RIA_PAGE = """<!DOCTYPE html>
<html class="no-js fluid" lang="ru"><head>{meta}
<title>{title} | РИА Новости</title>
</head><body>
<div class="navigator_top"><ul><li class="navigator_top_item"><a href="/politics/">Политика</a></li>
<li class="navigator_top_item"><a href="/world/">В мире</a></li><li class="navigator_top_item">
<a href="/economy/">Экономика</a></li></ul></div>
<div class="article" itemscope="" itemtype="http://schema.org/Article">
<div class="article_header">
<div class="article_header_rubric" id="article_header_rubric"><h2>
<a href="/world/" itemprop="articleSection">В мире</a></h2>
<a href="/export/rss2/world/index.xml" class="header_rss">RSS</a></div>
<h1 class="article_header_title" itemprop="name">{title}</h1>
<div class="article_header_story"><div class="article_header_story_label">Тема: </div>
<p class="article_header_story_title">
<a href="/trend/sco_summit_2024/" class="article_header_item_story">Саммит ШОС в Астане (12) </a></p></div>
<div class="article_header_info"><time class="article_header_date" itemprop="dateCreated" datetime="2024-07-03T13:09">
<span class="article_header_time">13:09</span>03.07.2024</time>
<span class="article_header_item_views">1234</span></div>
<div class="social-userbar-widget_social_container_short"><span>Поделиться</span> <a href="#">ВКонтакте</a>
<a href="#">Одноклассники</a> <a href="#">Telegram</a></div>
</div>
<div class="article_full">
<div class="article_tabs"><ul><li class="article_tab article_tab_text article_tab_sel" title="Текст">Материал</li>
<li class="article_tab article_tab_rel" title="Контекст: 7">Контекст: 7</li>
<li class="article_tab article_tab_comments" title="Комментарии: 0">Комментарии: 0</li></ul></div>
<div class="article_full_content">
<div class="article_full_text article_tab_content clearfix" itemprop="articleBody">
<div class="articles_playlist"><h2 class="articles_playlist_header">
<a href="/trend/sco_summit_2024/">Ещё по теме</a></h2>
<div class="articles_playlist_items"><ul><li class="articles_playlist_item clearfix">
<div class="articles_playlist_item_text">
<h5 class="articles_playlist_item_header"><a href="/world/20240704/sco.html">{related}</a></h5>
<div class="articles_playlist_item_date">04 июля 2024, 14:30</div></div></li></ul></div></div>
<p>{first}</p>
<p><strong>Читайте также:</strong> <a href="/world/20240702/xi.html">Си Цзиньпин прибыл в Казахстан</a></p>
<p>{second}</p>
</div></div>
</div>
<div class="article_comments"><h3>Комментарии (3)</h3><a href="#">Добавить комментарий</a></div>
</div>
<div class="footer"><p>© 2024 МИА «Россия сегодня»</p>
<p>Все права защищены. При полном или частичном использовании материалов ссылка на РИА Новости обязательна.</p></div>
</body></html>
"""
XINHUA_PAGE = """<!DOCTYPE html>
<html><head>{meta}
<title>{title}-新华网</title>
</head><body>
<div class="header domPC">
<div class="header-top clearfix"><div class="header-nav left"><a href="https://www.xinhuanet.com/">新华网</a> &gt;
<a class="curColumn">时政</a> &gt; 正文</div></div>
<div class="header-cont clearfix">
<div class="header-time left"><span class="year"><em> 2024</em></span><span class="day">
<em> 07</em>/<em> 03</em></span>
<span class="time"> 21:42:10</span></div>
<div class="source">来源：新华网</div>
<div class="head-line clearfix"><h1><span class="title">{title}</span><span class="btn-audio"></span></h1>
<div class="pageShare"><div class="setFont">字体：<span id="fontSmall">小</span>
<span id="fontNormal" class="active">中</span>
<span id="fontBig">大</span></div>
<div class="share">分享到：<a href="javascript:void(0)" class="wx"></a><a href="javascript:void(0)" class="wb">
</a></div></div>
</div></div></div>
<div class="mheader domMobile"><h1><span class="title">{title}</span></h1><div class="info">2024-07-03 21:42:10
<span>来源：新华网</span></div></div>
<div class="main clearfix"><div class="main-left left">
<div id="detail">
<p>　　{text}</p>
<div id="articleEdit"><span class="tiyi1 domPC"><a href="javascript:void(0);" class="advise">【纠错】</a></span>
<span class="editor">【责任编辑:张樵苏
】 </span></div>
</div>
<div class="nextpage clearfix"><div class="nextpage-tit">阅读下一篇：</div><div class="nextpage-cont"><a href="#">
</a></div></div>
</div>
<div class="main-right right"><div class="columBox domPC"><div class="col-tit"><span>
<a href="https://www.news.cn/depthobserve.htm">深度观察</a></span></div>
<div class="list list-txt dot"><ul><li><a href="/2024-07/04/c_1.htm">{related}</a></li></ul></div></div></div>
</div>
<div class="foot"><p>Copyright © 2000-2024 XINHUANET.com All Rights Reserved.</p></div>
</body></html>
"""


@dataclass(frozen=True)
class Page:
    path: str
    body: bytes
    content_type: str


def ria_page(charset: bool) -> Page:
    meta = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">' if charset else ""
    html = RIA_PAGE.format(
        meta=meta, title=RIA["title"], related=TASS["title"], first=RIA_PARAGRAPHS[0], second=RIA_PARAGRAPHS[1]
    )
    path, content_type = ("/world/20240703/putin-xi.html", "text/html; charset=windows-1251") if charset else (
        "/politics/20240703/putin-xi.html", "text/html")  # fmt: skip
    return Page(path, html.encode("cp1251"), content_type)


def xinhua_page(charset: bool) -> Page:
    html = XINHUA_PAGE.format(
        meta='<meta charset="gb2312">' if charset else "",
        title=XINHUA_PUTIN["title"],
        text=XINHUA_PUTIN["text"],
        related=XINHUA_SUMMIT["title"],
    )
    path, content_type = ("/politics/2024-07/03/c_putin.htm", "text/html; charset=GB2312") if charset else (
        "/world/2024-07/03/c_putin.htm", "text/html")  # fmt: skip
    return Page(path, html.encode("gb18030"), content_type)


PAGES = {
    ("ru", True): ria_page(charset=True),
    ("ru", False): ria_page(charset=False),
    ("zh", True): xinhua_page(charset=True),
    ("zh", False): xinhua_page(charset=False),
}
FEEDS = {  # path -> (name, language, timezone, the page it lists, its pubDate as the feed writes it)
    "/ria/world.xml": ("РИА Новости: В мире", "ru", "Europe/Moscow", PAGES["ru", True],
                       "Wed, 03 Jul 2024 13:09:00 +0300"),
    "/ria/politics.xml": ("РИА Новости: Политика", "ru", "Europe/Moscow", PAGES["ru", False],
                          "Wed, 03 Jul 2024 13:09:00 +0300"),
    "/xinhua/politics.xml": ("新华网 时政", "zh", None, PAGES["zh", True], "Wed, 03 Jul 2024 21:42:10 +0800"),
    "/xinhua/world.xml": ("新华网 国际", "zh", None, PAGES["zh", False], "Wed, 03 Jul 2024 21:42:10 +0800"),
}  # fmt: skip


def rss(name: str, language: str, link: str, title: str, pub_date: str) -> bytes:
    """An RSS 2.0 feed of one item, as ria.ru's and news.cn's section feeds write them (UTF-8)."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>{escape(name)}</title>'
        f"<link>{escape(link.rsplit('/', 3)[0])}/</link><language>{language}</language>"
        f"<item><title>{escape(title)}</title><link>{escape(link)}</link><guid>{escape(link)}</guid>"
        f"<pubDate>{pub_date}</pubDate></item></channel></rss>"
    ).encode()


@dataclass(frozen=True)
class Run:
    work: Path
    url: dict  # (language, charset) -> the page's address
    article: dict  # "ru seed", "zh seed", "ru page", "zh page" -> article_id


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    """`silkwatch run` in a fresh folder: the two seeds, and four feeds on 127.0.0.1."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        work = tmp_path_factory.mktemp("languages")
        (work / "seeds").mkdir()
        (work / "seeds" / "tass-astana-sco-summit.txt").write_bytes(TASS_SEED.encode("cp1251"))
        (work / "seeds" / "xinhua-astana-sco-summit.txt").write_bytes(XINHUA_SEED.encode("gb18030"))
        feeds = []
        for path, (name, language, timezone, page, pub_date) in FEEDS.items():
            server.expect_request(page.path).respond_with_data(page.body, content_type=page.content_type)
            title = RIA["title"] if language == "ru" else XINHUA_PUTIN["title"]
            body = rss(name, language, server.url_for(page.path), title, pub_date)
            server.expect_request(path).respond_with_data(body, content_type="application/rss+xml")
            zone = f'timezone = "{timezone}"\n' if timezone else ""
            feeds.append(f'[[feed]]\nurl = "{server.url_for(path)}"\nname = "{name}"\nlanguage = "{language}"\n{zone}')
        (work / "feeds.toml").write_text("\n".join(feeds), "utf-8")
        (work / "silkwatch.toml").write_text(
            '[warehouse]\npath = "data/silkwatch.duckdb"\n[feeds]\nfile = "feeds.toml"\n'
            "[fetch]\nallow_private_networks = true\nper_host_delay = 0\nretries = 0\n",
            "utf-8",
        )
        ran = silkwatch("run", cwd=work)
        assert ran.returncode == 0, ran.stderr
    finally:
        server.clear()
        server.stop()
    url = {key: server.url_for(page.path) for key, page in PAGES.items()}
    with open_warehouse(work / "data" / "silkwatch.duckdb", read_only=True) as con:
        assert check_integrity(con) == []
        by_url = dict(con.execute("SELECT url, article_id FROM article_sources").fetchall())
    article = {  # None when it was not stored (the first test says so)
        "ru seed": by_url.get("seed:tass-astana-sco-summit.txt"),
        "zh seed": by_url.get("seed:xinhua-astana-sco-summit.txt"),
        "ru page": by_url.get(url["ru", True]),
        "zh page": by_url.get(url["zh", True]),
    }
    return Run(work, url, article)


def query(run: Run, sql: str, *params) -> list[tuple]:
    with open_warehouse(run.work / "data" / "silkwatch.duckdb", read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def test_each_is_one_article_stored_with_clean_text(run):
    assert [name for name, article_id in run.article.items() if article_id is None] == []
    rows = query(run, "SELECT article_id, title, text, language FROM articles")
    assert len(rows) == 4  # a page served with and without its charset is one article
    stored = {article_id: (title, text, language) for article_id, title, text, language in rows}
    assert stored[run.article["ru seed"]] == (TASS["title"], "\n\n".join(TASS_PARAGRAPHS), "ru")
    assert stored[run.article["zh seed"]] == (XINHUA_SUMMIT["title"], XINHUA_SUMMIT["text"], "zh")
    assert stored[run.article["ru page"]] == (RIA["title"], "\n\n".join(RIA_PARAGRAPHS), "ru")
    assert stored[run.article["zh page"]] == (XINHUA_PUTIN["title"], XINHUA_PUTIN["text"], "zh")  # not "…-新华网"
    outlets = dict(query(run, "SELECT article_id, source_name FROM articles"))
    assert outlets[run.article["zh seed"]] == "新华网"  # its "来源：新华网" line
    assert outlets[run.article["ru page"]] in ("РИА Новости: В мире", "РИА Новости: Политика")  # its feeds
    assert outlets[run.article["zh page"]] in ("新华网 时政", "新华网 国际")


def test_each_copy_records_the_encoding_it_was_read_in_and_why(run):
    rows = query(run, "SELECT url, article_id, encoding, encoding_from FROM article_sources")
    copies = {url: (article_id, encoding, why) for url, article_id, encoding, why in rows}
    assert copies["seed:tass-astana-sco-summit.txt"][1:] == ("windows-1251", "detected")
    assert copies["seed:xinhua-astana-sco-summit.txt"][1:] == ("gb18030", "detected")
    assert copies[run.url["ru", True]] == (run.article["ru page"], "windows-1251", "http")
    assert copies[run.url["ru", False]] == (run.article["ru page"], "windows-1251", "detected")
    assert copies[run.url["zh", True]] == (run.article["zh page"], "gb18030", "http")
    assert copies[run.url["zh", False]] == (run.article["zh page"], "gb18030", "detected")


def test_each_has_the_date_its_source_states_in_utc(run):
    published = dict(query(run, "SELECT article_id, published_at FROM articles"))
    assert published[run.article["ru seed"]] == datetime(2024, 7, 4, 11, 30)  # 14:30 мск
    assert published[run.article["zh seed"]] == datetime(2024, 7, 4, 12, 15, 30)  # 20:15:30 in Beijing
    assert published[run.article["ru page"]] == datetime(2024, 7, 3, 10, 9)  # 13:09 in Moscow
    assert published[run.article["zh page"]] == datetime(2024, 7, 3, 13, 42, 10)  # 21:42:10 in Beijing
    # the pages state the same moments as their feeds (each copy keeps both)
    pages = dict(query(run, "SELECT url, page_published_at FROM article_sources WHERE feed_url IS NOT NULL"))
    assert pages[run.url["ru", True]] == pages[run.url["ru", False]] == datetime(2024, 7, 3, 10, 9)
    assert pages[run.url["zh", True]] == pages[run.url["zh", False]] == datetime(2024, 7, 3, 13, 42, 10)


def test_each_has_its_topic_entities_and_one_story(run):
    topics = query(run, "SELECT article_id, list(topic) FROM article_topics GROUP BY article_id")
    assert {article_id: "SCO" in found for article_id, found in topics} == dict.fromkeys(run.article.values(), True)
    entities = dict(query(run, "SELECT article_id, list(DISTINCT entity_id) FROM article_entities GROUP BY article_id"))
    expected = {
        "ru seed": {"sco", "astana", "kassym-jomart-tokayev", "vladimir-putin", "xi-jinping", "kazakhstan"},
        "zh seed": {"sco", "astana", "kassym-jomart-tokayev", "xi-jinping", "kazakhstan"},
        "ru page": {"sco", "astana", "vladimir-putin", "xi-jinping"},
        "zh page": {"sco", "astana", "vladimir-putin", "xi-jinping"},
    }
    for name, article_id in run.article.items():
        assert expected[name] <= set(entities[article_id]), name
    stories = query(run, "SELECT story_id, list(article_id ORDER BY article_id) FROM story_articles GROUP BY story_id")
    assert [sorted(members) for _, members in stories] == [sorted(run.article.values())]


@pytest.mark.parametrize(
    ("name", "own_script", "english"),
    [
        ("ru seed", "Токаев", "Tokayev"),
        ("zh seed", "托卡耶夫", "Tokayev"),
        ("ru page", "Путин", "Putin"),
        ("zh page", "普京", "Putin"),
    ],
)
def test_search_finds_each_in_its_script_and_through_an_english_name(run, name, own_script, english):
    for query_text in (own_script, english):
        hits = {hit["article_id"]: hit for hit in search_json(run.work, query_text)}
        assert run.article[name] in hits, query_text
        line = hits[run.article[name]]["english_line"]
        assert line.startswith(f"[{name[:2]}] ") and "SCO" in line and english in line, line


def test_the_digest_gives_the_story_and_each_article_an_english_line(run):
    digest = silkwatch("digest", "--period", "all", "--out", "reports/all.md", cwd=run.work)
    assert digest.returncode == 0, digest.stderr
    md = (run.work / "reports" / "all.md").read_text("utf-8")
    heading, rest = md.split("## Top stories", 1)[1].split("**4 articles", 1)
    assert "*In English:* \\[" in heading and "SCO · Astana" in heading  # the label's language is ru or zh
    assert rest.split("\n## ", 1)[0].count("*In English:*") == 4
    html = (run.work / "reports" / "all.html").read_text("utf-8")
    label = r'1\. <span lang="(ru|zh)">[^<]+</span></h3>\s*<div[^>]*><em>In English:</em> \[(ru|zh)\] SCO'
    assert re.search(label, html)
