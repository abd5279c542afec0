"""Named queries: what digests and the CLI read from the warehouse."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pyarrow as pa

from silkwatch.warehouse.tx import registered

# Period first: the articles of the period, then only their topics and copies (aggregating every
# article's topics and copies before filtering cost seconds at a million articles). Rows are
# appended in arrival order, so zone maps on the time columns skip all but the last row groups;
# the redundant time bounds on topics and copies let them do so too: an article's copies are
# seen, and its topics classified, no earlier than the article was first seen.
DIGEST_ARTICLES = """
WITH fresh AS (
    SELECT article_id, title, url, source_name, published_at, first_seen_at, summary, language,
           CASE WHEN language <> 'en' THEN text END AS text  -- for the English line of the others
    FROM articles
    WHERE ($since IS NULL OR first_seen_at >= $since) AND first_seen_at <= $until
      AND article_id NOT IN (SELECT unnest($exclude::VARCHAR[]))
), topics AS (
    SELECT article_id,
           list({'topic': topic, 'score': score, 'evidence': evidence} ORDER BY score DESC) AS topics
    FROM article_topics
    WHERE ($since IS NULL OR classified_at >= $since) AND article_id IN (SELECT article_id FROM fresh)
    GROUP BY article_id
), copies AS (
    SELECT article_id, count(*) AS copies,
           list(DISTINCT source_name) FILTER (WHERE source_name IS NOT NULL) AS outlets,
           list({'url': url, 'source_name': source_name} ORDER BY seen_at, url) AS sources
    FROM article_sources
    WHERE ($since IS NULL OR seen_at >= $since) AND article_id IN (SELECT article_id FROM fresh)
    GROUP BY article_id
)
SELECT a.article_id, a.title, a.url, a.source_name, a.published_at, a.first_seen_at, a.summary,
       a.language, a.text, coalesce(t.topics, []) AS topics, c.copies, coalesce(c.outlets, []) AS outlets,
       c.sources
FROM fresh a
LEFT JOIN topics t USING (article_id)
LEFT JOIN copies c USING (article_id)
ORDER BY c.copies DESC, coalesce(a.published_at, a.first_seen_at) DESC, a.article_id
"""


def _records(cur: duckdb.DuckDBPyConnection) -> list[dict]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def digest_articles(
    con: duckdb.DuckDBPyConnection, since: datetime | None, until: datetime, exclude: list[str] | None = None
) -> list[dict]:
    """Articles first seen in [since, until] and not in ``exclude``, most widely carried first."""
    return _records(con.execute(DIGEST_ARTICLES, {"since": since, "until": until, "exclude": exclude or []}))


def topic_counts(con: duckdb.DuckDBPyConnection, since: datetime | None, until: datetime) -> dict[str | None, int]:
    """Articles first seen in [since, until) per topic; ``None`` counts articles with no topic."""
    rows = con.execute(
        """
        SELECT t.topic, count(DISTINCT a.article_id)
        FROM articles a
        LEFT JOIN (SELECT article_id, topic FROM article_topics WHERE $since IS NULL OR classified_at >= $since) t
             USING (article_id)  -- classified no earlier than first seen: the bound skips older row groups
        WHERE ($since IS NULL OR a.first_seen_at >= $since) AND a.first_seen_at < $until
        GROUP BY t.topic
        """,
        {"since": since, "until": until},
    ).fetchall()
    return dict(rows)


def daily_topic_counts(con: duckdb.DuckDBPyConnection, since: datetime | None, until: datetime) -> list[tuple]:
    """(day, topic, articles) by first-seen day in [since, until] (``since`` None: from the first article),
    for the digest's chart and for trends over the whole archive."""
    return con.execute(
        """
        SELECT a.first_seen_at::DATE AS day, t.topic, count(*) AS n
        FROM articles a JOIN article_topics t USING (article_id)
        WHERE ($since IS NULL OR a.first_seen_at >= $since) AND a.first_seen_at <= $until
          AND ($since IS NULL OR t.classified_at >= $since)  -- redundant, as in topic_counts: skips row groups
        GROUP BY ALL ORDER BY ALL
        """,
        {"since": since, "until": until},
    ).fetchall()


def digest_record(con: duckdb.DuckDBPyConnection, digest_id: str) -> dict | None:
    rows = _records(con.execute("SELECT * FROM digests WHERE digest_id = ?", [digest_id]))
    return rows[0] if rows else None


def previous_digest(con: duckdb.DuckDBPyConnection, kind: str, before_id: str) -> dict | None:
    """The most recent other digest of this kind (its articles are not repeated)."""
    # Its key first, then the row by key: ordering whole rows would read every digest's article list.
    found = con.execute(
        "SELECT digest_id FROM digests WHERE kind = ? AND digest_id <> ? ORDER BY period_end DESC LIMIT 1",
        [kind, before_id],
    ).fetchone()
    return digest_record(con, found[0]) if found else None


def digests_to_send(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Digests whose email failed: retried on the next run."""
    return _records(con.execute("SELECT * FROM digests WHERE status = 'send_failed' ORDER BY created_at"))


def topic_labels(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    """Every (article_id, topic) stored."""
    return set(con.execute("SELECT article_id, topic FROM article_topics").fetchall())


def article_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every article's id, in order."""
    return [r[0] for r in con.execute("SELECT article_id FROM articles ORDER BY article_id").fetchall()]


def lsh_candidates(con: duckdb.DuckDBPyConnection, probes: list[tuple[int, int]]) -> dict[int, set[str]]:
    """For (probe number, band key) pairs: the articles sharing a band with each probe."""
    if not probes:
        return {}
    table = pa.table({"probe": [p for p, _ in probes], "band_key": pa.array([k for _, k in probes], pa.int64())})
    with registered(con, _probes=table):
        rows = con.execute(
            "SELECT DISTINCT p.probe, b.article_id FROM _probes p JOIN lsh_bands b USING (band_key)"
        ).fetchall()
    found: dict[int, set[str]] = {}
    for probe, article_id in rows:
        found.setdefault(probe, set()).add(article_id)
    return found
