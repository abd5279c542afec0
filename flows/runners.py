"""Which task runner the flows use: ``[pipeline] task_runner``, under Prefect and without it.

``threads`` (default): tasks as threads of this process (Prefect's ThreadPoolTaskRunner; a thread
pool in a one-off command run without Prefect, ``flows.steps.run_local``).
``dask``: tasks on a Dask cluster (prefect-dask's DaskTaskRunner; a ``distributed`` client without
Prefect): with ``[pipeline] dask_address`` empty, a temporary local cluster of one worker process
per core, started for the run and closed after it; else the existing cluster whose scheduler is at
that address (``tcp://host:8786``). Whatever a task receives or returns is pickled to and from the
workers. Writes to the warehouse stay one at a time: DuckDB allows one writer, and the flows save
batch after batch.
"""

from __future__ import annotations

import contextvars
import os
from concurrent.futures import ThreadPoolExecutor

from silkwatch.flows.config import Config, ConfigError

DASK_THREADS_PER_WORKER = 4  # feed checks and page batches wait on the network more than they compute


def _needs_prefect_dask(config: Config) -> ConfigError:
    return ConfigError(
        f'{config.source}: [pipeline] task_runner = "dask" needs prefect-dask, not installed here '
        '(pip install -c constraints.txt -e ".[dask]")'
    )


def _local_cluster(**cluster_kwargs) -> dict:
    local = {"n_workers": os.cpu_count() or 1, "threads_per_worker": DASK_THREADS_PER_WORKER, "processes": True,
             "host": "127.0.0.1", "dashboard_address": None}  # fmt: skip
    return {**local, **cluster_kwargs}


def task_runner_for(config: Config, **cluster_kwargs):
    """The Prefect task runner that ``config`` asks for. ``cluster_kwargs`` override the local cluster's shape."""
    if config.task_runner == "threads":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner()
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:
        raise _needs_prefect_dask(config) from exc
    if config.dask_address:
        return DaskTaskRunner(address=config.dask_address)
    return DaskTaskRunner(cluster_kwargs=_local_cluster(**cluster_kwargs))


def with_task_runner(flow, config: Config):
    """``flow`` (a Prefect flow run when called) running its tasks on the runner ``config`` asks for."""
    return flow.with_options(task_runner=task_runner_for(config))


class ThreadRunner:
    """Submitted steps as threads of this process, each with the submitter's context (as Prefect's)."""

    def __enter__(self) -> ThreadRunner:
        self._pool = ThreadPoolExecutor(thread_name_prefix="silkwatch-step")
        return self

    def __exit__(self, *exc) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, fn, *args, **kwargs):
        return self._pool.submit(contextvars.copy_context().run, fn, *args, **kwargs)


class DaskRunner:
    """Submitted steps on a Dask cluster: the one at ``address``, or a local one for the run."""

    def __init__(self, address: str | None, cluster_kwargs: dict):
        self._address, self._cluster_kwargs = address, cluster_kwargs

    def __enter__(self) -> DaskRunner:
        from distributed import Client, LocalCluster

        self._cluster = None if self._address else LocalCluster(**self._cluster_kwargs)
        self._client = Client(self._address or self._cluster)
        return self

    def __exit__(self, *exc) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def submit(self, fn, *args, **kwargs):
        return self._client.submit(fn, *args, pure=False, **kwargs)


def local_runner_for(config: Config, **cluster_kwargs) -> ThreadRunner | DaskRunner:
    """What runs a flow's submitted steps without Prefect (``flows.steps.run_local``), as ``config`` asks."""
    if config.task_runner == "threads":
        return ThreadRunner()
    try:
        import distributed  # noqa: F401 - installed with prefect-dask (the same extra as under Prefect)
    except ImportError as exc:
        raise _needs_prefect_dask(config) from exc
    return DaskRunner(config.dask_address or None, _local_cluster(**cluster_kwargs))


def flow_call(flow, config: Config, *args, prefect: bool, **kwargs):
    """A one-off command's run of ``flow(*args, **kwargs)``, to be called (in the command's flow
    thread: ``flows.stopping.flow_in_thread``): a Prefect flow run when ``prefect``, else the flow's
    body without Prefect (``flows.steps.run_local``). The call returns (the flow's result, and
    None, or the stop's message when the run was stopped)."""

    def as_prefect_flow_run():
        state = with_task_runner(flow, config)(*args, return_state=True, **kwargs)
        if state.is_cancelled():  # stopped: the summary of what it did is the state's data
            return state.result(raise_on_failure=False), state.message
        return state.result(), None

    def without_prefect():
        from silkwatch.flows.steps import Stopped, run_local

        value = run_local(flow, local_runner_for(config), *args, **kwargs)
        return (value.data, value.message) if isinstance(value, Stopped) else (value, None)

    return as_prefect_flow_run if prefect else without_prefect
