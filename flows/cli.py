"""The ``silkwatch`` command line.

Exit status: 0 success; 1 unexpected failure; 2 bad input (config, seeds, SQL, warehouse path);
75 the warehouse is busy (another process is writing it: try again); 130 / 143 a run stopped by
Ctrl-C (SIGINT) / SIGTERM (what it saved is kept; running it again does the rest).
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

# Before anything imports Prefect: no telemetry (it errors offline), no INFO chatter on the terminal.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_LEVEL", "WARNING")

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from silkwatch.flows import stopping
from silkwatch.flows.config import PERIODS, Config, ConfigError, FeedListError, load_config

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
    typer.Option("--config", "-c", help="Config file \\[default: $SILKWATCH_CONFIG or ./silkwatch.toml]."),
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
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
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
    except Exception as exc:
        if isinstance(exc, _busy()):
            raise fail(str(exc), EXIT_BUSY) from None
        if isinstance(exc, _bad_input()):
            raise fail(str(exc), EXIT_BAD_INPUT) from None
        if os.environ.get("SILKWATCH_DEBUG"):
            raise
        raise fail(f"{type(exc).__name__}: {exc} (set SILKWATCH_DEBUG=1 for a traceback)", EXIT_FAILURE) from None
    except KeyboardInterrupt:
        raise fail("interrupted; the warehouse keeps every batch saved before the interrupt", 130) from None


# The errors a command reports in one line, imported only when one is raised: a command imports
# only the modules it uses (`silkwatch query` reads no seeds and no rules).
def _busy() -> type:
    from silkwatch.warehouse.db import WarehouseBusy

    return WarehouseBusy


def _bad_input() -> tuple[type, ...]:
    from silkwatch.flows.ingest import SeedDirError
    from silkwatch.parsers.classify import RulesError as TopicRulesError
    from silkwatch.parsers.clean import RulesError as CleanRulesError
    from silkwatch.warehouse.db import WarehouseError

    return (ConfigError, SeedDirError, FeedListError, WarehouseError, TopicRulesError, CleanRulesError)


def _print_ingest(summary) -> None:
    from silkwatch.parsers.urls import error_kind

    table = Table(title=f"silkwatch run {summary.run_id}", show_header=False, title_justify="left")
    table.add_row("seed files read", str(summary.seeds_read))
    feeds = f"{summary.feeds_ok} ok, {summary.feeds_failed} failed"
    if summary.feeds_backing_off:
        feeds += f", {summary.feeds_backing_off} waiting (backing off after failures)"
    if summary.feeds_not_due:
        feeds += f", {summary.feeds_not_due} not due yet (see `silkwatch feeds list`)"
    table.add_row("feeds checked", feeds)
    table.add_row("new articles", str(summary.articles_new))
    table.add_row("new copies of known articles", str(summary.duplicates))
    table.add_row("already stored (unchanged)", str(summary.already_seen))
    alerts = summary.alerts
    if alerts and (alerts.hits or alerts.breaking or alerts.deliveries):
        hits = ", ".join(f"{name} {n}" for name, n in alerts.hits.items()) or "none"
        table.add_row("watch hits", escape(hits))
        if alerts.breaking:
            table.add_row("breaking stories", escape(", ".join(alerts.breaking)))
        sent = sum(d.sent for d in alerts.deliveries)
        table.add_row("alerts sent", f"{sent} of {len(alerts.deliveries)}")
    if summary.digest:
        table.add_row("digest", escape(f"{summary.digest.path} ({len(summary.digest.article_ids)} articles)"))
    console.print(table)
    for failure in summary.failures:
        err.print(f"[yellow]skipped:[/] {escape(failure)}", highlight=False, soft_wrap=True)
    for failure in alerts.failures if alerts else []:
        err.print(f"[yellow]not delivered:[/] {escape(failure)}", highlight=False, soft_wrap=True)
    by_error: dict[str, list[str]] = {}
    for url, error in summary.feed_failures:  # the host is listed after the error: the same error
        by_error.setdefault(error_kind(url, error), []).append(url)
    for error, urls in by_error.items():  # twenty feeds failing the same way (offline) are one line
        hosts = ", ".join(urlsplit(u).hostname or u for u in urls[:4]) + (
            f" and {len(urls) - 4} more" if len(urls) > 4 else ""
        )
        feeds = "feed" if len(urls) == 1 else f"{len(urls)} feeds"
        err.print(f"[yellow]{feeds} failed:[/] {escape(error)} ({escape(hosts)})", highlight=False, soft_wrap=True)
    if by_error:
        err.print("  details: `silkwatch feeds list`; failing feeds are retried with backoff", highlight=False)


def _writing(cfg: Config, command: str):
    """The warehouse's writer lock for a writing command: another writer makes it wait up to
    [warehouse] lock_wait_seconds, then exit 75 naming the holder (warehouse/lock.py)."""
    from silkwatch.warehouse.lock import writer_lock

    return writer_lock(cfg.warehouse_path, cfg.lock_wait_seconds, command)


@contextmanager
def _rewriting(cfg: Config, command: str, status: str) -> Iterator:
    """A whole-warehouse rewrite (reindex, reclassify, recluster): the writer lock, the warehouse
    open for writing, and a status line while it works."""
    from silkwatch.warehouse.db import open_warehouse

    with _writing(cfg, command), open_warehouse(cfg.warehouse_path) as con, console.status(status):
        yield con


def _stopped(message: str) -> typer.Exit:
    """The one line of a stopped run, and its exit status (128 + the signal, as a shell reports it)."""
    err.print(f"[yellow]stopped:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(128 + (stopping.stop_signal() or 15))


def _uses_prefect(asked: bool) -> bool:
    """Whether a one-off command runs as a Prefect flow run: when asked (``--prefect``), or when the
    environment names a Prefect server (``PREFECT_API_URL``). Else it runs the same flow's body
    without Prefect (flows/steps.py): no server, nothing imported from Prefect."""
    return asked or bool(os.environ.get("PREFECT_API_URL"))


PrefectOption = Annotated[
    bool,
    typer.Option(
        "--prefect",
        help="Run as a Prefect flow run (PREFECT_API_URL's server, or Prefect's temporary one) \\[default: only "
        "when PREFECT_API_URL is set].",
    ),
]


def _run(
    config: Config, period: str | None, write_report: bool, include_feeds: bool = True, prefect: bool = False
) -> None:
    from silkwatch.flows.notify import check_notify

    check_notify(config)  # a malformed notify URL: exit 2 naming the watch, before anything is read or sent
    command = "run" if write_report else "ingest"
    with stopping.stop_on_signals():  # Ctrl-C and SIGTERM stop the run (flows/stopping.py), a second one at once
        from silkwatch.flows.pipeline import run_flow, stopped_while
        from silkwatch.flows.runners import flow_call

        with _writing(config, command), console.status("ingesting seeds and feeds, cleaning, classifying, loading…"):
            if stopping.stop_requested():
                raise _stopped(f"silkwatch {command} was stopped before it started; nothing changed")
            call = flow_call(run_flow, config, config, period=period, write_report=write_report,
                             include_feeds=include_feeds, prefect=_uses_prefect(prefect))  # fmt: skip
            summary, stop = stopping.flow_in_thread(call)
        if stop is not None:
            n = summary.articles_new
            kept = f"what it saved is kept ({n} new article{'s' * (n != 1)})" if n else "it had saved nothing new"
            raise _stopped(
                f"silkwatch {command} {stopped_while(summary)}; {kept}, and `silkwatch {command}` again does the rest"
            )
        _print_ingest(summary)


@app.command()
def run(
    config: ConfigOption = None,
    period: Annotated[Period | None, typer.Option(help="Digest period \\[default: config's].")] = None,
    prefect: PrefectOption = False,
) -> None:
    """The main job: ingest seeds, clean, dedupe, classify, load, and write the digest."""
    cfg = _config(config)
    _guarded(_run, cfg, period.value if period else None, True, prefect=prefect)


@app.command()
def ingest(
    config: ConfigOption = None,
    seeds: Annotated[Path | None, typer.Option("--seeds", help="Seed folder \\[default: config's].")] = None,
    no_feeds: Annotated[bool, typer.Option("--no-feeds", help="Seeds only; do not read the feeds.")] = False,
    prefect: PrefectOption = False,
) -> None:
    """Ingest only: seeds and feeds are read, cleaned, deduplicated, classified and loaded; no digest."""
    cfg = _config(config)
    if seeds is not None:
        from dataclasses import replace

        cfg = replace(cfg, seeds_dir=seeds.resolve())
    _guarded(_run, cfg, None, False, not no_feeds, prefect)


def _digest(cfg: Config, period: str, out: Path | None, email: bool, force: bool, prefect: bool) -> None:
    from silkwatch.flows.pipeline import digest_flow
    from silkwatch.flows.runners import flow_call

    with _writing(cfg, "digest"), console.status("building the digest…"):
        summary, _ = flow_call(digest_flow, cfg, cfg, period, out, email=email, force=force,
                               prefect=_uses_prefect(prefect))()  # fmt: skip
    result = summary.digest
    if result.status == "sent" and not force:
        say(f"{result.path} was emailed already; left as sent (--force rebuilds and resends)")
    else:
        say(f"wrote {result.path} and {result.html_path.name} ({len(result.article_ids)} articles, period: {period})")
    for outcome in summary.retried:
        say(f"earlier digest {outcome.digest_id}: {outcome.reason}")
    if summary.send is not None:
        if summary.send.sent:
            say(f"emailed to {', '.join(cfg.email.recipients)} ({summary.send.message_id})")
        elif summary.send.reason.startswith("failed"):
            raise fail(f"email {summary.send.reason} (the digest files are kept)", EXIT_FAILURE)
        else:
            say(f"not emailed: {summary.send.reason} (--force sends again)")


@app.command()
def digest(
    config: ConfigOption = None,
    period: Annotated[Period | None, typer.Option(help="Articles first seen in the last day/week, or all.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write here instead of the digest folder.")] = None,
    email: Annotated[bool, typer.Option("--email", help="Email it to \\[email] recipients (once per digest).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Rebuild and resend a digest already emailed.")] = False,
    prefect: PrefectOption = False,
) -> None:
    """Build the digest of what is new, grouped by topic (markdown and HTML), and email it."""
    cfg = _config(config)
    chosen = period.value if period else cfg.digest_period
    assert chosen in PERIODS  # noqa: S101 - guaranteed by Period and config validation
    _guarded(_digest, cfg, chosen, out, email, force, prefect)


@app.command()
def serve(config: ConfigOption = None) -> None:
    """Run the schedules (ingest, daily and weekly digests) as Prefect deployments until stopped (Ctrl-C, SIGTERM)."""
    cfg = _config(config)

    def _serve() -> None:
        from silkwatch.deployments.serve import serve_deployments

        sched = cfg.schedule
        say(
            f"serving: ingest every {sched.ingest_every_minutes} min, daily digest '{sched.daily_digest}', "
            f"weekly digest '{sched.weekly_digest}' ({sched.timezone}); Ctrl-C stops"
        )
        serve_deployments(cfg, lambda message: err.print(f"[yellow]stopping:[/] {escape(message)}", highlight=False))

    _guarded(_serve)


def _jsonable(value):
    if isinstance(value, datetime) and value.tzinfo is None:  # the warehouse's timestamps are UTC (docs: schema)
        return value.replace(tzinfo=UTC).isoformat()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def say(text: str, soft_wrap: bool = False) -> None:
    """One line of a command's result on stdout, as written: no Rich markup or highlighting (names,
    URLs and feed titles can hold brackets); ``soft_wrap`` keeps a long line whole (paths to copy)."""
    console.print(text, highlight=False, markup=False, soft_wrap=soft_wrap)


def print_records(fmt: OutputFormat, data, header: list[str], rows, table) -> None:
    """Write a command's result in the format asked for: ``data`` as JSON, ``header`` and ``rows`` as
    CSV (None as an empty cell), or the Rich table ``table()`` builds. Every command that takes
    ``--format`` writes through here, so the formats mean the same everywhere."""
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps(data, default=_jsonable, ensure_ascii=False, indent=2) + "\n")
    elif fmt is OutputFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([["" if v is None else v for v in row] for row in rows])
    else:
        console.print(table())


def _query(cfg: Config, sql: str, fmt: OutputFormat) -> None:
    import duckdb

    from silkwatch.warehouse.db import open_warehouse
    from silkwatch.warehouse.readonly import ReadOnlyViolation, check_reading_sql, lock_down

    with open_warehouse(cfg.warehouse_path, read_only=True) as con:
        try:
            check_reading_sql(sql)
            lock_down(con)
            cur = con.execute(sql)
        except ReadOnlyViolation as exc:
            raise fail(f"query refused: silkwatch query is read-only: {exc}", EXIT_BAD_INPUT) from None
        except duckdb.Error as exc:
            message = str(exc).splitlines()[0]
            if "read-only" in message.lower():
                message = f"silkwatch query is read-only; {message}"
            raise fail(f"query failed: {message}", EXIT_BAD_INPUT) from None
        names = [d[0] for d in cur.description] if cur.description else []
        rows = cur.fetchall() if names else []

    def table() -> Table:
        shown = Table(*names, caption=f"{len(rows)} row{'s' if len(rows) != 1 else ''}")
        for row in rows:
            shown.add_row(*("" if v is None else escape(str(v)) for v in row))
        return shown

    records = [dict(zip(names, row, strict=True)) for row in rows]
    print_records(fmt, records, names, rows, table)


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="A read-only SQL statement over the warehouse tables.")],
    config: ConfigOption = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.table,
) -> None:
    """Run read-only SQL against the warehouse (the tables: docs/schema.md)."""
    cfg = _config(config)
    _guarded(_query, cfg, sql, fmt)


def _parse_day(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"--{name} {value!r}: not a date (YYYY-MM-DD)", EXIT_BAD_INPUT) from None


def _search(cfg: Config, query: str, fmt: OutputFormat, limit: int, **filters) -> None:
    from silkwatch.warehouse.db import open_warehouse
    from silkwatch.warehouse.search import run_search

    mark = ("[bold yellow]", "[/]") if fmt is OutputFormat.table else ("**", "**")
    with open_warehouse(cfg.warehouse_path, read_only=True) as con:
        hits = run_search(con, query, limit=limit, mark=mark, **filters)

    def table() -> Table:
        shown = Table(
            "#", "score", "article", caption=f"{len(hits)} result{'s' if len(hits) != 1 else ''} for {query!r}"
        )
        for rank, h in enumerate(hits, 1):
            date = f"{h['published_at']:%Y-%m-%d}" if h["published_at"] else "date unknown"
            meta = f"{escape(h['outlet'] or 'outlet unknown')} · {date} · {' '.join(h['topics']) or 'no topic'}"
            # the snippet's own text is escaped; only our highlight markup stays markup
            snip = escape(h["snippet"]).replace("\\[bold yellow]", "[bold yellow]").replace("\\[/]", "[/]")
            heading = h["english_line"] or h["title"]  # the English line holds the title
            shown.add_row(str(rank), f"{h['score']:.2f}", f"[bold]{escape(heading)}[/]\n[dim]{meta}[/]\n{snip}")
        return shown

    header = ["rank", "score", "article_id", "title", "outlet", "published_at", "topics", "url", "snippet",
              "language", "english_line"]  # fmt: skip
    rows = [[rank, h["score"], h["article_id"], h["title"], h["outlet"], h["published_at"], " ".join(h["topics"]),
             h["url"], h["snippet"], h["language"], h["english_line"]] for rank, h in enumerate(hits, 1)]  # fmt: skip
    print_records(fmt, hits, header, rows, table)


@app.command("search")
def search_command(
    query: Annotated[str, typer.Argument(help='Words to find; "quoted text" must occur as written.')],
    topic: Annotated[
        str | None, typer.Option(help="Only articles with this topic (SCO, BRI, security, trade, or your own).")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Published (or first seen) on or after YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option(help="Published (or first seen) before YYYY-MM-DD.")] = None,
    source: Annotated[
        str | None, typer.Option(help="Only articles carried by an outlet whose name contains this.")
    ] = None,
    language: Annotated[str | None, typer.Option(help="Only articles in this language (en, ru, zh, ...).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many results.")] = 10,
    config: ConfigOption = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.table,
) -> None:
    """Ranked full-text search (BM25) over the archive, with the matched words highlighted."""
    cfg = _config(config)
    _check_topic(cfg, topic)
    filters = {"topic": topic, "source": source, "language": language,
               "since": _parse_day(since, "since"), "until": _parse_day(until, "until")}  # fmt: skip
    _guarded(_search, cfg, query, fmt, limit, **filters)


def _check_topic(cfg: Config, topic: str | None) -> None:
    names = cfg.topic_rules().names
    if topic is not None and topic not in names:
        raise fail(f"--topic {topic!r}: one of {', '.join(names)}", EXIT_BAD_INPUT)


def _reindex(cfg: Config) -> None:
    import time

    from silkwatch.warehouse.search import index_pending

    started = time.perf_counter()
    with _rewriting(cfg, "reindex", "rebuilding the search index…") as con:
        n = index_pending(con, everything=True)
    say(f"indexed {n} articles in {time.perf_counter() - started:.1f} s")


@app.command()
def reindex(config: ConfigOption = None) -> None:
    """Rebuild the search index from the stored articles."""
    cfg = _config(config)
    _guarded(_reindex, cfg)


def _reclassify(cfg: Config) -> None:
    from silkwatch.flows.reclassify import reclassify
    from silkwatch.warehouse.clustering import cluster_pending

    rules = cfg.topic_rules()
    with _rewriting(cfg, "reclassify", "re-labelling the stored articles…") as con:
        changes = reclassify(con, rules)
        clustered = cluster_pending(con, everything=True)  # stories follow the new entities and topics
    table = Table("topic", "before", "after", "added", "removed", caption=f"rules version {rules.version}")
    for topic, c in changes.items():
        table.add_row(topic, str(c["before"]), str(c["after"]), str(c["added"]), str(c["removed"]))
    console.print(table)
    say(f"re-clustered {clustered} articles into stories")


@app.command()
def reclassify(config: ConfigOption = None) -> None:
    """Re-label every stored article with the current topic rules and entity registry."""
    cfg = _config(config)
    _guarded(_reclassify, cfg)


def _recluster(cfg: Config) -> None:
    import time

    from silkwatch.warehouse.clustering import cluster_pending

    started = time.perf_counter()
    with _rewriting(cfg, "recluster", "re-clustering the stored articles…") as con:
        n = cluster_pending(con, everything=True)
        (stories,) = con.execute("SELECT count(*) FROM stories").fetchone()
    took = time.perf_counter() - started
    say(f"clustered {n} articles into {stories} stories in {took:.1f} s")


@app.command()
def recluster(config: ConfigOption = None) -> None:
    """Rebuild every story from the stored articles with the current rules (parsers/rules/events.toml)."""
    cfg = _config(config)
    _guarded(_recluster, cfg)


def _stories(cfg: Config, since: datetime | None, min_articles: int, limit: int, fmt: OutputFormat) -> None:
    from silkwatch.parsers.english_line import english_line
    from silkwatch.warehouse.db import open_warehouse
    from silkwatch.warehouse.stories import label_texts, list_stories

    with open_warehouse(cfg.warehouse_path, read_only=True) as con:
        rows = list_stories(con, since, min_articles, limit)
        texts = label_texts(con, [r["label_article_id"] for r in rows if r["label_article_id"]])
    for r in rows:  # a story labelled by a non-English title gets its English line
        language, text = texts.get(r["label_article_id"], (None, ""))
        r["english_line"] = english_line(language, r["label"], text or "", r["topics"])

    def table() -> Table:
        shown = Table("story", "articles", "outlets", "languages", "dates", "peak", "topics",
                      caption=f"{len(rows)} stor{'y' if len(rows) == 1 else 'ies'}")  # fmt: skip
        for r in rows:
            dates = f"{r['first_seen_at']:%Y-%m-%d} – {r['last_seen_at']:%Y-%m-%d}"
            label = r["english_line"] or r["label"]  # the English line holds the label
            shown.add_row(escape(label), str(r["articles"]), str(r["outlets"]),
                          f"{r['languages_n']} ({escape(' '.join(r['languages']))})", dates,
                          f"{r['peak_day']:%Y-%m-%d}" if r["peak_day"] else "", " ".join(r["topics"]))  # fmt: skip
        return shown

    header = ["story_id", "label", "articles", "outlets", "languages", "first_seen_at", "last_seen_at", "peak_day",
              "topics", "english_line"]  # fmt: skip
    lines = [[r["story_id"], r["label"], r["articles"], r["outlets"], " ".join(r["languages"]), r["first_seen_at"],
              r["last_seen_at"], r["peak_day"], " ".join(r["topics"]), r["english_line"]] for r in rows]  # fmt: skip
    print_records(fmt, rows, header, lines, table)


@app.command("stories")
def stories_command(
    since: Annotated[str | None, typer.Option(help="Stories with an article dated on or after YYYY-MM-DD.")] = None,
    min_articles: Annotated[int, typer.Option(min=1, help="Only stories of at least this many articles.")] = 1,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="How many stories.")] = 50,
    config: ConfigOption = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.table,
) -> None:
    """Stories (one event, many outlets and languages), the biggest first: articles, outlets, languages, dates."""
    cfg = _config(config)
    _guarded(_stories, cfg, _parse_day(since, "since"), min_articles, limit, fmt)


class By(StrEnum):
    day = "day"
    week = "week"


def _trend_subject(cfg: Config, con, entity: str | None, topic: str | None, story: str | None) -> tuple:
    """(kind, key, label) of the subject asked for; an unknown one is exit 2 naming it."""
    from silkwatch.parsers.entities import entity_names
    from silkwatch.parsers.tokenize import alias_groups, terms

    given = [(k, v) for k, v in (("entity", entity), ("topic", topic), ("story", story)) if v is not None]
    if len(given) > 1:
        raise fail("trends: give one of --entity, --topic, --story", EXIT_BAD_INPUT)
    if not given:
        return None, None, "all articles"
    kind, value = given[0]
    if kind == "topic":
        _check_topic(cfg, value)
        return kind, value, f"topic {cfg.topic_rules().labels[value]}"
    if kind == "entity":
        names = entity_names()
        key = value if value in names else alias_groups().get(tuple(terms(value)), (None,))[0]
        if key is None:
            raise fail(f"--entity {value!r}: not in the entity registry (parsers/rules/entities.toml); "
                       "give an id such as emomali-rahmon, or one of its names", EXIT_BAD_INPUT)  # fmt: skip
        return kind, key, f"entity {names[key]} ({key})"
    found = con.execute("SELECT label FROM stories WHERE story_id = ?", [value]).fetchone()
    if found is None:
        raise fail(f"--story {value!r}: no such story (`silkwatch stories` lists them)", EXIT_BAD_INPUT)
    return kind, value, f"story {found[0]} ({value})"


def _trends(cfg: Config, entity, topic, story, by: str, since: datetime | None, fmt: OutputFormat) -> None:
    from datetime import UTC, timedelta

    from silkwatch.flows.trends import trend
    from silkwatch.parsers.trends import TrendTest
    from silkwatch.warehouse.db import open_warehouse

    now = datetime.now(UTC).replace(tzinfo=None)
    since = since or now - (timedelta(days=27) if by == "day" else timedelta(weeks=25))
    with open_warehouse(cfg.warehouse_path, read_only=True) as con:
        kind, key, label = _trend_subject(cfg, con, entity, topic, story)
        rows = trend(con, by, since, now, kind, key)
    test = TrendTest.for_period(by)
    method = test.describe(by)

    def table() -> Table:
        shown = Table(by, "articles", "outlets", "baseline", "p", "", title=f"{label}, by {by}", title_justify="left",
                      caption=f"baseline: mean articles per {by} over the previous {test.window} {by}s; {method} "
                      "(docs: alerts and trends)")  # fmt: skip
        for r in rows:
            a = r.assessment
            when = f"{r.start:%Y-%m-%d}" if by == "day" else f"{r.start:%G-W%V} ({r.start:%Y-%m-%d})"
            baseline = "" if a.baseline is None else f"{a.baseline:.2f}"
            p_value = "" if a.p_value is None else f"{a.p_value:.2g}"
            flag = "[bold green]▲ rising[/]" if a.rising else ("" if r.observed else "[dim]before the archive[/]")
            shown.add_row(when, str(r.articles), str(r.outlets), baseline, p_value, flag)
        return shown

    out = {"subject": {"kind": kind or "all", "key": key, "label": label}, "by": by, "test": method,
           "window": test.window, "alpha": test.alpha, "periods": [r.as_dict() for r in rows]}  # fmt: skip
    lines = [[f"{r.start:%Y-%m-%d}", r.articles, r.outlets, r.assessment.baseline,
              None if r.assessment.p_value is None else f"{r.assessment.p_value:.3g}", r.assessment.rising]
             for r in rows]  # fmt: skip
    print_records(fmt, out, ["start", "articles", "outlets", "baseline", "p_value", "rising"], lines, table)


@app.command("trends")
def trends_command(
    entity: Annotated[str | None, typer.Option(help="An entity: its id (emomali-rahmon) or a name (Rahmon).")] = None,
    topic: Annotated[str | None, typer.Option(help="A topic of the rules (SCO, BRI, security, trade, ...).")] = None,
    story: Annotated[str | None, typer.Option(help="A story id (see `silkwatch stories`).")] = None,
    by: Annotated[By, typer.Option(help="Count per day or per ISO week.")] = By.day,
    since: Annotated[
        str | None, typer.Option(help="First day shown, YYYY-MM-DD \\[default: 4 weeks, or 26 weeks, ago].")
    ] = None,
    config: ConfigOption = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.table,
) -> None:
    """Articles and outlets over time (all, or one entity, topic or story) against a trailing baseline,
    with significant rises flagged."""
    cfg = _config(config)
    _guarded(_trends, cfg, entity, topic, story, by.value, _parse_day(since, "since"), fmt)


def _export(cfg: Config, folder: Path) -> None:
    import time

    from silkwatch.warehouse.export import export_parquet

    started = time.perf_counter()
    with console.status(f"exporting the warehouse to {folder}…"):
        manifest = export_parquet(cfg.warehouse_path, folder)
    tables = manifest["tables"]
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20
    months = len(tables["articles"]["months"])
    say(
        f"exported {tables['articles']['rows']} articles ({months} month{'s' if months != 1 else ''}) and "
        f"{len(tables) - 1} other tables to {folder} in {time.perf_counter() - started:.1f} s ({size:.1f} MiB); "
        f"see {folder / 'README.md'}",
        soft_wrap=True,
    )


@app.command()
def export(
    parquet: Annotated[
        Path, typer.Option("--parquet", help="Folder to write (replaced if it holds an earlier export).")
    ],
    config: ConfigOption = None,
) -> None:
    """Export the warehouse as Parquet partitioned by month (hive style), for DuckDB, Spark or a data lake."""
    cfg = _config(config)
    _guarded(_export, cfg, parquet)


def _check(cfg: Config) -> None:
    from silkwatch.warehouse.db import check_integrity, open_warehouse

    # the writer lock: no run is in progress, so a run left 'running' is one that was killed and not yet marked
    with _writing(cfg, "check"), open_warehouse(cfg.warehouse_path, read_only=True) as con:
        problems = check_integrity(con, indexed=True, idle=True)
    if problems:
        for problem in problems:
            err.print(f"problem: {problem}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_FAILURE)
    say(f"ok: {cfg.warehouse_path} is consistent", soft_wrap=True)


@app.command()
def check(config: ConfigOption = None) -> None:
    """Check the warehouse's integrity (read-only): rows without their article, index or signatures
    out of step, runs left running. Exit 1 with one line per problem."""
    cfg = _config(config)
    _guarded(_check, cfg)


feeds_app = typer.Typer(help="Manage the feed list and see each feed's health.", no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")


def _feed_rows(cfg: Config) -> tuple[list[dict], dict[str, dict]]:
    from silkwatch.flows.feeds import load_feed_list
    from silkwatch.warehouse.db import open_warehouse
    from silkwatch.warehouse.feeds import feed_states

    feeds = load_feed_list(cfg.feeds_file)
    states: dict[str, dict] = {}
    if cfg.warehouse_path.exists():
        with open_warehouse(cfg.warehouse_path, read_only=True) as con:
            states = feed_states(con)
    return feeds, states


def _when(value) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else "never"


def _feeds_list(cfg: Config) -> None:
    feeds, states = _feed_rows(cfg)
    if not feeds:
        say(f"no feeds configured in {cfg.feeds_file}")
        return
    table = Table("feed", "lang", "state", "last success", "items", "checked every", "last error",
                  caption=str(cfg.feeds_file))  # fmt: skip
    for feed in feeds:
        st = states.get(feed["url"], {})
        failures = st.get("consecutive_failures") or 0
        if not feed["enabled"]:
            state = "[dim]disabled[/]"
        elif not st.get("last_checked_at"):
            state = "not checked yet"
        elif failures:
            state = f"[red]failing ×{failures}[/], next try {_when(st.get('next_due_at'))}"
        else:
            state = "[green]ok[/]" + (" (malformed, used)" if st.get("last_bozo") else "")
            state += f", next check {_when(st['next_due_at'])}" if st.get("next_due_at") else ""
        tags = f" [dim]· {escape(', '.join(feed['tags']))}[/]" if feed["tags"] else ""
        table.add_row(
            f"{escape(feed['name'] or '')}{tags}\n[dim]{escape(feed['url'])}[/]",
            escape(feed["language"] or ""),
            state,
            _when(st.get("last_success_at")),
            "" if st.get("items_last_seen") is None else str(st["items_last_seen"]),
            escape(_poll_text(feed, st)),
            escape((st.get("last_error") or "")[:80]),
        )
    console.print(table)


def _poll_text(feed: dict, state: dict) -> str:
    """How often the feed is checked, and why (the last check's plan, or the feed list's interval)."""
    from silkwatch.parsers.polling import describe_interval

    if feed["interval"] is not None:
        return f"{describe_interval(feed['interval'])}: interval set in the feed list"
    return state.get("poll_reason") or "from its publishing rate, after its first check"


@feeds_app.command("list")
def feeds_list(config: ConfigOption = None) -> None:
    """The configured feeds with their health as of the last run."""
    cfg = _config(config)
    _guarded(_feeds_list, cfg)


def _feeds_check(cfg: Config, only: str | None) -> None:
    with _writing(cfg, "feeds check"):
        _check_feeds(cfg, only)


def _check_feeds(cfg: Config, only: str | None) -> None:
    from silkwatch.flows.feeds import check_feed, load_feed_list, poll_plans
    from silkwatch.flows.fetch import HostLimiter, policy_from_config
    from silkwatch.warehouse.clock import utc_now
    from silkwatch.warehouse.db import open_warehouse
    from silkwatch.warehouse.feeds import feed_states, record_feed_check, sync_feeds
    from silkwatch.warehouse.load import save_fetch_log
    from silkwatch.warehouse.sources import schedule_feeds

    feeds = [f for f in load_feed_list(cfg.feeds_file) if only in (None, f["url"])]
    if only and not feeds:
        raise fail(f"{only}: not in {cfg.feeds_file} (add it with `silkwatch feeds add`)", EXIT_BAD_INPUT)
    now = utc_now()
    with open_warehouse(cfg.warehouse_path) as con:
        sync_feeds(con, feeds, now)
        states = feed_states(con)
    policy = policy_from_config(cfg.fetch)
    limiter = HostLimiter(policy.per_host_concurrency, policy.per_host_delay)
    from concurrent.futures import ThreadPoolExecutor

    with console.status(f"checking {len(feeds)} feeds…"), ThreadPoolExecutor(policy.max_concurrency) as pool:
        outcomes = list(pool.map(lambda f: check_feed(f, states.get(f["url"]), policy, limiter), feeds))
    with open_warehouse(cfg.warehouse_path, wait_seconds=10) as con:
        for o in outcomes:
            record_feed_check(
                con, o.feed["url"], now, ok=o.ok, error=o.error, etag=o.result.etag,
                last_modified=o.result.last_modified, items=len(o.entries) if o.ok else None,
                title=o.title, bozo=o.bozo,
            )  # fmt: skip
        save_fetch_log(con, [o.result.log_row() for o in outcomes])
        schedule_feeds(con, poll_plans(outcomes, now), now)
    table = Table("feed", "result", "entries", "ms", "detail")
    for o in outcomes:
        result = {"ok": "[green]ok[/]", "not_modified": "[green]unchanged (304)[/]"}.get(
            o.result.status, "[red]failed[/]"
        )
        detail = o.error or (f"malformed but usable: {o.bozo}" if o.bozo else "")
        entries = str(len(o.entries)) if o.ok else ""
        table.add_row(o.feed["name"] or o.feed["url"], result, entries, f"{o.result.ms:.0f}", detail)
    console.print(table)
    failed = sum(not o.ok for o in outcomes)
    if failed:
        raise fail(f"{failed} of {len(outcomes)} feeds failed", EXIT_FAILURE)


@feeds_app.command("check")
def feeds_check(
    url: Annotated[str | None, typer.Argument(help="Check only this feed.")] = None,
    config: ConfigOption = None,
) -> None:
    """Fetch every configured feed now (ignoring backoff), record and show its health."""
    cfg = _config(config)
    _guarded(_feeds_check, cfg, url)


def _feeds_add(cfg: Config, url: str, name: str | None, language: str | None, pick: int | None) -> None:
    with _writing(cfg, "feeds add"):  # the feed list is the run's input: not changed under a run
        _add_feed(cfg, url, name, language, pick)


def _add_feed(cfg: Config, url: str, name: str | None, language: str | None, pick: int | None = None) -> None:
    from silkwatch.flows.discover import NoFeedFound, discover_feeds
    from silkwatch.flows.feeds import append_feed, load_feed_list
    from silkwatch.flows.fetch import policy_from_config
    from silkwatch.parsers.urls import canonical_url

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise fail(f"{url}: not an http(s) URL", EXIT_BAD_INPUT)
    existing = {canonical_url(f["url"]) for f in load_feed_list(cfg.feeds_file)}
    if canonical_url(url) in existing:
        raise fail(f"{url}: already in {cfg.feeds_file}", EXIT_BAD_INPUT)
    try:
        with console.status(f"looking for feeds at {url}…"):
            found = discover_feeds(url, policy_from_config(cfg.fetch), existing)
    except NoFeedFound as exc:
        raise fail(str(exc), EXIT_BAD_INPUT) from None
    if len(found) > 1 or (pick is not None and pick != 1):
        table = Table("#", "feed", "items", "language", title=f"feeds found at {url}", title_justify="left")
        for i, feed in enumerate(found, 1):
            table.add_row(str(i), f"{escape(feed.title or '')}\n[dim]{escape(feed.url)}[/]", str(feed.items),
                          feed.language or "?")  # fmt: skip
        console.print(table)
        if pick is None or not 1 <= pick <= len(found):
            raise fail(f"{url}: {len(found)} feeds found; choose one with --pick 1..{len(found)}", EXIT_BAD_INPUT)
    chosen = found[(pick or 1) - 1]
    if canonical_url(chosen.url) in existing:
        raise fail(f"{chosen.url}: already in {cfg.feeds_file}", EXIT_BAD_INPUT)
    append_feed(cfg.feeds_file, chosen.url, name or chosen.title, language)
    via = f" (found at {url})" if chosen.url != url else ""
    say(f"added {name or chosen.title or chosen.url}: {chosen.items} entries{via} -> {cfg.feeds_file}")


@feeds_app.command("add")
def feeds_add(
    url: Annotated[str, typer.Argument(help="A feed's URL (RSS or Atom), or a site or page whose feed is found.")],
    name: Annotated[str | None, typer.Option(help="The outlet's name \\[default: the feed's title].")] = None,
    language: Annotated[str | None, typer.Option(help="ISO 639-1 language code, e.g. en, ru, zh.")] = None,
    pick: Annotated[int | None, typer.Option(min=1, help="Which of several feeds found to add (1 = first).")] = None,
    config: ConfigOption = None,
) -> None:
    """Add a feed to the feed list: the URL if it is a feed, else the feed its page names (or found
    at a common feed path), after checking that it answers and parses as a feed."""
    cfg = _config(config)
    _guarded(_feeds_add, cfg, url, name, language, pick)


def _feeds_import(cfg: Config, path: Path) -> None:
    from silkwatch.flows.feeds import append_feed, load_feed_list
    from silkwatch.parsers.opml import OpmlError, parse_opml
    from silkwatch.parsers.urls import canonical_url

    try:
        listed = parse_opml(path.read_bytes())
    except OSError as exc:
        raise fail(f"{path}: cannot read: {exc.strerror}", EXIT_BAD_INPUT) from None
    except OpmlError as exc:
        raise fail(f"{path}: {exc}", EXIT_BAD_INPUT) from None
    with _writing(cfg, "feeds import"):
        known = {canonical_url(f["url"]) for f in load_feed_list(cfg.feeds_file)}
        added = 0
        for feed in listed.feeds:
            if canonical_url(feed.url) in known:
                continue  # already listed: left as it is
            known.add(canonical_url(feed.url))
            append_feed(cfg.feeds_file, feed.url, feed.name, feed.language, feed.tags)
            added += 1
    kept = len(listed.feeds) - added
    say(f"imported {added} feed{'s' * (added != 1)} from {path} ({kept} already listed) -> {cfg.feeds_file}")
    for why in listed.skipped:
        err.print(f"[yellow]skipped:[/] {escape(why)}", highlight=False, soft_wrap=True)


@feeds_app.command("import")
def feeds_import(
    opml: Annotated[Path, typer.Argument(help="An OPML file, as Miniflux, FreshRSS, Feedly or Inoreader export it.")],
    config: ConfigOption = None,
) -> None:
    """Add every feed of an OPML file to the feed list; folders become tags, listed feeds are left as they are."""
    cfg = _config(config)
    _guarded(_feeds_import, cfg, opml)


def _feeds_export(cfg: Config, out: Path | None) -> None:
    from silkwatch.flows.feeds import load_feed_list
    from silkwatch.parsers.opml import write_opml
    from silkwatch.warehouse.clock import utc_now

    data = write_opml(load_feed_list(cfg.feeds_file), "silkwatch feeds", utc_now())
    if out is None:
        sys.stdout.buffer.write(data)
        return
    out.write_bytes(data)
    say(f"wrote {out}")


@feeds_app.command("export")
def feeds_export(
    out: Annotated[Path | None, typer.Option("--out", help="Write here \\[default: standard output].")] = None,
    config: ConfigOption = None,
) -> None:
    """The feed list as OPML 2.0 (Miniflux and FreshRSS import it; tags become folders)."""
    cfg = _config(config)
    _guarded(_feeds_export, cfg, out)


def _backfill(
    cfg: Config, sitemap: str | None, warcs: list[Path], since: datetime | None, limit: int | None, prefect: bool
) -> None:
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    if bool(sitemap) == bool(warcs):
        raise fail("backfill: give --sitemap URL or --warc FILE... (one of them)", EXIT_BAD_INPUT)
    if sitemap and urlsplit(sitemap).scheme not in ("http", "https"):
        raise fail(f"{sitemap}: not an http(s) URL", EXIT_BAD_INPUT)
    for path in warcs:
        if not path.is_file():
            raise fail(f"{path}: no such file", EXIT_BAD_INPUT)
    with stopping.stop_on_signals():
        from silkwatch.flows.backfill import BackfillInputError, backfill_flow, check_warc_files
        from silkwatch.flows.runners import flow_call

        try:
            check_warc_files(warcs)  # before the flow: bad input is one line, not a failed flow run
        except BackfillInputError as exc:
            raise fail(str(exc), EXIT_BAD_INPUT) from None

        columns = (TextColumn("backfill"), BarColumn(), MofNCompleteColumn(), TextColumn("pages"),
                   TextColumn("{task.fields[rate]}"), TimeRemainingColumn())  # fmt: skip
        with (
            _writing(cfg, "backfill"),
            Progress(*columns, console=err, transient=False) as bar,
        ):
            task_id = bar.add_task("pages", total=None, rate="")
            clock: dict[str, tuple[float, int]] = {}

            def report(done: int, total: int) -> None:  # the rate of this run, a resumed one's pages not counted
                now = time.monotonic()
                start, first = clock.setdefault("start", (now, done))
                rate = f"{(done - first) / (now - start):.1f} pages/s" if now > start else ""
                bar.update(task_id, completed=done, total=total, rate=rate)

            try:
                call = flow_call(backfill_flow, cfg, cfg, sitemap, list(warcs) or None, since, limit, report,
                                 prefect=_uses_prefect(prefect))  # fmt: skip
                summary, _ = stopping.flow_in_thread(call)
            except BackfillInputError as exc:
                raise fail(str(exc), EXIT_BAD_INPUT) from None
    _print_backfill(summary)
    if sitemap and not summary.listed and summary.failures and not summary.stopped:
        raise fail(summary.failures[0], EXIT_BAD_INPUT)  # the sitemap named cannot be used at all
    if summary.stopped:
        raise _stopped(f"backfill stopped; what it saved is kept, and the same command resumes it ({summary.source})")


def _print_backfill(summary) -> None:
    table = Table(title=f"silkwatch backfill {summary.backfill_id}", show_header=False, title_justify="left")
    table.add_row("source", escape(summary.source))
    if summary.resumed:
        table.add_row("resumed", f"{summary.done_before} pages done before")
    if summary.sitemaps_read:
        table.add_row("sitemaps read", str(summary.sitemaps_read))
    table.add_row("pages listed", str(summary.listed))
    table.add_row("pages read", f"{summary.pages} ({summary.rate:.1f} pages/s)")
    table.add_row("skipped (robots.txt)", str(summary.skipped))
    table.add_row("new articles", str(summary.articles_new))
    table.add_row("new copies of known articles", str(summary.duplicates))
    console.print(table)
    for failure in summary.failures[:20]:
        err.print(f"[yellow]skipped:[/] {escape(failure)}", highlight=False, soft_wrap=True)
    if len(summary.failures) > 20:
        err.print(f"  and {len(summary.failures) - 20} more (see `silkwatch query` on fetch_log)", highlight=False)


@app.command()
def backfill(
    sitemap: Annotated[str | None, typer.Option(help="A sitemap, sitemap index or Google News sitemap URL.")] = None,
    warc: Annotated[list[Path] | None, typer.Option(help="A WARC file (.warc or .warc.gz); repeat for more.")] = None,
    since: Annotated[str | None, typer.Option(help="Only pages dated on or after this day, YYYY-MM-DD.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many pages.")] = None,
    config: ConfigOption = None,
    prefect: PrefectOption = False,
) -> None:
    """History from a sitemap or WARC files, through the same pipeline; a stopped backfill resumes where it stopped."""
    cfg = _config(config)
    _guarded(_backfill, cfg, sitemap, warc or [], _parse_day(since, "since"), limit, prefect)


watch_app = typer.Typer(help="Watches: saved searches that raise alerts (see \\[\\[watch]] in the config).",
                        no_args_is_help=True)  # fmt: skip
app.add_typer(watch_app, name="watch")


def _watch_list(cfg: Config) -> None:
    from silkwatch.flows.notify import check_notify, shown
    from silkwatch.warehouse.alerts import breaking_count, delivery_stats, hit_counts
    from silkwatch.warehouse.db import open_warehouse

    check_notify(cfg)
    hits, deliveries, breaking = {}, {}, (0, None)
    if cfg.warehouse_path.exists():
        with open_warehouse(cfg.warehouse_path, read_only=True) as con:
            hits, breaking = hit_counts(con), breaking_count(con)
            deliveries = {**delivery_stats(con, "watch"), **delivery_stats(con, "breaking")}
    table = Table("watch", "hits", "last hit", "notify", "last delivery", caption=str(cfg.source or "config"))
    rows = [(w.name, _watch_text(w), hits.get(w.name, (0, None)), w.notify) for w in cfg.watches]
    rules = cfg.breaking
    rows.append(("breaking", f"{rules.outlets} outlets or {rules.languages} languages within {rules.hours:g} h",
                 breaking, rules.notify))  # fmt: skip
    for name, text, (n, last), notify in rows:
        lines = []
        for target in notify or ("(none: hits are recorded, nothing sent)",):
            d = deliveries.get((name, target))
            lines.append(_delivery_text(d) if d else ("" if target.startswith("(") else "nothing sent yet"))
        targets = "\n".join(escape(t if t.startswith("(") else shown(t)) for t in notify or ("(none)",))
        table.add_row(f"[bold]{escape(name)}[/]\n[dim]{escape(text)}[/]", str(n), _when(last), targets,
                      escape("\n".join(lines)))  # fmt: skip
    console.print(table)


def _watch_text(watch) -> str:
    from silkwatch.parsers.alerts import describe_watch

    return describe_watch(watch.query, watch.topics, watch.entities, watch.languages, watch.sources)


def _delivery_text(d: dict) -> str:
    text = f"{d['status']}" + (f", last sent {_when(d['last_sent'])}" if d["last_sent"] else "")
    if d["unsent"]:
        text += f"; {d['unsent']} not sent yet"
    if d["status"] == "failed" and d["error"]:
        text += f": {d['error'][:120]}"
    return text


@watch_app.command("list")
def watch_list(config: ConfigOption = None) -> None:
    """The watches and \\[breaking]: hits, and each target's last delivery."""
    cfg = _config(config)
    _guarded(_watch_list, cfg)


