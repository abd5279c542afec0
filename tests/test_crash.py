"""Crash safety: `silkwatch run` killed with SIGKILL at several points, then run again.

Each case runs the installed CLI in a subprocess against the seeds and two local feeds (9 pages
in batches of 3: four save batches), kills it at one point, and checks that the warehouse opens
and passes its integrity checks, that no digest file on disk is half-written, and that the next
run leaves exactly what one uninterrupted run leaves. In-process points use the fault hook
(``warehouse/faults.py``); the network wait is reached by holding a page on the server.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import duckdb
import pytest

from flows.config import load_config
from flows.pipeline import run_flow
from tests.local_site import LocalSite, make_workdir, rows_missing, run, snapshot, start
from warehouse.db import check_integrity, open_warehouse
from warehouse.lock import writer_lock

pytestmark = pytest.mark.reliability("crash")
DB = Path("data/silkwatch.duckdb")


@pytest.fixture(scope="module")
def site():
    site = LocalSite()
    yield site
    site.close()


@pytest.fixture(scope="module")
def reference(prefect_harness, site, tmp_path_factory) -> dict:
    """One uninterrupted run: what every killed-then-rerun case must end with."""
    work = make_workdir(tmp_path_factory.mktemp("reference"), site)
    done = run("run", cwd=work)
    assert done.returncode == 0, done.stderr
    with open_warehouse(work / DB, read_only=True) as con:
        assert check_integrity(con, indexed=True, idle=True) == []
        assert con.execute("SELECT count(*) FROM article_sources").fetchone()[0] == 5 + 9
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 5 + 8  # one page is a copy
        digest_ids = con.execute("SELECT article_ids FROM digests").fetchone()[0]
    return {"snapshot": snapshot(work / DB), "digest_ids": sorted(digest_ids)}


def digest_files_whole(reports: Path) -> list[str]:
    """Digest files that are not complete (a reader must never see half a digest)."""
    broken = []
    for path in reports.glob("digest-*"):
        text = path.read_text("utf-8")
        whole = text.rstrip().endswith("</html>") if path.suffix == ".html" else "Built by silkwatch at" in text
        if path.suffix in (".md", ".html") and not whole:
            broken.append(path.name)
    return broken


def killed_then_rerun(work: Path, reference: dict, record_property) -> None:
    """After a kill: the warehouse opens and is consistent; the next run heals it completely."""
    db = work / DB
    with open_warehouse(db, read_only=True) as con:
        assert check_integrity(con, indexed=True) == []
        (killed,) = con.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()
        assert killed == 1  # the killed run, not yet explained
    after_kill = snapshot(db)
    assert digest_files_whole(work / "reports") == []

    with writer_lock(db):  # the next run, in process (as `silkwatch run` does it, minus the start-up)
        again = run_flow(load_config(work / "silkwatch.toml"))
    assert again.status == "ok", again.failures
    healed = snapshot(db)
    lost = rows_missing(reference["snapshot"], healed) + rows_missing(after_kill, healed)
    record_property("data_lost", lost)
    assert lost == 0
    assert healed == reference["snapshot"]  # nothing missing, nothing extra
    with open_warehouse(db, read_only=True) as con:
        assert check_integrity(con, indexed=True, idle=True) == []
        statuses = [r[0] for r in con.execute("SELECT status FROM runs ORDER BY started_at").fetchall()]
        assert statuses == ["interrupted", "ok"]
        assert sorted(con.execute("SELECT article_ids FROM digests").fetchone()[0]) == reference["digest_ids"]
    assert digest_files_whole(work / "reports") == []
    assert {p.suffix for p in (work / "reports").glob("digest-*")} >= {".md", ".html"}


@pytest.mark.parametrize(
    ("point", "saved_before"),
    [
        ("batch-saved:2", 2),  # between two saved batches: seeds and the first pages are in
        ("save-before-commit:3", 2),  # the third batch written but not committed
        ("indexing:3", 2),  # the third batch's search index half updated
        ("digest-write:1", 4),  # every batch saved, the digest half written
    ],
)
def test_kill_at_a_fault_point(point, saved_before, reference, site, tmp_path, record_property):
    work = make_workdir(tmp_path, site)
    killed = run("run", cwd=work, SILKWATCH_FAULT=f"kill-at:{point}")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    con = duckdb.connect(str(work / DB), read_only=True)
    try:  # the batches committed before the kill, each whole: 5 seeds, then 3 pages a batch
        stored = con.execute("SELECT count(*) FROM article_sources").fetchone()[0]
    finally:
        con.close()
    assert stored == 5 + 3 * (saved_before - 1)
    killed_then_rerun(work, reference, record_property)


def test_kill_while_fetching_pages(reference, site, tmp_path, record_property):
    """Killed while it waits for a page of the second batch; the feeds' ETags were stored, so the
    next run must not trust them (a 304 would hide the entries never saved)."""
    work = make_workdir(tmp_path, site)
    held = "/news/4"
    site.hold(held)
    proc = start("run", cwd=work)
    try:
        assert site.arrived[held].wait(60), "the run never asked for the held page"
        time.sleep(0.2)  # its batch-mates are in flight too
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        site.release_all()
    assert proc.returncode == -signal.SIGKILL
    with open_warehouse(work / DB, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM feeds WHERE etag IS NOT NULL").fetchone()[0] == 2
    killed_then_rerun(work, reference, record_property)
