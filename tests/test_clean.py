"""The cleaner on the seeds (exact expectations) and on corpora text with boilerplate injected."""

from __future__ import annotations

import random

import pytest

from silkwatch.parsers.clean import clean_text, load_line_rules, match_line_rule
from silkwatch.parsers.extract import extract_page
from silkwatch.parsers.text import collapse_whitespace
from tests.conftest import FIXTURES, SEEDS

NEWSPAPER4K = FIXTURES / "newspaper4k"

# What the cleaner must remove from each seed, by (rule, start of line). Everything else stays.
EXPECTED_REMOVED = {
    "000_973e75babbcdd9fa.txt": [],
    "001_ca2344aa02f0cd64.txt": [
        ("headline", "China's top diplomat Wang Yi vows"),
        ("platform promo", "Do you have questions about the biggest topics"),
        ("originally appeared", "This article originally appeared in the South China Morning Post"),
        ("copyright", "Copyright (c) 2024. South China Morning Post Publishers Ltd."),
    ],
    "002_dc2f72f61a3a018e.txt": [
        ("navigation", "Categories Tajikistan"),
        ("headline", "The 2nd China-Central Asia summit addresses"),
        ("headline", "The 2nd China-Central Asia summit addresses"),
        ("comment form", "Leave a Reply"),
        ("after 'Leave a Reply'", "Your email address will not be published."),
    ],
    "003_53eca7c8ac1a35d1.txt": [
        ("headline", "China’s Xi hails ‘unique’ links with Kazakhstan"),
        ("repeated line (caption, link or headline)", "Chinese President Xi Jinping arrives in Kazakhstan"),
        ("repeated line (caption, link or headline)", "Chinese President Xi Jinping arrives in Kazakhstan"),
        ("read more", "Read More"),
        ("comment form", "Leave a Reply"),
    ],
    "004_486398540443305b.txt": [
        ("site slogan", "Eplly is Your Ultimate Source"),
        ("site banner", "—— 《 Eplly • Com 》"),
        ("headline", "Xi Says China Ready to Help Central Asia Boost Defense, Security"),
        ("view counter", "Views: 5003"),
        ("date line", "2023-05-19 11:25"),
        ("teaser repeats the next paragraph", "President Xi Jinping said China is ready to help"),
        ("credit line", "--With assistance from Jing Li."),
        ("related links", "You Might Like..."),
    ],
}
TITLES = {
    "001_ca2344aa02f0cd64.txt": "China's top diplomat Wang Yi vows stronger security, anti-terror ties with Tajikistan",
    "002_dc2f72f61a3a018e.txt": "The 2nd China-Central Asia summit addresses the most important issues related to the "
    "expansion of cooperation",
    "003_53eca7c8ac1a35d1.txt": "China’s Xi hails ‘unique’ links with Kazakhstan, ‘looks forward’ to SCO summit",
    "004_486398540443305b.txt": "Xi Says China Ready to Help Central Asia Boost Defense, Security",
}


@pytest.mark.parametrize("name", sorted(EXPECTED_REMOVED))
def test_seed_boilerplate_removed_and_story_kept(name):
    text = (SEEDS / name).read_text("utf-8")
    cleaned = clean_text(text, title=TITLES.get(name))
    got = [(r.rule, r.text) for r in cleaned.removed]
    expected = EXPECTED_REMOVED[name]
    assert len(got) == len(expected), got
    for (rule, line), (want_rule, want_start) in zip(got, expected, strict=True):
        assert rule == want_rule
        assert line.startswith(want_start)
    # every other line of the seed is in the clean text, in order
    removed_lines = {r.line_no for r in cleaned.removed}
    story = [collapse_whitespace(raw) for no, raw in enumerate(text.splitlines(), 1) if no not in removed_lines]
    assert [line for line in story if line] == cleaned.paragraphs


def test_short_sentences_and_quotes_are_kept():
    text = "“Intimate brother”\n\nHe said: “No.”\n\nThat was all.\n\nShare\n\nThe talks ended on Friday."
    cleaned = clean_text(text)
    assert cleaned.paragraphs == [
        "“Intimate brother”",
        "He said: “No.”",
        "That was all.",
        "The talks ended on Friday.",
    ]
    assert [r.rule for r in cleaned.removed] == ["share line"]


