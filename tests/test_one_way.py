"""One way to do each thing: the places that once had two or three copies of one job have one.

Each check reads the source (``ast``) for the thing that was copied, so a second copy coming back
fails here, and the shared helper is tested for what its callers rely on.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import re
from datetime import datetime
from pathlib import Path

from tests.conftest import ROOT


def calls(path: Path, name: str) -> list[int]:
    """Lines of ``path`` that call ``<anything>.name(...)`` or ``name(...)``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called == name:
                found.append(node.lineno)
    return found


def test_cli_writes_json_and_csv_in_one_place():
    cli = ROOT / "flows" / "cli.py"
    assert len(calls(cli, "dumps")) == 1, "json output: use print_records"
    assert len(calls(cli, "writer")) == 1, "csv output: use print_records"


def test_print_records_formats(capsys):
    from silkwatch.flows.cli import OutputFormat, print_records

    rows = [["Астана", None, datetime(2024, 7, 3, 12, 0)]]
    data = [{"title": "Астана", "outlet": None, "published_at": datetime(2024, 7, 3, 12, 0)}]
    print_records(OutputFormat.json, data, ["title", "outlet", "published_at"], rows, table=None)
    assert json.loads(capsys.readouterr().out) == [{"title": "Астана", "outlet": None,
                                                     "published_at": "2024-07-03T12:00:00+00:00"}]  # fmt: skip
    print_records(OutputFormat.csv, data, ["title", "outlet", "published_at"], rows, table=None)
    assert list(csv.reader(io.StringIO(capsys.readouterr().out))) == [
        ["title", "outlet", "published_at"], ["Астана", "", "2024-07-03 12:00:00"]
    ]  # fmt: skip


def dicts_with_keys(*keys: str) -> list[str]:
    """``file:line`` of every dict display in flows/, parsers/ and warehouse/ that has all of ``keys``."""
    found = []
    for path in sorted(p for folder in ("flows", "parsers", "warehouse") for p in (ROOT / folder).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Dict):
                names = {k.value for k in node.keys if isinstance(k, ast.Constant)}
                if set(keys) <= names:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_fetch_log_rows_are_built_in_one_place():
    assert [w.split(":")[0] for w in dicts_with_keys("http_status", "fetched_at")] == ["warehouse/load.py"]


def test_topic_rows_are_built_in_one_place():
    assert [w.split(":")[0] for w in dicts_with_keys("evidence", "rules_version")] == ["parsers/rows.py"]


def test_reclassify_leaves_sql_to_the_warehouse():
    assert calls(ROOT / "flows" / "reclassify.py", "execute") == []


def test_seed_and_fetch_rows_are_one_shape(tmp_path):
    """A seed read and a feed fetch give fetch_log rows of the same columns, saved with the run's id."""
    from silkwatch.flows.fetch import FetchResult
    from silkwatch.flows.ingest import read_seeds
    from silkwatch.warehouse.db import open_warehouse
    from silkwatch.warehouse.load import FETCH_LOG_SCHEMA, save_fetch_log
    from tests.conftest import SEEDS

    (tmp_path / "seeds").mkdir()
    seed = next(iter(sorted(SEEDS.glob("*.txt"))))
    (tmp_path / "seeds" / seed.name).write_bytes(seed.read_bytes())
    seed_row = read_seeds(tmp_path / "seeds").log[0]
    fetch_row = FetchResult(url="https://example.org/feed", kind="feed", status="ok", body=b"abc").log_row("run-1")
    assert list(seed_row) == list(fetch_row) == FETCH_LOG_SCHEMA.names
    with open_warehouse(tmp_path / "w.duckdb") as con:
        save_fetch_log(con, [seed_row, fetch_row], "run-2")
        stored = con.execute("SELECT kind, run_id, bytes FROM fetch_log ORDER BY kind").fetchall()
    assert stored == [("feed", "run-1", 3), ("seed", "run-2", seed.stat().st_size)]


def test_no_public_function_is_used_only_by_tests_or_the_bench():
    """Dead code: a public function or class of the packages that no package code (nor
    ``make eval``, pyproject or prefect.yaml) uses. Commands are registered by their decorator."""
    packages = [
        p for d in ("parsers", "flows", "warehouse", "deployments", "evaluation") for p in (ROOT / d).rglob("*.py")
    ]
    sources = {p: p.read_text("utf-8") for p in packages}
    sources[ROOT / "prefect.yaml"] = (ROOT / "prefect.yaml").read_text("utf-8")
    sources[ROOT / "pyproject.toml"] = (ROOT / "pyproject.toml").read_text("utf-8")
    unused = []
    for path in packages:
        if path.parts[-2] == "evaluation":
            continue
        for node in ast.parse(sources[path]).body:
            named = isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_")
            if named and not node.decorator_list:
                word = re.compile(rf"\b{re.escape(node.name)}\b")
                if sum(len(word.findall(text)) for text in sources.values()) == 1:  # its own def only
                    unused.append(f"{path.relative_to(ROOT)}: {node.name}")
    assert unused == []


def test_config_keeps_each_fetch_key_in_one_place():
    """[fetch] keys live in ``Config.fetch`` (read by ``flows.fetch.policy_from_config``), not also
    as a field of their own that nothing reads."""
    import dataclasses

    from silkwatch.flows.config import Config, FetchSection

    assert {f.name for f in dataclasses.fields(Config)} & set(FetchSection.model_fields) == set()


def test_the_entity_registry_is_read_in_one_place():
    """rules/entities.toml is read once (``parsers.entities.default_registry``); names to show,
    search aliases and tagging all come from that one reading."""
    readers = [p for p in (ROOT / "parsers").glob("*.py") if '"rules/entities.toml"' in p.read_text("utf-8")]
    assert [p.name for p in readers] == ["entities.py"]
    assert len(calls(ROOT / "parsers" / "entities.py", "load_registry")) == 1

    from silkwatch.parsers.entities import default_registry, entity_names
    from silkwatch.parsers.tokenize import alias_groups

    registry = default_registry()
    assert entity_names() == {entity_id: names[0] for entity_id, names in registry.names.items()}
    assert {entity_id for entity_id, _ in alias_groups().values()} == set(registry.names)


def test_test_servers_are_pytest_httpserver():
    """Tests serve HTTP with pytest-httpserver; only tests/stall_site.py writes raw bytes to a socket
    (dripping headers, closing without an answer: its docstring says why pytest-httpserver cannot)."""
    hand_written = [
        path.name
        for path in sorted((ROOT / "tests").glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module == "http.server"
    ]
    assert hand_written == ["stall_site.py"]


def test_installed_under_one_silkwatch_namespace(tmp_path):
    """The folders install as silkwatch.flows, silkwatch.parsers, ...: outside the checkout no
    generic top-level `flows` or `parsers` package exists to clash with another one."""
    import subprocess
    import sys
    import tomllib

    packages = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]["packages"]
    assert packages and all(p.startswith("silkwatch.") for p in packages)
    code = (
        "import importlib.util as u, silkwatch.flows.cli, silkwatch.parsers.classify;"
        "print([n for n in ('flows', 'parsers', 'warehouse', 'deployments') if u.find_spec(n)])"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
