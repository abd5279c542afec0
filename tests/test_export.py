"""`silkwatch export --parquet`: the warehouse read back from Parquet, month partitions, refusal, replacement."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from silkwatch.flows.ingest import prepare_seeds, read_seeds
from silkwatch.warehouse.db import WarehouseBusy, open_warehouse
from silkwatch.warehouse.export import ExportError, export_parquet
from silkwatch.warehouse.feeds import sync_feeds
from silkwatch.warehouse.load import save_copies, save_digest, save_fetch_log, start_run
from tests.conftest import SEEDS, warehouse_held_by_another_process

OCTOBER, NOVEMBER = datetime(2026, 10, 30, 12, 0), datetime(2026, 11, 2, 9, 0)
PER_ARTICLE = ("articles", "article_sources", "article_topics", "article_entities")
WHOLE = ("feeds", "runs", "digests")


@pytest.fixture
def warehouse(tmp_path) -> Path:
    """The seeds' warehouse, first seen over two months, with a digest and fetch-log rows."""
    db = tmp_path / "w.duckdb"
    copies = prepare_seeds(read_seeds(SEEDS).items).items
    with open_warehouse(db) as con:
        start_run(con, "r1", OCTOBER)
        sync_feeds(con, [{"url": "https://example.org/feed", "name": "Example", "language": "en"}], OCTOBER)
        save_copies(con, copies[:2], OCTOBER)
        save_copies(con, copies[2:], NOVEMBER)
        ids = [r[0] for r in con.execute("SELECT article_id FROM articles").fetchall()]
        save_digest(con, {"digest_id": "week:x.md", "kind": "week", "period_start": NOVEMBER - timedelta(days=7),
                          "period_end": NOVEMBER, "created_at": NOVEMBER, "path": "x.md", "article_ids": ids,
                          "status": "written"})  # fmt: skip
        save_fetch_log(con, [{"fetched_at": OCTOBER, "run_id": "r1", "url": "seed:a.txt", "kind": "seed",
                              "status": "ok", "http_status": None, "bytes": 10, "ms": 1.0, "error": None}])  # fmt: skip
    return db


def _rows(con, sql: str) -> list:
    return sorted(con.execute(sql).fetchall(), key=repr)


def test_export_reads_back_equal_per_table_with_month_partitions(warehouse, tmp_path):
    out = tmp_path / "lake"
    manifest = export_parquet(warehouse, out)
    assert manifest["tables"]["articles"]["months"] == ["2026-10", "2026-11"]
    assert {
        "articles",
        "article_sources",
        "article_topics",
        "article_entities",
        "story_articles",
        "stories",
        "fetch_log",
        *WHOLE,
    } <= set(manifest["tables"])
    assert not {"search_postings", "search_docs", "lsh_bands", "copy_signatures"} & set(manifest["tables"])
    assert (out / "README.md").read_text("utf-8").count("read_parquet") >= 2
    assert json.loads((out / "_manifest.json").read_text("utf-8")) == manifest
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"ATTACH '{warehouse}' AS w (READ_ONLY)")
    for table in (*PER_ARTICLE, "fetch_log"):
        files = f"{out}/{table}/*/*.parquet"
        stored = _rows(con, f"SELECT * FROM w.{table}")
        exported = _rows(con, f"SELECT * EXCLUDE (month) FROM read_parquet('{files}', hive_partitioning = true)")
        assert exported == stored and len(stored) == manifest["tables"][table]["rows"] > 0, table
    for table in WHOLE:
        stored = _rows(con, f"SELECT * FROM w.{table}")
        assert _rows(con, f"SELECT * FROM '{out}/{table}.parquet'") == stored and len(stored) == 1, table
    # a month is self-contained: October's topics and copies are those of October's articles
    october = f"{out}/%s/month=2026-10/*.parquet"
    ids = {r[0] for r in con.execute(f"SELECT article_id FROM '{october % 'articles'}'").fetchall()}
    assert len(ids) == 2
    for child in ("article_sources", "article_topics"):
        assert {r[0] for r in con.execute(f"SELECT article_id FROM '{october % child}'").fetchall()} <= ids
    assert _rows(con, f"SELECT month, count(*) FROM read_parquet('{out}/fetch_log/*/*.parquet', "
                      "hive_partitioning = true) GROUP BY 1") == [("2026-10", 1)]  # fmt: skip


def test_export_refuses_a_folder_that_is_not_an_export(warehouse, tmp_path):
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "thesis.txt").write_text("keep me", "utf-8")
    with pytest.raises(ExportError, match=r"notes: exists and is not a silkwatch export"):
        export_parquet(warehouse, precious)
    assert [p.name for p in precious.iterdir()] == ["thesis.txt"]
    a_file = tmp_path / "file.parquet"
    a_file.write_bytes(b"x")
    with pytest.raises(ExportError, match=r"file\.parquet: exists"):
        export_parquet(warehouse, a_file)


def test_rerun_replaces_the_export_and_a_failed_one_leaves_it(warehouse, tmp_path):
    out = tmp_path / "lake"
    export_parquet(warehouse, out)
    (out / "articles" / "month=1999-01").mkdir()  # left over from an older warehouse
    with open_warehouse(warehouse) as con:
        con.execute("DELETE FROM article_entities")
    second = export_parquet(warehouse, out)
    assert not (out / "articles" / "month=1999-01").exists()
    assert second["tables"]["article_entities"] == {"rows": 0, "files": "article_entities/*/*.parquet",
                                                    "partitioned_by": "month", "months": []}  # fmt: skip
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    with warehouse_held_by_another_process(warehouse), pytest.raises(WarehouseBusy):
        export_parquet(warehouse, out)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lake", "w.duckdb"]  # no staging folder left


def test_cli_export_and_its_exit_codes(warehouse, tmp_path):
    (tmp_path / "silkwatch.toml").write_text(f'[warehouse]\npath = "{warehouse.name}"\n', "utf-8")
    silkwatch = [str(Path(sys.executable).with_name("silkwatch")), "export", "--config", "silkwatch.toml"]
    done = subprocess.run([*silkwatch, "--parquet", "lake"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # watch_hits, breaking_stories, pending_entries, backfills and backfill_urls among them
    assert "exported 5 articles (2 months) and 14 other tables" in done.stdout
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("x", "utf-8")
    refused = subprocess.run([*silkwatch, "--parquet", "notes"], cwd=tmp_path, capture_output=True, text=True)
    assert refused.returncode == 2
    assert "notes: exists and is not a silkwatch export" in refused.stderr and len(refused.stderr.splitlines()) == 1
    with warehouse_held_by_another_process(warehouse):
        busy = subprocess.run([*silkwatch, "--parquet", "lake"], cwd=tmp_path, capture_output=True, text=True)
    assert busy.returncode == 75 and "busy" in busy.stderr
