"""A digest of thousands of articles stays readable: each section capped, totals and records complete."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from silkwatch.flows.digest import render_html, render_markdown, write_digest
from silkwatch.flows.ingest import prepare_seeds, read_seeds
from silkwatch.parsers.classify import default_ruleset
from silkwatch.parsers.digest import build_context
from silkwatch.warehouse.db import open_warehouse
from silkwatch.warehouse.load import save_copies
from tests.conftest import SEEDS

NOW = datetime(2026, 11, 23, 9, 0)


def _rows(n: int) -> list[dict]:
    return [
        {"article_id": f"a{i:03d}", "title": f"Trade story {i:03d}", "url": f"https://example.org/{i}",
         "source_name": "Example", "published_at": NOW - timedelta(minutes=i), "first_seen_at": NOW,
         "summary": "A summary.", "language": "en", "copies": 1, "outlets": ["Example"], "sources": [],
         "topics": [{"topic": "trade", "score": 3.0, "evidence": ["exports"]}] if i % 5 else []}
        for i in range(n)
    ]  # fmt: skip


def test_sections_show_the_most_important_and_say_how_many_more():
    rows = _rows(50)  # 40 trade, 10 without a topic
    context = build_context(rows, "week", NOW, Path("w.duckdb"), default_ruleset(), [], None, max_per_topic=20)
    md, html = render_markdown(context), render_html(context, None)
    assert "**50 new articles**" in md and "| Trade | 40 |" in md and "| No topic | 10 |" in md
    assert "## Trade (40)" in md and "## No topic (10)" in md
    assert md.count("### [Trade story") == 20 + 10  # trade capped at 20; the 10 untagged fit
    assert "Trade story 001" in md and "Trade story 049" not in md  # most recent first
    assert "…and 20 more in this section" in md and md.count("more in this section") == 1
    assert "…and 20 more in this section" in html
    everything = build_context(rows, "week", NOW, Path("w.duckdb"), default_ruleset(), [], None, max_per_topic=0)
    assert render_markdown(everything).count("### [Trade story") == 50


def test_a_capped_digest_records_every_article_and_its_command_lists_the_rest(tmp_path):
    db = tmp_path / "w.duckdb"
    with open_warehouse(db) as con:
        save_copies(con, prepare_seeds(read_seeds(SEEDS).items).items, NOW - timedelta(hours=2))
    result = write_digest(db, tmp_path / "reports", "week", NOW, max_per_topic=1)
    assert len(result.article_ids) == 5  # every article covered is recorded, shown or not
    md = result.path.read_text("utf-8")
    assert "**5 new articles**" in md
    sections = re.findall(r"^## (\S+).*\((\d+)\)$", md, flags=re.MULTILINE)
    commands = re.findall(r'To list them all: `silkwatch query "(.+)"`', md)
    capped = [(topic, int(n)) for topic, n in sections if int(n) > 1]
    assert capped and len(commands) == len(capped)
    with duckdb.connect(str(db), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        for (_, size), sql in zip(capped, commands, strict=True):
            assert len(con.execute(sql).fetchall()) == size  # the command lists the whole section
