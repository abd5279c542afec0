"""Keep interpreter-exit noise off the user's terminal.

After a Prefect run, DuckDB's bindings print "nanobind: leaked ..." while the interpreter tears
down, and Prefect's background services may log offline errors as they stop. By then everything
meant for the user has been printed, so stderr goes to /dev/null for the teardown.
``SILKWATCH_DEBUG=1`` keeps it.
"""

from __future__ import annotations

import atexit
import os
import sys


def _silence() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)


def silence_stderr_at_exit() -> None:
    """Send stderr to /dev/null once the program's own atexit work is done."""
    if not os.environ.get("SILKWATCH_DEBUG"):
        atexit.register(_silence)  # atexit runs last-registered first: register early, run late
