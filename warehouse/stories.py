"""Stories in the warehouse: the articles still to cluster, the stories near them, saving, listing.

``story_articles`` has one row per clustered article, so the articles without a story are found
with one anti-join and the clustering heals itself on the next load, like the search index.
A story's counts (articles, outlets over every copy, languages, topics, peak day) are recomputed
in SQL for the stories a batch touched, in the same transaction as the batch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa

from silkwatch.warehouse.tx import keys_table, registered, transaction

PENDING_SQL = """
SELECT a.article_id, coalesce(a.published_at, a.first_seen_at) AS "when", a.published_at IS NOT NULL AS dated,
       a.language, a.title, a.text,
       (SELECT list([e.entity_id, e.field]) FROM article_entities e WHERE e.article_id = a.article_id) AS mentions,
       (SELECT list(t.topic) FROM article_topics t WHERE t.article_id = a.article_id) AS topics
FROM articles a ANTI JOIN story_articles m USING (article_id)
ORDER BY "when", a.article_id
LIMIT $limit
"""


def pending_articles(con: duckdb.DuckDBPyConnection, limit: int) -> list[dict]:
    """Up to ``limit`` articles without a story, in clustering order (date, then id)."""
    cur = con.execute(PENDING_SQL, {"limit": limit})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def stories_near(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime, reach: timedelta) -> list[tuple]:
    """(story_id, first, last, profile) of stories an article dated in [start, end] could join."""
    rows = con.execute(
        "SELECT story_id, first_seen_at, last_seen_at, profile FROM stories "
        "WHERE last_seen_at >= ? AND first_seen_at <= ? ORDER BY story_id",
        [start - reach, end + reach],
    ).fetchall()
    return [(sid, first, last, json.loads(profile)) for sid, first, last, profile in rows]


STORY_SCHEMA = pa.schema(
    [
        ("story_id", pa.string()),
        ("label", pa.string()),
        ("label_article_id", pa.string()),
        ("first_seen_at", pa.timestamp("us")),
        ("last_seen_at", pa.timestamp("us")),
        ("profile", pa.string()),
        ("rules_version", pa.string()),
    ]
)

STATS_SQL = """
WITH m AS (
    SELECT sa.story_id, a.article_id, a.language, coalesce(a.published_at, a.first_seen_at) AS d
    FROM story_articles sa JOIN _changed USING (story_id) JOIN articles a USING (article_id)
), counts AS (
    SELECT story_id, count(*) AS n,
           list(DISTINCT language ORDER BY language) FILTER (WHERE language IS NOT NULL) AS langs
    FROM m GROUP BY story_id
), outlets AS (
    SELECT m.story_id,
           list(DISTINCT s.source_name ORDER BY s.source_name) FILTER (WHERE s.source_name IS NOT NULL) AS names
    FROM m JOIN article_sources s USING (article_id) GROUP BY m.story_id
), days AS (
    SELECT story_id, d::DATE AS day, count(*) AS c FROM m GROUP BY ALL
), peak AS (
    SELECT story_id, first(day ORDER BY c DESC, day) AS day FROM days GROUP BY story_id
), topic_n AS (
    SELECT m.story_id, t.topic, count(*) AS c FROM m JOIN article_topics t USING (article_id) GROUP BY ALL
), topics AS (
    SELECT story_id, list(topic ORDER BY c DESC, topic) AS names FROM topic_n GROUP BY story_id
)
SELECT c.story_id, c.n, coalesce(o.names, []) AS outlets, coalesce(c.langs, []) AS langs, p.day,
       coalesce(t.names, []) AS topics
