"""Prefect in a one-shot command-line process: skip the costs that only a long-lived run needs.

Measured on an empty flow in a fresh process (``python -m bench.ingest``, ``prefect_flow_s``):

- Flow run heartbeats (every 180 s, for a server to notice crashed runs) come from a thread that
  sleeps in 1-second steps; the end of every flow run waits for its current step, up to ~1 s. A run
  against the temporary server that Prefect starts for this process (no ``PREFECT_API_URL``) has
  no one to watch them: that server ends with the process. With a real server they are kept.
  Prefect's settings cannot turn them off from the environment (``PREFECT_FLOWS_HEARTBEAT_FREQUENCY``
  is an int >= 30), hence a temporary setting around the run.
- The interpreter's teardown after Prefect has run (freeing its server modules, ORM and pydantic
  models) takes ~1 s of C-level work. Once every exit handler has run (Prefect stops its server and
  flushes its events and logs; DuckDB is closed by then), the process leaves with ``os._exit``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def one_shot_flow_run() -> Iterator[None]:
    """Flow runs inside are not heartbeating when they report to this process's temporary server."""
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    if PREFECT_API_URL.value():
        yield
        return
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def run_then_exit(main: Callable[[], object]) -> None:
    """Run ``main``, then leave as Python would (same status, same exit handlers) minus the teardown."""
    try:
        main()
        code: object = 0
    except SystemExit as exit_:
        code = exit_.code
    except BaseException:  # the traceback and status 1, as Python prints them
        sys.excepthook(*sys.exc_info())
        code = 1
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    threading._shutdown()  # what Python does first at exit: join the non-daemon threads
    atexit._run_exitfuncs()  # then the exit handlers, last registered first
    with contextlib.suppress(OSError):  # a reader that went away (``| head``) loses nothing more
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)
