"""The ``silkwatch`` command line.

Exit status: 0 success; 1 unexpected failure; 2 bad input (config, seeds, SQL, warehouse path);
75 the warehouse is busy (another process is writing it: try again).
"""

from __future__ import annotations

import csv
import json
import os
import sys
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

# Before anything imports Prefect: no telemetry (it errors offline), no INFO chatter on the terminal.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_LEVEL", "WARNING")

import typer
from rich.console import Console
from rich.table import Table

from flows.config import PERIODS, Config, ConfigError, load_config
from flows.ingest import SeedDirError
from parsers.classify import RulesError as TopicRulesError
from parsers.clean import RulesError as CleanRulesError
from warehouse.db import WarehouseBusy, WarehouseError

EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_BUSY = 1, 2, 75

app = typer.Typer(
    name="silkwatch",
    help="News monitoring of China–Central Asia affairs: a clean, deduplicated, topic-labelled archive in DuckDB.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Config file [default: $SILKWATCH_CONFIG or ./silkwatch.toml]."),
]


class Period(StrEnum):
    day = "day"
    week = "week"
    all = "all"


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def fail(message: str, code: int) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _config(path: Path | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise fail(str(exc), EXIT_BAD_INPUT) from None


def _guarded(fn, *args, **kwargs):
    """Run a command body, turning known errors into one line and an exit status."""
    try:
        return fn(*args, **kwargs)
    except typer.Exit:
        raise
    except WarehouseBusy as exc:
        raise fail(str(exc), EXIT_BUSY) from None
    except (ConfigError, SeedDirError, WarehouseError, TopicRulesError, CleanRulesError) as exc:
        raise fail(str(exc), EXIT_BAD_INPUT) from None
    except KeyboardInterrupt:
        raise fail("interrupted; the warehouse keeps every batch saved before the interrupt", 130) from None
    except Exception as exc:
        if os.environ.get("SILKWATCH_DEBUG"):
            raise
        raise fail(f"{type(exc).__name__}: {exc} (set SILKWATCH_DEBUG=1 for a traceback)", EXIT_FAILURE) from None


def _print_ingest(summary) -> None:
    table = Table(title=f"silkwatch run {summary.run_id}", show_header=False, title_justify="left")
    table.add_row("seed files read", str(summary.seeds_read))
    table.add_row("new articles", str(summary.articles_new))
    table.add_row("new copies of known articles", str(summary.duplicates))
    table.add_row("already stored (unchanged)", str(summary.already_seen))
    if summary.digest:
        table.add_row("digest", f"{summary.digest.path} ({len(summary.digest.article_ids)} articles)")
    console.print(table)
    for failure in summary.failures:
        err.print(f"[yellow]skipped:[/] {failure}", highlight=False, soft_wrap=True)


def _run(config: Config, period: str | None, write_report: bool) -> None:
    from flows.pipeline import run_flow  # imports Prefect: only for commands that need it

    with console.status("ingesting seeds, cleaning, classifying, loading…"):
        summary = run_flow(config, period=period, write_report=write_report)
    _print_ingest(summary)


@app.command()
def run(
    config: ConfigOption = None,
    period: Annotated[Period | None, typer.Option(help="Digest period [default: config's].")] = None,
) -> None:
    """The main job: ingest seeds, clean, dedupe, classify, load, and write the digest."""
    cfg = _config(config)
    _guarded(_run, cfg, period.value if period else None, True)


@app.command()
def ingest(
    config: ConfigOption = None,
    seeds: Annotated[Path | None, typer.Option("--seeds", help="Seed folder [default: config's].")] = None,
) -> None:
    """Ingest only: seeds are read, cleaned, deduplicated, classified and loaded; no digest."""
    cfg = _config(config)
    if seeds is not None:
        from dataclasses import replace

        cfg = replace(cfg, seeds_dir=seeds.resolve())
    _guarded(_run, cfg, None, False)


def _digest(cfg: Config, period: str, out: Path | None) -> None:
    from flows.pipeline import digest_flow

    result = digest_flow(cfg, period, out)
    console.print(f"wrote {result.path} ({len(result.article_ids)} articles, period: {period})", highlight=False)


@app.command()
def digest(
    config: ConfigOption = None,
    period: Annotated[Period | None, typer.Option(help="Articles first seen in the last day/week, or all.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write here instead of the digest folder.")] = None,
) -> None:
    """Build the markdown digest of what is new, grouped by topic."""
    cfg = _config(config)
    chosen = period.value if period else cfg.digest_period
    assert chosen in PERIODS  # noqa: S101 - guaranteed by Period and config validation
    _guarded(_digest, cfg, chosen, out)


def _jsonable(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def _query(cfg: Config, sql: str, fmt: OutputFormat) -> None:
    import duckdb

    from warehouse.db import open_warehouse

    with open_warehouse(cfg.warehouse_path, read_only=True) as con:
        try:
            cur = con.execute(sql)
        except duckdb.Error as exc:
            message = str(exc).splitlines()[0]
            if "read-only" in message.lower():
                message = f"silkwatch query is read-only; {message}"
            raise fail(f"query failed: {message}", EXIT_BAD_INPUT) from None
        names = [d[0] for d in cur.description] if cur.description else []
        rows = cur.fetchall() if names else []
    if fmt is OutputFormat.json:
        records = [dict(zip(names, row, strict=True)) for row in rows]
        sys.stdout.write(json.dumps(records, default=_jsonable, ensure_ascii=False, indent=2) + "\n")
    elif fmt is OutputFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(names)
        writer.writerows([["" if v is None else v for v in row] for row in rows])
    else:
        table = Table(*names, caption=f"{len(rows)} row{'s' if len(rows) != 1 else ''}")
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        console.print(table)


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="A read-only SQL statement over the warehouse tables.")],
    config: ConfigOption = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.table,
) -> None:
    """Run read-only SQL against the warehouse (see README "Schema" for the tables)."""
    cfg = _config(config)
    _guarded(_query, cfg, sql, fmt)


def main() -> None:
    try:
        app()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        if not os.environ.get("SILKWATCH_DEBUG"):
            # Everything for the user is printed by now. What Prefect's background services and
            # DuckDB's bindings print while the interpreter tears down ("nanobind: leaked ...",
            # offline telemetry errors) is noise to them: send it to /dev/null.
            os.dup2(os.open(os.devnull, os.O_WRONLY), 2)


if __name__ == "__main__":
    main()
