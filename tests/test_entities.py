"""Entities: mentions in any script with offsets, stored on load; reclassify in bulk."""

from __future__ import annotations

import tomllib
from datetime import datetime

import pytest

from silkwatch.flows.ingest import prepare_seeds, read_seeds, save_rows
from silkwatch.flows.reclassify import reclassify
from silkwatch.parsers.classify import compile_ruleset
from silkwatch.parsers.entities import tag_entities
from silkwatch.warehouse.db import check_integrity, open_warehouse
from tests.conftest import ROOT, SEEDS


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


# --- the registry in Russian and Chinese (issue 16) ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Russian: case endings, ё written as е, adjectives, two-letter first names
        ("Председатель КНР Си Цзиньпином", [("xi-jinping", "Си Цзиньпином")]),
        ("Премьер Госсовета Ли Цян", [("li-qiang", "Ли Цян")]),
        ("Мирзиеев и Мирзиёева", [("shavkat-mirziyoyev", "Мирзиеев"), ("shavkat-mirziyoyev", "Мирзиёева")]),
        ("встретился с Сергеем Лавровым", [("sergey-lavrov", "Сергеем Лавровым")]),
        (
            "строительство железной дороги Китай — Кыргызстан — Узбекистан",
            [("china-kyrgyzstan-uzbekistan-railway", "железной дороги Китай — Кыргызстан — Узбекистан")],
        ),
        (
            "в Ферганской долине и у Каспийского моря",
            [("fergana-valley", "Ферганской долине"), ("caspian-sea", "Каспийского моря")],
        ),
        (
            "саммит ОДКБ, СНГ и ЕАЭС в Душанбе",
            [("csto", "ОДКБ"), ("cis", "СНГ"), ("eaeu", "ЕАЭС"), ("dushanbe", "Душанбе")],
        ),
        ("по Срединному коридору через Актау", [("middle-corridor", "Срединному коридору"), ("aktau", "Актау")]),
        # Chinese: inside running text, transliterated names with any middle dot, Traditional forms
        ("双方同意推进中吉乌铁路建设", [("china-kyrgyzstan-uzbekistan-railway", "中吉乌铁路")]),
        ("中国—中亚天然气管道D线开工", [("line-d", "中国—中亚天然气管道D线")]),
        ("古尔班古力・别尔德穆哈梅多夫抵达", [("gurbanguly-berdimuhamedow", "古尔班古力・别尔德穆哈梅多夫")]),
        ("謝爾達爾．別爾德穆哈梅多夫總統", [("serdar-berdimuhamedow", "謝爾達爾．別爾德穆哈梅多夫")]),
        ("習近平會見托卡耶夫", [("xi-jinping", "習近平"), ("kassym-jomart-tokayev", "托卡耶夫")]),
        ("外长库鲁巴耶夫在比什凯克", [("jeenbek-kulubaev", "库鲁巴耶夫"), ("bishkek", "比什凯克")]),
        # English forms and projects
        (
            "the China–Kyrgyzstan–Uzbekistan railway and Line D gas pipeline",
            [
                ("china-kyrgyzstan-uzbekistan-railway", "China–Kyrgyzstan–Uzbekistan railway"),
                ("line-d", "Line D gas pipeline"),
            ],
        ),
        ("Qasym-Jomart Toqayev", [("kassym-jomart-tokayev", "Qasym-Jomart Toqayev")]),
    ],
)
def test_mentions_in_russian_and_chinese(text, expected):
    assert _mentions(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Си отметил, что Ли сказал",  # bare Си and Ли are not Xi and Li Qiang
        "这里海拔三千米",  # 里海 inside 这里 + 海拔 is not the Caspian
        "Саидов и Мухриддин",  # common family and given names alone are nobody in particular
        "Occupational safety (OSH) rules",
    ],
)
def test_ambiguous_short_forms_are_left_out(text):
    assert _mentions(text) == []


def test_every_name_tags_its_entity_and_has_an_english_label():
    """Each spelling of each entity, inside a sentence, is found as that entity (no name is
    shadowed by another's), and every entity has an English label for the English line."""
    registry = tomllib.loads((ROOT / "parsers/rules/entities.toml").read_text("utf-8"))["entity"]
    for entity in registry:
        label = entity.get("label", entity["names"][0])
        assert label.isascii() or "–" in label, entity["id"]
        for name in entity["names"]:
            found = {m.entity_id for m in tag_entities("", f"Сообщается: {name} — 据报道 {name}. Reported")}
            assert entity["id"] in found, (entity["id"], name)