def test_end_marker_in_first_half_does_not_cut_the_story():
    text = "Related\n\nFirst paragraph of the story.\n\nSecond paragraph.\n\nThird paragraph."
    cleaned = clean_text(text)
    assert cleaned.paragraphs == ["First paragraph of the story.", "Second paragraph.", "Third paragraph."]


def test_outlet_captured_from_footer_not_from_story():
    text = (
        "South China Morning Post (SCMP) reports that the talks went well.\n"
        "Copyright © 2024 Example Media Group Ltd. All rights reserved."
    )
    cleaned = clean_text(text)
    assert cleaned.captures["outlet"] == "Example Media Group"
    assert cleaned.paragraphs == ["South China Morning Post (SCMP) reports that the talks went well."]


INLINE_BOILERPLATE = [
    "Share this article",
    "Facebook Twitter WhatsApp Email",
    "Views: 1,204",
    "Read More",
    "Sign up for our daily newsletter to get the top stories",
    "Photo: Reuters",
]
FOOTER = [
    "This story originally appeared in The Example Times.",
    "Copyright © 2019 Example News Ltd. All rights reserved.",
    "Leave a Reply",
    "Your email address will not be published.",
]


def test_injected_boilerplate_removed_from_real_corpora_text(corpora_pages):
    """Boilerplate scattered through 50 real bodies goes; every paragraph the cleaner kept before stays."""
    rng = random.Random(7)
    kept_total = removed_total = 0
    for page in corpora_pages.values():
        paragraphs = [collapse_whitespace(p) for p in page["articleBody"].split("\n") if p.strip()]
        original = clean_text("\n\n".join(paragraphs)).paragraphs
        injected = ["Officials at the ceremony in a file picture (Photo: Example Agency)", *original]
        for line in rng.sample(INLINE_BOILERPLATE, 3):
            injected.insert(rng.randrange(1, len(injected) + 1), line)
        cleaned = clean_text("\n\n".join([*injected, *FOOTER]))
        assert cleaned.paragraphs == original, page["url"]
        kept_total += len(original)
        removed_total += len(cleaned.removed)
    assert kept_total > 500
    assert removed_total == len(corpora_pages) * (1 + 3 + len(FOOTER))


def test_real_corpora_bodies_lose_almost_nothing(corpora_pages):
    """The reference bodies are clean text: the cleaner removes at most a credit line here and there."""
    removed = [r for page in corpora_pages.values() for r in clean_text(page["articleBody"]).removed]
    total = sum(len([p for p in page["articleBody"].split("\n") if p.strip()]) for page in corpora_pages.values())
    print(f"\ncleaner on {len(corpora_pages)} reference bodies: removed {len(removed)} of {total} lines")
    for r in removed:
        print(f"  {r.rule}: {r.text[:80]}")
    assert len(removed) <= 0.01 * total


def test_rules_file_errors_name_the_rule(tmp_path):
    bad = tmp_path / "rules.toml"
    bad.write_text("[[line]]\nname = 'broken'\npattern = '(unclosed'\n", "utf-8")
    with pytest.raises(ValueError, match=r"rules.toml: rule 1 \(broken\)"):
        load_line_rules(bad)


@pytest.mark.parametrize(
    "line",
    [
        "In a statement, the ministry said it would share data with Kazakhstan.",
        "Home prices in Almaty rose 12 per cent, the bank said.",
        "Search teams found the missing climbers on Sunday.",
        "The photo opportunity was cancelled.",
        "Copyright disputes between the two firms went to court in Astana.",
    ],
)
def test_story_sentences_are_not_boilerplate(line):
    assert match_line_rule(line) is None


