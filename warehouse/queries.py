"""Named queries: what digests and the CLI read from the warehouse."""

from __future__ import annotations

from datetime import datetime

import duckdb

DIGEST_ARTICLES = """
WITH topics AS (
    SELECT article_id,
           list({'topic': topic, 'score': score, 'evidence': evidence} ORDER BY score DESC) AS topics
    FROM article_topics GROUP BY article_id
), copies AS (
    SELECT article_id, count(*) AS copies,
           list(DISTINCT source_name) FILTER (WHERE source_name IS NOT NULL) AS outlets
    FROM article_sources GROUP BY article_id
)
SELECT a.article_id, a.title, a.url, a.source_name, a.published_at, a.first_seen_at, a.summary,
       a.language, coalesce(t.topics, []) AS topics, c.copies, coalesce(c.outlets, []) AS outlets
FROM articles a
LEFT JOIN topics t USING (article_id)
LEFT JOIN copies c USING (article_id)
WHERE ($since IS NULL OR a.first_seen_at >= $since) AND a.first_seen_at <= $until
ORDER BY c.copies DESC, coalesce(a.published_at, a.first_seen_at) DESC, a.article_id
"""


def digest_articles(con: duckdb.DuckDBPyConnection, since: datetime | None, until: datetime) -> list[dict]:
    """Articles first seen in [since, until], most widely carried first, with topics and outlets."""
    cur = con.execute(DIGEST_ARTICLES, {"since": since, "until": until})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    tables = ("articles", "article_sources", "article_topics", "feeds", "fetch_log", "runs", "digests")
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
