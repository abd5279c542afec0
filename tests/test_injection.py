"""Injection: `silkwatch query` cannot write; article text cannot break out of the digest's HTML,
markdown or email headers; odd config values and feed names are handled or refused clearly."""

from __future__ import annotations

import re
import tomllib
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from silkwatch.flows.cli import app
from silkwatch.flows.config import ConfigError, load_config
from silkwatch.flows.digest import render_html, render_markdown
from silkwatch.flows.email import build_message
from silkwatch.flows.ingest import prepare_seeds, read_seeds, save_rows
from tests.conftest import SEEDS
from tests.local_site import LocalSite, run, snapshot
from tests.test_digest import _context, _row

pytestmark = pytest.mark.reliability("injection")
SEEN = datetime(2026, 11, 23, 9, 0)

WRITES = [
    "insert into articles (article_id) values ('x')",
    "update articles set title = 'owned'",
    "delete from articles",
    "drop table articles",
    "create table owned (x int)",
    "create temp table owned as select 1",
    "alter table articles add column owned int",
    "copy articles to '{tmp}/out.csv'",
    "attach '{tmp}/other.duckdb' as other",
    "install httpfs",
    "load json",
    "set threads = 1",
    "pragma threads = 1",
    "export database '{tmp}/export'",
    "call checkpoint()",
    "checkpoint",
    "vacuum",
    "select 1; drop table articles",
    "with gone as (delete from articles returning *) select * from gone",
    "select * from read_csv('{tmp}/planted.csv')",  # reading files outside the warehouse, too
]


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("injection")
    (work / "silkwatch.toml").write_text('[warehouse]\npath = "w.duckdb"\n', "utf-8")
    save_rows(work / "w.duckdb", prepare_seeds(read_seeds(SEEDS).items).items, [], "r1", SEEN)
    (work / "planted.csv").write_text("a\n1\n", "utf-8")
    return work


@pytest.mark.parametrize("sql", WRITES)
def test_query_refuses_every_write(sql, stored, record_property):
    before = snapshot(stored / "w.duckdb")
    files_before = sorted(p.name for p in stored.iterdir())
    # in process (the CLI as a subprocess costs a second a case; test_cli.py runs it that way)
    result = CliRunner().invoke(app, ["query", sql.format(tmp=stored), "--config", str(stored / "silkwatch.toml")])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(("error: query refused:", "error: query failed:"))
    assert len(result.stderr.strip().splitlines()) == 1
    after = snapshot(stored / "w.duckdb")
    lost = sum(len(rows ^ after[table]) for table, rows in before.items())
    record_property("data_lost", lost)
    assert lost == 0
    assert sorted(p.name for p in stored.iterdir()) == files_before  # no file written beside it


def test_query_still_reads(stored):
    result = run("query", "with t as (select count(*) as n from articles) select n from t", "-f", "csv", cwd=stored)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["n", "5"]
    assert run("query", "describe articles", cwd=stored).returncode == 0
    assert run("query", "pragma table_info('articles')", cwd=stored).returncode == 0


HOSTILE_ROW = {
    "title": 'Title</td><td>cell</td></tr><script>alert(1)</script>" onmouseover="x',
    "url": "javascript:alert(document.cookie)",
    "summary": "# Heading\n\n| a | b |\n|---|---|\n[link](http://evil.example) <img src=x onerror=alert(1)>",
    "source_name": "Outlet\r\nBcc: victim@example.org",
    "outlets": ["Outlet\r\nBcc: victim@example.org", "Other ## outlet | with pipes"],
}


def test_digest_html_keeps_article_text_as_text():
    html = render_html(_context([_row(**HOSTILE_ROW)]), None)
    assert "<script>" not in html and "<img" not in html
    assert "</td><td>cell" not in html
    assert 'onmouseover="x' not in html
    assert "javascript:" not in html  # not a link, and not even shown as an href
    newline_url = _row(url='https://example.org/a"><script>x</script>\n')
    assert '<a href="https://example.org/a&#34;&gt;&lt;script&gt;x&lt;/script&gt;%0A"' in render_html(
        _context([newline_url]), None
    )


