"""Concurrent use: two runs at once, other writers during a run, queries while a run writes.

Real `silkwatch` processes against the local site of ``tests/local_site.py``; a page held on the
server keeps a run in progress (holding the writer lock, the warehouse closed) for as long as a
case needs.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import duckdb
import pytest

from silkwatch.warehouse.db import check_integrity, open_warehouse
from silkwatch.warehouse.lock import writer_lock
from tests.local_site import LocalSite, make_workdir, run, start

pytestmark = pytest.mark.reliability("concurrency")
DB = Path("data/silkwatch.duckdb")
HELD = "/news/4"  # a page of the second batch: the run has saved the seeds and three pages by then
BUSY_LINE = re.compile(
    r"^error: another silkwatch run \(pid \d+, started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\) is using "
    r"\S+silkwatch\.duckdb; try again when it finishes$"
)


@pytest.fixture
def site():
    site = LocalSite()
    yield site
    site.close()


def counts(db: Path) -> tuple[int, int]:
    with open_warehouse(db, read_only=True) as con:
        assert check_integrity(con, indexed=True, idle=True) == []
        return con.execute("SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM article_sources)").fetchone()


def reaches_lock(pid: int, lock: Path, within: float) -> bool:
    """Whether process ``pid`` opens ``lock`` within ``within`` seconds (Linux: /proc/<pid>/fd)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if any(Path(fd).resolve() == lock.resolve() for fd in Path(f"/proc/{pid}/fd").iterdir()):
                return True
        except (FileNotFoundError, ProcessLookupError):
            return False  # it has exited
        time.sleep(0.05)
    return False


def test_second_run_waits_when_configured(prefect_harness, site, tmp_path):
    """[warehouse] lock_wait_seconds: the second run waits for the first, then does its own run."""
    work = make_workdir(tmp_path, site)
    config = work / "silkwatch.toml"
    config.write_text(config.read_text("utf-8").replace("[seeds]", "lock_wait_seconds = 120\n[seeds]"), "utf-8")
    site.hold(HELD)
    first = start("run", cwd=work)
    try:
        assert site.arrived[HELD].wait(60)
        second = start("run", cwd=work)
        # waiting for the lock, not merely slow to start: it has the lock file open (polling flock)
        assert reaches_lock(second.pid, work / "data" / "silkwatch.duckdb.lock", within=60), "never waited"
        time.sleep(1.0)
        assert second.poll() is None  # still waiting, a second later
        con = duckdb.connect(str(work / DB), read_only=True)
        try:  # only the first run has started: the second has not touched the warehouse
            assert con.execute("SELECT status FROM runs").fetchall() == [("running",)]
        finally:
            con.close()
    finally:
        site.release_all()
    for proc in (first, second):
        _, errors = proc.communicate(timeout=120)
        assert proc.returncode == 0, errors
    assert counts(work / DB) == (13, 14)
    con = duckdb.connect(str(work / DB), read_only=True)
    try:
        runs = con.execute("SELECT started_at, finished_at, status FROM runs ORDER BY started_at").fetchall()
    finally:
        con.close()
    assert [r[2] for r in runs] == ["ok", "ok"]
    assert runs[1][0] >= runs[0][1]  # one after the other, never interleaved


@pytest.mark.parametrize(
    "command", [["digest"], ["reindex"], ["reclassify"], ["recluster"], ["feeds", "check"], ["ingest", "--no-feeds"]]
)
def test_other_writers_take_the_same_lock(command, workdir):
    db = workdir / "data" / "silkwatch.duckdb"
    with writer_lock(db):
        result = run(*command, cwd=workdir, timeout=60)
    assert result.returncode == 75, result.stderr
    assert BUSY_LINE.match(result.stderr.strip()), result.stderr
    assert not db.exists()  # it stopped before touching the warehouse


def test_second_run_exits_75_and_queries_answer_or_say_busy(prefect_harness, site, tmp_path, record_property):
    """While a run is in progress: a second run exits 75 naming it; queries in a loop each answer
    with a whole number of committed batches or say "busy" (exit 75); a reader holding the file
    when the run needs it only delays the run."""
    work = make_workdir(tmp_path, site)
    site.hold(HELD)
    writer = start("run", cwd=work)
    try:
        assert site.arrived[HELD].wait(60), "the run never asked for the held page"
        second = run("run", cwd=work, timeout=60)
        reader = duckdb.connect(str(work / DB), read_only=True)  # a long query, as the run resumes
        site.release_all()
        time.sleep(1.5)
        reader.close()
        answers = []
        while not answers or writer.poll() is None:  # at least one, however fast the run ends
            result = run("query", "select count(*) as n from article_sources", "-f", "csv", cwd=work, timeout=60)
            answers.append((result.returncode, result.stdout, result.stderr))
    finally:
        site.release_all()
    _, errors = writer.communicate(timeout=120)
    assert writer.returncode == 0, errors
    assert second.returncode == 75
    assert BUSY_LINE.match(second.stderr.strip()), second.stderr
    assert f"pid {writer.pid}," in second.stderr
    for code, out, err in answers:
        if code == 0:
            assert int(out.splitlines()[1]) in {8, 11, 14}, out  # after batch 2, 3 or 4: never half a batch
        else:
            assert code == 75, err
            assert "the warehouse is busy" in err
    stored = counts(work / DB)
    record_property("data_lost", (13 - stored[0]) + (14 - stored[1]))
    assert stored == (13, 14)
