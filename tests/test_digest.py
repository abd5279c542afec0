"""Digests: content, escaping, formats, the chart, email over a real SMTP server, schedules."""

from __future__ import annotations

import email
import socket
from datetime import datetime, timedelta
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from silkwatch.flows.config import load_config
from silkwatch.flows.digest import chart_png, md_escape, render_html, render_markdown, write_digest
from silkwatch.flows.email import EmailError, build_message, retry_failed_sends, send_digest
from silkwatch.flows.ingest import prepare_seeds, read_seeds
from silkwatch.parsers.classify import default_ruleset
from silkwatch.parsers.digest import build_context
from silkwatch.warehouse.db import open_warehouse
from silkwatch.warehouse.load import save_copies
from tests.conftest import SEEDS

NOW = datetime(2026, 11, 23, 9, 0)


def _row(**overrides) -> dict:
    row = {
        "article_id": "a1", "title": "A title", "url": "https://example.org/a", "source_name": "Example",
        "published_at": None, "first_seen_at": datetime(2026, 11, 23), "summary": "A summary.",
        "language": "en", "topics": [], "copies": 1, "outlets": ["Example"],
        "sources": [{"url": "https://example.org/a", "source_name": "Example"}],
    }  # fmt: skip
    return {**row, **overrides}


def _context(rows, period="day", previous=None):
    return build_context(rows, period, NOW, Path("w.duckdb"), default_ruleset(), [], previous)


HOSTILE = "# Not a heading [click](http://evil.example) <script>alert(1)</script> **bold**"


def test_markdown_escapes_article_text():
    row = _row(title=HOSTILE, summary=HOSTILE, topics=[{"topic": "trade", "score": 3.0, "evidence": ["*exports*"]}])
    md = render_markdown(_context([row]))
    assert "<script>" not in md
    assert "\\<script\\>" in md
    assert "\\[click\\]" in md
    assert "\\*\\*bold\\*\\*" in md
    assert "“\\*exports\\*”" in md
    assert md_escape("line\nbreak") == "line break"


def test_html_escapes_article_text():
    row = _row(title=HOSTILE, summary=HOSTILE, url="https://example.org/a?x=\"><script>",
               topics=[{"topic": "trade", "score": 3.0, "evidence": ["<b>exports</b>"]}])  # fmt: skip
    html = render_html(_context([row]), None)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;exports&lt;/b&gt;" in html
    assert 'href="https://example.org/a?x=&#34;&gt;&lt;script&gt;"' in html


def test_empty_period_says_so():
    context = _context([], "week")
    assert "No new articles in this period." in render_markdown(context)
    assert "**0 new articles**" in render_markdown(context)
    assert "No new articles in this period." in render_html(context, None)


def test_untagged_articles_are_listed_not_hidden():
    md = render_markdown(_context([_row()]))
    assert "## No topic (1)" in md
    assert "[A title](<https://example.org/a>)" in md


def test_also_in_other_outlets_and_change_vs_previous():
    row = _row(outlets=["Example", "Other Wire"], copies=2, topics=[{"topic": "SCO", "score": 3, "evidence": ["SCO"]}])
    md = render_markdown(_context([row], previous={"SCO": 3, None: 0}))
    assert "also in: Other Wire" in md
    assert "| Shanghai Cooperation Organisation (SCO) | 1 | -2 |" in md


def test_each_article_in_full_once_and_listed_under_every_topic():
    row = _row(
        topics=[
            {"topic": "SCO", "score": 5, "evidence": ["SCO"]},
            {"topic": "trade", "score": 3, "evidence": ["exports"]},
        ]
    )
    md = render_markdown(_context([row]))
    assert md.count("> A summary.") == 1
    assert "## Trade (1)" in md
    assert "(see SCO) — score 3: “exports”" in md


def test_chart_is_a_png_or_nothing():
    day = NOW.date()
    png = chart_png([(day, "SCO", 2), (day - timedelta(days=1), "trade", 1)], day)
    assert png.startswith(b"\x89PNG")
    assert chart_png([], day) is None


@pytest.fixture
def warehouse(tmp_path) -> Path:
    db = tmp_path / "w.duckdb"
    with open_warehouse(db) as con:
        save_copies(con, prepare_seeds(read_seeds(SEEDS).items).items, NOW - timedelta(hours=2))
    return db