# Russian and Chinese site chrome: a real line of each form, and the page it was read off (DAnIEL and
# zh-cwced pages by file name, see evaluation/external.py; htmldate-eval pages by their URL).
CHROME_LINES = [
    ("Поделиться:", "share line", "DAnIEL 20111128_ubr.ua_ed8680ca"),
    ("Добавить в закладки и поделиться:", "share line", "DAnIEL 20111128_news.bcm.ru_51f1c8d6"),
    ("ВКонтакте", "share line", "DAnIEL 20111128_www.048.ua_b6c6487a"),
    ("Одноклассники", "share line", "DAnIEL 20111128_ufa.kp.ru_5c499e9f"),
    ("Версия для печати | Версия для PDA", "navigation", "DAnIEL 20111128_www.regnum.ru_2fa9d594"),
    ("Теги", "navigation", "DAnIEL 20111128_krasnoturinsk.info_5a3bfe4c"),
    ("Читайте также", "read also", "DAnIEL 20111128_dozor.kharkov.ua_f3b980e8"),
    ("Читайте также: В Якутии нашли древнего бизона", "read also", "DAnIEL 20120117_www.pravda.ru_68888a68"),
    ("Смотрите также", "read also", "DAnIEL 20111128_news.bcm.ru_51f1c8d6"),
    ("Другие новости раздела", "related links", "DAnIEL 20111128_www.1news.az_9bd2b46a"),
    ("Новости по теме:", "related links", "DAnIEL 20111209_mignews.com.ua_8136e68b"),
    ("Ещё по теме", "related links", "DAnIEL 20120106_www.ria.ru_3bd41a95"),
    ("Комментарии: 4", "comment form", "DAnIEL 20120106_www.ria.ru_a5982ac8"),
    ("Комментариев - 732", "comment form", "DAnIEL 20111209_podrobnosti.ua_3c23469a"),
    ("Добавить комментарий", "comment form", "DAnIEL 20111128_krasnoturinsk.info_5a3bfe4c"),
    ("Обсудить (76)", "comment form", "DAnIEL 20120106_www.nr2.ru_e411c27e"),
    ("Подписывайтесь на наш канал:", "platform promo", "htmldate-eval, inform.kz/ru/...a3725092"),
    ("Присоединяйтесь к нам на Facebook, Twitter, В контакте.", "platform promo",
     "DAnIEL 20111128_www.aif.ru_252b43f4"),
    ("МК в Telegram", "platform promo", "htmldate-eval, oren.mk.ru/social/2020/02/18/..."),
    ("Реклама на ТАСС", "platform promo", "htmldate-eval, tass.ru/moskva/8836033"),
    ("Все права защищены.", "copyright", "DAnIEL 20111128_cxid.info_8457bff1"),
    ("ИА «Бел.Ру» © 1999-2013. Все права защищены.", "copyright", "DAnIEL 20120117_www.bel.ru_ee4c7876"),
    ("При цитировании материалов прямая активная ссылка на www.baikal-daily.ru обязательна.", "copyright",
     "DAnIEL 20120106_www.baikal-daily.ru_4d03f94d"),
    ("Правила цитирования", "copyright", "htmldate-eval, tass.ru/moskva/8836033"),
    ("ТАСС, информационное агентство (св-во о регистрации СМИ №03247 выдано 02 апреля 1999 г. Государственным "
     "комитетом Российской Федерации по печати).", "copyright", "htmldate-eval, tass.ru/moskva/8836033"),
    ("Источник: Курсквеб.Ру", "credit line", "DAnIEL 20111209_kurskweb.ru_0cbd3006"),
    ("Источник фото: glomu.ru", "credit line", "DAnIEL 20111209_life.comments.ua_413445fc"),
    ("Главный редактор - Сунгоркин В.Н.", "credit line", "DAnIEL 20111128_ufa.kp.ru_5c499e9f"),
    ("Просмотров: 2639", "view counter", "DAnIEL 20120106_vesti.kz_30d73cd8"),
    ("Просмотров: 2015 Комментариев: 0", "view counter", "DAnIEL 20120106_tengrinews.kz_a17beb36"),
    ("(1019 просмотров)", "view counter", "DAnIEL 20111128_prm.ru_1e627e2f"),
    ("Фото: РИА Новости", "photo caption", "DAnIEL 20120106_rus.ruvr.ru_201874024"),
    ("分享到：", "share line", "news.cn, tests/fixtures/newspaper4k/chinese_article_002.html"),
    ("分享到新浪微博", "share line", "DAnIEL 20111209_tech.sina.com.cn_0fa41e8e"),
    ("扫一扫在手机打开当前页", "share line", "zh-cwced 500b350d"),
    ("【字號 大 中 小】 【打印】 【關閉】", "share line", "DAnIEL 20120112_big5.xinhuanet.com_702859ad"),
    ("【纠错】", "share line", "news.cn, tests/fixtures/newspaper4k/chinese_article_002.html"),
    ("阅读下一篇：", "navigation", "news.cn, tests/fixtures/newspaper4k/chinese_article_002.html"),
    ("企业服务首页 > 产经资讯 > 商贸 > > 点击财富专题 > 正文", "navigation", "zh-cwced 0d931936"),
    ("相关新闻", "related links", "DAnIEL 20111209_china.newssc.org_bb91803c"),
    ("延伸閱讀", "related links", "DAnIEL 20120112_member.nownews.com_173e8ed8"),
    ("48小时点击排行", "related links", "DAnIEL 20111209_finance.ifeng.com_ee015223"),
    ("- 小学规定学生当志愿者可免做寒假作业 01/17 02:00", "related links", "DAnIEL 20120117_finance.ifeng.com_e44f1d7d"),
    ("- ・铁路局迫于财务危机 多种经营回归铁路主业2011/09/14", "related links",
     "DAnIEL 20120117_biz.caixun.com_e46b253d"),
    ("发表评论", "comment form", "DAnIEL 20111209_china.huanqiu.com_1a3c1500"),
    ("网友评论", "comment form", "zh-cwced b4c2eccd"),
    ("我要评论", "comment form", "DAnIEL 20111209_china.huanqiu.com_1a3c1500"),
    ("关注我们", "platform promo", "DAnIEL 20111215_finance.21cn.com_72492fd2"),
    ("新闻客户端", "platform promo", "DAnIEL 20111209_finance.ifeng.com_ee015223"),
    ("版权所有 江苏扬子晚报有限公司", "copyright", "zh-cwced 36efbc69"),
    ("本文版权归解放牛网所有，任何媒体、网站或个人未经本网协议授权不得转载、链接、转帖或以其他方式复制发布/发表。",
     "copyright", "DAnIEL 20120112_www.jfdaily.com_a163a9d3"),
    ("(內容由新浪北京提供。未經授權，不得轉載。)", "copyright", "DAnIEL 20120112_news.sina.com.hk_e4caac45"),
    ("（ 责任编辑：魏喆 ）", "credit line", "zh-cwced 33a95b71"),
    ("【责任编辑:张樵苏", "credit line", "news.cn, tests/fixtures/newspaper4k/chinese_article_002.html"),
    ("（编辑：严玉洁 王辉）", "credit line", "chinadaily.com.cn, tests/fixtures/newspaper4k/chinese_article_001.html"),
    ("来源：新华网", "credit line", "DAnIEL 20111209_www.cs.com.cn_7adc9e75"),
    ("(本文来源：中国广播网 )", "credit line", "DAnIEL 20120112_news.163.com_423dcc6f"),
    ("阅读10544次", "view counter", "zh-cwced 2168485b"),
    ("点击数", "view counter", "DAnIEL 20111209_tech.sina.com.cn_0fa41e8e"),
    ("】", "no words", "news.cn, tests/fixtures/newspaper4k/chinese_article_002.html"),
    ("| |---|---|", "no words", "zh-cwced 0d931936"),
    # table rows as trafilatura writes them: every cell is chrome
    ("| 编辑： 金金 | 来源： 21世纪经济报道 | 作者：宋怡 杨志华 |", "credit line", "zh-cwced 6820ebe7"),
    ("| | 发送给朋友 | | | 发表评论 | | 打印本文 | |", "share line", "zh-cwced 2bac7fb2"),
]  # fmt: skip


