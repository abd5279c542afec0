"""A Russian and a Chinese article in a warehouse the pipeline built: found in their own script and
through an English name, and shown with their English line in search, digests and stories."""

from __future__ import annotations

import csv
import io
import json
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEEDS
from tests.test_cli import silkwatch

# Written from the reports named (as tests/fixtures/topic_labels.toml's items ru-csto-tasmagambetov-tokayev
# and zh-tokayev-china-daily): the CSTO secretariat, 31 Oct 2025; Kazinform's Chinese service, 3 Sept 2025.
RU_SEED = (
    "Генеральный секретарь ОДКБ встретился с Президентом Казахстана\n\n"
    "31 октября в Астане состоялась встреча Генерального секретаря Организации Договора о коллективной "
    "безопасности Имангали Тасмагамбетова с Президентом Республики Казахстан Касым-Жомартом Токаевым. "
    "Стороны обсудили сотрудничество государств — членов ОДКБ.\n"
)
ZH_TITLE = "托卡耶夫：中国是哈萨克斯坦最大的经贸伙伴"
ZH_TEXT = (
    "托卡耶夫总统在《中国日报》发表署名文章指出，2024年哈中双边贸易额达440亿美元，自2005年以来中国对哈投资累计"
    "270亿美元。目前约6000家含中国资本的企业在哈运营。"
)


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """`silkwatch run` over an English, a Russian and a Chinese seed, then the full digest again."""
    work = tmp_path_factory.mktemp("xl")
    (work / "seeds").mkdir()
    (work / "seeds" / "003_53eca7c8ac1a35d1.txt").write_bytes((SEEDS / "003_53eca7c8ac1a35d1.txt").read_bytes())
    (work / "seeds" / "ru-csto-tokayev.txt").write_text(RU_SEED, "utf-8")
    (work / "seeds" / "zh-tokayev-china-daily.txt").write_text(f"{ZH_TITLE}\n\n{ZH_TEXT}\n", "utf-8")
    (work / "silkwatch.toml").write_text('[warehouse]\npath = "data/silkwatch.duckdb"\n', "utf-8")
    ran = silkwatch("run", cwd=work)
    assert ran.returncode == 0, ran.stderr
    digest = silkwatch("digest", "--period", "all", "--out", "reports/all.md", cwd=work)
    assert digest.returncode == 0, digest.stderr
    return work


def search_json(work: Path, query: str) -> list[dict]:
    found = silkwatch("search", query, "--format", "json", cwd=work)
    assert found.returncode == 0, found.stderr
    return json.loads(found.stdout)


def test_an_english_name_finds_every_script(work):
    hits = {h["language"]: h for h in search_json(work, "Tokayev")}
    assert set(hits) == {"en", "ru", "zh"}
    assert hits["en"]["english_line"] is None
    assert hits["ru"]["english_line"] == (
        "[ru] Генеральный секретарь ОДКБ встретился с Президентом Казахстана — security · CSTO · Astana, "
        "Kazakhstan · Tokayev"
    )
    assert hits["zh"]["english_line"] == f"[zh] {ZH_TITLE} — trade · Kazakhstan · Tokayev"


def test_own_script_and_its_case_endings(work):
    assert {h["language"] for h in search_json(work, "Токаеву")} == {"en", "ru", "zh"}  # the text has Токаевым
    assert search_json(work, "托卡耶夫")[0]["language"] == "zh"
    assert [h["language"] for h in search_json(work, "ОДКБ")] == ["ru"]
    assert {h["language"] for h in search_json(work, "CSTO")} == {"ru"}  # through the alias: ОДКБ


def test_csv_and_table_carry_the_line(work):
    out = silkwatch("search", "Tokayev", "--format", "csv", cwd=work)
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert {r["language"]: r["english_line"] for r in rows}["zh"].startswith("[zh] 托卡耶夫：")
    table = silkwatch("search", "Tokayev", cwd=work)
    assert table.returncode == 0 and "[ru] Генеральный секретарь ОДКБ" in table.stdout


def test_digests_show_the_line(work):
    md = (work / "reports" / "all.md").read_text("utf-8")
    assert "*In English:* \\[ru\\] security · CSTO · Astana, Kazakhstan · Tokayev" in md
    assert "*In English:* \\[zh\\] trade · Kazakhstan · Tokayev" in md
    assert md.count("In English:") == 2  # not for the English seed
    html = (work / "reports" / "all.html").read_text("utf-8")
    assert "<em>In English:</em> [zh] trade · Kazakhstan · Tokayev" in html


def test_stories_show_the_line(work):
    out = silkwatch("stories", "--format", "json", cwd=work)
    assert out.returncode == 0, out.stderr
    lines = {s["label"]: s["english_line"] for s in json.loads(out.stdout)}
    assert lines[ZH_TITLE] == f"[zh] {ZH_TITLE} — trade · Kazakhstan · Tokayev"
    assert lines["Генеральный секретарь ОДКБ встретился с Президентом Казахстана"].startswith("[ru] ")
    assert all(line is None for label, line in lines.items() if label.isascii())
    table = silkwatch("stories", cwd=work)
    assert f"[zh] {ZH_TITLE}" in table.stdout


def test_default_feeds_read_chinese_and_russian_with_their_evidence():
    """seeds/feeds.toml: at least 5 Chinese and 8 Russian feeds; every feed has its catalogue rating
    and evidence in the comment above it."""
    raw = (ROOT / "seeds" / "feeds.toml").read_text("utf-8")
    feeds = tomllib.loads(raw)["feed"]
    assert sum(f["language"] == "zh" for f in feeds) >= 5
    assert sum(f["language"] == "ru" for f in feeds) >= 8
    blocks = raw.split("\n[[feed]]\n")
    assert len(blocks) == len(feeds) + 1
    for before, feed in zip(blocks, feeds, strict=False):
        lines = before.splitlines()
        comment = lines[len(lines) - next(i for i, line in enumerate(reversed(lines)) if not line.startswith("#")) :]
        assert comment and comment[0].startswith(("# strong: ", "# medium: ")), feed["url"]
