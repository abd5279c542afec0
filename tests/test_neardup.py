"""Near duplicates: signatures, the decision rule, and merging copies in the warehouse."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

import numpy as np

from silkwatch.flows.ingest import prepare_seeds, read_seeds, save_rows
from silkwatch.parsers import neardup
from silkwatch.parsers.clean import clean_text
from silkwatch.parsers.feeds import parse_feed
from silkwatch.parsers.seeds import parse_seed
from silkwatch.warehouse.db import check_integrity, open_warehouse
from tests.conftest import FIXTURES, SEEDS

SEEN = datetime(2026, 11, 23, 9, 0)


def seed_text(name: str) -> str:
    return parse_seed(name, (SEEDS / name).read_text("utf-8")).text


def test_signature_is_stable_across_processes():
    text = seed_text("001_ca2344aa02f0cd64.txt")
    here = neardup.signature(text).values.tolist()
    code = (
        "import sys; from silkwatch.parsers import neardup; print(neardup.signature(sys.stdin.read()).values.tolist())"
    )
    there = subprocess.run([sys.executable, "-c", code], input=text, capture_output=True, text=True, check=True)
    assert there.stdout.strip() == str(here)  # stored signatures stay comparable run after run


def test_edited_copy_is_the_same_article_and_other_seeds_are_not():
    paragraphs = seed_text("003_53eca7c8ac1a35d1.txt").split("\n\n")
    edited = ["Asia Times Online", *paragraphs[:5], *paragraphs[6:], "Read the full story at Asia Times."]
    a = neardup.signature("\n\n".join(paragraphs))
    b = neardup.signature("\n\n".join(edited).replace("“", '"').replace("”", '"'))
    assert neardup.same_article(a, b)
    sigs = {p.name: neardup.signature(seed_text(p.name)) for p in sorted(SEEDS.glob("*.txt"))}
    names = sorted(sigs)
    for i, x in enumerate(names):
        for y in names[i + 1 :]:
            assert not neardup.same_article(sigs[x], sigs[y]), (x, y)


def test_shortened_copy_is_recognised_by_containment():
    paragraphs = seed_text("001_ca2344aa02f0cd64.txt").split("\n\n")
    full = neardup.signature("\n\n".join(paragraphs))
    short = neardup.signature("\n\n".join(paragraphs[: len(paragraphs) // 3]))
    assert neardup.estimated_jaccard(full.values, short.values) < neardup.JACCARD_THRESHOLD
    assert neardup.same_article(full, short)


def test_short_texts_have_no_signature_and_band_keys_fit_bigint():
    assert neardup.signature("Too short to sign.") is None
    keys = neardup.signature(seed_text("002_dc2f72f61a3a018e.txt")).band_keys()
    assert len(keys) == neardup.BANDS
    assert all(0 <= k < 2**63 for k in keys)


def test_index_finds_the_best_match():
    index = neardup.NearDupIndex()
    for p in sorted(SEEDS.glob("*.txt")):
        index.add(p.name, neardup.signature(seed_text(p.name)))
    copy = seed_text("004_486398540443305b.txt").replace("Xi", "President Xi", 1)
    assert index.find(neardup.signature(copy)) == "004_486398540443305b.txt"
    other = " ".join(f"Unrelated sentence number {i} about weather in Lisbon and football scores." for i in range(30))
    assert index.find(neardup.signature(other)) is None
    assert np.array_equal(
        index.signatures["004_486398540443305b.txt"].values,
        neardup.signature(seed_text("004_486398540443305b.txt")).values,
    )


SYNDICATED_HEADER = "Central Asia Wire\nBy our correspondents\n"
SYNDICATED_FOOTER = (
    "\nThis story was first published by Central Asia Wire."
    "\nCopyright © 2024 Central Asia Wire Ltd. All rights reserved."
)


def _write_copies(folder):
    folder.mkdir()
    text = (SEEDS / "003_53eca7c8ac1a35d1.txt").read_text("utf-8")
    paragraphs = text.split("\n\n")
    syndicated = SYNDICATED_HEADER + "\n\n".join(paragraphs[:6] + paragraphs[7:]) + SYNDICATED_FOOTER
    (folder / "syndicated-003.txt").write_text(syndicated, "utf-8")
    (folder / "exact-copy-of-001.txt").write_bytes((SEEDS / "001_ca2344aa02f0cd64.txt").read_bytes())


def test_seeds_plus_edited_copies_make_five_articles(tmp_path):
    db = tmp_path / "w.duckdb"
    _write_copies(tmp_path / "copies")
    rows = prepare_seeds(read_seeds(SEEDS).items).items + prepare_seeds(read_seeds(tmp_path / "copies").items).items
    result = save_rows(db, rows, [], "run", SEEN)
    assert (result.articles_new, result.sources_new, result.duplicates) == (5, 7, 2)
    with open_warehouse(db, read_only=True) as con:
        assert check_integrity(con) == []
        copies = dict(
            con.execute(
                "SELECT url, list_sort(list(s.url) OVER (PARTITION BY article_id)) FROM article_sources s"
            ).fetchall()
        )
        assert copies["seed:syndicated-003.txt"] == ["seed:003_53eca7c8ac1a35d1.txt", "seed:syndicated-003.txt"]
        assert copies["seed:exact-copy-of-001.txt"] == ["seed:001_ca2344aa02f0cd64.txt", "seed:exact-copy-of-001.txt"]
        text_from = con.execute(
            "SELECT text_source_url FROM articles WHERE url = 'seed:003_53eca7c8ac1a35d1.txt'"
        ).fetchone()
        assert text_from == ("seed:003_53eca7c8ac1a35d1.txt",)  # the fuller copy's text


def test_later_copy_is_recognised_and_fuller_text_and_earlier_date_win(tmp_path):
    db = tmp_path / "w.duckdb"
    name = "004_486398540443305b.txt"
    text = (SEEDS / name).read_text("utf-8")
    lines = text.split("\n")
    shortened = "\n".join(lines[:-8])  # the last paragraphs missing, same date line
    (tmp_path / "first").mkdir()
    (tmp_path / "first" / "short.txt").write_text(shortened, "utf-8")
    save_rows(db, prepare_seeds(read_seeds(tmp_path / "first").items).items, [], "r1", SEEN)

    earlier = text.replace("2023-05-19 11:25", "2023-05-18 23:00")  # the full story, dated earlier
    (tmp_path / "later").mkdir()
    (tmp_path / "later" / "full.txt").write_text(earlier, "utf-8")
    result = save_rows(db, prepare_seeds(read_seeds(tmp_path / "later").items).items, [], "r2", SEEN)
    assert (result.articles_new, result.duplicates) == (0, 1)
    with open_warehouse(db, read_only=True) as con:
        row = con.execute(
            "SELECT published_at, date_source_url, text_source_url, word_count, url FROM articles"
        ).fetchall()
        assert len(row) == 1
        published_at, date_url, text_url, words, first_url = row[0]
        assert published_at == datetime(2023, 5, 18, 23, 0) and date_url == "seed:full.txt"
        assert text_url == "seed:full.txt" and first_url == "seed:short.txt"
        assert words > 300
        outlets = con.execute("SELECT count(*) FROM article_copies").fetchone()
        assert outlets == (2,)
        assert check_integrity(con) == []


NEWSPAPER4K = FIXTURES / "newspaper4k"


def chinese_text(name: str) -> str:
    return clean_text((NEWSPAPER4K / f"{name}.txt").read_text("utf-8")).text


def test_chinese_is_shingled_by_characters_and_english_by_words():
    words, size = neardup.shingle_tokens("The SCO summit opened in Astana on Thursday")
    assert size == neardup.SHINGLE and words[:3] == ["the", "sco", "summit"]
    chars, size = neardup.shingle_tokens("新华社北京11月17日电 记者")
    assert size == neardup.CJK_SHINGLE and chars == [
        "新",
        "华",
        "社",
        "北",
        "京",
        "11",
        "月",
        "17",
        "日",
        "电",
        "记",
        "者",
    ]


def test_a_chinese_wire_copy_under_another_header_is_the_same_article():
    xinhua = chinese_text("chinese_article_002")
    paragraphs = xinhua.split("\n\n")
    copy = ["中亚新闻网", "来源：新华社", *paragraphs[:2], *paragraphs[3:], "（责任编辑：王磊）"]  # a paragraph dropped
    retyped = "\n\n".join(copy).replace("“", "「").replace("”", "」")
    original, wire_copy = neardup.signature(xinhua), neardup.signature(retyped)
    assert neardup.same_article(original, wire_copy)
    index = neardup.NearDupIndex()
    for name in ("chinese_article", "chinese_article_001", "chinese_article_002"):
        index.add(name, neardup.signature(chinese_text(name)))
    assert index.find(wire_copy) == "chinese_article_002"


def test_one_press_release_posted_twice_under_two_headlines_is_found():
    """Real copies: the Big5 fixture feed carries one press release twice, with different headlines."""
    feed = parse_feed((FIXTURES / "feeds" / "coolloud_org_tw_rss10_big5_malformed.xml").read_bytes())
    first, second = feed.entries[15], feed.entries[18]
    assert first.title != second.title and first.link != second.link
    a = neardup.signature(f"{first.title}\n{first.summary}")
    b = neardup.signature(f"{second.title}\n{second.summary}")
    assert neardup.same_article(a, b)


def test_unrelated_chinese_articles_are_not_the_same():
    sigs = {
        n: neardup.signature(chinese_text(n)) for n in ("chinese_article", "chinese_article_001", "chinese_article_002")
    }
    for a, b in [("chinese_article", "chinese_article_001"), ("chinese_article_001", "chinese_article_002"),
                 ("chinese_article", "chinese_article_002")]:  # fmt: skip
        assert not neardup.same_article(sigs[a], sigs[b]), (a, b)
        assert neardup.estimated_jaccard(sigs[a].values, sigs[b].values) < 0.1
