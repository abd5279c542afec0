"""Counts of articles over time, per period counted back from an end: what trends are made of.

An article's time is its publication date, else when silkwatch first saw it (as for stories). A
period ``back`` is ``[end - (back + 1) * length, end - back * length)``: calendar days or ISO weeks
when ``end`` is a midnight or a Monday, the 24 hours or 7 days before a digest when ``end`` is its
time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb

# The subject's articles; no subject: every article.
SUBJECTS = {
    "topic": "SELECT article_id FROM article_topics WHERE topic = $key",
    "entity": "SELECT article_id FROM article_entities WHERE entity_id = $key",
    "story": "SELECT article_id FROM story_articles WHERE story_id = $key",
}

# An article is first seen no earlier than it was published (dates more than a day ahead are not
# trusted at ingest), so the redundant bound on first_seen_at holds, and lets zone maps skip the
# row groups of articles stored before the span: articles are appended in arrival order.
PERIODS_SQL = """
WITH dated AS (
    SELECT article_id, coalesce(published_at, first_seen_at) AS dated
    FROM articles
    WHERE first_seen_at >= $since - INTERVAL 1 DAY
      AND coalesce(published_at, first_seen_at) >= $since AND coalesce(published_at, first_seen_at) < $end
), periods AS (
    SELECT article_id, floor((epoch($end) - epoch(dated)) / $seconds)::INTEGER AS back FROM dated {subject}
)
"""


def observed_since(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the warehouse started watching: its first article's first sight. Periods before it were
    not observed (an article published then may be a late find), so they are no baseline."""
    return con.execute("SELECT min(first_seen_at) FROM articles").fetchone()[0]


def period_counts(
    con: duckdb.DuckDBPyConnection, kind: str | None, key: str | None, end: datetime, length: timedelta, periods: int
) -> dict[int, tuple[int, int]]:
    """Articles and distinct outlets (over every copy) per period ``back`` (0 ends at ``end``) of the
    subject (``kind``: topic, entity, story or None for all articles); periods without any are left out."""
    subject = f"WHERE article_id IN ({SUBJECTS[kind]})" if kind else ""
    sql = (
        PERIODS_SQL.format(subject=subject)
        + """
        SELECT p.back, count(DISTINCT p.article_id), count(DISTINCT s.source_name)
        FROM periods p LEFT JOIN article_sources s USING (article_id)
        GROUP BY p.back
    """
    )
    params = {"since": end - periods * length, "end": end, "seconds": length.total_seconds()}
    if kind:
        params["key"] = key
    return {back: (articles, outlets) for back, articles, outlets in con.execute(sql, params).fetchall()}


def subject_period_counts(
    con: duckdb.DuckDBPyConnection, end: datetime, length: timedelta, periods: int
) -> dict[tuple[str, str], dict[int, int]]:
    """Articles per period ``back`` of every topic and every entity: {(kind, key): {back: n}}."""
    sql = (
        PERIODS_SQL.format(subject="")
        + """
        SELECT 'topic' AS kind, t.topic AS key, p.back, count(DISTINCT p.article_id)
        FROM periods p JOIN article_topics t USING (article_id) GROUP BY ALL
        UNION ALL
        SELECT 'entity', e.entity_id, p.back, count(DISTINCT p.article_id)
        FROM periods p JOIN article_entities e USING (article_id) GROUP BY ALL
    """
    )
    rows = con.execute(sql, {"since": end - periods * length, "end": end, "seconds": length.total_seconds()})
    out: dict[tuple[str, str], dict[int, int]] = {}
    for kind, key, back, n in rows.fetchall():
        out.setdefault((kind, key), {})[back] = n
    return out
