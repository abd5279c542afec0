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

from silkwatch.warehouse.db import check_integrity, open_warehouse
from tests.local_site import DB, digest_files_whole, make_workdir, rerun_heals, run, start

pytestmark = pytest.mark.reliability("crash")


def killed_then_rerun(work: Path, reference: dict, record_property) -> None:
    """After a kill: the warehouse opens and is consistent; the next run heals it completely."""
    with open_warehouse(work / DB, read_only=True) as con:
        assert check_integrity(con, indexed=True) == []
        (killed,) = con.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()
        assert killed == 1  # the killed run, not yet explained
    assert digest_files_whole(work / "reports") == []
    rerun_heals(work, reference, record_property)


@pytest.mark.parametrize(
    ("point", "saved_before"),
    [
        ("batch-saved:2", 2),  # between two saved batches: seeds and the first pages are in
        ("save-before-commit:3", 2),  # the third batch written but not committed
        ("indexing:3", 2),  # the third batch's search index half updated
        ("digest-write:1", 4),  # every batch saved, the digest half written
    ],
)
def test_kill_at_a_fault_point(point, saved_before, reference_run, local_site, tmp_path, record_property):
    work = make_workdir(tmp_path, local_site)
    killed = run("run", cwd=work, SILKWATCH_FAULT=f"kill-at:{point}")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    con = duckdb.connect(str(work / DB), read_only=True)
    try:  # the batches committed before the kill, each whole: 5 seeds, then 3 pages a batch
        stored = con.execute("SELECT count(*) FROM article_sources").fetchone()[0]
    finally:
        con.close()
    assert stored == 5 + 3 * (saved_before - 1)
    killed_then_rerun(work, reference_run, record_property)


def both_feeds_recorded(db: Path, within: float) -> bool:
    """Whether both feeds' answers (and ETags) are stored within ``within`` seconds; the run holds
    the warehouse only while it writes, so a read may find it busy and try again."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            con = duckdb.connect(str(db), read_only=True)
        except duckdb.IOException:  # the run is writing
            time.sleep(0.05)
            continue
        try:
            if con.execute("SELECT count(*) FROM feeds WHERE etag IS NOT NULL").fetchone()[0] == 2:
                return True
        finally:
            con.close()
        time.sleep(0.05)
    return False


def test_kill_while_fetching_pages(reference_run, local_site, tmp_path, record_property):
    """Killed while it waits for a page; the feeds' ETags were stored with their entries, pending:
    the next run gets 304s, and still fetches and saves every entry the killed run had not."""
    work = make_workdir(tmp_path, local_site)
    held = "/news/4"
    local_site.hold(held)
    proc = start("run", cwd=work)
    try:
        assert local_site.arrived[held].wait(60), "the run never asked for the held page"
        assert both_feeds_recorded(work / DB, within=30)  # pages are fetched as feeds answer: wait for the other
        time.sleep(0.2)  # its batch-mates are in flight too
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        local_site.release_all()
    assert proc.returncode == -signal.SIGKILL
    with open_warehouse(work / DB, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM feeds WHERE etag IS NOT NULL").fetchone()[0] == 2
        assert con.execute("SELECT count(*) FROM pending_entries").fetchone()[0] > 0
    killed_then_rerun(work, reference_run, record_property)
    with open_warehouse(
        work / DB, read_only=True
    ) as con:  # the feeds said "unchanged": the entries came from the table
        rerun = con.execute("SELECT run_id FROM runs WHERE status = 'ok'").fetchone()[0]
        assert con.execute(
            "SELECT status, count(*) FROM fetch_log WHERE kind = 'feed' AND run_id = ? GROUP BY ALL", [rerun]
        ).fetchall() == [("not_modified", 2)]