def test_digest_markdown_keeps_article_text_as_text():
    md = render_markdown(_context([_row(**HOSTILE_ROW)]))
    assert "](javascript:" not in md and "<javascript:" not in md
    assert not re.search(r"(?<!\\)<(img|script)", md)  # shown as \<img ...\>, never as HTML
    lines = md.splitlines()
    assert not any(line.startswith(("| a |", "# Heading")) for line in lines)
    assert not any(line.startswith("Bcc:") for line in lines)
    # a URL holding a line break or ">" cannot end the link and start a heading on the next line
    md = render_markdown(_context([_row(url="https://example.org/a>\n# Owned (x)")]))
    assert "(<https://example.org/a%3E%0A#%20Owned%20(x)>)" in md
    assert not any(line.startswith(("#%20Owned", "# Owned")) for line in md.splitlines())


def test_email_headers_hold_no_article_or_outlet_text(tmp_path):
    md = tmp_path / "digest-2026-11-23.md"
    md.write_text(render_markdown(_context([_row(**HOSTILE_ROW)])), "utf-8")
    md.with_suffix(".html").write_text(render_html(_context([_row(**HOSTILE_ROW)]), None), "utf-8")
    cfg = load_config_from(tmp_path, '[email]\nsender = "a@example.org"\n').email
    msg = build_message(md, cfg, "silkwatch daily digest\r\nBcc: victim@example.org")
    assert msg["Bcc"] is None
    assert sorted(msg.keys()) == sorted(["Subject", "From", "To", "Date", "Message-ID", "MIME-Version", "Content-Type"])


def load_config_from(folder: Path, text: str, name: str = "silkwatch.toml", bom: bool = False):
    path = folder / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return load_config(path)


def test_config_paths_with_spaces_quotes_unicode_and_tilde(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home dir"))
    folder = tmp_path / 'my "config" Алматы'
    folder.mkdir()
    cfg = load_config_from(
        folder,
        '[warehouse]\npath = "data dir/ware \\"house\\" 数据.duckdb"\n[seeds]\ndir = "~/seeds"\n'
        "[digest]\ndir = 'reports/it''s'\n".replace("'reports/it''s'", '"reports/it\'s"'),
        name="silk watch.toml",
        bom=True,
    )
    assert cfg.warehouse_path == folder / "data dir" / 'ware "house" 数据.duckdb'
    assert cfg.seeds_dir == tmp_path / "home dir" / "seeds"
    assert cfg.digest_dir == folder / "reports" / "it's"
    save_rows(cfg.warehouse_path, prepare_seeds(read_seeds(SEEDS).items).items, [], "r1", SEEN)
    assert cfg.warehouse_path.is_file()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[warehouse]\npath = "a\nb"\n', "invalid TOML"),  # a raw newline in a string
        ("[warehouse]\nlock_wait_seconds = -1\n", "lock_wait_seconds must be 0 or more"),
        ('[warehouse]\npath = "  "\n', "path must not be empty"),
    ],
)
def test_odd_config_values_are_refused_naming_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config_from(tmp_path, text)


def test_feeds_add_with_quotes_and_newlines_in_the_name(tmp_path):
    site = LocalSite()
    try:
        (tmp_path / "silkwatch.toml").write_text(
            '[feeds]\nfile = "feeds.toml"\n[fetch]\nallow_private_networks = true\n', "utf-8"
        )
        name = 'Local "A"\nname = "owned"\r\x07 \\ end'
        added = run("feeds", "add", f"{site.base}/feed-a.xml", "--name", name, cwd=tmp_path, timeout=60)
    finally:
        site.close()
    assert added.returncode == 0, added.stderr
    feeds = tomllib.loads((tmp_path / "feeds.toml").read_text("utf-8"))["feed"]
    assert feeds == [{"url": f"{site.base}/feed-a.xml", "name": name}]