def test_write_digest_files_and_no_repeats_in_the_next_one(warehouse, tmp_path):
    first = write_digest(warehouse, tmp_path / "reports", "day", NOW)
    assert first.path.name == "digest-2026-11-23.md" and first.html_path.exists()
    assert len(first.article_ids) == 5
    assert "data:image/png;base64," in first.html_path.read_text("utf-8")
    again = write_digest(warehouse, tmp_path / "reports", "day", NOW + timedelta(minutes=5))
    assert again.article_ids == first.article_ids  # the same digest rebuilt
    nxt = write_digest(warehouse, tmp_path / "reports", "day", NOW + timedelta(hours=12))
    assert nxt.path.name == "digest-2026-11-23.md"
    week = write_digest(warehouse, tmp_path / "reports", "week", NOW + timedelta(days=1))
    assert week.path.name == "digest-week-2026-11-24.md" and len(week.article_ids) == 5
    next_day = write_digest(warehouse, tmp_path / "reports", "day", NOW + timedelta(hours=20))
    assert next_day.path.name == "digest-2026-11-24.md"
    assert next_day.article_ids == []  # all five were in the previous daily digest
    assert "No new articles in this period." in next_day.path.read_text("utf-8")


class Inbox:
    def __init__(self):
        self.messages: list = []
        self.logins: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), authenticator=inbox.authenticate,
                            auth_require_tls=False)  # fmt: skip
    controller.start()
    yield inbox, controller.port
    controller.stop()


def _email_config(tmp_path: Path, port: int):
    path = tmp_path / "silkwatch.toml"
    path.write_text(
        f'[warehouse]\npath = "w.duckdb"\n[digest]\ndir = "reports"\n[email]\nenabled = true\nhost = "127.0.0.1"\n'
        f'port = {port}\nstarttls = false\nsender = "silkwatch@example.org"\n'
        'recipients = ["analyst@example.org", "desk@example.org"]\n',
        "utf-8",
    )
    return load_config(path)


