"""Stops: `silkwatch run` sent Ctrl-C (SIGINT), SIGTERM or SIGKILL in each phase, then run again.

Each case starts the installed CLI in a process group of its own, as a terminal starts a command
(Ctrl-C reaches the whole group, extraction workers included), against the seeds and the local
site's two feeds (9 pages in batches of 3), and lands the signal in one phase. Network phases are
reached by holding a request on the server; the others by the fault hook's pause
(``warehouse/faults.py``), which marks a file and then works on for a while, as a long step does:
among them the instant the run starts its extraction workers (a stop sent then was once lost),
and a worker started but not yet set up (Ctrl-C to the group reaches it: no traceback).
Then: every process of the run is gone within 10 s; a polite stop prints one line and no traceback
and records the run ``interrupted``; and the next run leaves exactly what an uninterrupted run
leaves (``tests.local_site.rerun_heals``).

The same for `silkwatch serve`: stopped with SIGTERM, and one of its deployment runs cancelled
through Prefect's API (as the UI does). `make reliability` tries every signal in every phase and
both serve cases; `make test`, the cases of ``QUICK`` and serve's SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest

from silkwatch.warehouse.db import check_integrity, open_warehouse
from tests.conftest import group_members, processes_exit
from tests.local_site import DB, harness_api_url, make_workdir, rerun_heals, start

pytestmark = pytest.mark.reliability("stops")
EXIT_WITHIN = 10.0  # seconds from the signal to the last process of the run gone

# phase -> how a run is caught in it: a request held on the server, or a fault-hook pause
PHASES = {
    "feed checks": {"hold": "/feed-b.xml"},  # feed A's pages are fetched meanwhile
    "page fetches": {"hold": "/news/5"},
    "workers starting": {"fault": "pause-at:workers-starting:1:2"},  # the run inside the workers' spawn
    "worker setup": {"fault": "pause-at:worker-setup:1:3"},  # a worker started, not yet ignoring Ctrl-C
    "extraction": {"fault": "pause-at:extraction:1:60"},  # a worker busy for a minute
    "save": {"fault": "pause-at:save-before-commit:2:2"},  # the first page batch, before its COMMIT
    "indexing": {"fault": "pause-at:indexing:2:2"},
    "clustering": {"fault": "pause-at:clustering:2:2"},
    "digest": {"fault": "pause-at:digest-write:1:2"},
}
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}
QUICK = {  # make test: both polite signals while pages are fetched, and each way a phase ends once
    ("SIGINT", "page fetches"),
    ("SIGTERM", "page fetches"),
    ("SIGTERM", "feed checks"),  # one feed recorded, its entries pending; the other not
    ("SIGINT", "workers starting"),  # no stop lost while the workers start (the run's own handler stays)
    ("SIGTERM", "workers starting"),
    ("SIGINT", "worker setup"),  # a worker that Ctrl-C reaches before its setup: no traceback
    ("SIGINT", "extraction"),  # the workers killed
    ("SIGTERM", "save"),  # work that no signal cuts short (indexing, clustering, the digest alike): it commits
}


def caught_in(phase: str, site, work: Path, tmp_path: Path):
    """The CLI started and caught in ``phase``: returns the process once it is there."""
    how = PHASES[phase]
    if "hold" in how:
        site.hold(how["hold"])
        proc = start("run", cwd=work, new_session=True)
        assert site.arrived[how["hold"]].wait(120), f"the run never asked for {how['hold']}"
        return proc
    mark = tmp_path / "fault-mark"
    proc = start("run", cwd=work, new_session=True, SILKWATCH_FAULT=how["fault"], SILKWATCH_FAULT_MARK=str(mark))
    deadline = time.monotonic() + 120
    while not mark.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"the run never reached {how['fault']}"
        time.sleep(0.02)
    return proc


def send(proc, signum: int) -> None:
    if signum == signal.SIGINT:  # Ctrl-C: the terminal signals the command's whole process group
        os.killpg(proc.pid, signum)
    else:  # docker stop, systemd, kill: the command's process
        proc.send_signal(signum)


@pytest.mark.parametrize("phase", list(PHASES))
@pytest.mark.parametrize("signame", list(SIGNALS))
def test_stopped_in_a_phase(signame, phase, request, reference_run, local_site, tmp_path, record_property):
    if (signame, phase) not in QUICK and not request.config.getoption("--reliability-report"):
        pytest.skip("make reliability tries every signal in every phase")
    signum = SIGNALS[signame]
    work = make_workdir(tmp_path / "work", local_site)
    config = work / "silkwatch.toml"
    config.write_text(config.read_text("utf-8") + "[pipeline]\nworkers = 2\n", "utf-8")  # a pool on any machine
    try:
        proc = caught_in(phase, local_site, work, tmp_path)
        time.sleep(0.2)  # well inside the phase
        sent = time.monotonic()
        send(proc, signum)
        try:
            out, err = proc.communicate(timeout=EXIT_WITHIN)
        except Exception:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
        exited = time.monotonic() - sent
        assert processes_exit(group_members(proc.pid), within=max(0.0, EXIT_WITHIN - exited))
        gone = time.monotonic() - sent
    finally:
        local_site.release_all()
    record_property("exit_seconds", round(gone, 2))
    with open_warehouse(work / DB, read_only=True) as con:
        assert check_integrity(con, indexed=True) == []
        statuses = [r[0] for r in con.execute("SELECT status FROM runs").fetchall()]
    if signum == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
        assert statuses == ["running"]  # explained by the next run
    else:
        assert proc.returncode == 128 + signum, err
        assert statuses == ["interrupted"]
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("stopped: silkwatch run stopped by"), err
        assert "again does the rest" in lines[0]
        assert "Traceback" not in out + err and "Crash detected" not in out + err
    rerun_heals(work, reference_run, record_property)


@pytest.mark.parametrize("as_prefect_flow_run", [False, True], ids=["one-off", "prefect-flow-run"])
def test_sigterm_as_the_flow_run_ends_is_no_crash(local_site, prefect_harness, tmp_path, as_prefect_flow_run):
    """SIGTERM after the run's work, as its flow run ends: where Prefect's own handler would be, had the
    command run its flow in the main thread (it raises TerminationSignal, reports "Crash detected!").
    The run is done and says so; the same for a command run as a Prefect flow run (PREFECT_API_URL)."""
    work = make_workdir(tmp_path / "work", local_site)
    mark = tmp_path / "fault-mark"
    server = {"PREFECT_API_URL": harness_api_url()} if as_prefect_flow_run else {}
    proc = start(
        "run", cwd=work, SILKWATCH_FAULT="pause-at:flow-end:1:2", SILKWATCH_FAULT_MARK=str(mark), **server
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not mark.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=EXIT_WITHIN)
    assert "Crash detected" not in out + err and "Traceback" not in out + err, err
    assert proc.returncode == 0, err
    assert "new articles" in out
    with open_warehouse(work / DB, read_only=True) as con:
        assert con.execute("SELECT status FROM runs").fetchall() == [("ok",)]


def test_a_second_ctrl_c_exits_at_once(local_site, prefect_harness, tmp_path):
    """Ctrl-C twice: the second ends the process then and there (what it committed stays)."""
    work = make_workdir(tmp_path / "work", local_site)
    mark = tmp_path / "fault-mark"
    proc = start(  # a save that takes 30 s: the first Ctrl-C alone would wait for its COMMIT
        "run", cwd=work, new_session=True, SILKWATCH_FAULT="pause-at:save-before-commit:2:30",
        SILKWATCH_FAULT_MARK=str(mark),
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not mark.exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    time.sleep(1.0)
    assert proc.poll() is None  # still saving
    sent = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=EXIT_WITHIN)
    assert time.monotonic() - sent < 2.0
    assert proc.returncode == 128 + signal.SIGINT
    assert "stopped at once" in err and "Traceback" not in err
    with open_warehouse(work / DB, read_only=True) as con:
        assert check_integrity(con, indexed=True) == []
        assert con.execute("SELECT count(*) FROM article_sources").fetchone()[0] == 5  # the seeds' batch only


@pytest.fixture
def serving(local_site, reference_run, tmp_path):
    """`silkwatch serve` of the local site, with a run of its ingest deployment asked for and
    caught fetching a page: yields (serve's process, the flow run's id, the workdir)."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    work = make_workdir(tmp_path / "work", local_site)
    config = work / "silkwatch.toml"
    config.write_text(config.read_text("utf-8") + "[schedule]\ningest_every_minutes = 1440\n", "utf-8")
    local_site.hold("/news/5")
    proc = start("serve", cwd=work, new_session=True, PREFECT_API_URL=harness_api_url())  # the session's server
    try:
        deadline = time.monotonic() + 120
        with get_client(sync_client=True) as client:
            while True:  # until this serve has registered its deployment (an earlier test's names another config)
                with contextlib.suppress(ObjectNotFound):  # not registered yet
                    deployment = client.read_deployment_by_name("silkwatch-scheduled-ingest/ingest")
                    if deployment.parameters["config_path"] == str(config):
                        break
                assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
                time.sleep(0.5)
        flow_run = run_deployment("silkwatch-scheduled-ingest/ingest", timeout=0)
        assert local_site.arrived["/news/5"].wait(120), "the scheduled run never asked for the held page"
        time.sleep(0.2)
        yield proc, flow_run.id, work
    finally:
        local_site.release_all()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()


