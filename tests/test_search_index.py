"""The compact search index (migration 15): terms as 64-bit keys, articles as numbers, tf as
USMALLINT. Keys must be the same for articles and queries, in every process and version, and a
warehouse indexed at schema 14 must search the same after the upgrade."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pytest

from silkwatch.flows.ingest import prepare_seeds, read_seeds, save_rows
from silkwatch.parsers.rows import TF_MAX, search_columns
from silkwatch.parsers.tokenize import query_terms, term_counts, term_hashes, terms
from silkwatch.warehouse.clustering import cluster_pending
from silkwatch.warehouse.db import check_integrity, open_warehouse
from silkwatch.warehouse.load import save_copies
from silkwatch.warehouse.schema import MIGRATIONS, SCHEMA_VERSION, applied_versions
from silkwatch.warehouse.search import article_mentions, run_search
from silkwatch.warehouse.tx import transaction
from tests.conftest import FIXTURES, SEEDS

SEEN = datetime(2026, 11, 23, 9, 0)
# Queries in three scripts, each naming something the documents below hold (as the judged queries do).
QUERIES = ["Rahmon terrorism", "Xi'an summit", "China-Europe Railway Express", "SCO summit Astana Tokayev",
           "ШОС Астана", "Астаной", "上海合作组织", "阿斯塔纳宣言", "Tokayev"]  # fmt: skip


def test_term_keys_are_pinned():
    """blake2b, 8 bytes, little-endian signed: stored keys outlive the process, Python and DuckDB,
    so a change here would make every stored warehouse unsearchable. Checked against hashlib."""
    assert term_hashes(["shanghai", "астан", "上海", "entity:astana"]).tolist() == [
        -6557200092580444009, 65539188668610003, -6396279247433070986, -8746590260554623855,
    ]  # fmt: skip
    assert term_hashes([]).dtype == np.int64 and len(term_hashes([])) == 0


def test_a_count_past_the_column_is_capped():
    counts = {"silk": 70_000, "road": 3}
    tfs = np.frombuffer(search_columns(counts)["search_tfs"], np.uint16).tolist()
    assert tfs == [TF_MAX, 3]


def _written(item_id: str) -> str:
    items = tomllib.loads((FIXTURES / "topic_labels.toml").read_text("utf-8"))["item"]
    return next(item["text"] for item in items if item["id"] == item_id)


def _rows(tmp_path: Path) -> list[dict]:
    """The seeds, and the Russian and Chinese SCO items of topic_labels.toml as seeds (the Russian
    one with test_search's closing words: alone it is too short to keep)."""
    more = tmp_path / "written"
    more.mkdir()
    ru = _written("written-ru-sco").removesuffix(".") + " и обсудили безопасность в регионе."
    (more / "ru-sco.txt").write_text(f"Саммит ШОС в Астане\n\n{ru}", "utf-8")
    (more / "zh-sco.txt").write_text(f"上海合作组织阿斯塔纳峰会\n\n{_written('written-zh-sco')}", "utf-8")
    return prepare_seeds(read_seeds(SEEDS).items).items + prepare_seeds(read_seeds(more).items).items


def _ranked(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, float]]]:
    return {q: [(h["article_id"], h["score"]) for h in run_search(con, q, limit=20)] for q in QUERIES}


POSTINGS = "SELECT p.term_hash, d.article_id, p.tf FROM search_postings p JOIN search_docs d USING (doc)"


