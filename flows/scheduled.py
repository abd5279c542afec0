"""The scheduled flows: what `silkwatch serve` and the deployments of prefect.yaml run, always as
Prefect flow runs (with their run history), each running the command's flow as a subflow."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from silkwatch.flows import stopping
from silkwatch.flows.config import Config, load_config
from silkwatch.flows.notify import check_notify
from silkwatch.flows.pipeline import digest_flow, run_flow
from silkwatch.flows.runners import with_task_runner
from silkwatch.warehouse.db import WarehouseBusy
from silkwatch.warehouse.lock import writer_lock


def _scheduled_wait(config: Config) -> float:
    """A scheduled flow finding another writer at work waits for it (up to one ingest interval,
    when the next scheduled ingest takes over) instead of failing like an impatient CLI user."""
    return max(config.lock_wait_seconds, config.schedule.ingest_every_minutes * 60.0)


# Deployments take the config file's path: a flow run's parameters must be plain JSON. The ingest
# runs its work in a thread, as the commands do (flows/stopping.py): a run cancelled from Prefect's
# UI or API, or stopped with `silkwatch serve` (the runner sends SIGTERM), stops as Ctrl-C stops a
# command, and the runner marks it Cancelled. (A Cancelled state returned by a deployment's flow
# would be logged by Prefect's engine as an unexpected exception, with its traceback.)
@flow(name="silkwatch-scheduled-ingest")
def scheduled_ingest(config_path: str) -> None:
    """Scheduled: ingest seeds and feeds (no digest)."""
    config = load_config(Path(config_path))
    check_notify(config)  # a bad notify URL fails the run before anything is ingested or sent
    wait = _scheduled_wait(config)
    with stopping.stop_on_signals():
        try:
            with writer_lock(config.warehouse_path, wait, "scheduled ingest", give_up=stopping.stop_requested):
                state = stopping.flow_in_thread(
                    lambda: with_task_runner(run_flow, config)(
                        config, write_report=False, follow_polling=True, return_state=True
                    )
                )
        except WarehouseBusy:
            if not stopping.stop_requested():
                raise
            print(f"stopped by {stopping.describe(stopping.stop_signal())} while waiting for the warehouse")
            return
    if state.is_cancelled():
        print(state.message)
        return
    summary = state.result()
    print(f"{summary.articles_new} new articles, {summary.feeds_ok} feeds ok, {summary.feeds_failed} failed")


@flow(name="silkwatch-scheduled-digest")
def scheduled_digest(config_path: str, period: str = "day") -> None:
    """Scheduled: build the digest for the period and email it when [email] is enabled."""
    config = load_config(Path(config_path))
    with writer_lock(config.warehouse_path, _scheduled_wait(config), f"scheduled {period} digest"):
        summary = with_task_runner(digest_flow, config)(config, period, email=config.email.enabled)
    if summary.send and not summary.send.sent and summary.send.reason.startswith("failed"):
        raise RuntimeError(f"digest {summary.digest.digest_id}: {summary.send.reason}")