@pytest.mark.parametrize(("line", "rule", "seen"), CHROME_LINES, ids=[line[:24] for line, _, _ in CHROME_LINES])
def test_russian_and_chinese_chrome_is_removed(line, rule, seen):
    hit = match_line_rule(line)
    assert hit is not None and hit[0].name == rule, seen


@pytest.mark.parametrize(
    "line",
    [
        "Источник в правительстве сообщил ТАСС, что переговоры продолжатся.",
        "Источник: в Кремле обсуждают визит Си Цзиньпина",  # a headline, not a credit: no name after the colon
        "По словам источника, Токаев поделился планами с Си Цзиньпином.",
        'Главу "Вконтакте" обвинили в наезде на полицейского',  # an RBC headline, DAnIEL 20120106_top.rbc.ru
        "Последние новости из Астаны обнадёживают инвесторов.",
        "Комментарии экспертов разошлись.",
        "Он подчеркнул, что все права защищены законом.",
        "Печать новых банкнот начнётся в июле.",
        "Реклама на телевидении подорожала на 20%.",
        "По теме переговоров стороны не сказали ничего нового.",
        "- Саммит ШОС прошёл в Астане 4 июля 2024",  # an item of a story's list: no time, no link list
        "这些数据来源：国家统计局和海关总署。",
        "资料来源于新华社的报道显示，中亚五国与中国贸易额持续增长。",
        "中方愿同哈方分享发展经验，推进共建“一带一路”。",
        "分享发展机遇是双方的共同愿望。",
        "关注中亚安全局势的专家认为，地区形势总体稳定。",
        "评论认为，这次峰会具有里程碑意义。",
        "相关报道指出，双方贸易额增长了两成。",
        "记者：您如何看待中哈关系的发展？",  # an interview's question, not a credit line
    ],
)
def test_russian_and_chinese_story_sentences_are_not_boilerplate(line):
    assert match_line_rule(line) is None


