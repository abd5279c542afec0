"""Full-text search: the tokenizer, alias expansion, BM25 ranking with filters, index upkeep, CLI."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from silkwatch.flows.ingest import prepare_seeds, read_seeds, save_rows
from silkwatch.parsers.entities import default_registry
from silkwatch.parsers.tokenize import ENTITY_TERM, query_terms, snippet, term_counts, term_hashes, terms
from silkwatch.warehouse.db import open_warehouse
from silkwatch.warehouse.search import index_pending, run_search
from tests.conftest import SEEDS

SEEN = datetime(2026, 11, 23, 9, 0)


def test_tokenizer_languages():
    assert terms("The trains, trading partners and Railways") == ["train", "trad", "partner", "railway"]
    assert terms("Астана, в Астане, Астаной") == ["астан", "астан", "астан"]
    assert terms("上海合作组织") == ["上海", "海合", "合作", "作组", "组织"]
    assert terms("Xi’an and Xi'an") == ["xian", "xian"]
    assert terms("China-Europe") == ["china", "europe", "chinaeurope"]


def test_aliases_expand_to_one_concept():
    concepts, phrases = query_terms('Rakhmon "territorial integrity"')
    assert concepts["rahmon"] == concepts["rakhmon"] == concepts["рахмо"] == "entity:emomali-rahmon"
    assert concepts["territorial"] == "territorial"
    assert phrases == ["territorial integrity"]
    assert query_terms("China-Europe Railway Express")[0]["china"] == "china"  # common words stay plain terms


def test_snippet_marks_matches():
    text = "Intro words here. " * 30 + "Tajik leader Rahmon spoke of terrorism today."
    out = snippet(text, {"rahmon", "terrorism"}, width=80)
    assert "**Rahmon**" in out and "**terrorism**" in out
    assert out.startswith("… ")


@pytest.fixture
def db(tmp_path) -> Path:
    db = tmp_path / "w.duckdb"
    ru = tmp_path / "ru"
    ru.mkdir()
    (ru / "ru-sco.txt").write_text(
        "Саммит ШОС в Астане\n\nСаммит Шанхайской организации сотрудничества прошёл в Астане 3–4 июля 2024 года. "
        "Лидеры государств — членов ШОС подписали Астанинскую декларацию и обсудили безопасность в регионе.",
        "utf-8",
    )
    rows = prepare_seeds(read_seeds(SEEDS).items).items + prepare_seeds(read_seeds(ru).items).items
    save_rows(db, rows, [], "run", SEEN)
    return db


def _titles(con, query, **kw):
    return [h["title"] for h in run_search(con, query, **kw)]


def test_done_when_queries(db):
    with open_warehouse(db, read_only=True) as con:
        assert _titles(con, "Rahmon terrorism")[0].startswith("China's top diplomat Wang Yi")
        assert _titles(con, "Rakhmon terrorism")[0].startswith("China's top diplomat Wang Yi")
        assert any(t.startswith("Xi Says China Ready") for t in _titles(con, "Xi'an summit")[:2])
        assert _titles(con, "ШОС Астана")[0] == "Саммит ШОС в Астане"
        assert _titles(con, "Астаной")[0] == "Саммит ШОС в Астане"  # another case of the same word


def test_phrase_mode_and_filters(db):
    with open_warehouse(db, read_only=True) as con:
        assert _titles(con, '"Shanghai business forum"') == [
            "Xi Says China Ready to Help Central Asia Boost Defense, Security"
        ]
        assert _titles(con, '"no such phrase anywhere"') == []
        assert all("trade" in h["topics"] for h in run_search(con, "Xi", topic="trade"))
        assert _titles(con, "Rahmon", source="South China") == [
            "China's top diplomat Wang Yi vows stronger security, anti-terror ties with Tajikistan"
        ]
        assert _titles(con, "Xi", since=datetime(2023, 5, 1), until=datetime(2023, 6, 1), language="en") == [
            "Xi Says China Ready to Help Central Asia Boost Defense, Security"
        ]
        assert run_search(con, "the and of") == []  # stopwords only: nothing to rank


def test_index_follows_merges_and_heals(db, tmp_path):
    with open_warehouse(db) as con:
        assert index_pending(con) == 0  # in step after the load
        con.execute("DELETE FROM search_docs WHERE article_id IN (SELECT article_id FROM search_docs LIMIT 2)")
        assert index_pending(con) == 2  # a killed run's missing entries come back on the next load
        con.execute("UPDATE articles SET text = text || ' Zhaparov attended.', content_hash = 'changed' "
                    "WHERE url = 'seed:002_dc2f72f61a3a018e.txt'")  # fmt: skip
        assert index_pending(con) == 1  # a changed text is re-indexed
        assert _titles(con, "Japarov")[0].startswith("The 2nd China-Central Asia summit")
        counts = con.execute("SELECT (SELECT count(*) FROM search_docs), (SELECT count(*) FROM articles)").fetchone()
        assert counts[0] == counts[1]


def test_entity_mentions_are_index_terms_and_aliases_reach_them():
    """Each mention the tagger finds is an entity:<id> term (title mentions three times), so an
    English name reaches Russian case endings and Chinese transliterations alike."""
    counts = term_counts("托卡耶夫会见", "Касым-Жомарт Токаевым и 托卡耶夫")
    assert counts["entity:kassym-jomart-tokayev"] == 3 + 2
    concepts, _ = query_terms("Tokayev")
    assert concepts["entity:kassym-jomart-tokayev"] == concepts["tokayev"] == "entity:kassym-jomart-tokayev"
    assert query_terms("托卡耶夫")[0]["entity:kassym-jomart-tokayev"] == "entity:kassym-jomart-tokayev"


def _entity_rows(con) -> list[tuple[str, str, int]]:
    """(entity:<id>, article_id, tf) of every entity term indexed (the index holds terms by key)."""
    names = [ENTITY_TERM + entity_id for entity_id in default_registry().names]
    term_of = dict(zip(term_hashes(names).tolist(), names, strict=True))
    rows = con.execute("SELECT p.term_hash, d.article_id, p.tf FROM search_postings p JOIN search_docs d USING (doc)")
    return sorted((term_of[key], article_id, tf) for key, article_id, tf in rows.fetchall() if key in term_of)


def test_reindex_takes_entity_terms_from_the_stored_mentions(db):
    with open_warehouse(db) as con:
        loaded = _entity_rows(con)
        assert any(t == "entity:astana" for t, _, _ in loaded)  # the Russian seed's Астане
        index_pending(con, everything=True)
        assert _entity_rows(con) == loaded
        con.execute("DELETE FROM article_entities WHERE entity_id = 'astana'")  # as a registry change would
        index_pending(con, everything=True)
        assert not any(t == "entity:astana" for t, _, _ in _entity_rows(con))
