"""One way to do each thing: the places that once had two or three copies of one job have one.

Each check reads the source (``ast``) for the thing that was copied, so a second copy coming back
fails here, and the shared helper is tested for what its callers rely on.
"""

from __future__ import annotations

import ast
import csv
import io
import json
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
    from flows.cli import OutputFormat, print_records

    rows = [["Астана", None, datetime(2024, 7, 3, 12, 0)]]
    data = [{"title": "Астана", "outlet": None, "published_at": datetime(2024, 7, 3, 12, 0)}]
    print_records(OutputFormat.json, data, ["title", "outlet", "published_at"], rows, table=None)
    assert json.loads(capsys.readouterr().out) == [{"title": "Астана", "outlet": None,
                                                     "published_at": "2024-07-03T12:00:00"}]  # fmt: skip
    print_records(OutputFormat.csv, data, ["title", "outlet", "published_at"], rows, table=None)
    assert list(csv.reader(io.StringIO(capsys.readouterr().out))) == [
        ["title", "outlet", "published_at"], ["Астана", "", "2024-07-03 12:00:00"]
    ]  # fmt: skip
