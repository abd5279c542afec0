"""Entities: mentions in any script with offsets, stored on load; reclassify in bulk."""

from __future__ import annotations

import tomllib
from datetime import datetime

import pytest

from flows.ingest import prepare_seeds, read_seeds, save_rows
from flows.reclassify import reclassify
from parsers.classify import compile_ruleset
from parsers.entities import tag_entities
from tests.conftest import ROOT, SEEDS
from warehouse.db import check_integrity, open_warehouse


def _mentions(text: str) -> list[tuple[str, str]]:
    return [(m.entity_id, m.mention) for m in tag_entities("", text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Emomali Rahmon met Rakhmon's aides", [("emomali-rahmon", "Emomali Rahmon"), ("emomali-rahmon", "Rakhmon")]),
        ("Рахмона встретили в Астане", [("emomali-rahmon", "Рахмона"), ("astana", "Астане")]),
        ("习近平在阿斯塔纳出席上合组织峰会", [("xi-jinping", "习近平"), ("astana", "阿斯塔纳"), ("sco", "上合组织")]),
        ("Nur-Sultan, Nur Sultan and Xi’an", [("astana", "Nur-Sultan"), ("astana", "Nur Sultan"), ("xian", "Xi’an")]),
        ("The SCO met; a sco-called deal; Bishkekians", [("sco", "SCO")]),
        ("Xi Jinping and Xi", [("xi-jinping", "Xi Jinping"), ("xi-jinping", "Xi")]),
    ],
)
def test_mentions(text, expected):
    assert _mentions(text) == expected


def test_offsets_point_at_the_mention():
    text = "In “Astana”, Tokayev’s guests and ШОС leaders"
    for m in tag_entities("", text):
        assert text[m.offset : m.offset + len(m.mention)] == m.mention
    assert {m.entity_id for m in tag_entities("", text)} == {"astana", "kassym-jomart-tokayev", "sco"}


def test_entities_stored_and_reclassify_reports_changes(tmp_path):
    db = tmp_path / "w.duckdb"
    save_rows(db, prepare_seeds(read_seeds(SEEDS).items).items, [], "run", datetime(2026, 11, 23))
    with open_warehouse(db) as con:
        per_entity = dict(
            con.execute("SELECT entity_id, count(DISTINCT article_id) FROM article_entities GROUP BY 1").fetchall()
        )
        assert per_entity["emomali-rahmon"] == 2 and per_entity["sco"] == 3
        before = con.execute("SELECT * FROM article_topics ORDER BY ALL").fetchall()

        data = tomllib.loads((ROOT / "parsers/rules/topics.toml").read_text("utf-8"))
        strict = compile_ruleset({**data, "threshold": 100.0, "rules_version": "strict-test"})
        changes = reclassify(con, strict)
        assert changes["SCO"] == {"before": 3, "after": 0, "added": 0, "removed": 3}
        assert con.execute("SELECT count(*) FROM article_topics").fetchone() == (0,)

        changes = reclassify(con)
        assert changes["BRI"] == {"before": 0, "after": 4, "added": 4, "removed": 0}
        after = con.execute("SELECT * EXCLUDE (classified_at) FROM article_topics ORDER BY ALL").fetchall()
        assert after == [row[:-1] for row in before]  # same labels, evidence and version as the load gave
        assert check_integrity(con) == []
