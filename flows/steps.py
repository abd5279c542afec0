"""Prefect at the edge: the flows' steps are Prefect tasks inside a Prefect flow run, plain calls outside one.

``task`` and ``flow`` decorate as ``prefect.task`` and ``prefect.flow`` do, without importing
Prefect (~2 s): the Prefect task or flow is built the first time a Prefect run needs it.

- Called inside a Prefect flow run (``silkwatch serve``, a deployment, a command with
  ``PREFECT_API_URL`` set or ``--prefect``, a test under ``prefect_test_harness``), a step is a
  Prefect task run, and a flow called is a Prefect flow run (a subflow inside another).
- ``run_local(flow, runner, ...)`` runs a flow's body in this process with no Prefect at all, as a
  one-off command does by default: each step is a function call, a step's ``submit`` runs on
  ``runner`` (threads, or a Dask cluster: ``flows.runners.local_runner_for``), and no server, no
  event or log client, no telemetry is started.

The body is the same code either way; it asks ``in_prefect_run()`` only for what Prefect alone
has (an artifact), and ends a stopped run with ``cancelled(...)``: a Cancelled state for Prefect,
a ``Stopped`` value for ``run_local``'s caller.

Steps take large plain data: no caching by input hash and no result persistence under Prefect
(each would hash or write every row); arguments a flow wraps in ``quote`` are not walked by
Prefect for futures to wait on (that walk cost more main-process time than the saves).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

_runner: contextvars.ContextVar[LocalRunner | None] = contextvars.ContextVar("silkwatch_local_runner", default=None)


class LocalRunner(Protocol):
    """What runs a flow's submitted steps outside Prefect: ``submit`` returns a future
    (``concurrent.futures`` or ``distributed`` style: ``result``, ``add_done_callback``)."""

    def submit(self, fn: Callable, *args: Any, **kwargs: Any) -> Any: ...


def in_prefect_run() -> bool:
    """Whether this code runs inside a Prefect flow run (never when Prefect was not even imported)."""
    if "prefect.context" not in sys.modules:
        return False
    from prefect.context import FlowRunContext

    return FlowRunContext.get() is not None


class LocalFuture:
    """A submitted step's future outside Prefect, with the part of PrefectFuture's interface the
    flows use; callbacks get this future, as Prefect's get theirs."""

    def __init__(self, inner: Any):
        self._inner = inner

    def result(self, timeout: float | None = None) -> Any:
        return self._inner.result(timeout)

    def wait(self, timeout: float | None = None) -> None:
        with contextlib.suppress(Exception):  # waiting is not reading: result() raises it to whoever asks
            self._inner.result(timeout)

    def add_done_callback(self, fn: Callable[[LocalFuture], object]) -> None:
        self._inner.add_done_callback(lambda _inner: fn(self))


class _Deferred:
    """A function, and the Prefect object made of it, built the first time a Prefect run needs it."""

    def __init__(self, fn: Callable, options: dict):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self._options = options
        self._built = None

    def _build(self):
        raise NotImplementedError

    @property
    def _prefect(self):
        if self._built is None:
            self._built = self._build()
        return self._built


class Step(_Deferred):
    """A flow's step: a Prefect task inside a Prefect flow run, a plain call outside one; ``fn``
    is the function itself (for tests of its logic)."""

    def _build(self):
        from prefect import task
        from prefect.cache_policies import NO_CACHE

        return task(cache_policy=NO_CACHE, persist_result=False, **self._options)(self.fn)

    def __call__(self, *args, **kwargs):
        if in_prefect_run():
            return self._prefect(*args, **kwargs)
        return self.fn(*args, **kwargs)

    def submit(self, *args, **kwargs):
        """Start the step and return its future: on the flow run's task runner, or on ``run_local``'s runner."""
        if in_prefect_run():
            return self._prefect.submit(*args, **kwargs)
        runner = _runner.get()
        if runner is None:
            raise RuntimeError(f"{self.fn.__name__}.submit outside a flow: run the flow (or run_local) instead")
        return LocalFuture(runner.submit(self.fn, *args, **kwargs))


class Flow(_Deferred):
    """A flow: called, a Prefect flow run (``with_options`` as Prefect's); ``fn``, its body."""

    def _build(self):
        from prefect import flow

        return flow(**self._options)(self.fn)

    def __call__(self, *args, **kwargs):
        return self._prefect(*args, **kwargs)

    def with_options(self, **options):
        return self._prefect.with_options(**options)


def task(**options) -> Callable[[Callable], Step]:
    """``@task(name=..., retries=...)``: a step (Prefect task options)."""
    return lambda fn: Step(fn, options)


def flow(**options) -> Callable[[Callable], Flow]:
    """``@flow(name=...)``: a flow (Prefect flow options)."""
    return lambda fn: Flow(fn, options)


def quote(value):
    """``value`` for a step's argument, not walked by Prefect (``prefect.utilities.annotations.quote``)."""
    if in_prefect_run():
        from prefect.utilities.annotations import quote as prefect_quote

        return prefect_quote(value)
    return value


@dataclass(frozen=True)
class Stopped:
    """What a flow body run by ``run_local`` returns when it was stopped: why, and what it did."""

    message: str
    data: Any


def cancelled(message: str, data: Any):
    """A stopped flow's return value: a Cancelled state in a Prefect flow run (the run ends
    Cancelled, the state's data is ``data``), else ``Stopped``."""
    if in_prefect_run():
        from prefect.states import Cancelled

        return Cancelled(message=message, data=data)
    return Stopped(message, data)


def run_local(flow_: Flow, runner, *args, **kwargs):
    """Run ``flow_``'s body here, without Prefect: its steps as calls, their ``submit`` on
    ``runner`` (a context manager, entered and closed here)."""
    with runner:
        token = _runner.set(runner)
        try:
            return flow_.fn(*args, **kwargs)
        finally:
            _runner.reset(token)
