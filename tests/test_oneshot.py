"""The CLI's exit path (flows/oneshot.py): it skips the interpreter teardown, nothing else."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

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
