"""Seed parsing: headline, outlet and date only from what the text states; bad seeds fail clearly."""

from __future__ import annotations

from datetime import datetime

import pytest

from silkwatch.parsers.seeds import SeedError, decode_seed, parse_seed, stated_date
from tests.conftest import SEEDS

EXPECTED = {
    # name: (title start, outlet, published_at)
    "000_973e75babbcdd9fa.txt": (
        "Chinese President Xi Jinping on Friday promised his Tajik counterpart",
        None,
        None,
    ),
    "001_ca2344aa02f0cd64.txt": ("China's top diplomat Wang Yi vows", "South China Morning Post", None),
    "002_dc2f72f61a3a018e.txt": ("The 2nd China-Central Asia summit addresses", None, None),
    "003_53eca7c8ac1a35d1.txt": ("China’s Xi hails ‘unique’ links with Kazakhstan", None, None),
    "004_486398540443305b.txt": (
        "Xi Says China Ready to Help Central Asia",
        "Eplly",
        datetime(2023, 5, 19, 11, 25),
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_parse_seed(name):
    article = parse_seed(name, (SEEDS / name).read_text("utf-8"))
    title_start, outlet, published = EXPECTED[name]
    assert article.title.startswith(title_start)
    assert len(article.title) <= 120
    assert article.source_name == outlet
    assert article.published_at == published
    assert article.published_from == ("text" if published else None)
    assert article.url == f"seed:{name}"
    assert article.language == "en"
    assert article.title not in article.text  # the headline is not repeated in the body
    for junk in ("Leave a Reply", "Views:", "You Might Like", "SCMP Knowledge", "Copyright", "Read More"):
        assert junk not in article.text


def test_title_from_lede_drops_dateline_and_is_cut_at_a_word():
    article = parse_seed("000_973e75babbcdd9fa.txt", (SEEDS / "000_973e75babbcdd9fa.txt").read_text("utf-8"))
    assert not article.title.startswith("(Beijing)")
    assert article.title.endswith("…")
    assert article.text.startswith("(Beijing) Chinese President")  # the body keeps the dateline


def test_dateline_in_body_is_not_an_outlet():
    # 002 cites "South China Morning Post (SCMP) reports..." in its story: that is not its outlet.
    article = parse_seed("002_dc2f72f61a3a018e.txt", (SEEDS / "002_dc2f72f61a3a018e.txt").read_text("utf-8"))
    assert article.source_name is None
    assert "South China Morning Post (SCMP) reports" in article.text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("   \n\n  ", "empty file"),
        ("Leave a Reply\nShare\nCopyright © 2024 Example Ltd. All rights reserved.", "no article text left"),
        ("A title\n\nSome\x00binary", "NUL bytes"),
    ],
)
def test_bad_seed_text_names_the_file(text, message):
    with pytest.raises(SeedError, match=rf"^bad\.txt: .*{message}"):
        parse_seed("bad.txt", text)


def test_non_utf8_seed_is_refused_with_the_offset():
    with pytest.raises(SeedError, match=r"^latin\.txt: not UTF-8 text \(byte 0xe9 at offset 3\)"):
        decode_seed("latin.txt", "Caf\u00e9 in Bishkek".encode("latin-1"))


def test_utf8_bom_and_utf16_are_decoded():
    assert decode_seed("a.txt", "\ufeffHello".encode()).text == "Hello"
    assert decode_seed("b.txt", "Привет".encode("utf-16")).text == "Привет"
    assert decode_seed("b.txt", "Привет".encode("utf-16")).encoding_from == "bom"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-05-19 11:25", datetime(2023, 5, 19, 11, 25)),
        ("2023-05-19", datetime(2023, 5, 19)),
        ("1890-01-01", None),  # implausible for news we monitor: not trusted
        ("2999-01-01 10:00", None),
        ("2023-02-30", None),
        (None, None),
    ],
)
def test_stated_date_value(value, expected):
    assert stated_date(value).value == expected


def test_implausible_stated_date_is_a_note_not_a_value():
    text = (SEEDS / "004_486398540443305b.txt").read_text("utf-8").replace("2023-05-19 11:25", "2999-05-19 11:25")
    article = parse_seed("future.txt", text)
    assert (article.published_at, article.published_from) == (None, None)
    assert "in the future" in article.date_note
