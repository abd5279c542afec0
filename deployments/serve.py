"""The schedules, as Prefect deployments served by this process (`silkwatch serve`).

- ingest: every ``[schedule] ingest_every_minutes`` (default 30);
- daily digest: ``[schedule] daily_digest`` cron (default 07:00);
- weekly digest: ``[schedule] weekly_digest`` cron (default Monday 07:00);
all in ``[schedule] timezone``. Digests are emailed when ``[email] enabled = true``.
For a team Prefect server with a work pool, `prefect.yaml` at the repository root declares the same.

Each flow run is a process of its own, started by Prefect's runner. SIGINT or SIGTERM to
`silkwatch serve` stops it cleanly: the runner cancels the runs in progress (SIGTERM to each,
which stops it as Ctrl-C stops `silkwatch run`: what it saved is kept, it is recorded
``interrupted``, and the next run does the rest), waits for them, marks them Cancelled, and
returns. A second signal of the same kind ends the process at once.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta

from prefect.schedules import Cron, Interval
from prefect.types.entrypoint import EntrypointType

from silkwatch.flows.config import Config
from silkwatch.flows.scheduled import scheduled_digest, scheduled_ingest
from silkwatch.flows.stopping import STOP_SIGNALS, describe


def build_deployments(config: Config) -> list:
    """The three deployments for a config (inspectable without starting anything)."""
    if config.source is None:
        raise ValueError("deployments need a config file: its path is the flows' parameter")
    path = str(config.source)
    tz = config.schedule.timezone
    every = timedelta(minutes=config.schedule.ingest_every_minutes)
    # A module path, not the file's: a file entrypoint puts flows/ first on the run's sys.path, where
    # flows/email.py would shadow the standard library's email in the extraction workers it spawns.
    module = EntrypointType.MODULE_PATH
    return [
        scheduled_ingest.to_deployment(
            name="ingest", parameters={"config_path": path}, schedules=[Interval(every, timezone=tz)],
            description="Ingest seeds and feeds.", entrypoint_type=module,
        ),
        scheduled_digest.to_deployment(
            name="daily-digest", parameters={"config_path": path, "period": "day"},
            schedules=[Cron(config.schedule.daily_digest, timezone=tz)],
            description="Build (and email) the daily digest.", entrypoint_type=module,
        ),
        scheduled_digest.to_deployment(
            name="weekly-digest", parameters={"config_path": path, "period": "week"},
            schedules=[Cron(config.schedule.weekly_digest, timezone=tz)],
            description="Build (and email) the weekly digest.", entrypoint_type=module,
        ),
    ]  # fmt: skip


def serve_deployments(config: Config, on_stop=lambda message: None) -> None:
    """Run the schedules in this process until SIGINT or SIGTERM, then stop the runs in progress
    and return; ``on_stop`` is told what is being done."""
    asyncio.run(_serve(build_deployments(config), on_stop))


async def _serve(deployments: list, on_stop) -> None:
    from prefect.runner import Runner

    runner = Runner()
    for deployment in deployments:
        await runner.aadd_deployment(deployment)
    serving = asyncio.create_task(runner.start())
    await asyncio.sleep(0)  # the runner installs its own SIGTERM handler as it starts: this one replaces it
    stop = asyncio.Event()
    received: list[int] = []
    loop = asyncio.get_running_loop()

    def handle(signum: int) -> None:
        if signum in received:  # the same signal again: leave now, as a kill would
            os.write(2, f"\nsilkwatch serve: {describe(signum)} again: stopped at once\n".encode())
            os._exit(128 + signum)
        received.append(signum)
        stop.set()

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, handle, signum)
    waiting = asyncio.create_task(stop.wait())
    await asyncio.wait([serving, waiting], return_when=asyncio.FIRST_COMPLETED)
    if serving.done():  # the runner ended on its own: its error, if any
        waiting.cancel()
        serving.result()
        return
    on_stop(f"{describe(received[0])}: stopping the runs in progress (each keeps what it saved), then exiting")
    if runner.started:
        await runner.astop()  # each run in progress gets SIGTERM, is waited for, and is marked Cancelled
    await serving
    sys.stdout.flush()