FROM counts c LEFT JOIN outlets o USING (story_id) LEFT JOIN peak p USING (story_id) LEFT JOIN topics t USING (story_id)
"""


def save_stories(
    con: duckdb.DuckDBPyConnection,
    stories: Sequence[dict],
    members: Sequence[tuple[str, str]],
    now: datetime,
) -> None:
    """Upsert the stories a batch created or grew and add its (story_id, article_id) rows, then
    recompute those stories' counts: one transaction. ``stories``: story_id, label,
    label_article_id, first_seen_at, last_seen_at, profile (a dict), rules_version."""
    if not stories and not members:
        return
    table = pa.Table.from_pylist(
        [{**s, "profile": json.dumps(s["profile"], ensure_ascii=False, sort_keys=True)} for s in stories],
        schema=STORY_SCHEMA,
    )
    links = pa.table({"story_id": [m[0] for m in members], "article_id": [m[1] for m in members]})
    changed = keys_table(sorted({s["story_id"] for s in stories}), "story_id")
    with registered(con, _stories=table, _links=links, _changed=changed), transaction(con):
        con.execute(
            """
            INSERT INTO stories BY NAME
            SELECT *, 0 AS article_count, 0 AS outlet_count, 0 AS language_count, []::VARCHAR[] AS outlets,
                   []::VARCHAR[] AS languages, []::VARCHAR[] AS topics, $now AS created_at, $now AS updated_at
            FROM _stories
            ON CONFLICT (story_id) DO UPDATE SET
                label = excluded.label, label_article_id = excluded.label_article_id,
                first_seen_at = excluded.first_seen_at, last_seen_at = excluded.last_seen_at,
                profile = excluded.profile, rules_version = excluded.rules_version, updated_at = excluded.updated_at
            """,
            {"now": now},
        )
        con.execute(
            "INSERT INTO story_articles BY NAME SELECT story_id, article_id, $now AS added_at FROM _links",
            {"now": now},
        )
        con.execute(
            f"""
            UPDATE stories SET article_count = x.n, outlet_count = len(x.outlets), language_count = len(x.langs),
                   outlets = x.outlets, languages = x.langs, peak_day = x.day, topics = x.topics
            FROM ({STATS_SQL}) x WHERE stories.story_id = x.story_id
            """
        )


def clear_stories(con: duckdb.DuckDBPyConnection) -> None:
    with transaction(con):
        con.execute("DELETE FROM story_articles")
        con.execute("DELETE FROM stories")


LIST_SQL = """
SELECT story_id, label, label_article_id, article_count AS articles, outlet_count AS outlets,
       language_count AS languages_n, languages, first_seen_at, last_seen_at, peak_day, topics, outlets AS outlet_names
FROM stories
WHERE ($since IS NULL OR last_seen_at >= $since) AND article_count >= $min_articles
ORDER BY article_count DESC, outlet_count DESC, last_seen_at DESC, story_id
LIMIT $limit
"""


def list_stories(
    con: duckdb.DuckDBPyConnection, since: datetime | None = None, min_articles: int = 1, limit: int = 50
) -> list[dict]:
    """Stories dated on or after ``since``, the biggest first."""
    cur = con.execute(LIST_SQL, {"since": since, "min_articles": min_articles, "limit": limit})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def label_texts(con: duckdb.DuckDBPyConnection, article_ids: Sequence[str]) -> dict[str, tuple[str | None, str]]:
    """article id -> (language, text) of stories' label articles, by primary key (index lookups: the
    text of other articles is never read)."""
    if not article_ids:
        return {}
    keys = {f"a{i}": article_id for i, article_id in enumerate(dict.fromkeys(article_ids))}
    placeholders = ", ".join(f"${k}" for k in keys)
    rows = con.execute(f"SELECT article_id, language, text FROM articles WHERE article_id IN ({placeholders})", keys)
    return {article_id: (language, text) for article_id, language, text in rows.fetchall()}


DIGEST_STORIES_SQL = """
WITH period AS (SELECT article_id FROM _period),
touched AS (
    SELECT sa.story_id, count(*) AS new_articles, list(sa.article_id ORDER BY sa.article_id) AS new_ids
    FROM story_articles sa JOIN period USING (article_id) GROUP BY sa.story_id
)
SELECT s.story_id, s.label, s.article_count, s.outlet_count, s.language_count, s.languages, s.outlets,
       s.first_seen_at, s.last_seen_at, s.peak_day, s.topics, t.new_articles, t.new_ids
FROM touched t JOIN stories s USING (story_id)
ORDER BY t.new_articles DESC, s.article_count DESC, s.outlet_count DESC, s.story_id
"""


def digest_stories(con: duckdb.DuckDBPyConnection, article_ids: Sequence[str]) -> list[dict]:
    """The stories of a digest's articles, with how many of their articles are in it (new_articles,
    new_ids): only the period's story rows are read."""
    if not article_ids:
        return []
    with registered(con, _period=keys_table(article_ids, "article_id")):
        cur = con.execute(DIGEST_STORIES_SQL)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
