"""Topics are the user's data: a team's own topics file, migration 11 on an old warehouse, reclassify."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from silkwatch.flows.config import ConfigError, load_config
from silkwatch.flows.digest import write_digest
from silkwatch.flows.ingest import prepare_seeds, read_seeds
from silkwatch.parsers.classify import RulesError, classify_topics, compile_ruleset, default_ruleset, topic_ruleset
from silkwatch.warehouse.db import check_integrity, open_warehouse
from silkwatch.warehouse.schema import SCHEMA_VERSION
from tests.conftest import SEEDS
from tests.test_search_index import warehouse_before

SILKWATCH = str(Path(sys.executable).parent / "silkwatch")
SEEN = datetime(2026, 11, 23, 9, 0)
# Energy, as a team following it would write it (the seeds talk of energy efficiency, green and new
# energy, energy cooperation and natural gas).
TEAM_TOPICS = """
rules_version = "energy-1"

[topics.energy]
label = "Energy"
colour = "#e09f3e"
phrases = [
    { p = "energy (cooperation|efficiency|resources|security)", w = 2 },
    { p = "(green|new|renewable) energy|natural gas|oil and gas|pipelines?", w = 2 },
    { p = "energy", w = 1 },
]
"""


def old_warehouse(db: Path) -> None:
    """A warehouse as silkwatch left it before migration 11: the migrations before it (1's CHECK on
    the four topics included), then the seeds loaded through the save, index and story functions."""
    warehouse_before(db, 11, prepare_seeds(read_seeds(SEEDS).items).items)


def team_workdir(tmp_path: Path) -> Path:
    old_warehouse(tmp_path / "silkwatch.duckdb")
    (tmp_path / "team-topics.toml").write_text(TEAM_TOPICS, "utf-8")
    (tmp_path / "silkwatch.toml").write_text(
        '[warehouse]\npath = "silkwatch.duckdb"\n[topics]\nfile = "team-topics.toml"\n[digest]\ndir = "reports"\n',
        "utf-8",
    )
    return tmp_path


def test_migration_11_rebuilds_article_topics_without_the_check(tmp_path):
    db = tmp_path / "old.duckdb"
    old_warehouse(db)
    con = duckdb.connect(str(db))
    try:
        before = con.execute("SELECT * FROM article_topics ORDER BY ALL").fetchall()
        with pytest.raises(duckdb.ConstraintException):  # the old code's CHECK on the four topics
            con.execute("INSERT INTO article_topics VALUES ('x', 'energy', 3, ['gas'], [], 'v', ?)", [SEEN])
    finally:
        con.close()
    assert len(before) == 14

    with open_warehouse(db) as con:  # a writer upgrades it
        assert con.execute("SELECT max(version) FROM schema_migrations").fetchone() == (SCHEMA_VERSION,)
        assert con.execute("SELECT * FROM article_topics ORDER BY ALL").fetchall() == before
        con.execute("INSERT INTO article_topics VALUES ('x', 'energy', 3, ['gas'], [], 'v', ?)", [SEEN])
        with pytest.raises(duckdb.ConstraintException):  # the primary key came across
            con.execute("INSERT INTO article_topics VALUES ('x', 'energy', 3, ['gas'], [], 'v', ?)", [SEEN])
        con.execute("DELETE FROM article_topics WHERE article_id = 'x'")
        assert check_integrity(con, indexed=True) == []
        # articles stored before alerts existed count as checked: a new watch does not alert the archive
        assert con.execute("SELECT count(*) FROM alert_checked").fetchone() == (5,)


def test_a_team_topic_labels_the_archive_after_reclassify(tmp_path):
    work = team_workdir(tmp_path)
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("SILKWATCH_CONFIG", None)
    env.pop("SILKWATCH_DB", None)
    done = subprocess.run([SILKWATCH, "reclassify"], cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    energy = next(line for line in done.stdout.splitlines() if line.strip("│ ").startswith("energy"))
    assert [cell.strip() for cell in energy.split("│")[1:6]] == ["energy", "0", "3", "3", "0"]
    assert f"{default_ruleset().version}+energy-1" in done.stdout

    with open_warehouse(work / "silkwatch.duckdb", read_only=True) as con:
        labelled = con.execute(
            "SELECT a.url, t.evidence, t.rules_version FROM article_topics t JOIN articles a USING (article_id) "
            "WHERE t.topic = 'energy' ORDER BY a.url"
        ).fetchall()
        assert [url for url, _, _ in labelled] == [
            "seed:001_ca2344aa02f0cd64.txt", "seed:003_53eca7c8ac1a35d1.txt", "seed:004_486398540443305b.txt",
        ]  # fmt: skip
        assert "energy efficiency" in labelled[0][1] and labelled[0][2] == f"{default_ruleset().version}+energy-1"
        built_in = con.execute("SELECT topic, count(*) FROM article_topics GROUP BY 1 ORDER BY 1").fetchall()
        assert built_in == [("BRI", 4), ("SCO", 3), ("energy", 3), ("security", 4), ("trade", 3)]

    found = subprocess.run(
        [SILKWATCH, "search", "gas", "--topic", "energy", "-f", "json"], cwd=work, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    assert [h["url"] for h in json.loads(found.stdout)] == ["seed:004_486398540443305b.txt"]
    unknown = subprocess.run(
        [SILKWATCH, "search", "gas", "--topic", "water"], cwd=work, env=env, capture_output=True, text=True
    )
    assert unknown.returncode == 2 and "one of SCO, BRI, security, trade, energy" in unknown.stderr

    cfg = load_config(work / "silkwatch.toml")
    digest = write_digest(cfg.warehouse_path, cfg.digest_dir, "all", SEEN, ruleset=cfg.topic_rules())
    text = digest.path.read_text("utf-8")
    assert "## Energy (3)" in text and "| Energy | 3 |" in text
    assert "border-bottom:3px solid #e09f3e" in digest.html_path.read_text("utf-8")


def test_team_rules_are_layered_on_the_built_in_ones(tmp_path):
    team = tmp_path / "team.toml"
    team.write_text(TEAM_TOPICS + '\n[topics.trade]\nlabel = "Trade (ours)"\nphrases = [{ p = "barter", w = 3 }]\n')
    rules = topic_ruleset(team)
    assert rules.names == ("SCO", "BRI", "security", "trade", "energy")
    assert rules.labels["trade"] == "Trade (ours)" and rules.colours["energy"] == "#e09f3e"
    assert {label.topic for label in classify_topics("", "Exports and barter grew.", rules)} == {"trade"}
    assert not classify_topics("", "Exports and imports grew; exports doubled.", rules)  # the team's trade rules
    assert rules.version == f"{default_ruleset().version}+energy-1"
    assert topic_ruleset(None) is default_ruleset()


@pytest.mark.parametrize(
    ("team", "message"),
    [
        ('[topics.energy]\nphrases = [{ p = "gas", w = 3 }]\n', "needs rules_version"),
        ('rules_version = "1"\n[topics."energy policy"]\nphrases = [{ p = "gas", w = 3 }]\n', "'energy policy'"),
        ('rules_version = "1"\n[topics.energy]\ncolour = "orange"\nphrases = [{ p = "gas", w = 3 }]\n', "colour"),
        ('rules_version = "1"\n[topics.energy]\nphrases = []\n', "topic energy: needs phrases"),
        ('rules_version = "1"\n[topics.energy]\nphrases = [{ p = "(gas", w = 3 }]\n', "topic energy"),
        ("rules_version = [", "not a readable topics file"),
    ],
)
def test_a_bad_team_file_is_a_config_error_naming_it(tmp_path, team, message):
    (tmp_path / "mine.toml").write_text(team, "utf-8")
    (tmp_path / "silkwatch.toml").write_text('[topics]\nfile = "mine.toml"\n', "utf-8")
    with pytest.raises(ConfigError, match=message) as info:
        load_config(tmp_path / "silkwatch.toml")
    assert "mine.toml" in str(info.value) and "[topics] file" in str(info.value)


def test_a_missing_team_file_names_it(tmp_path):
    (tmp_path / "silkwatch.toml").write_text('[topics]\nfile = "nowhere.toml"\n', "utf-8")
    with pytest.raises(ConfigError, match=r"nowhere\.toml: cannot read the topics file"):
        load_config(tmp_path / "silkwatch.toml")


def test_rules_without_topics_are_refused():
    with pytest.raises(RulesError, match="no topics"):
        compile_ruleset({"rules_version": "1", "threshold": 2.5, "topics": {}})
