"""Trends: the test against a trailing baseline, counts per period, the CLI, the digest's "Rising"."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from silkwatch.flows.digest import write_digest
from silkwatch.flows.ingest import prepare_seeds, read_seeds
from silkwatch.flows.trends import period_end, rising, trend
from silkwatch.parsers.classify import default_ruleset
from silkwatch.parsers.trends import TrendTest, assess, upper_tail
from silkwatch.warehouse.db import open_warehouse
from silkwatch.warehouse.load import save_copies
from silkwatch.warehouse.search import index_pending
from tests.conftest import SEEDS

SILKWATCH = str(Path(sys.executable).parent / "silkwatch")
RAHMON_SEEDS = ("seed:000_973e75babbcdd9fa.txt", "seed:001_ca2344aa02f0cd64.txt")


def test_poisson_tail_is_exact():
    # P(X >= 5) for a Poisson of mean 1, by its definition
    assert upper_tail(5, 1.0, 1.0) == pytest.approx(1 - math.exp(-1) * (1 + 1 + 1 / 2 + 1 / 6 + 1 / 24), rel=1e-9)
    assert upper_tail(0, 2.0, 2.0) == 1.0


@pytest.mark.parametrize(("x", "mean", "var"), [(10, 3.0, 9.0), (2, 3.0, 9.0), (40, 5.0, 30.0), (1, 0.2, 0.5)])
def test_negative_binomial_tail_matches_its_sum(x, mean, var):
    p, r = mean / var, mean * mean / (var - mean)
    pmf = [math.exp(math.lgamma(k + r) - math.lgamma(r) - math.lgamma(k + 1) + r * math.log(p) + k * math.log1p(-p))
           for k in range(x)]  # fmt: skip
    assert upper_tail(x, mean, var) == pytest.approx(1 - sum(pmf), rel=1e-6, abs=1e-12)


def test_over_dispersion_widens_the_band():
    # the same count against the same mean: a noisy window makes it less surprising
    assert upper_tail(9, 3.6, 1.5) < 0.012
    assert 0.04 < upper_tail(9, 3.6, 6.0) < upper_tail(9, 3.6, 12.0)


def test_a_spike_rises_and_noise_does_not():
    test = TrendTest.for_period("day")
    busy = [3, 4, 2, 5, 3, 4, 6, 2, 3, 4] * 3
    assert not assess([*busy, 9], test)[-1].rising  # p = 0.013 in a window this noisy
    spike = assess([*busy, 14], test)[-1]
    assert spike.rising and spike.p_value < 1e-4 and spike.baseline == pytest.approx(3.6, abs=0.01)
    assert not assess([0] * 28 + [2], test)[-1].rising  # two articles are never a trend
    assert assess([0] * 28 + [3], test)[-1].rising  # three where there were none are
    # too little history: counted, not tested
    early = assess([None] * 25 + [0, 0, 0, 9], test)[-1]
    assert early.baseline is None and early.p_value is None and not early.rising


def test_period_end_is_the_next_midnight_or_monday():
    now = datetime(2026, 11, 25, 15, 30)  # a Wednesday
    assert period_end("day", now) == datetime(2026, 11, 26)
    assert period_end("week", now) == datetime(2026, 11, 30)
    assert period_end("week", datetime(2026, 11, 30, 0, 1)) == datetime(2026, 12, 7)


def rahmon_warehouse(db: Path, today: datetime) -> None:
    """Real seed texts stored as copies seen on chosen days, for three weeks: every day the two
    articles on Xi in Kazakhstan and Central Asia (003, and 004, which its text dates 19 May 2023),
    every other day the one on Wang Yi meeting Rahmon (001); then ``today`` both Rahmon articles
    (000, 001) twice, and 003 and 004."""
    rows = {r["url"]: r for r in prepare_seeds(read_seeds(SEEDS).items).items}
    background = ["seed:003_53eca7c8ac1a35d1.txt", "seed:004_486398540443305b.txt"]
    days = [(today - timedelta(days=d), background + [RAHMON_SEEDS[1]] * (d % 2)) for d in range(21, 0, -1)]
    days.append((today, list(RAHMON_SEEDS) * 2 + background))
    with open_warehouse(db) as con:
        for day, urls in days:
            copies = []
            for n, url in enumerate(urls):
                tag = f"{day:%Y%m%d}-{n}"  # a copy of its own: new URL and hash, the same real text
                copies.append({**rows[url], "url": f"{url}#{tag}", "content_hash": f"{tag}-{rows[url]['content_hash']}",
                               "candidate_article_id": f"{tag}-{rows[url]['candidate_article_id']}"})  # fmt: skip
            save_copies(con, copies, day + timedelta(hours=9))
        index_pending(con)


def test_trend_counts_and_flags_a_rise(tmp_path):
    today = datetime(2026, 11, 20)
    rahmon_warehouse(tmp_path / "w.duckdb", today)
    with open_warehouse(tmp_path / "w.duckdb", read_only=True) as con:
        rows = trend(con, "day", today - timedelta(days=6), today + timedelta(hours=12), "entity", "emomali-rahmon")
        weeks = trend(con, "week", today - timedelta(days=30), today, "topic", "security")
        everything = trend(con, "day", today - timedelta(days=25), today + timedelta(hours=12))
    assert [r.start for r in rows] == [today - timedelta(days=d) for d in range(6, -1, -1)]
    assert [r.articles for r in rows] == [0, 1, 0, 1, 0, 1, 4]
    assert [r.assessment.rising for r in rows] == [False] * 6 + [True]
    assert rows[-1].assessment.baseline == pytest.approx(11 / 21, abs=0.001)  # 11 articles in 21 observed days
    assert not everything[0].observed and everything[-1].observed  # before the first article: no baseline
    assert everything[0].assessment.baseline is None
    assert [r.start.weekday() for r in weeks] == [0] * len(weeks) and sum(r.articles for r in weeks) > 0


def test_digest_has_a_rising_section_with_its_chart(tmp_path):
    today = datetime(2026, 11, 20)
    rahmon_warehouse(tmp_path / "w.duckdb", today)
    now = today + timedelta(hours=12)
    with open_warehouse(tmp_path / "w.duckdb", read_only=True) as con:
        risen = rising(con, now, timedelta(days=1), default_ruleset())
    found = {(r["kind"], r["key"]): r for r in risen}
    assert found["entity", "emomali-rahmon"]["count"] == 4  # from one article every other day
    assert found["entity", "emomali-rahmon"]["series"] == [0] * 7 + [1, 0] * 10 + [1, 4]  # 28 days, then today
    assert ("entity", "xi-jinping") not in found  # in today's Rahmon articles too, but in every article every day

    result = write_digest(tmp_path / "w.duckdb", tmp_path / "reports", "day", now)
    text = result.path.read_text("utf-8")
    assert "## Rising" in text and "| Emomali Rahmon (entity) | 4 | 0.5 a day |" in text
    html = result.html_path.read_text("utf-8")
    assert html.count("data:image/png;base64,") == 2 and "Line chart: articles per period" in html
    quiet = write_digest(tmp_path / "w.duckdb", tmp_path / "reports", "day", now - timedelta(days=2))
    assert "## Rising" not in quiet.path.read_text("utf-8")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("SILKWATCH_CONFIG", None)
    env.pop("SILKWATCH_DB", None)
    return subprocess.run([SILKWATCH, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_trends_command(tmp_path):
    today = datetime.now(UTC).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    rahmon_warehouse(tmp_path / "data" / "silkwatch.duckdb", today)
    (tmp_path / "silkwatch.toml").write_text('[warehouse]\npath = "data/silkwatch.duckdb"\n', "utf-8")

    table = cli("trends", "--entity", "emomali-rahmon", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "entity Emomali Rahmon (emomali-rahmon), by day" in table.stdout
    assert f"{today:%Y-%m-%d} │ 4" in table.stdout and "▲ rising" in table.stdout

    as_json = cli("trends", "--entity", "Рахмон", "-f", "json", cwd=tmp_path)  # a name in any script
    assert as_json.returncode == 0, as_json.stderr
    out = json.loads(as_json.stdout)
    assert out["subject"] == {"kind": "entity", "key": "emomali-rahmon",
                              "label": "entity Emomali Rahmon (emomali-rahmon)"}  # fmt: skip
    assert len(out["periods"]) == 28 and out["periods"][-1]["articles"] == 4 and out["periods"][-1]["rising"]
    assert "negative binomial" in out["test"]
    assert out["periods"][-1]["start"] == f"{today:%Y-%m-%d}T00:00:00+00:00"  # a period starts at midnight UTC, said so

    weekly = cli("trends", "--topic", "security", "--by", "week", "-f", "csv", cwd=tmp_path)
    assert weekly.returncode == 0, weekly.stderr
    rows = list(csv.DictReader(io.StringIO(weekly.stdout)))
    with open_warehouse(tmp_path / "data" / "silkwatch.duckdb", read_only=True) as con:
        (security,) = con.execute(  # seed 004 is dated 19 May 2023 by its text: not in these weeks
            "SELECT count(*) FROM article_topics JOIN articles USING (article_id) "
            "WHERE topic = 'security' AND published_at IS NULL"
        ).fetchone()
    assert len(rows) >= 26 and sum(int(r["articles"]) for r in rows) == security > 0

    for args, message in [(("--entity", "nobody"), "--entity 'nobody': not in the entity registry"),
                          (("--topic", "sports"), "--topic 'sports': one of SCO, BRI"),
                          (("--story", "st-x"), "--story 'st-x': no such story"),
                          (("--topic", "trade", "--entity", "xi-jinping"), "give one of")]:  # fmt: skip
        bad = cli("trends", *args, cwd=tmp_path)
        assert bad.returncode == 2 and message in bad.stderr, (args, bad.stderr)
