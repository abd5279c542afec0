"""Feed state and health: which feeds exist, what they sent last, how they are doing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa

from silkwatch.warehouse.tx import keys_table, registered

BACKOFF_BASE = timedelta(minutes=15)
BACKOFF_CAP = timedelta(hours=24)
QUIET_AFTER = timedelta(days=7)


def backoff_delay(consecutive_failures: int) -> timedelta:
    """15 min, 30 min, 1 h, ... capped at 24 h: a failing feed is retried less often, never dropped."""
    if consecutive_failures <= 0:
        return timedelta(0)
    return min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (consecutive_failures - 1))


def sync_feeds(con: duckdb.DuckDBPyConnection, feeds: Sequence[dict], now: datetime) -> None:
    """Make ``feeds`` hold every configured feed (url, name, language), keeping existing health state."""
    if not feeds:
        return
    table = pa.Table.from_pylist(
        [{"feed_url": f["url"], "name": f.get("name"), "language": f.get("language")} for f in feeds]
    )
    with registered(con, _configured=table):
        con.execute(
            """
            INSERT INTO feeds (feed_url, name, language, added_at)
            SELECT feed_url, name, language, ? FROM _configured
            ON CONFLICT (feed_url) DO UPDATE SET name = excluded.name, language = excluded.language
            """,
            [now],
        )


def feed_states(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    cur = con.execute("SELECT * FROM feeds")
    names = [d[0] for d in cur.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def record_feed_check(
    con: duckdb.DuckDBPyConnection,
    feed_url: str,
    now: datetime,
    *,
    ok: bool,
    error: str | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    items: int | None = None,
    new_items: int = 0,
    title: str | None = None,
    bozo: str | None = None,
) -> None:
    """Update one feed's health after a check: success resets the failure count, failure backs off."""
    if ok:
        con.execute(
            """
            UPDATE feeds SET last_checked_at = $now, last_success_at = $now, last_error = NULL,
                consecutive_failures = 0, next_due_at = NULL,
                etag = coalesce($etag, etag), last_modified = coalesce($lm, last_modified),
                items_last_seen = coalesce($items, items_last_seen), title = coalesce($title, title),
                last_bozo = $bozo,
                last_new_item_at = CASE WHEN $new > 0 THEN $now ELSE last_new_item_at END
            WHERE feed_url = $url
            """,
            {"now": now, "etag": etag, "lm": last_modified, "items": items, "title": title, "bozo": bozo,
             "new": new_items, "url": feed_url},
        )  # fmt: skip
        return
    (failures,) = con.execute("SELECT consecutive_failures + 1 FROM feeds WHERE feed_url = ?", [feed_url]).fetchone()
    con.execute(
        """
        UPDATE feeds SET last_checked_at = ?, last_error = ?, consecutive_failures = ?, next_due_at = ?
        WHERE feed_url = ?
        """,
        [now, error, failures, now + backoff_delay(failures), feed_url],
    )


def known_source_urls(con: duckdb.DuckDBPyConnection, urls: Sequence[str]) -> set[str]:
    """Which of ``urls`` are already stored as article copies (never fetched again)."""
    if not urls:
        return set()
    with registered(con, _urls=keys_table(urls, "url")):
        return {r[0] for r in con.execute("SELECT url FROM article_sources JOIN _urls USING (url)").fetchall()}


def add_pending_entries(
    con: duckdb.DuckDBPyConnection, entries: Sequence[dict], now: datetime, run_id: str
) -> set[str]:
    """Keep feed entries (``entry_key``, ``feed_url``, ``link``, ``entry`` as JSON) until their copy
    is saved; return the keys added. An entry already pending keeps its row (and its backoff)."""
    if not entries:
        return set()
    columns = ("entry_key", "feed_url", "link", "entry")
    table = pa.table({**{k: pa.array([e[k] for e in entries], pa.string()) for k in columns},
                      "position": pa.array(range(1, len(entries) + 1), pa.int64())})  # fmt: skip
    with registered(con, _read=table):
        added = con.execute(
            "INSERT INTO pending_entries (entry_key, feed_url, link, entry, read_at, read_order, run_id) "
            "SELECT entry_key, feed_url, link, entry, ?, "
            "(SELECT coalesce(max(read_order), 0) FROM pending_entries) + position, ? "
            "FROM _read ON CONFLICT DO NOTHING RETURNING entry_key",
            [now, run_id],
        ).fetchall()
    return {r[0] for r in added}


def pending_entries(con: duckdb.DuckDBPyConnection, now: datetime) -> list[tuple[str, str]]:
    """(feed url, entry JSON) of the entries waiting for their page, whose backoff is over, oldest first."""
    return con.execute(
        "SELECT feed_url, entry FROM pending_entries WHERE retry_after IS NULL OR retry_after <= ? ORDER BY read_order",
        [now],
    ).fetchall()


def settle_pending_entries(
    con: duckdb.DuckDBPyConnection, done: Sequence[str], failed_again: dict[str, int], now: datetime
) -> None:
    """Entries whose copy is saved (or that failed for good) are done with: forgotten. Those whose page
    failed transiently (``failed_again``: key -> failures so far) wait before their next try, as feeds do."""
    if done:
        with registered(con, _done=keys_table(done, "entry_key")):
            con.execute("DELETE FROM pending_entries WHERE entry_key IN (SELECT entry_key FROM _done)")
    if failed_again:
        retry = pa.table(
            {"entry_key": list(failed_again), "retry_after": [now + backoff_delay(n) for n in failed_again.values()]}
        )
        with registered(con, _retry=retry):
            con.execute(
                "UPDATE pending_entries SET retry_after = r.retry_after FROM _retry r "
                "WHERE pending_entries.entry_key = r.entry_key"
            )


def page_failure_counts(con: duckdb.DuckDBPyConnection, urls: Sequence[str]) -> dict[str, int]:
    """How many times each page URL has failed to fetch before."""
    if not urls:
        return {}
    with registered(con, _urls=keys_table(urls, "url")):
        rows = con.execute(
            "SELECT url, count(*) FROM fetch_log JOIN _urls USING (url) "
            "WHERE kind = 'page' AND status = 'error' GROUP BY url"
        ).fetchall()
    return dict(rows)


def feed_health(con: duckdb.DuckDBPyConnection, now: datetime) -> list[dict]:
    """Feeds an analyst should hear about: failing ones, and ones with nothing new for a week."""
    cur = con.execute(
        """
        SELECT feed_url, name, consecutive_failures, last_error, last_success_at, last_new_item_at, next_due_at,
               CASE WHEN consecutive_failures > 0 THEN 'failing'
                    ELSE 'quiet' END AS state
        FROM feeds
        WHERE consecutive_failures > 0
           OR (last_success_at IS NOT NULL AND coalesce(last_new_item_at, added_at) < ?)
        ORDER BY state, consecutive_failures DESC, coalesce(name, feed_url)
        """,
        [now - QUIET_AFTER],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
