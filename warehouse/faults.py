"""Fault injection for the crash and stop tests: ``SILKWATCH_FAULT=<action>:<point>[:<n>[:<seconds>]]``.

A no-op unless that variable is set. When it names a point, the action happens the n-th time
(default: first) the process reaches ``fault_point(<point>)``:

- ``kill-at``: the process SIGKILLs itself, exactly as an out-of-memory killer or a pulled plug
  would stop it: no cleanup, no ``finally``, no rollback;
- ``pause-at``: the process writes the point's name to the file named by ``SILKWATCH_FAULT_MARK``,
  then sleeps ``seconds`` (default 2), as work a signal cannot cut short would take: a test sees
  the mark and sends its signal while the run is in that phase.

The points:

- ``batch-saved``: a save batch is committed and the warehouse closed (between two batches);
- ``save-before-commit``: a save batch is written, its transaction not yet committed;
- ``indexing``: inside a save batch, while the search index is being updated;
- ``clustering``: inside a save batch, stories computed and not yet saved;
- ``workers-starting``: the run has just started its extraction worker processes, inside
  ``flows.stopping.stop_signals_blocked`` (the instant a stop request was once lost in);
- ``worker-setup``: in an extraction worker process, before its own setup (it does not ignore
  Ctrl-C yet);
- ``extraction``: in an extraction worker process, before it extracts a chunk of pages;
- ``digest-write``: a digest file is half-way written (the temporary file, before its rename);
- ``alerts-recorded``: the watch hits and alerts of a run are committed, none sent yet;
- ``alert-sending``: an alert is marked ``sending`` (committed), not sent yet;
- ``alert-sent``: an alert was delivered, ``sent`` not yet recorded;
- ``alert-recorded``: an alert's delivery is recorded, the next not started;
- ``flow-end``: the run's work is done and recorded, its flow run not yet finished.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

FAULT_ENV = "SILKWATCH_FAULT"
MARK_ENV = "SILKWATCH_FAULT_MARK"
_reached: dict[str, int] = {}


def fault_point(name: str) -> None:
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    action, _, rest = spec.partition(":")
    point, _, rest = rest.partition(":")
    nth, _, seconds = rest.partition(":")
    if action not in ("kill-at", "pause-at") or point != name:
        return
    _reached[name] = _reached.get(name, 0) + 1
    if _reached[name] != int(nth or 1):
        return
    if action == "kill-at":
        os.kill(os.getpid(), signal.SIGKILL)
    Path(os.environ[MARK_ENV]).write_text(name, "utf-8")
    time.sleep(float(seconds or 2))
