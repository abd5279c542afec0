"""Backfills and their work lists (``backfills``, ``backfill_urls``), and each feed's polling plan.

A listed URL is done once ``fetch_log`` has a row for it since it was listed (stored, failed, or
skipped by robots.txt), or once its page is stored: the fetch-log rows of a page batch commit with
its articles (``flows.ingest.save_rows``), so a backfill killed at any point resumes at the first
URL whose batch did not commit, and fetches nothing twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa

from silkwatch.parsers.polling import DEFAULT_INTERVAL
from silkwatch.warehouse.load import save_fetch_log
from silkwatch.warehouse.tx import registered, transaction

LISTED_SCHEMA = pa.schema(
    [
        ("url", pa.string()),
        ("kind", pa.string()),
        ("lastmod", pa.timestamp("us")),
        ("title", pa.string()),
        ("language", pa.string()),
        ("publication", pa.string()),
    ]
)


@dataclass(frozen=True)
class Backfill:
    backfill_id: str
    source: str
    since: datetime | None
    max_pages: int | None
    resumed: bool


def start_backfill(
    con: duckdb.DuckDBPyConnection, source: str, since: datetime | None, max_pages: int | None, now: datetime
) -> Backfill:
    """The unfinished backfill of ``source`` (resumed, with its own --since and --limit), or a new one."""
    unfinished = con.execute(
        "SELECT backfill_id, since, max_pages FROM backfills WHERE source = ? AND finished_at IS NULL "
        "ORDER BY started_at DESC LIMIT 1",
        [source],
    ).fetchall()
    if unfinished:
        backfill_id, since, max_pages = unfinished[0]
        return Backfill(backfill_id, source, since, max_pages, resumed=True)
    backfill_id = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    con.execute(
        "INSERT INTO backfills (backfill_id, source, since, max_pages, started_at) VALUES (?, ?, ?, ?, ?)",
        [backfill_id, source, since, max_pages, now],
    )
    return Backfill(backfill_id, source, since, max_pages, resumed=False)


def finish_backfill(con: duckdb.DuckDBPyConnection, backfill_id: str, now: datetime) -> None:
    con.execute("UPDATE backfills SET finished_at = ? WHERE backfill_id = ?", [now, backfill_id])


def list_urls(con: duckdb.DuckDBPyConnection, backfill_id: str, listed: Sequence[dict], now: datetime) -> int:
    """Add URLs (``url``, ``kind``, and optionally ``lastmod``, ``title``, ``language``,
    ``publication``) to the backfill's work list, after those already there; a URL listed already
    keeps its place. Returns how many were new."""
    if not listed:
        return 0
    table = pa.Table.from_pylist([{k: item.get(k) for k in LISTED_SCHEMA.names} for item in listed], LISTED_SCHEMA)
    table = table.append_column("ordinal", pa.array(range(1, len(listed) + 1), pa.int64()))
    with registered(con, _listed=table):
        added = con.execute(
            """
            INSERT INTO backfill_urls
                (backfill_id, url, kind, position, listed_at, lastmod, title, language, publication)
            SELECT $id, url, kind, (SELECT coalesce(max(position), 0) FROM backfill_urls WHERE backfill_id = $id)
                   + ordinal, $now, lastmod, title, language, publication
            FROM (SELECT *, row_number() OVER (PARTITION BY url ORDER BY ordinal) AS copy FROM _listed)
            WHERE copy = 1
            ON CONFLICT DO NOTHING RETURNING url
            """,
            {"id": backfill_id, "now": now},
        ).fetchall()
    return len(added)


def save_listing(
    con: duckdb.DuckDBPyConnection, backfill_id: str, log_row: dict, listed: Sequence[dict], now: datetime
) -> int:
    """A sitemap read: the URLs it lists and its fetch-log row (which marks it done), as one unit."""
    with transaction(con):
        added = list_urls(con, backfill_id, listed, now)
        save_fetch_log(con, [log_row])
    return added


def listed_count(con: duckdb.DuckDBPyConnection, backfill_id: str, kind: str) -> int:
    return con.execute(
        "SELECT count(*) FROM backfill_urls WHERE backfill_id = ? AND kind = ?", [backfill_id, kind]
    ).fetchall()[0][0]


def pending_urls(con: duckdb.DuckDBPyConnection, backfill_id: str, kind: str, limit: int | None = None) -> list[dict]:
    """The backfill's URLs of ``kind`` not done yet, in the order they were listed."""
    stored = "OR EXISTS (SELECT 1 FROM article_sources s WHERE s.url = b.url)" if kind == "page" else ""
    cur = con.execute(
        f"""
        SELECT url, lastmod, title, language, publication FROM backfill_urls b
        WHERE backfill_id = ? AND kind = ?
          AND NOT (EXISTS (SELECT 1 FROM fetch_log f WHERE f.url = b.url AND f.kind = b.kind
                                                      AND f.fetched_at >= b.listed_at) {stored})
        ORDER BY position
        {"LIMIT " + str(int(limit)) if limit is not None else ""}
        """,
        [backfill_id, kind],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def schedule_feeds(
    con: duckdb.DuckDBPyConnection, plans: dict[str, tuple[timedelta, str] | None], now: datetime
) -> None:
    """Each checked feed's next check (``next_due_at``): ``(interval, why)`` recorded as its plan, or
    None to keep its last plan (a 304 says nothing about its rate). A failing feed keeps its backoff
    (``warehouse.feeds.record_feed_check``)."""
    if not plans:
        return
    table = pa.table(
        {
            "feed_url": pa.array(list(plans), pa.string()),
            "minutes": pa.array([round(p[0].total_seconds() / 60) if p else None for p in plans.values()], pa.int32()),
            "reason": pa.array([p[1] if p else None for p in plans.values()], pa.string()),
        }
    )
    with registered(con, _plans=table):
        con.execute(
            """
            UPDATE feeds SET poll_minutes = coalesce(p.minutes, feeds.poll_minutes),
                poll_reason = coalesce(p.reason, feeds.poll_reason),
                next_due_at = CAST($now AS TIMESTAMP)
                    + to_minutes(CAST(coalesce(p.minutes, feeds.poll_minutes, $default) AS BIGINT))
            FROM _plans p
            WHERE feeds.feed_url = p.feed_url AND feeds.consecutive_failures = 0
            """,
            {"now": now, "default": round(DEFAULT_INTERVAL.total_seconds() / 60)},
        )
