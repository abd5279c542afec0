"""`[pipeline] task_runner`: the same run on Prefect's threads and on a local Dask cluster stores the same rows."""

from __future__ import annotations

import pickle
import threading
from dataclasses import replace

import pytest
from prefect.task_runners import ThreadPoolTaskRunner
from prefect_dask import DaskTaskRunner

from silkwatch.flows.config import ConfigError, config_from_dict
from silkwatch.flows.fetch import HostLimiter
from silkwatch.flows.pipeline import run_flow
from silkwatch.flows.runners import task_runner_for
from silkwatch.warehouse.db import check_integrity, open_warehouse
from tests.test_feed_ingest import PAGES, config, site  # noqa: F401 - the local site and its config are fixtures

STORED = {  # what a run stores, without the times that differ from run to run
    "articles": "article_id, title, text, summary, source_name, url, published_at, content_hash",
    "article_sources": "url, article_id, feed_url, source_name, title, content_hash, text_from",
    "article_topics": "article_id, topic, score, evidence, rules_version",
    "article_entities": 'article_id, entity_id, mention, field, "offset"',
    "feeds": "feed_url, name, consecutive_failures, last_error, items_last_seen",
}


def _stored(db) -> dict:
    with open_warehouse(db, read_only=True) as con:
        assert check_integrity(con) == []
        return {t: con.execute(f"SELECT {cols} FROM {t} ORDER BY ALL").fetchall() for t, cols in STORED.items()}


def test_a_run_on_dask_stores_what_a_run_on_threads_stores(prefect_harness, config, tmp_path):  # noqa: F811
    on_threads = run_flow.with_options(task_runner=task_runner_for(config))(config)
    dask_config = replace(config, warehouse_path=tmp_path / "dask.duckdb", digest_dir=tmp_path / "dask-reports",
                          task_runner="dask")  # fmt: skip
    # one worker process: the tasks, their inputs (a HostLimiter among them) and results cross a process boundary
    runner = task_runner_for(dask_config, n_workers=1, threads_per_worker=4)
    on_dask = run_flow.with_options(task_runner=runner)(dask_config)
    assert (on_dask.articles_new, on_dask.feeds_ok, on_dask.feeds_failed) == (5 + len(PAGES) + 2, 1, 2)
    assert (on_dask.articles_new, on_dask.sources_new) == (on_threads.articles_new, on_threads.sources_new)
    threads_rows, dask_rows = _stored(config.warehouse_path), _stored(dask_config.warehouse_path)
    assert all(threads_rows[t] for t in STORED)
    assert dask_rows == threads_rows
    assert on_dask.digest.path.read_text("utf-8").count("### ") == on_threads.digest.path.read_text("utf-8").count(
        "### "
    )


def test_task_runner_from_config(tmp_path):
    threads = config_from_dict({}, tmp_path)
    assert threads.task_runner == "threads" and isinstance(task_runner_for(threads), ThreadPoolTaskRunner)
    local = config_from_dict({"pipeline": {"task_runner": "dask"}}, tmp_path)
    runner = task_runner_for(local)
    assert isinstance(runner, DaskTaskRunner)
    assert runner.cluster_kwargs["processes"] is True and runner.cluster_kwargs["host"] == "127.0.0.1"
    remote = config_from_dict({"pipeline": {"task_runner": "dask", "dask_address": "tcp://10.0.0.5:8786"}}, tmp_path)
    assert task_runner_for(remote).address == "tcp://10.0.0.5:8786"
    with pytest.raises(ConfigError, match=r"\[pipeline\] task_runner must be one of threads, dask, got 'ray'"):
        config_from_dict({"pipeline": {"task_runner": "ray"}}, tmp_path)
    with pytest.raises(ConfigError, match=r"\[digest\] max_per_topic must be 0"):
        config_from_dict({"digest": {"max_per_topic": -1}}, tmp_path)


def test_host_limiter_pickles_to_the_one_copy_of_its_process():
    limiter = HostLimiter(1, 0.0)
    assert pickle.loads(pickle.dumps(limiter)) is limiter  # noqa: S301 - our own bytes; same process: the same limiter, the same locks
    with limiter.slot("example.org"):
        # a task unpickling it meanwhile shares its slots: example.org is taken
        copy = pickle.loads(pickle.dumps(limiter))  # noqa: S301 - our own bytes
        got = []
        worker = threading.Thread(target=lambda: got.append(copy._slots["example.org"].acquire(timeout=0.2)))
        worker.start()
        worker.join()
        assert got == [False]


def test_a_one_off_run_without_prefect_stores_what_a_prefect_run_stores_on_threads_and_dask(
    prefect_harness,
    config,  # noqa: F811
    tmp_path,
):
    """The flow's body run as a one-off command runs it (flows/steps.py: no Prefect), its page batches
    on a thread pool or on a local Dask cluster: the same rows as the Prefect flow run."""
    from silkwatch.flows.runners import local_runner_for
    from silkwatch.flows.steps import run_local

    prefect_run = run_flow.with_options(task_runner=task_runner_for(config))(config)
    runs = {}
    for runner in ("threads", "dask"):
        local = replace(config, warehouse_path=tmp_path / f"{runner}.duckdb", digest_dir=tmp_path / f"{runner}-reports",
                        task_runner=runner)  # fmt: skip
        summary = run_local(run_flow, local_runner_for(local, n_workers=1, threads_per_worker=4), local)
        assert (summary.articles_new, summary.sources_new) == (prefect_run.articles_new, prefect_run.sources_new)
        runs[runner] = _stored(local.warehouse_path)
    assert all(runs["threads"][t] for t in STORED)
    assert runs["threads"] == runs["dask"] == _stored(config.warehouse_path)
