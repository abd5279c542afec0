"""Watches through the installed CLI: `silkwatch run` posts to a real webhook receiver once, the
watch commands, a bad notify URL, and runs killed (SIGKILL) mid-delivery then run again."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest

from silkwatch.flows.config import load_config
from silkwatch.flows.pipeline import run_flow
from silkwatch.warehouse.db import check_integrity, open_warehouse
from silkwatch.warehouse.lock import writer_lock
from tests.conftest import SEEDS
from tests.local_site import run
from tests.test_watches import RAHMON_SECURITY, TITLES, json_hook, posts, watch

DB = Path("data/silkwatch.duckdb")


def workdir(root: Path, watches: str) -> Path:
    shutil.copytree(SEEDS, root / "seeds", ignore=shutil.ignore_patterns("*.toml"))
    (root / "feeds.toml").write_text("", "utf-8")
    (root / "silkwatch.toml").write_text(
        '[warehouse]\npath = "data/silkwatch.duckdb"\n[seeds]\ndir = "seeds"\n[feeds]\nfile = "feeds.toml"\n'
        f'[digest]\ndir = "reports"\n{watches}',
        "utf-8",
    )
    return root


def rerun(work: Path) -> None:
    with writer_lock(work / DB):
        summary = run_flow(load_config(work / "silkwatch.toml"), write_report=False, include_feeds=False)
    assert summary.status == "ok", summary.alerts.failures if summary.alerts else summary.failures


def hook(httpserver, path: str) -> str:
    httpserver.expect_request(path, method="POST").respond_with_data("ok")
    return json_hook(httpserver, path)


def test_one_run_posts_one_message_and_the_next_posts_nothing(prefect_harness, httpserver, tmp_path):
    url = hook(httpserver, "/hook")
    work = workdir(tmp_path, watch("rahmon-security", "Rahmon", [url], topics=["security"]))
    first = run("run", cwd=work)
    assert first.returncode == 0, first.stderr
    assert "rahmon-security 2" in first.stdout and "alerts sent" in first.stdout
    (payload,) = posts(httpserver)
    for url_, title in TITLES.items():
        assert (title in payload["message"]) is (url_ in RAHMON_SECURITY), url_
    second = run("run", cwd=work)
    assert second.returncode == 0, second.stderr
    assert len(posts(httpserver)) == 1

    listed = run("watch", "list", cwd=work)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if "rahmon-security" in line)
    assert "│ 2 " in row and "json://127.0.0.1" in row and "sent, last sent" in row
    tested = run("watch", "test", "rahmon-security", "-f", "json", cwd=work)
    assert tested.returncode == 0, tested.stderr
    dry = json.loads(tested.stdout)
    assert dry["matches"] == 2 and {a["url"] for a in dry["articles"]} == RAHMON_SECURITY
    assert all("Emomali Rahmon as" in a["why"] and "topic security" in a["why"] for a in dry["articles"])
    assert len(posts(httpserver)) == 1  # a dry run sends nothing
    unknown = run("watch", "test", "nobody", cwd=work)
    assert unknown.returncode == 2 and "watch 'nobody': no [[watch]] of that name" in unknown.stderr


def test_a_malformed_url_stops_the_run_before_anything(prefect_harness, httpserver, tmp_path):
    good = hook(httpserver, "/hook")
    work = workdir(tmp_path, watch("good", "Rahmon", [good]) + watch("typo", "Xi", ["jsn://127.0.0.1/x"]))
    done = run("run", cwd=work)
    assert done.returncode == 2
    assert "[[watch]] 'typo': notify 'jsn://…' is not a URL Apprise can send to" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert httpserver.log == [] and not (work / DB).exists()  # nothing read, stored or sent


@pytest.mark.reliability("crash")
@pytest.mark.parametrize(
    ("point", "after_kill", "after_rerun", "repeated"),
    [
        ("alerts-recorded:1", (0, 0), (1, 1), False),  # hits and alerts committed, nothing sent yet
        ("alert-sending:1", (0, 0), (1, 1), True),  # the first marked 'sending', killed before it left
        ("alert-sent:1", (1, 0), (2, 1), True),  # the first delivered, killed before 'sent' was committed
        ("alert-recorded:1", (1, 0), (1, 1), False),  # the first delivered and recorded, the second not sent
    ],
)
def test_a_run_killed_mid_delivery_loses_nothing(
    prefect_harness, httpserver, tmp_path, point, after_kill, after_rerun, repeated
):
    a, b = hook(httpserver, "/a"), hook(httpserver, "/b")
    work = workdir(
        tmp_path, watch("rahmon-security", "Rahmon", [a], topics=["security"]) + watch("tokayev", "Tokayev", [b])
    )
    killed = run("ingest", "--no-feeds", cwd=work, SILKWATCH_FAULT=f"kill-at:{point}")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (len(posts(httpserver, "/a")), len(posts(httpserver, "/b"))) == after_kill

    rerun(work)  # the next run, in process (as `silkwatch ingest --no-feeds` does it, minus the start-up)
    assert (len(posts(httpserver, "/a")), len(posts(httpserver, "/b"))) == after_rerun
    last_a, (only_b,) = posts(httpserver, "/a")[-1], posts(httpserver, "/b")
    assert ("Sent again: a run was stopped while sending this" in last_a["message"]) is repeated
    assert TITLES["seed:001_ca2344aa02f0cd64.txt"] in last_a["message"]
    assert TITLES["seed:003_53eca7c8ac1a35d1.txt"] in only_b["message"]
    rerun(work)  # and a third run sends nothing
    assert (len(posts(httpserver, "/a")), len(posts(httpserver, "/b"))) == after_rerun
    with open_warehouse(work / DB, read_only=True) as con:
        assert check_integrity(con, indexed=True, idle=True) == []
        assert con.execute("SELECT subject, status FROM alerts ORDER BY 1").fetchall() == [
            ("rahmon-security", "sent"), ("tokayev", "sent"),
        ]  # fmt: skip
        assert con.execute("SELECT count(*) FROM watch_hits").fetchone() == (3,)