def test_a_chinese_line_is_measured_by_its_characters():
    """A rule's max_words counts Chinese by characters (parsers.measure.word_count): a paragraph of
    124 characters that mentions 版权所有 in prose is 82 words, over the copyright rule's 60; counted
    with split() it would be one word, and the paragraph would go."""
    paragraph = (
        "法院审理认为，涉案作品的版权所有关系清楚，被告未经许可在其网站上传播原告享有著作权的新闻稿件，侵犯了原告的"
        "信息网络传播权，应当承担停止侵权、赔偿损失的民事责任，遂判决被告赔偿原告经济损失及合理开支共计五万元，并在"
        "其网站首页连续七日刊登声明消除影响。"
    )
    assert match_line_rule(paragraph) is None
    assert match_line_rule("版权所有 江苏扬子晚报有限公司") is not None


def test_a_table_row_of_chrome_goes_but_never_ends_the_story():
    """On a page laid out in a table (zh-cwced 2168485b), trafilatura writes the comment form's row
    before the story's rows: the row goes, the story after it stays."""
    text = "\n".join(
        [
            "亚洲开发银行宣布向中亚区域经济合作项目提供新的贷款。",
            "| 发表评论 | 打印本页 |",
            "| 第四届中国经济学年会在南开大学举行，来自各地的学者参加了会议。 |",
            "| 编辑：金金 | 这是一段故事的文字，不是编辑署名。 |",
        ]
    )
    cleaned = clean_text(text)
    assert [r.rule for r in cleaned.removed] == ["comment form"]
    assert len(cleaned.paragraphs) == 3


def test_a_xinhua_page_is_stored_as_newspaper4k_expects_it():
    """newspaper4k's expected text of a Xinhua page (tests/fixtures/newspaper4k) has no 【纠错】 and no
    editor line: neither has silkwatch's, the "】" trafilatura leaves on a line of its own included."""
    page = extract_page((NEWSPAPER4K / "chinese_article_002.html").read_bytes(), "http://www.news.cn/a", "text/html")
    expected = (NEWSPAPER4K / "chinese_article_002.txt").read_text("utf-8")
    assert page.text.split("\n\n") == [collapse_whitespace(p) for p in expected.splitlines() if p.strip()]
    assert [(r.rule, r.text) for r in page.removed] == [
        ("share line", "【纠错】"), ("credit line", "【责任编辑:张樵苏"), ("no words", "】"),
    ]  # fmt: skip


def test_the_source_line_of_a_chinese_page_names_its_outlet():
    """news.cn prints "date 来源：新华网" under the headline (tests/fixtures/newspaper4k/chinese_article_002.html),
    other sites a line of its own: the outlet is taken from either, never from a sentence."""
    assert clean_text("2024-07-04 20:15:30 来源：新华网\n会议在阿斯塔纳举行。").captures["outlet"] == "新华网"
    assert clean_text("文章来源：千龙网\n会议在阿斯塔纳举行。").captures["outlet"] == "千龙网"  # zh-cwced 3832838a
    assert "outlet" not in clean_text("这些数据来源：国家统计局和海关总署。").captures
