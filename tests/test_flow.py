"""Ingest logic through plain functions and task ``.fn()``, then the whole flow under Prefect's harness."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from silkwatch.flows.config import load_config
from silkwatch.flows.ingest import SeedDirError, read_seeds
from silkwatch.flows.pipeline import load_seeds_task, prepare_batch_task, run_flow
from silkwatch.warehouse.db import check_integrity, open_warehouse
from tests.conftest import SEEDS


def test_read_seeds_reports_bad_files_and_keeps_the_rest(tmp_path):
    (tmp_path / "good.txt").write_text((SEEDS / "003_53eca7c8ac1a35d1.txt").read_text("utf-8"), "utf-8")
    (tmp_path / "empty.txt").write_text("", "utf-8")
    (tmp_path / "latin.txt").write_bytes("Caf\u00e9 au lait in Almaty".encode("latin-1"))
    (tmp_path / "notes.md").write_text("not a seed", "utf-8")
    batch = load_seeds_task.fn(tmp_path)
    assert [s.name for s in batch.items] == ["empty.txt", "good.txt"]
    assert batch.failures == ["latin.txt: not UTF-8 text (byte 0xe9 at offset 3); convert it to UTF-8 and run again"]
    prepared = prepare_batch_task.fn(batch.items)
    assert len(prepared.items) == 1
    assert prepared.failures == ["empty.txt: empty file"]
    assert {row["status"] for row in batch.log + prepared.log} == {"ok", "error"}


def test_missing_seed_folder_is_an_error_naming_it(tmp_path):
    with pytest.raises(SeedDirError, match="nowhere: seeds folder not found"):
        read_seeds(tmp_path / "nowhere")


def snapshot(db: Path) -> dict:
    with open_warehouse(db, read_only=True) as con:
        return {
            t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("articles", "article_sources", "article_topics", "digests")
        }


def test_whole_run_twice_changes_nothing(prefect_harness, workdir, local_date_not_utc):
    config = load_config(workdir / "silkwatch.toml")
    first = run_flow(config)
    assert (first.articles_new, first.seeds_read, first.failures) == (5, 5, [])
    # digests are named by the UTC date, whatever the local zone (here one whose date is not UTC's)
    assert first.digest.path == workdir / "reports" / f"digest-{datetime.now(UTC):%Y-%m-%d}.md"
    before = snapshot(config.warehouse_path)

    second = run_flow(config)
    assert (second.articles_new, second.sources_new, second.already_seen) == (0, 0, 5)
    assert snapshot(config.warehouse_path) == before
    with open_warehouse(config.warehouse_path, read_only=True) as con:
        assert check_integrity(con) == []
        runs = con.execute("SELECT status, articles_new FROM runs ORDER BY started_at").fetchall()
        assert runs == [("ok", 5), ("ok", 0)]
        assert con.execute("SELECT count(*) FROM fetch_log WHERE kind = 'seed'").fetchone()[0] == 10

    digest = first.digest.path.read_text("utf-8")
    for title in ("Wang Yi vows stronger security", "Xi hails ‘unique’ links", "Boost Defense, Security"):
        assert title in digest
    assert "**5 new articles**" in digest
    assert "date unknown" in digest and "19 May 2023, 11:25" in digest


def test_a_rerun_parses_only_the_seeds_not_stored(workdir, monkeypatch):
    """A seed whose copy is stored would be left as it is by the load: it is not parsed again."""
    from silkwatch.flows import pipeline
    from silkwatch.flows.runners import ThreadRunner
    from silkwatch.flows.steps import run_local

    config = load_config(workdir / "silkwatch.toml")
    first = run_local(run_flow, ThreadRunner(), config, write_report=False)
    assert (first.articles_new, first.seeds_read) == (5, 5)
    parsed: list[str] = []
    prepare = pipeline.prepare_seeds
    monkeypatch.setattr(pipeline, "prepare_seeds", lambda seeds, rules: parsed.extend(s.name for s in seeds) or
                        prepare(seeds, rules))  # fmt: skip
    seed = sorted((workdir / "seeds").glob("*.txt"))[0]
    (workdir / "seeds" / "again.txt").write_bytes(seed.read_bytes())  # a new file: a copy of a stored article
    second = run_local(run_flow, ThreadRunner(), config, write_report=False)
    assert parsed == ["again.txt"]
    assert (second.seeds_read, second.copies_seen, second.already_seen, second.duplicates) == (6, 6, 5, 1)
    assert (second.articles_new, second.failures) == (0, [])
    with open_warehouse(config.warehouse_path, read_only=True) as con:
        assert check_integrity(con) == []
        assert con.execute("SELECT count(*) FROM fetch_log WHERE kind = 'seed'").fetchone()[0] == 11


def test_one_bad_seed_does_not_abort_the_run(prefect_harness, workdir):
    (workdir / "seeds" / "broken.txt").write_bytes(b"\xff\xfe\x00garbage")
    (workdir / "seeds" / "blank.txt").write_text("\n\n", "utf-8")
    summary = run_flow(load_config(workdir / "silkwatch.toml"))
    assert summary.articles_new == 5
    assert summary.status == "partial"
    assert any(f.startswith("blank.txt: empty file") for f in summary.failures)
    with open_warehouse(workdir / "data" / "silkwatch.duckdb", read_only=True) as con:
        errors = con.execute("SELECT url, error FROM fetch_log WHERE status = 'error' ORDER BY url").fetchall()
        assert [url for url, _ in errors] == ["seed:blank.txt", "seed:broken.txt"]
        assert con.execute("SELECT status FROM runs").fetchone() == ("partial",)


def test_digest_flow_publishes_an_artifact(prefect_harness, workdir):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, TaskRunFilter
    from prefect.client.schemas.sorting import ArtifactSort

    from silkwatch.flows.pipeline import digest_flow

    config = load_config(workdir / "silkwatch.toml")
    run_flow(config, write_report=False)
    summary = digest_flow(config, "week")
    assert len(summary.digest.article_ids) == 5 and summary.send is None
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["silkwatch-digest-week"])),
            flow_run_filter=FlowRunFilter(),
            task_run_filter=TaskRunFilter(),
            offset=0,
            limit=5,
            sort=ArtifactSort.UPDATED_DESC,
        )
    assert len(artifacts) == 1
    assert "Wang Yi vows stronger security" in artifacts[0].data