def test_email_is_sent_once_with_text_html_and_inline_chart(warehouse, tmp_path, smtp, monkeypatch):
    inbox, port = smtp
    monkeypatch.setenv("SILKWATCH_SMTP_PASSWORD", "s3cret")
    cfg = _email_config(tmp_path, port)
    result = write_digest(warehouse, cfg.digest_dir, "week", NOW)

    outcome = send_digest(warehouse, cfg.email, result.digest_id)
    assert outcome.sent
    again = send_digest(warehouse, cfg.email, result.digest_id)
    assert not again.sent and again.reason.startswith("already sent")
    assert len(inbox.messages) == 1
    assert inbox.logins == [("silkwatch@example.org", "s3cret")]

    msg = inbox.messages[0]
    assert msg["Subject"] == "Silkwatch weekly digest, 23 November 2026: 5 new articles"
    assert msg["To"] == "analyst@example.org, desk@example.org"
    assert msg["Message-ID"] == outcome.message_id
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html_part = msg.get_body(("html",))
    html = html_part.get_content()
    related = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert len(related) == 1
    cid = related[0]["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html and "data:image/png" not in html
    for name in sorted(SEEDS.glob("*.txt")):
        assert f"seed file {md_escape(name.name)}" in text  # every seed article, in full once
        assert text.count(f"seed file {md_escape(name.name)}") == 1
    with open_warehouse(warehouse, read_only=True) as con:
        status, message_id, ids = con.execute(
            "SELECT status, message_id, article_ids FROM digests WHERE digest_id = ?", [result.digest_id]
        ).fetchone()
    assert (status, message_id, len(ids)) == ("sent", outcome.message_id, 5)

    forced = send_digest(warehouse, cfg.email, result.digest_id, force=True)
    assert forced.sent and len(inbox.messages) == 2


def test_failed_send_is_recorded_kept_and_retried(warehouse, tmp_path, smtp):
    inbox, port = smtp
    down = _email_config(tmp_path, _free_port())  # nothing listens there
    result = write_digest(warehouse, down.digest_dir, "day", NOW)
    failed = send_digest(warehouse, down.email, result.digest_id)
    assert not failed.sent and failed.reason.startswith("failed: SMTP 127.0.0.1")
    assert result.path.exists() and result.html_path.exists()
    with open_warehouse(warehouse, read_only=True) as con:
        assert con.execute("SELECT status FROM digests").fetchone() == ("send_failed",)
    up = _email_config(tmp_path, port)
    retried = retry_failed_sends(warehouse, up.email)
    assert [r.sent for r in retried] == [True]
    assert len(inbox.messages) == 1
    assert retry_failed_sends(warehouse, up.email) == []


def test_header_injection_is_neutralised(warehouse, tmp_path):
    cfg = _email_config(tmp_path, 25)
    result = write_digest(warehouse, cfg.digest_dir, "day", NOW)
    evil = type(cfg.email)(**{**cfg.email.__dict__, "sender": "a@example.org\r\nBcc: victim@example.org"})
    msg = build_message(result.path, evil, "Subject\r\nX-Injected: yes")
    assert msg["Bcc"] is None and msg["X-Injected"] is None
    assert "\n" not in msg["Subject"]


def test_unknown_digest_is_an_error(warehouse, tmp_path):
    with pytest.raises(EmailError, match="no such digest"):
        send_digest(warehouse, _email_config(tmp_path, 25).email, "day:nope.md")


def test_schedules(tmp_path):
    from silkwatch.deployments.serve import build_deployments

    path = tmp_path / "silkwatch.toml"
    path.write_text('[schedule]\ntimezone = "Asia/Almaty"\n', "utf-8")
    deployments = {d.name: d for d in build_deployments(load_config(path))}
    assert set(deployments) == {"ingest", "daily-digest", "weekly-digest"}
    ingest = deployments["ingest"].schedules[0].schedule
    assert ingest.interval == timedelta(minutes=30) and ingest.timezone == "Asia/Almaty"
    daily = deployments["daily-digest"]
    assert (daily.schedules[0].schedule.cron, daily.schedules[0].schedule.timezone) == ("0 7 * * *", "Asia/Almaty")
    assert daily.parameters == {"config_path": str(path.resolve()), "period": "day"}
    weekly = deployments["weekly-digest"].schedules[0].schedule
    assert weekly.cron == "0 7 * * 1"


def test_bad_schedule_config(tmp_path):
    from silkwatch.flows.config import ConfigError

    path = tmp_path / "silkwatch.toml"
    path.write_text('[schedule]\ntimezone = "Mars/Olympus"\n', "utf-8")
    with pytest.raises(ConfigError, match="not a known time zone"):
        load_config(path)


def test_feeds_failing_the_same_way_are_one_health_row():
    """Offline every feed fails with its own host in the error: one row for the kind of failure."""
    hosts = {"Eurasianet": "eurasianet.org", "TASS": "tass.ru", "China News Service": "www.chinanews.com.cn"}
    offline = "network error: cannot resolve {}: [Errno -2] Name or service not known"
    health = [
        {"name": name, "feed_url": f"https://{host}/rss", "state": "failing", "consecutive_failures": 1,
         "last_success_at": None, "last_error": offline.format(host)}
        for name, host in hosts.items()
    ]  # fmt: skip
    context = build_context([], "day", NOW, Path("w.duckdb"), default_ruleset(), health)
    (row,) = context["feed_health"]
    assert row["name"] == "Eurasianet, TASS, China News Service"
    assert row["error"] == "network error: cannot resolve its host: [Errno -2] Name or service not known"


def test_a_russian_article_shows_its_english_line():
    ru = _row(
        article_id="ru1", language="ru", title="Лидеры стран ШОС собрались в Астане",
        text="Саммит ШОС прошёл в Астане, его открыл Токаев.",
        topics=[{"topic": "SCO", "score": 4.0, "evidence": ["ШОС"]}],
    )  # fmt: skip
    en = _row(topics=[{"topic": "SCO", "score": 3.0, "evidence": ["SCO"]}])
    context = _context([ru, en])
    md, html = render_markdown(context), render_html(context, None)
    assert "*In English:* \\[ru\\] SCO · Astana · Tokayev" in md
    assert md.count("In English:") == 1  # the English article needs none
    assert "<em>In English:</em> [ru] SCO · Astana · Tokayev" in html
    assert html.count(' lang="ru"') == 2  # its title and summary: the browser picks the script's fonts


def test_an_item_time_says_it_is_utc():
    """Dates are stored in UTC: a digest that printed 12:15 bare would read as local time to a reader
    in Almaty or Beijing. A date with no time stays a bare day."""
    from datetime import datetime

    from silkwatch.parsers.digest import format_date

    assert format_date(datetime(2024, 7, 4, 12, 15)) == "4 July 2024, 12:15 UTC"
    assert format_date(datetime(2024, 7, 4)) == "4 July 2024"