def flow_run_state(flow_run_id, within: float):
    """The flow run's state once final (or as it is after ``within`` seconds)."""
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + within
    with get_client(sync_client=True) as client:
        while True:
            state = client.read_flow_run(flow_run_id).state
            if state.is_final() or time.monotonic() > deadline:
                return state
            time.sleep(0.2)


@pytest.fixture
def reliability_only(request) -> None:
    if not request.config.getoption("--reliability-report"):
        pytest.skip("make reliability runs it; make test stops serve, whose runner stops its runs the same way")


def test_a_deployment_run_cancelled_stops_like_ctrl_c(
    reliability_only, serving, local_site, reference_run, record_property
):
    """Cancelled from Prefect's API (as the UI does): the runner sends SIGTERM, the run stops within
    seconds, keeps what it saved and reads interrupted; serve goes on serving."""
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelling

    proc, flow_run_id, work = serving
    sent = time.monotonic()
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(flow_run_id, Cancelling(), force=True)
    state = flow_run_state(flow_run_id, within=60)
    record_property("exit_seconds", round(time.monotonic() - sent, 2))
    assert state.is_cancelled(), state
    assert proc.poll() is None  # still serving
    with open_warehouse(work / DB, read_only=True) as con:
        assert [r[0] for r in con.execute("SELECT status FROM runs").fetchall()] == ["interrupted"]
    local_site.release_all()
    rerun_heals(work, reference_run, record_property)


def test_serve_stops_cleanly_on_sigterm(serving, local_site, reference_run, record_property):
    """SIGTERM to `silkwatch serve` (docker stop, systemd): the run in progress stops as with Ctrl-C
    and is marked Cancelled, then serve exits 0 with one line, within 10 s."""
    proc, flow_run_id, work = serving
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=EXIT_WITHIN)
    assert processes_exit(group_members(proc.pid), within=max(0.0, EXIT_WITHIN - (time.monotonic() - sent)))
    record_property("exit_seconds", round(time.monotonic() - sent, 2))
    assert proc.returncode == 0, err
    assert "Traceback" not in out + err and "Crash detected" not in out + err
    assert "stopping: SIGTERM" in err
    assert flow_run_state(flow_run_id, within=10).is_cancelled()
    with open_warehouse(work / DB, read_only=True) as con:
        assert [r[0] for r in con.execute("SELECT status FROM runs").fetchall()] == ["interrupted"]
    local_site.release_all()
    rerun_heals(work, reference_run, record_property)
