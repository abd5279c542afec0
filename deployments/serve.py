"""The schedules, as Prefect deployments served by this process (`silkwatch serve`).

- ingest: every ``[schedule] ingest_every_minutes`` (default 30);
- daily digest: ``[schedule] daily_digest`` cron (default 07:00);
- weekly digest: ``[schedule] weekly_digest`` cron (default Monday 07:00);
all in ``[schedule] timezone``. Digests are emailed when ``[email] enabled = true``.
For a team Prefect server with a work pool, `prefect.yaml` at the repository root declares the same.
"""

from __future__ import annotations

from datetime import timedelta

from prefect.schedules import Cron, Interval

from flows.config import Config
from flows.pipeline import scheduled_digest, scheduled_ingest


def build_deployments(config: Config) -> list:
    """The three deployments for a config (inspectable without starting anything)."""
    if config.source is None:
        raise ValueError("deployments need a config file: its path is the flows' parameter")
    path = str(config.source)
    tz = config.schedule["timezone"]
    every = timedelta(minutes=config.schedule["ingest_every_minutes"])
    return [
        scheduled_ingest.to_deployment(
            name="ingest", parameters={"config_path": path}, schedules=[Interval(every, timezone=tz)],
            description="Ingest seeds and feeds.",
        ),
        scheduled_digest.to_deployment(
            name="daily-digest", parameters={"config_path": path, "period": "day"},
            schedules=[Cron(config.schedule["daily_digest"], timezone=tz)],
            description="Build (and email) the daily digest.",
        ),
        scheduled_digest.to_deployment(
            name="weekly-digest", parameters={"config_path": path, "period": "week"},
            schedules=[Cron(config.schedule["weekly_digest"], timezone=tz)],
            description="Build (and email) the weekly digest.",
        ),
    ]  # fmt: skip


def serve_deployments(config: Config) -> None:
    """Run the schedules in this process until interrupted (Prefect's `serve`)."""
    from prefect import serve

    serve(*build_deployments(config))