def _watch_test(cfg: Config, name: str, limit: int, fmt: OutputFormat) -> None:
    from silkwatch.flows.alerts import watch_matches
    from silkwatch.flows.notify import check_notify, shown
    from silkwatch.warehouse.db import open_warehouse

    watch = next((w for w in cfg.watches if w.name == name), None)
    if watch is None:
        known = ", ".join(w.name for w in cfg.watches) or "none configured"
        raise fail(f"watch {name!r}: no [[watch]] of that name in {cfg.source} (watches: {known})", EXIT_BAD_INPUT)
    check_notify(cfg)
    with open_warehouse(cfg.warehouse_path, read_only=True) as con:
        found = watch_matches(con, watch)
    shown_rows = [{k: a[k] for k in ("article_id", "title", "source_name", "url", "language", "published_at",
                                      "first_seen_at", "why")} for a in found[:limit]]  # fmt: skip
    targets = ", ".join(shown(t) for t in watch.notify) or "nobody (no notify)"

    def table() -> Table:
        out = Table("#", "article", "why", title=f"watch {watch.name!r}: {_watch_text(watch)}", title_justify="left",
                    caption=f"{len(found)} in the archive (dry run: nothing sent, nothing recorded); "
                    f"new ones would go to {targets}")  # fmt: skip
        for rank, a in enumerate(shown_rows, 1):
            when = f"{a['published_at']:%Y-%m-%d}" if a["published_at"] else "date unknown"
            meta = f"{a['source_name'] or 'outlet unknown'} · {when} · {a['language'] or '?'} · {a['url']}"
            out.add_row(str(rank), f"[bold]{escape(a['title'])}[/]\n[dim]{escape(meta)}[/]", escape(a["why"]))
        return out

    data = {"watch": watch.name, "matches": len(found), "articles": shown_rows,
            "would_notify": [shown(t) for t in watch.notify]}  # fmt: skip
    header = list(shown_rows[0]) if shown_rows else ["article_id", "title", "why"]
    print_records(fmt, data, header, [list(r.values()) for r in shown_rows], table)


@watch_app.command("test")
def watch_test(
    name: Annotated[str, typer.Argument(help="The watch's name.")],
    limit: Annotated[int, typer.Option(min=1, max=10000, help="How many matches to show.")] = 20,
    config: ConfigOption = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.table,
) -> None:
    """Dry run: what the watch matches in the archive, and why; nothing is sent or recorded."""
    cfg = _config(config)
    _guarded(_watch_test, cfg, name, limit, fmt)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
