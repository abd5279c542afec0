"""Text measures that know the script (parsers/measure.py), and the rules that use them, on real Chinese text."""

from __future__ import annotations

import pytest

from silkwatch.parsers.clean import clean_text
from silkwatch.parsers.extract import extract_page
from silkwatch.parsers.measure import CJK_CHARS_PER_WORD, MIN_SEED_WORDS, columns, truncate, word_count
from silkwatch.parsers.seeds import SeedError, is_headline_like, parse_seed, title_from_lede
from silkwatch.parsers.text import split_sentences, summarise
from silkwatch.parsers.tokenize import snippet, terms
from tests.conftest import FIXTURES, SEEDS

NEWSPAPER4K = FIXTURES / "newspaper4k"
XINHUA = (NEWSPAPER4K / "chinese_article_002.txt").read_text("utf-8")  # newspaper4k's expected text of a Xinhua page
XINHUA_TITLE = "短缺药品保供稳价 全力保障临床用药需求"


def test_words_in_spaced_scripts_are_whitespace_words():
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text("utf-8")
        assert word_count(text) == len(text.split())  # English counts exactly as before
    assert word_count("Саммит ШОС прошёл в Астане 3–4 июля") == 7


def test_chinese_is_counted_by_characters():
    assert word_count("上海合作组织") == int(6 / CJK_CHARS_PER_WORD)
    assert word_count("上海合作组织峰会，在阿斯塔纳举行。") == int(14 / CJK_CHARS_PER_WORD)  # punctuation not counted
    assert word_count("新华社北京11月17日电 记者17日从国家卫生健康委获悉") == 3 + int(
        21 / CJK_CHARS_PER_WORD
    )  # 11, 17, 17 and 21 Han characters
    assert word_count(XINHUA) > 300  # not "4 words"


def test_a_chinese_seed_is_an_article_not_four_words():
    copy = parse_seed("xinhua.txt", f"{XINHUA_TITLE}\n\n{XINHUA}")
    assert copy.title == XINHUA_TITLE
    assert copy.language == "zh"
    assert copy.text.startswith("新华社北京11月17日电")
    with pytest.raises(SeedError, match=r"no article text left after removing boilerplate \(\d+ words\)"):
        parse_seed("short.txt", "短讯\n\n" + XINHUA[: int(MIN_SEED_WORDS * CJK_CHARS_PER_WORD) - 2])


def test_a_chinese_page_is_an_article_not_four_words():
    page = extract_page((NEWSPAPER4K / "chinese_article_002.html").read_bytes(), "http://127.0.0.1/a", "text/html")
    assert page is not None and "短缺药品信息监测共享正在多维度推进" in page.text


def test_chinese_headlines_and_sentences():
    assert is_headline_like(XINHUA_TITLE)
    assert not is_headline_like("记者17日从国家卫生健康委获悉，近阶段。")
    sentences = split_sentences("他说：“合作共赢。”会议通过了宣言！是否延期？是的。")
    assert sentences == ["他说：“合作共赢。”", "会议通过了宣言！", "是否延期？", "是的。"]
    assert split_sentences("Mr. Smith went to Washington. He met Dr. Jones.") == [
        "Mr. Smith went to Washington.",
        "He met Dr. Jones.",
    ]


def test_truncation_cuts_chinese_between_characters_and_english_at_spaces():
    assert columns("中国 ab") == 7
    cut = truncate(XINHUA, 40)
    assert cut.endswith("…") and columns(cut) <= 40 and len(cut) > 15  # not cut back to nothing at a space
    assert XINHUA.startswith(cut[:-1])
    assert truncate("Kazakhstan and China signed an agreement", 20) == "Kazakhstan and…"
    title = title_from_lede(XINHUA.replace("\n", ""))
    assert title.startswith("新华社北京11月17日电") and columns(title) <= 120


def test_summaries_of_chinese_hold_two_sentences_without_spaces():
    summary = summarise(clean_text(XINHUA).text)
    first, second = split_sentences(XINHUA)[:2]
    assert summary.startswith(first) and columns(summary) <= 320
    assert " " not in summary[len(first) - 1 : len(first) + 1]
    assert second.startswith(summary[len(first) :].rstrip("…")[:10])


def test_a_chinese_search_snippet_marks_the_matched_words():
    text = "。".join(["国家药监局持续加强药品监管"] * 20) + "。上海合作组织成员国元首理事会在阿斯塔纳举行。" + XINHUA
    out = snippet(text, set(terms("上海合作组织")), width=80)
    assert "**上海合作组织**" in out and out.startswith("… ")
    assert columns(out) <= 80 + 10  # marks and ellipses aside
