"""The warehouse on a real DuckDB file: migrations, idempotent bulk saves, busy and bad paths."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from silkwatch.flows.ingest import prepare_seeds, read_seeds
from silkwatch.parsers.dedupe import content_hash
from silkwatch.parsers.seeds import parse_seed
from silkwatch.warehouse import schema
from silkwatch.warehouse.db import WarehouseBusy, WarehouseError, check_integrity, open_warehouse
from silkwatch.warehouse.load import save_copies
from silkwatch.warehouse.queries import lsh_candidates
from silkwatch.warehouse.schema import MIGRATIONS, applied_versions, ensure_db_shape
from tests.conftest import SEEDS, warehouse_held_by_another_process

SEEN = datetime(2026, 11, 23, 9, 0)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "w.duckdb"


@pytest.fixture
def seed_rows() -> list[dict]:
    return prepare_seeds(read_seeds(SEEDS).items).items


def snapshot(con) -> dict:
    return {
        t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
        for t in ("articles", "article_sources", "article_topics", "schema_migrations")
    }


def test_migrations_are_recorded_and_idempotent(db):
    with open_warehouse(db) as con:
        versions = con.execute("SELECT version, name FROM schema_migrations").fetchall()
        assert versions == [(v, name) for v, name, _ in MIGRATIONS]
        assert ensure_db_shape(con) == []  # nothing pending


def test_a_fresh_file_takes_its_schema_at_once_and_an_older_one_a_migration_at_a_time(tmp_path, monkeypatch):
    """A fresh file's migrations commit as one transaction (one failing leaves no table of the
    others, and the next open starts over); an older file's each commit on their own (one failing
    keeps the ones before it)."""

    def fails(con):
        con.execute("CREATE TABLE half_made (x INTEGER)")
        raise RuntimeError("migration failed")

    older = duckdb.connect(str(tmp_path / "older.duckdb"))
    applied_versions(older)
    for version, name, migrate in MIGRATIONS[:6]:
        migrate(older)
        older.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name])
    monkeypatch.setattr(schema, "MIGRATIONS", (*MIGRATIONS[:-1], (MIGRATIONS[-1][0], "fails", fails)))
    fresh = duckdb.connect(str(tmp_path / "fresh.duckdb"))
    for con in (fresh, older):
        with pytest.raises(RuntimeError, match="migration failed"):
            ensure_db_shape(con)
    tables = "SELECT table_name FROM duckdb_tables() ORDER BY 1"
    assert fresh.execute(tables).fetchall() == [("schema_migrations",)]
    assert fresh.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == 0
    assert {v for (v,) in older.execute("SELECT version FROM schema_migrations").fetchall()} == {
        v for v, _, _ in MIGRATIONS[:-1]
    }
    assert "half_made" not in {t for (t,) in older.execute(tables).fetchall()}
    monkeypatch.undo()
    assert ensure_db_shape(fresh) == [f"{v:03d}_{name}" for v, name, _ in MIGRATIONS]
    assert ensure_db_shape(older) == [f"{MIGRATIONS[-1][0]:03d}_{MIGRATIONS[-1][1]}"]


def test_band_key_index_is_dropped_and_the_guarding_keys_kept(db, seed_rows):
    """Migration 7 drops the band-key index of a version-6 warehouse; the primary keys and unique
    constraints that keep duplicates out stay, and the near-duplicate lookup still finds bands."""
    con = duckdb.connect(str(db))
    applied_versions(con)  # creates schema_migrations
    for version, name, migrate in MIGRATIONS[:6]:
        migrate(con)
        con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name])
    assert con.execute("SELECT count(*) FROM duckdb_indexes() WHERE index_name = 'lsh_bands_key'").fetchone()[0] == 1
    con.close()
    with open_warehouse(db) as con:
        indexes = {r[0] for r in con.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
        assert "lsh_bands_key" not in indexes
        assert {"articles_first_seen", "sources_article", "story_articles_story"} <= indexes
        save_copies(con, seed_rows, SEEN)
        with pytest.raises(duckdb.ConstraintException):
            con.execute("INSERT INTO article_sources SELECT * FROM article_sources LIMIT 1")
        with pytest.raises(duckdb.ConstraintException):
            con.execute(
                "INSERT INTO articles BY NAME SELECT * REPLACE ('other-id' AS article_id) FROM articles LIMIT 1"
            )
        key, article_id = con.execute("SELECT band_key, article_id FROM lsh_bands LIMIT 1").fetchall()[0]
        assert article_id in lsh_candidates(con, [(0, key)])[0]


def test_save_is_idempotent(db, seed_rows):
    with open_warehouse(db) as con:
        first = save_copies(con, seed_rows, SEEN)
        before = snapshot(con)
        again = save_copies(con, seed_rows, datetime(2026, 11, 24))
        assert snapshot(con) == before
    assert (first.articles_new, first.sources_new, first.duplicates) == (5, 5, 0)
    assert (again.articles_new, again.sources_new, again.already_seen) == (0, 0, 5)


def test_exact_copy_under_another_name_is_a_second_source(db, seed_rows, tmp_path):
    text = (SEEDS / "001_ca2344aa02f0cd64.txt").read_text("utf-8")
    retyped = text.replace("'", "’").replace(" - ", " – ")  # same story, other typography
    seeds = tmp_path / "more"
    seeds.mkdir()
    (seeds / "copy-of-001.txt").write_text(retyped, "utf-8")
    rows = prepare_seeds(read_seeds(seeds).items).items
    with open_warehouse(db) as con:
        save_copies(con, seed_rows, SEEN)
        result = save_copies(con, rows, SEEN)
        assert (result.articles_new, result.duplicates, result.sources_new) == (0, 1, 1)
        sources = con.execute(
            "SELECT url FROM article_sources WHERE article_id = ? ORDER BY url", [result.article_ids[0]]
        ).fetchall()
        assert sources == [("seed:001_ca2344aa02f0cd64.txt",), ("seed:copy-of-001.txt",)]
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 5
        assert check_integrity(con) == []


def test_duplicates_within_one_batch(db, seed_rows):
    copy = {**seed_rows[0], "url": "seed:again.txt"}
    with open_warehouse(db) as con:
        result = save_copies(con, [*seed_rows, copy], SEEN)
        assert (result.articles_new, result.sources_new, result.duplicates) == (5, 6, 1)


def test_topics_and_removed_lines_are_stored(db, seed_rows):
    with open_warehouse(db) as con:
        save_copies(con, seed_rows, SEEN)
        rows = con.execute("SELECT topic, count(*) FROM article_topics GROUP BY topic ORDER BY topic").fetchall()
        assert rows == [("BRI", 4), ("SCO", 3), ("security", 4), ("trade", 3)]
        (evidence,) = con.execute(
            "SELECT evidence FROM article_topics t JOIN article_sources s USING (article_id) "
            "WHERE s.url = 'seed:004_486398540443305b.txt' AND topic = 'security'"
        ).fetchone()
        assert "territorial integrity" in evidence
        (removed,) = con.execute(
            "SELECT removed_lines FROM article_sources WHERE url = 'seed:002_dc2f72f61a3a018e.txt'"
        ).fetchone()
        assert {r["rule"] for r in removed} >= {"navigation", "comment form"}


def test_failed_save_rolls_back_everything(db, seed_rows):
    bad = {
        **seed_rows[1],
        "url": "seed:bad.txt",
        "content_hash": "x" * 64,
        "candidate_article_id": "bad",
        # a topic row without its score breaks a constraint mid-save (any topic name is allowed since migration 11)
        "topics": [{"topic": "sports", "score": None, "evidence": [], "matches": [], "rules_version": "x"}],
    }
    with open_warehouse(db) as con:
        save_copies(con, seed_rows[:1], SEEN)
        before = snapshot(con)
        with pytest.raises(duckdb.ConstraintException):
            save_copies(con, [seed_rows[2], bad], SEEN)
        assert snapshot(con) == before


def test_directory_path_is_refused(tmp_path):
    with pytest.raises(WarehouseError, match=r"is a directory"), open_warehouse(tmp_path):
        pass


def test_not_a_duckdb_file_is_refused(tmp_path):
    path = tmp_path / "notes.duckdb"
    path.write_text("these are my notes, not a database\n" * 100, "utf-8")
    with pytest.raises(WarehouseError, match=r"notes\.duckdb"), open_warehouse(path):
        pass
    assert path.read_text("utf-8").startswith("these are my notes")  # untouched


def test_missing_warehouse_for_reading(tmp_path):
    with (
        pytest.raises(WarehouseError, match=r"no warehouse here yet"),
        open_warehouse(tmp_path / "none.duckdb", read_only=True),
    ):
        pass


def test_busy_file_gives_a_clear_error(db):
    with open_warehouse(db):
        pass
    with warehouse_held_by_another_process(db):
        with pytest.raises(WarehouseBusy, match=r"w\.duckdb: the warehouse is busy"), open_warehouse(db):
            pass
        with pytest.raises(WarehouseBusy), open_warehouse(db, read_only=True):
            pass
    with open_warehouse(db, read_only=True) as con:  # free again once the writer is gone
        assert con.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(MIGRATIONS)


def test_read_only_connection_refuses_writes(db, seed_rows):
    with open_warehouse(db) as con:
        save_copies(con, seed_rows, SEEN)
    with open_warehouse(db, read_only=True) as con, pytest.raises(duckdb.Error, match="read-only"):
        con.execute("DELETE FROM articles")


def test_seed_parse_feeds_rows_consistently():
    """A seed's content hash is the hash of its clean text, whatever the file's typography and
    spacing, and another seed's is another."""
    raw = (SEEDS / "004_486398540443305b.txt").read_text("utf-8")
    article = parse_seed("004_486398540443305b.txt", raw)
    assert article.content_hash == content_hash(article.text)
    retyped = raw.replace("“", '"').replace("”", '"').replace("’", "'").replace("\n\n", "\n\n\n")
    assert parse_seed("copy.txt", retyped).content_hash == article.content_hash
    other = parse_seed("003_53eca7c8ac1a35d1.txt", (SEEDS / "003_53eca7c8ac1a35d1.txt").read_text("utf-8"))
    assert other.content_hash != article.content_hash
