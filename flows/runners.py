"""Which Prefect task runner the flows use: ``[pipeline] task_runner``.

``threads`` (default): Prefect's ThreadPoolTaskRunner, tasks as threads of this process.
``dask``: prefect-dask's DaskTaskRunner, tasks on a Dask cluster: with ``[pipeline] dask_address``
empty, a temporary local cluster of one worker process per core, started for the flow run and
closed after it; else the existing cluster whose scheduler is at that address (``tcp://host:8786``).
Whatever a task receives or returns is pickled to and from the workers. Writes to the warehouse
stay one at a time: DuckDB allows one writer, and the flows save batch after batch.
"""

from __future__ import annotations

import os

from flows.config import Config, ConfigError

DASK_THREADS_PER_WORKER = 4  # feed checks and page batches wait on the network more than they compute


def task_runner_for(config: Config, **cluster_kwargs):
    """The task runner that ``config`` asks for. ``cluster_kwargs`` override the local cluster's shape."""
    if config.task_runner == "threads":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner()
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:
        raise ConfigError(
            f'{config.source}: [pipeline] task_runner = "dask" needs prefect-dask, not installed here '
            '(pip install -c constraints.txt -e ".[dask]")'
        ) from exc
    if config.dask_address:
        return DaskTaskRunner(address=config.dask_address)
    local = {"n_workers": os.cpu_count() or 1, "threads_per_worker": DASK_THREADS_PER_WORKER, "processes": True,
             "host": "127.0.0.1", "dashboard_address": None}  # fmt: skip
    return DaskTaskRunner(cluster_kwargs={**local, **cluster_kwargs})


def with_task_runner(flow, config: Config):
    """``flow`` running its tasks on the runner ``config`` asks for."""
    return flow.with_options(task_runner=task_runner_for(config))
