"""Fault injection for the crash-safety tests: ``SILKWATCH_FAULT=kill-at:<point>[:<n>]``.

A no-op unless that variable is set. When it names a point, the process SIGKILLs itself the
n-th time (default: first) it reaches ``fault_point(<point>)``, exactly as an out-of-memory
killer or a pulled plug would stop it: no cleanup, no ``finally``, no rollback. The points:

- ``batch-saved``: a save batch is committed and the warehouse closed (between two batches);
- ``save-before-commit``: a save batch is written, its transaction not yet committed;
- ``indexing``: inside a save batch, while the search index is being updated;
- ``digest-write``: a digest file is half-way written (the temporary file, before its rename);
- ``alerts-recorded``: the watch hits and alerts of a run are committed, none sent yet;
- ``alert-sending``: an alert is marked ``sending`` (committed), not sent yet;
- ``alert-sent``: an alert was delivered, ``sent`` not yet recorded;
- ``alert-recorded``: an alert's delivery is recorded, the next not started.
"""

from __future__ import annotations

import os
import signal

FAULT_ENV = "SILKWATCH_FAULT"
_reached: dict[str, int] = {}


def fault_point(name: str) -> None:
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    action, _, rest = spec.partition(":")
    point, _, nth = rest.partition(":")
    if action != "kill-at" or point != name:
        return
    _reached[name] = _reached.get(name, 0) + 1
    if _reached[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
