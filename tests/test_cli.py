"""The CLI as a user runs it: the installed `silkwatch` script in a subprocess, exit codes, messages."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import seeds_only_checkout, warehouse_held_by_another_process, zone_with_another_date

SILKWATCH = str(Path(sys.executable).parent / "silkwatch")


def silkwatch(*args: str, cwd: Path, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    full_env.pop("SILKWATCH_CONFIG", None)
    full_env.pop("SILKWATCH_DB", None)
    return subprocess.run([SILKWATCH, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def ran(tmp_path_factory) -> Path:
    """One real `silkwatch run` in a fresh folder, as `make run` does it (run twice)."""
    work = seeds_only_checkout(tmp_path_factory.mktemp("cli"))
    # run where the local date is not UTC's (Almaty between midnight and 05:00 UTC, at any hour)
    first = silkwatch("run", cwd=work, env={"TZ": zone_with_another_date()})
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""  # no Prefect chatter, no interpreter-exit noise
    assert "new articles" in first.stdout and "│ 5" in first.stdout
    second = silkwatch("run", cwd=work)
    assert second.returncode == 0, second.stderr
    assert "already stored (unchanged)   │ 5" in second.stdout
    return work


def test_run_leaves_warehouse_and_digest(ran, local_date_not_utc):
    assert (ran / "data" / "silkwatch.duckdb").is_file()
    assert [p.name for p in (ran / "reports").glob("digest-*.md")] == [f"digest-{datetime.now(UTC):%Y-%m-%d}.md"]


def test_check_finds_what_a_consistent_warehouse_never_has(ran, tmp_path):
    import shutil

    import duckdb

    ok = silkwatch("check", cwd=ran)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("ok: ")
    broken = tmp_path / "broken"
    shutil.copytree(ran, broken)
    con = duckdb.connect(str(broken / "data" / "silkwatch.duckdb"))
    con.execute("DELETE FROM articles WHERE article_id = (SELECT min(article_id) FROM articles)")
    con.close()
    found = silkwatch("check", cwd=broken)
    assert found.returncode == 1
    assert "topics without an article" in found.stderr
    assert "articles missing" not in found.stderr  # the other checks still say nothing wrong


def test_query_formats(ran):
    sql = "select topic, count(*) as n from article_topics group by 1 order by 1"
    as_json = silkwatch("query", sql, "--format", "json", cwd=ran)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == [
        {"topic": "BRI", "n": 4}, {"topic": "SCO", "n": 3}, {"topic": "security", "n": 4}, {"topic": "trade", "n": 3},
    ]  # fmt: skip
    as_csv = silkwatch("query", sql, "--format", "csv", cwd=ran)
    assert next(csv.reader(io.StringIO(as_csv.stdout))) == ["topic", "n"]
    table = silkwatch("query", "select count(*) as articles from articles", cwd=ran)
    assert table.returncode == 0
    assert "articles" in table.stdout and "5" in table.stdout
    nested = silkwatch(
        "query", "select evidence, published_at from article_topics, articles limit 1", "-f", "json", cwd=ran
    )
    assert nested.returncode == 0, nested.stderr
    stamped = silkwatch("query", "select first_seen_at from articles limit 1", "-f", "json", cwd=ran)
    assert json.loads(stamped.stdout)[0]["first_seen_at"].endswith("+00:00")  # stored UTC, shown as UTC


def test_query_is_read_only(ran):
    result = silkwatch("query", "delete from articles", cwd=ran)
    assert result.returncode == 2
    assert "read-only" in result.stderr
    count = silkwatch("query", "select count(*) as n from articles", "-f", "json", cwd=ran)
    assert json.loads(count.stdout) == [{"n": 5}]


def test_bad_sql_is_one_line(ran):
    result = silkwatch("query", "select nope from articles", cwd=ran)
    assert result.returncode == 2
    assert result.stderr.startswith("error: query failed:")
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_config_exits_2_naming_it(tmp_path):
    result = silkwatch("run", "--config", "missing.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert "missing.toml: config file not found" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_warehouse_path_is_a_directory(tmp_path):
    (tmp_path / "db").mkdir()
    (tmp_path / "silkwatch.toml").write_text('[warehouse]\npath = "db"\n', "utf-8")
    result = silkwatch("query", "select 1", cwd=tmp_path)
    assert result.returncode == 2
    assert "db: is a directory" in result.stderr


def test_busy_warehouse_exits_75(ran):
    db = ran / "data" / "silkwatch.duckdb"
    with warehouse_held_by_another_process(db):
        result = silkwatch("query", "select 1", cwd=ran)
    assert result.returncode == 75
    assert "the warehouse is busy" in result.stderr


def test_feeds_add_check_list(httpserver, tmp_path):
    from tests.conftest import FIXTURES

    atom = (FIXTURES / "feeds" / "theregister_science_atom10.xml").read_bytes()
    httpserver.expect_request("/atom.xml").respond_with_data(atom, content_type="application/atom+xml")
    httpserver.expect_request("/page.html").respond_with_data("<html><body>Hi</body></html>", content_type="text/html")
    httpserver.expect_request("/broken.xml").respond_with_data("oops", status=500)
    (tmp_path / "silkwatch.toml").write_text(
        '[feeds]\nfile = "feeds.toml"\n[fetch]\nallow_private_networks = true\nretries = 0\n', "utf-8"
    )
    url = httpserver.url_for("/atom.xml")

    added = silkwatch("feeds", "add", url, "--language", "en", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert "added The Register - Science: 2 entries" in added.stdout
    listed = (tmp_path / "feeds.toml").read_text("utf-8")
    assert f'url = "{url}"' in listed and 'name = "The Register - Science"' in listed

    again = silkwatch("feeds", "add", url, cwd=tmp_path)
    assert again.returncode == 2 and "already in" in again.stderr
    not_feed = silkwatch("feeds", "add", httpserver.url_for("/page.html"), cwd=tmp_path)
    assert not_feed.returncode == 2 and "not added: not an RSS or Atom feed" in not_feed.stderr
    bad_scheme = silkwatch("feeds", "add", "file:///etc/passwd", cwd=tmp_path)
    assert bad_scheme.returncode == 2 and "not an http(s) URL" in bad_scheme.stderr

    checked = silkwatch("feeds", "check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "The Register - Science" in checked.stdout and "ok" in checked.stdout

    with (tmp_path / "feeds.toml").open("a", encoding="utf-8") as fh:
        fh.write(f'\n[[feed]]\nurl = "{httpserver.url_for("/broken.xml")}"\nname = "Broken"\n')
    failing = silkwatch("feeds", "check", cwd=tmp_path)
    assert failing.returncode == 1
    assert "1 of 2 feeds failed" in failing.stderr
    shown = silkwatch("feeds", "list", cwd=tmp_path)
    assert shown.returncode == 0
    assert "failing ×1" in shown.stdout and "HTTP 500" in shown.stdout


def test_bad_feed_list_is_one_line(tmp_path):
    (tmp_path / "silkwatch.toml").write_text('[feeds]\nfile = "feeds.toml"\n', "utf-8")
    (tmp_path / "feeds.toml").write_text('[[feed]]\nurl = "ftp://example.org/feed"\n', "utf-8")
    result = silkwatch("feeds", "list", cwd=tmp_path)
    assert result.returncode == 2
    assert "feeds.toml: feed 1: url must be an http(s) URL" in result.stderr


def test_messages_keep_their_brackets(tmp_path):
    (tmp_path / "silkwatch.toml").write_text("[warehouse]\npaht = 'x'\n", "utf-8")
    result = silkwatch("query", "select 1", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown key 'paht' in [warehouse]" in result.stderr  # not eaten as terminal markup


def test_digest_email_once(ran):
    from aiosmtpd.controller import Controller

    from tests.test_digest import Inbox, _free_port

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        config = ran / "email.toml"
        config.write_text(
            '[warehouse]\npath = "data/silkwatch.duckdb"\n[email]\nenabled = true\nhost = "127.0.0.1"\n'
            f'port = {controller.port}\nstarttls = false\nrecipients = ["analyst@example.org"]\n',
            "utf-8",
        )
        first = silkwatch("digest", "--period", "week", "--email", "--config", str(config), cwd=ran)
        assert first.returncode == 0, first.stderr
        assert "emailed to analyst@example.org" in first.stdout
        second = silkwatch("digest", "--period", "week", "--email", "--config", str(config), cwd=ran)
        assert second.returncode == 0, second.stderr
        assert "emailed already" in second.stdout and "not emailed: already sent" in second.stdout
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    text = inbox.messages[0].get_body(("plain",)).get_content()
    assert text.count("> ") >= 5


def test_search_and_reindex(ran):
    found = silkwatch("search", "Rahmon terrorism", "--format", "json", cwd=ran)
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert hits[0]["title"].startswith("China's top diplomat Wang Yi")
    assert {"article_id", "title", "score", "snippet"} <= set(hits[0])
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert "**" in hits[0]["snippet"]
    table = silkwatch("search", "Xi'an summit", "--topic", "security", cwd=ran)
    assert table.returncode == 0 and "Xi Says China Ready" in table.stdout
    as_csv = silkwatch("search", "Astana", "-f", "csv", "--limit", "1", cwd=ran)
    assert len(list(csv.reader(io.StringIO(as_csv.stdout)))) == 2
    assert silkwatch("search", "x", "--topic", "sports", cwd=ran).returncode == 2
    bad_date = silkwatch("search", "x", "--since", "last week", cwd=ran)
    assert bad_date.returncode == 2 and "--since 'last week': not a date" in bad_date.stderr
    rebuilt = silkwatch("reindex", cwd=ran)
    assert rebuilt.returncode == 0 and "indexed 5 articles" in rebuilt.stdout


def test_feeds_failing_the_same_way_are_one_line(capsys):
    """Offline, every feed fails with its own host in the error: still one line for all of them."""
    from silkwatch.flows.cli import _print_ingest
    from silkwatch.flows.pipeline import IngestSummary

    hosts = ["eurasianet.org", "timesca.com", "kun.uz", "24.kg", "tass.com"]
    summary = IngestSummary(run_id="r", feeds_failed=6)
    summary.feed_failures = [
        (f"https://{h}/rss", f"network error: cannot resolve {h}: [Errno -2] Name or service not known") for h in hosts
    ] + [("https://example.org/feed", "HTTP 500")]
    _print_ingest(summary)
    lines = [line for line in capsys.readouterr().err.splitlines() if "failed:" in line]
    assert lines == [
        "5 feeds failed: network error: cannot resolve its host: [Errno -2] Name or service not known "
        "(eurasianet.org, timesca.com, kun.uz, 24.kg and 1 more)",
        "feed failed: HTTP 500 (example.org)",
    ]


def test_help_shows_bracketed_text_that_rich_markup_would_swallow() -> None:
    """Rich reads "[default: ...]" in a help text as a markup tag and drops it ("Config file ."):
    every help text with brackets is shown with them, in every command's --help."""
    import typer.main
    from typer.testing import CliRunner

    from silkwatch.flows.cli import app

    group = typer.main.get_command(app)
    commands: list = [([], group)]  # (path, command): typer's own click, so no click types here
    for path, command in commands:
        commands.extend(([*path, name], sub) for name, sub in getattr(command, "commands", {}).items())
    checked = 0
    for path, command in commands:
        texts = [command.help or ""] + [getattr(p, "help", None) or "" for p in command.params]
        bracketed = [t for t in texts if "[" in t]
        if not bracketed:
            continue
        shown = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "400"}).output
        for text in bracketed:
            plain = text.replace("\\[", "[")
            assert plain.split(".")[0] in shown, f"silkwatch {' '.join(path)} --help lost: {plain!r}"
            checked += 1
    assert checked >= 7
