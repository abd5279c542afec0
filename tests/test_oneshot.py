"""The CLI's exit path (flows/oneshot.py): it skips the interpreter teardown, nothing else."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.conftest import processes_exit

SCRIPT = textwrap.dedent(
    """
    import atexit, sys, threading, time
    from flows.oneshot import run_then_exit
    atexit.register(lambda: print("exit handler ran", flush=True))
    def late_writer():
        time.sleep(0.2)
        print("non-daemon thread finished", flush=True)
    def main():
        threading.Thread(target=late_writer).start()
        print("buffered output", end="")
        {ending}
    run_then_exit(main)
    """
)


@pytest.mark.parametrize(
    ("ending", "status", "stderr"),
    [
        ("return", 0, ""),
        ("sys.exit(3)", 3, ""),
        ("sys.exit('bad input')", 1, "bad input"),
        ("1 / 0", 1, "ZeroDivisionError"),
    ],
)
def test_exit_keeps_status_threads_handlers_and_output(ending: str, status: int, stderr: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(ending=ending)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == status
    assert done.stdout.startswith("buffered output")
    assert "non-daemon thread finished" in done.stdout
    assert done.stdout.rstrip().endswith("exit handler ran")  # after the threads, as Python does it
    assert stderr in done.stderr


SERVER_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from prefect import flow
    from flows.oneshot import one_shot_flow_run, run_then_exit, start_temporary_server

    @flow(name="oneshot-probe")
    def probe():
        from prefect.settings import PREFECT_API_URL
        return PREFECT_API_URL.value()

    def main():
        server = start_temporary_server()
        print(server.process.pid, flush=True)
        if sys.argv[1] == "hang":
            time.sleep(600)
        with one_shot_flow_run(server):
            print(probe() == server.api_url, flush=True)

    run_then_exit(main)
    """
)


def _server_env(tmp_path) -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}  # no harness server here
    return {**env, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "WARNING"}  # fmt: skip


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_temporary_server_started_early_serves_the_flow_run_and_stops_at_exit(tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SERVER_SCRIPT, "run"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_server_env(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    pid, reported_to_it = done.stdout.split()
    assert reported_to_it == "True"  # the flow run used this server, not one Prefect started itself
    assert processes_exit([int(pid)], within=10)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_temporary_server_dies_with_a_killed_command(tmp_path) -> None:
    import signal

    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER_SCRIPT, "hang"], stdout=subprocess.PIPE, text=True, env=_server_env(tmp_path)
    )
    with proc, proc.stdout:
        try:
            pid = int(proc.stdout.readline())
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    assert processes_exit([pid], within=10)


def test_no_temporary_server_when_the_environment_names_a_server(monkeypatch) -> None:
    from flows.oneshot import start_temporary_server

    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    assert start_temporary_server() is None
