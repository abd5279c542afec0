"""Stopping a run when asked: Ctrl-C (SIGINT), SIGTERM (docker stop, systemd, a cancelled deployment run).

The first signal only raises a flag, which every wait of a run looks at:

- fetches (``flows.fetch``): reads wait in short slices and end when the flag is up, politeness
  delays and retry backoffs wait on it, and no new request starts;
- extraction (``flows.pages``): the worker processes are killed (they ignore the signals
  themselves: Ctrl-C reaches every process of the terminal's group);
- the flow (``flows.pipeline``): between batches and phases; a save in progress commits (or rolls
  back) as the one transaction it is, and no other starts. The run is recorded ``interrupted``.

A handler never raises into the code it interrupts (as KeyboardInterrupt, or Prefect's
TerminationSignal, would in the middle of a write). The same signal a second time ends the
process at once, as SIGKILL would: DuckDB rolls back the open transaction when the warehouse is
next opened, and the next run finishes the work (``warehouse.load.mark_interrupted_runs``).

Prefect installs its own SIGTERM handler for the duration of a flow run started in the main
thread (``prefect.utilities.engine.capture_sigterm``: it raises ``TerminationSignal`` wherever the
flow is, and the engine reports "Crash detected!"). So the commands start their flow runs in a
thread of their own (``flow_in_thread``), where Prefect installs no handler, while the main thread
waits with these; and a flow body run in the main thread installs them again (``stop_on_signals``)
for its duration, Prefect's coming back when it ends.

The run's handlers stay in place while it starts processes that must ignore the signals from
their first instant: a child inherits an ignored disposition, but ignoring in the run, even for
milliseconds, drops a stop sent then (a process-directed signal goes to any thread not blocking
it, and is discarded there when ignored). Instead the starting thread blocks them
(``stop_signals_blocked``): a child inherits the mask through fork and exec, holds a Ctrl-C
pending until it ignores the signals (``ignore_stop_signals``, which discards it), while the
run's signal is taken by another of its threads, or by this one when the block ends.
"""

from __future__ import annotations

import contextvars
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_stop = threading.Event()
_received: list[int] = []  # the signals that asked for the stop, first first
_depth = 0  # stop_on_signals scopes open in this process


def request_stop(signum: int = signal.SIGTERM) -> None:
    """Ask the run in this process to stop, as the signal ``signum`` does."""
    _received.append(signum)
    _stop.set()


def stop_requested() -> bool:
    return _stop.is_set()


def stop_signal() -> int | None:
    """The signal that asked for the stop, or None."""
    return _received[0] if _received else None


def describe(signum: int | None) -> str:
    if signum == signal.SIGINT:
        return "Ctrl-C (SIGINT)"
    return signal.Signals(signum).name if signum else "a stop request"


def pause(seconds: float) -> bool:
    """Sleep up to ``seconds``, less if a stop is requested meanwhile; whether it was."""
    if seconds > 0:
        return _stop.wait(seconds)
    return _stop.is_set()


def reset() -> None:
    """A new run in this process starts with no stop pending."""
    _stop.clear()
    _received.clear()


def _handle(signum: int, _frame) -> None:
    # The same signal again (Ctrl-C twice, SIGTERM twice): leave now, as a kill would. Another kind
    # is the same request (a served run gets Ctrl-C from the terminal, then SIGTERM from its runner).
    if signum in _received:
        os.write(2, f"\nsilkwatch: {describe(signum)} again: stopped at once\n".encode())
        os._exit(128 + signum)
    request_stop(signum)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM ask for a stop (the first) or end the process (the second) while inside.

    The outermost scope starts with no stop pending; a nested one (a flow body inside a command)
    keeps what the outer one saw. Outside the main thread, where Python runs no handlers, it only
    marks the scope."""
    global _depth  # noqa: PLW0603 - signal handlers are per process, and so is their bookkeeping
    in_main = threading.current_thread() is threading.main_thread()
    if _depth == 0:
        reset()
    _depth += 1
    previous = {s: signal.signal(s, _handle) for s in STOP_SIGNALS} if in_main else {}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _depth -= 1


def flow_in_thread(call: Callable[[], object]) -> object:
    """``call()`` (a flow run) in a thread of its own, with this thread's context (Prefect's
    settings and run context are context variables); this thread waits, handling the signals."""
    context = contextvars.copy_context()
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = context.run(call)
        except BaseException as exc:  # handed to the caller's thread, as if raised there
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="silkwatch-flow")
    thread.start()
    while thread.is_alive():  # in slices: a signal another thread took is handled here when this one wakes
        thread.join(0.2)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@contextmanager
def stop_signals_blocked() -> Iterator[None]:
    """SIGINT and SIGTERM blocked in this thread while inside, so that the processes it starts
    inherit them blocked (through fork and exec, ``multiprocessing``'s spawn included): a Ctrl-C,
    which the terminal sends to every process of the group, waits in a new process until it
    ignores the signals (``ignore_stop_signals``) instead of raising KeyboardInterrupt there
    before its own setup. Only this thread's mask changes, never the run's handlers: a signal sent
    to the run meanwhile is taken by a thread that does not block it (Python runs the handler in
    the main thread), or, when there is none, stays pending until the block ends; none is lost.
    Threads started inside keep the block, and only never take these signals. Start
    ``multiprocessing``'s resource tracker before: its start unblocks them (cpython#110844)."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def ignore_stop_signals() -> None:
    """What a process started inside ``stop_signals_blocked`` does first: ignore SIGINT and SIGTERM
    (its run decides when it ends), which discards one already pending, then unblock them."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
