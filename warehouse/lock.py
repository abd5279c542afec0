"""The writer lock: one silkwatch writer (run, digest, reindex, ...) per warehouse at a time.

DuckDB locks its file only while a connection is open, and a run opens and closes the warehouse
for every batch, so two runs could interleave their batches. The writer lock is held for the whole
command: ``fcntl.flock`` on ``<warehouse>.lock`` beside the warehouse file. The kernel releases it
when the process exits in any way (SIGKILL included), so a killed run never leaves a stale lock;
the file itself stays and only says who held it last.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from silkwatch.warehouse.db import WarehouseBusy, WarehouseError

POLL_SECONDS = 0.2
_held: set[Path] = set()  # warehouses whose writer lock this process holds


def lock_path(db_path: Path) -> Path:
    return Path(db_path).with_name(Path(db_path).name + ".lock")


def holds_writer_lock(db_path: Path) -> bool:
    """Whether this process holds the writer lock of ``db_path`` (then only readers can hold the file)."""
    return Path(db_path).resolve() in _held


def _holder(fd: int, db_path: Path) -> str:
    """'another silkwatch run (pid N, started T)' from what the holder wrote in the lock file."""
    try:
        pid, started, command = os.pread(fd, 512, 0).decode("utf-8").split("\n")[:3]
        return f"another silkwatch {command} (pid {int(pid)}, started {started})"
    except (OSError, UnicodeDecodeError, ValueError):
        return "another silkwatch process"  # the holder has not written its line yet


@contextmanager
def writer_lock(
    db_path: Path, wait_seconds: float = 0.0, command: str = "run", give_up: Callable[[], bool] = lambda: False
) -> Iterator[None]:
    """Hold the warehouse's writer lock for the block; wait up to ``wait_seconds`` for it (less if
    ``give_up()`` says so meanwhile: a run asked to stop), then raise ``WarehouseBusy`` naming the
    holder. ``command`` names the holder in others' messages."""
    db_path = Path(db_path).resolve()
    path = lock_path(db_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise WarehouseError(f"{path}: cannot create the warehouse's lock file: {exc.strerror}") from exc
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline or give_up():
                    raise WarehouseBusy(
                        f"{_holder(fd, db_path)} is using {db_path}; try again when it finishes"
                    ) from None
                time.sleep(POLL_SECONDS)
        started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n{started}\n{command}\n".encode(), 0)
        _held.add(db_path)
        try:
            yield
        finally:
            _held.discard(db_path)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
