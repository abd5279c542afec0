"""Stopping a run when asked: Ctrl-C (SIGINT), SIGTERM (docker stop, systemd, a cancelled deployment run).

The first signal only raises a flag, which every wait of a run looks at:

- fetches (``flows.fetch``): reads wait in short slices and end when the flag is up, politeness
  delays and retry backoffs wait on it, and no new request starts;
- extraction (``flows.pages``): the worker processes are killed;
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
"""

from __future__ import annotations

import contextvars
import os
import queue
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
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


_main_thread_calls: list[queue.Queue] = []  # while flow_in_thread waits: calls for the main thread to make


def flow_in_thread(call: Callable[[], object]) -> object:
    """``call()`` (a flow run) in a thread of its own, with this thread's context (Prefect's
    settings and run context are context variables); this thread waits, handling the signals,
    and makes the calls that must be made in it (``with_stop_signals_ignored``)."""
    context = contextvars.copy_context()
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = context.run(call)
        except BaseException as exc:  # handed to the caller's thread, as if raised there
            outcome["error"] = exc

    calls: queue.Queue = queue.Queue()
    _main_thread_calls.append(calls)
    thread = threading.Thread(target=target, name="silkwatch-flow")
    thread.start()
    try:
        while thread.is_alive():
            try:
                work, done = calls.get(timeout=0.2)
            except queue.Empty:
                continue
            _call_into(done, work)
    finally:
        _main_thread_calls.remove(calls)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def with_stop_signals_ignored(work: Callable[[], object]) -> object:
    """``work()`` with SIGINT and SIGTERM ignored, so that the processes it starts ignore them from
    their first instant (a child inherits ignored signals, not handlers: a worker that Ctrl-C
    reaches before its own setup would print a traceback). A disposition can only be set in the
    main thread: from another, the call is made there when ``flow_in_thread`` waits in it, else
    as it is. A signal in that instant is lost (a second one still stops the run)."""
    if threading.current_thread() is threading.main_thread():
        previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in STOP_SIGNALS}
        try:
            return work()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
    if not _main_thread_calls:
        return work()
    done: Future = Future()
    _main_thread_calls[-1].put((lambda: with_stop_signals_ignored(work), done))
    return done.result()


def _call_into(done: Future, work: Callable[[], object]) -> None:
    try:
        done.set_result(work())
    except BaseException as exc:  # handed to the thread that asked
        done.set_exception(exc)
