"""Stop signals while a run starts its worker processes (``flows.stopping.stop_signals_blocked``),
in this process with real signals: the end-to-end cases are tests/test_stops.py's "workers
starting" and "worker setup" phases; here the case where the starting thread is the main thread
(a flow body run there, as in a deployment's flow-run process)."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from silkwatch.flows import stopping


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_sent_while_the_main_thread_starts_processes_is_not_lost(signum):
    """The kernel gives a signal that the main thread blocks to another thread (the run has
    several): had the run ignored it meanwhile, it would be dropped there."""
    other_thread_done = threading.Event()
    other = threading.Thread(target=other_thread_done.wait, name="another thread of the run")
    other.start()
    try:
        with stopping.stop_on_signals():
            with stopping.stop_signals_blocked():
                os.kill(os.getpid(), signum)
                time.sleep(0.1)  # processes being started
            time.sleep(0.01)  # the main thread runs the handler between two steps of its own
            assert stopping.stop_requested()
            assert stopping.stop_signal() == signum
    finally:
        other_thread_done.set()
        other.join()
        stopping.reset()