def test_query_and_article_terms_get_the_same_keys(tmp_path):
    """Terms hashed by the load's workers (``parsers.rows``) and by a query (``warehouse.search``) meet:
    each term of a Russian and a Chinese query is found under its key, in its article, with the
    count the tokenizer gives, and the article ranks first."""
    db = tmp_path / "w.duckdb"
    save_rows(db, _rows(tmp_path), [], "run", SEEN)
    with open_warehouse(db, read_only=True) as con:
        for query, title in (("ШОС Астаной", "Саммит ШОС в Астане"), ("上海合作组织", "上海合作组织阿斯塔纳峰会")):
            article_id, text = con.execute("SELECT article_id, text FROM articles WHERE title = ?", [title]).fetchone()
            counts = term_counts(title, text)
            words = terms(query)  # the query's own terms (its alias spellings need not be in the article)
            assert set(words) <= set(query_terms(query)[0])
            for term, key in zip(words, term_hashes(words).tolist(), strict=True):
                found = con.execute(f"{POSTINGS} WHERE p.term_hash = ? AND d.article_id = ?", [key, article_id])
                assert found.fetchall() == [(key, article_id, counts[term])], term
            assert run_search(con, query)[0]["title"] == title


def index_as_at_schema_14(con: duckdb.DuckDBPyConnection) -> None:
    """Index every stored article as silkwatch did up to schema 14: (term, article_id, tf) strings
    in ``search_terms``, (article_id, content_hash, length) in ``search_docs``."""
    articles = con.execute("SELECT article_id, title, text, content_hash FROM articles").fetchall()
    mentions = article_mentions(con, [a[0] for a in articles])
    for article_id, title, text, chash in articles:
        counts = term_counts(title, text, mentions=mentions.get(article_id, []))
        con.execute("INSERT INTO search_docs VALUES (?, ?, ?)", [article_id, chash, sum(counts.values())])
        con.executemany("INSERT INTO search_terms VALUES (?, ?, ?)", [(t, article_id, n) for t, n in counts.items()])


def warehouse_before(db: Path, version: int, rows: list[dict]) -> None:
    """A warehouse as silkwatch left it before migration ``version``: the migrations before it, then
    ``rows`` saved, indexed as then (``index_as_at_schema_14``) and clustered."""
    con = duckdb.connect(str(db))
    try:
        applied_versions(con)
        for number, name, migrate in MIGRATIONS:
            if number >= version:
                break
            with transaction(con):
                migrate(con)
                con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [number, name, SEEN])
        with transaction(con):
            save_copies(con, rows, SEEN)
            index_as_at_schema_14(con)
            cluster_pending(con)
    finally:
        con.close()


def test_upgrade_from_schema_14_keeps_the_index_and_its_ranking(tmp_path):
    rows = _rows(tmp_path)
    fresh = tmp_path / "fresh.duckdb"
    save_rows(fresh, rows, [], "run", SEEN)
    old = tmp_path / "old.duckdb"
    warehouse_before(old, 15, rows)
    con = duckdb.connect(str(old))
    try:
        terms_before = con.execute("SELECT term, article_id, tf FROM search_terms").fetchall()
        docs_before = con.execute("SELECT * FROM search_docs ORDER BY ALL").fetchall()
    finally:
        con.close()
    assert len(terms_before) > 1000

    with open_warehouse(old) as con:  # a writer upgrades it
        assert con.execute("SELECT max(version) FROM schema_migrations").fetchone() == (SCHEMA_VERSION,)
        words = sorted({t for t, _, _ in terms_before})
        keys = dict(zip(words, term_hashes(words).tolist(), strict=True))
        assert sorted(con.execute(POSTINGS).fetchall()) == sorted((keys[t], a, tf) for t, a, tf in terms_before)
        assert con.execute(
            "SELECT article_id, content_hash, length FROM search_docs ORDER BY ALL"
        ).fetchall() == docs_before  # fmt: skip
        assert con.execute("SELECT count(*), count(DISTINCT doc) FROM search_docs").fetchone() == (7, 7)
        assert check_integrity(con, indexed=True) == []
        upgraded = _ranked(con)
    with open_warehouse(fresh, read_only=True) as con:
        loaded = _ranked(con)
    assert all(loaded[q] for q in QUERIES)
    for q in QUERIES:
        assert [a for a, _ in upgraded[q]] == [a for a, _ in loaded[q]], q
        assert [s for _, s in upgraded[q]] == pytest.approx([s for _, s in loaded[q]]), q
