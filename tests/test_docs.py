"""Docs that cannot drift: the site builds with --strict, and every example in it is checked.

Every ```toml block parses (and one shaped like ``silkwatch.toml`` is a valid config), every ```sql
block runs, as ``silkwatch query`` would run it, against a warehouse built by a real ``silkwatch
run`` of the seeds, and every ``silkwatch ...`` command shown names commands and options the CLI's
own ``--help`` lists.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT, seeds_only_checkout

BIN = Path(sys.executable).parent
# the site's pages and README; docs/_pending/ holds other engineers' notes, not part of the site
PAGES = [*sorted(p for p in (ROOT / "docs").rglob("*.md") if "_pending" not in p.parts), ROOT / "README.md"]
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)
INLINE_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")


def code_blocks(lang: str) -> list[tuple[str, str]]:
    """(where, code) of every fenced block of ``lang`` in the pages, ``where`` as ``file:line``."""
    blocks = []
    for page in PAGES:
        text = page.read_text("utf-8")
        for match in FENCE.finditer(text):
            if match["lang"] == lang:
                line = text.count("\n", 0, match.start()) + 1
                blocks.append((f"{page.relative_to(ROOT)}:{line}", textwrap.dedent(match["body"])))
    return blocks


def shown_commands() -> list[tuple[str, str]]:
    """(where, text) of every ``silkwatch ...`` shown: inline code spans and lines of code blocks."""
    found = []
    for page in PAGES:
        text = page.read_text("utf-8")
        prose = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
        for match in INLINE_CODE.finditer(prose):
            if match[1].startswith("silkwatch "):
                found.append((f"{page.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}", match[1]))
        for match in FENCE.finditer(text):
            for number, line in enumerate(match["body"].splitlines(), text.count("\n", 0, match.start()) + 2):
                command = re.search(r"^\s*(?:\S*/)?silkwatch (.*)", line)  # a command line, not a word in one
                if command and match["lang"] in ("sh", "bash", ""):
                    found.append((f"{page.relative_to(ROOT)}:{number}", "silkwatch " + command[1]))
    return found


def test_the_docs_have_examples_of_each_kind():
    """The checks below must have something to check: an empty collection would pass silently."""
    assert len(code_blocks("toml")) >= 4
    assert len(code_blocks("sql")) >= 5
    assert len(shown_commands()) >= 40


@pytest.mark.parametrize(("where", "code"), code_blocks("toml"), ids=[w for w, _ in code_blocks("toml")])
def test_toml_block_parses(where, code, tmp_path):
    from silkwatch.flows.config import SECTIONS, config_from_dict

    try:
        data = tomllib.loads(code)
    except tomllib.TOMLDecodeError as exc:
        pytest.fail(f"{where}: not valid TOML: {exc}")
    if data and set(data) <= {*SECTIONS, "watch"}:  # shaped like silkwatch.toml: it must be a valid config
        config_from_dict(data, base=tmp_path, source=Path(where))


@pytest.fixture(scope="module")
def seeded_warehouse(tmp_path_factory) -> Path:
    """A warehouse made the way a user makes one: ``silkwatch run`` on the seeds, offline (no feeds)."""
    from tests.test_cli import silkwatch

    work = seeds_only_checkout(tmp_path_factory.mktemp("docs-run"))
    run = silkwatch("run", cwd=work, timeout=300)
    assert run.returncode == 0, run.stderr
    return work / "data" / "silkwatch.duckdb"


def sql_statements(code: str) -> list[str]:
    without_comments = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in without_comments.split(";") if s.strip()]


@pytest.mark.parametrize(("where", "code"), code_blocks("sql"), ids=[w for w, _ in code_blocks("sql")])
def test_sql_example_runs(where, code, seeded_warehouse):
    """Each statement passes ``silkwatch query``'s read-only guard and runs on the seeds' warehouse."""
    from silkwatch.warehouse.db import open_warehouse
    from silkwatch.warehouse.readonly import check_reading_sql, lock_down

    statements = sql_statements(code)
    assert statements, f"{where}: no statement"
    with open_warehouse(seeded_warehouse, read_only=True) as con:
        lock_down(con)
        for sql in statements:
            check_reading_sql(sql)
            try:
                con.execute(sql).fetchall()
            except Exception as exc:
                pytest.fail(f"{where}: {sql.splitlines()[0]} ...: {exc}")


def _cli_help(path: tuple[str, ...]) -> str:
    """The real ``--help`` of a command, as a user sees it (plain text, wide enough for every option)."""
    from typer.testing import CliRunner

    from silkwatch.flows.cli import app

    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
    assert result.exit_code == 0, f"silkwatch {' '.join(path)} --help: {result.output}"
    return re.sub(r"\x1b\[[0-9;]*m", "", result.output)


def _command_group():
    import typer

    from silkwatch.flows.cli import app

    return typer.main.get_command(app)


def split_command(text: str) -> tuple[tuple[str, ...], list[str]]:
    """``silkwatch feeds add URL [--name N]`` -> (("feeds", "add"), ["--name"]); alternatives
    (``list|check``) give the first that is a command, each checked by the caller."""
    words = text.replace("\\|", "|").split()[1:]
    command = _command_group()
    path: list[str] = []
    for word in words:
        names = word.split("|")
        sub = getattr(command, "commands", None)
        if not sub or names[0] not in sub:
            break
        path.append(names[0])
        command = sub[names[0]]
    options = re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", text)
    return tuple(path), options


def test_every_command_shown_exists():
    problems = []
    helps: dict[tuple[str, ...], str] = {}
    group = _command_group()
    for where, text in shown_commands():
        path, options = split_command(text)
        if not path:
            problems.append(f"{where}: {text!r}: no such command")
            continue
        # alternatives shown together (`feeds list|check|add URL`) must all be commands
        words = text.replace("\\|", "|").split()[1:]
        for depth, word in enumerate(words[: len(path)]):
            parent = group
            for name in path[:depth]:
                parent = parent.commands[name]
            problems += [
                f"{where}: {name!r} is not a command" for name in word.split("|") if name not in parent.commands
            ]
        if path not in helps:
            helps[path] = _cli_help(path)
        problems += [f"{where}: {text!r}: {o} is not in its --help" for o in options if o not in helps[path]]
    assert problems == []


def test_a_wrong_command_or_option_is_caught():
    """The check above can fail: an option or command the CLI lacks is reported."""
    path, options = split_command("silkwatch search QUERY --topik T")
    assert (path, options) == (("search",), ["--topik"])
    assert "--topik" not in _cli_help(path)
    assert split_command("silkwatch frobnicate --all")[0] == ()


def test_docs_build_strict(tmp_path):
    """The site builds with --strict (a broken link or a page missing from the nav fails), offline."""
    result = subprocess.run(
        [BIN / "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "how-it-works" / "index.html").is_file()
