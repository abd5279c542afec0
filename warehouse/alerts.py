"""Watches and alerts in the warehouse: matching articles, the hits and alerts recorded, the outbox.

Every alert is stored, with the exact text to send, in the same transaction as the hits or the
breaking story it is about and the mark that those articles were checked (``alert_checked``):
whatever happens after, it is sent by this run or a later one. Its status then goes ``pending`` ->
``sending`` (committed before the message leaves) -> ``sent`` or ``failed`` (retried next run).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import duckdb
import pyarrow as pa

from silkwatch.parsers.tokenize import term_hashes
from silkwatch.warehouse.search import PHRASES_MATCH
from silkwatch.warehouse.tx import keys_table, registered, transaction

ARTICLE_COLUMNS = """
    a.article_id, a.title, a.text, a.url, a.source_name, a.language, a.published_at, a.first_seen_at,
    (SELECT list(DISTINCT s.source_name ORDER BY s.source_name) FILTER (WHERE s.source_name IS NOT NULL)
     FROM article_sources s WHERE s.article_id = a.article_id) AS outlets,
    (SELECT list({'topic': t.topic, 'score': t.score, 'evidence': t.evidence} ORDER BY t.score DESC)
     FROM article_topics t WHERE t.article_id = a.article_id) AS topics,
    (SELECT list(DISTINCT [e.entity_id, e.mention]) FROM article_entities e WHERE e.article_id = a.article_id)
     AS mentions
"""


def _records(cur: duckdb.DuckDBPyConnection) -> list[dict]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def unchecked_articles(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Articles not yet checked against the watches: those stored since the last check (a run
    killed before its check leaves its articles here for the next run)."""
    rows = con.execute("SELECT article_id FROM articles ANTI JOIN alert_checked USING (article_id) ORDER BY 1")
    return [r[0] for r in rows.fetchall()]


def match_articles(
    con: duckdb.DuckDBPyConnection,
    *,
    entities: Sequence[str] = (),
    terms: Sequence[str] = (),
    phrases: Sequence[str] = (),
    topics: Sequence[str] = (),
    any_entities: Sequence[str] = (),
    languages: Sequence[str] = (),
    sources: Sequence[str] = (),
    among: Sequence[str] | None = None,
) -> list[dict]:
    """Articles that mention every entity of ``entities``, have every index term of ``terms`` and
    every phrase of ``phrases``, and pass the filters (one of ``topics``, one of ``any_entities``, a
    language of ``languages``, an outlet whose name contains one of ``sources``); only those of
    ``among`` when given, else the whole archive. Newest first, with outlets, topics and mentions."""
    where: list[str] = []
    params: dict[str, object] = {}
    if among is not None:
        where.append("a.article_id IN (SELECT article_id FROM _among)")
    for i, entity in enumerate(entities):  # one semi-join each: the index on entity_id finds them
        where.append(f"a.article_id IN (SELECT article_id FROM article_entities WHERE entity_id = $e{i})")
        params[f"e{i}"] = entity
    if terms:  # a constant list: zone maps skip the row groups of other terms, as in search
        names = ", ".join(f"$t{i}::BIGINT" for i in range(len(terms)))
        where.append(f"a.article_id IN (SELECT article_id FROM search_docs WHERE doc IN (SELECT doc FROM "
                     f"search_postings WHERE term_hash IN ({names}) GROUP BY doc "
                     f"HAVING count(DISTINCT term_hash) = {len(terms)}))")  # fmt: skip
        params.update({f"t{i}": key for i, key in enumerate(term_hashes(terms).tolist())})
    if phrases:
        where.append(PHRASES_MATCH)
        params["phrases"] = list(phrases)
    if topics:
        where.append("a.article_id IN (SELECT article_id FROM article_topics WHERE list_contains($topics, topic))")
        params["topics"] = list(topics)
    if any_entities:
        where.append("a.article_id IN (SELECT article_id FROM article_entities WHERE list_contains($any, entity_id))")
        params["any"] = list(any_entities)
    if languages:
        where.append("list_contains($languages, a.language)")
        params["languages"] = list(languages)
    if sources:
        where.append("a.article_id IN (SELECT article_id FROM article_sources WHERE "
                     "list_bool_or([source_name ILIKE '%' || s || '%' FOR s IN $sources]))")  # fmt: skip
        params["sources"] = list(sources)
    sql = (f"SELECT {ARTICLE_COLUMNS} FROM articles a WHERE {' AND '.join(where) or 'true'} "
           "ORDER BY coalesce(a.published_at, a.first_seen_at) DESC, a.article_id")  # fmt: skip
    with registered(con, _among=keys_table(among or [], "article_id")):
        return _records(con.execute(sql, params))


BREAKING_SQL = """
WITH recent AS (
    SELECT sa.story_id, a.article_id, a.language
    FROM stories s JOIN story_articles sa USING (story_id) JOIN articles a USING (article_id)
    WHERE s.last_seen_at >= $since AND coalesce(a.published_at, a.first_seen_at) >= $since
      AND s.story_id NOT IN (SELECT story_id FROM breaking_stories)
), counted AS (
    SELECT r.story_id, count(DISTINCT r.article_id) AS articles,
           list(DISTINCT r.language ORDER BY r.language) FILTER (WHERE r.language IS NOT NULL) AS language_names,
           list(DISTINCT c.source_name ORDER BY c.source_name) FILTER (WHERE c.source_name IS NOT NULL) AS outlet_names,
           list(DISTINCT r.article_id) AS article_ids
    FROM recent r JOIN article_sources c USING (article_id)
    GROUP BY r.story_id
)
SELECT k.story_id, s.label, k.articles, len(coalesce(k.outlet_names, [])) AS outlets,
       len(coalesce(k.language_names, [])) AS languages, coalesce(k.outlet_names, []) AS outlet_names,
       coalesce(k.language_names, []) AS language_names, k.article_ids
FROM counted k JOIN stories s USING (story_id)
WHERE len(coalesce(k.outlet_names, [])) >= $outlets OR len(coalesce(k.language_names, [])) >= $languages
ORDER BY s.story_id
"""


def breaking_candidates(con: duckdb.DuckDBPyConnection, since: datetime, outlets: int, languages: int) -> list[dict]:
    """Stories not yet flagged whose articles dated since ``since`` come from at least ``outlets``
    outlets (over every copy) or ``languages`` languages."""
    return _records(con.execute(BREAKING_SQL, {"since": since, "outlets": outlets, "languages": languages}))


def articles_by_id(con: duckdb.DuckDBPyConnection, ids: Sequence[str]) -> list[dict]:
    """These articles with their outlets, topics and mentions, newest first."""
    return match_articles(con, among=list(ids)) if ids else []


HITS_SCHEMA = pa.schema([("watch", pa.string()), ("article_id", pa.string()), ("matched_at", pa.timestamp("us")),
                         ("run_id", pa.string()), ("why", pa.string())])  # fmt: skip
BREAKING_SCHEMA = pa.schema([("story_id", pa.string()), ("reached_at", pa.timestamp("us")), ("run_id", pa.string()),
                             ("articles", pa.int32()), ("outlets", pa.int32()), ("languages", pa.int32())])  # fmt: skip
ALERTS_SCHEMA = pa.schema([
    ("alert_id", pa.string()), ("kind", pa.string()), ("subject", pa.string()), ("target", pa.string()),
    ("article_ids", pa.list_(pa.string())), ("title", pa.string()), ("body", pa.string()),
    ("created_at", pa.timestamp("us")), ("run_id", pa.string()), ("status", pa.string()), ("attempts", pa.int32()),
])  # fmt: skip


def save_findings(
    con: duckdb.DuckDBPyConnection, checked: Sequence[str], hits: Sequence[dict], breaking: Sequence[dict],
    alerts: Sequence[dict], now: datetime,
) -> None:  # fmt: skip
    """One transaction: the articles checked, the watch hits, the stories that broke, and the alerts
    to send about them (``pending``). A hit or story already recorded is not recorded again."""

    def table(rows: Sequence[dict], schema: pa.Schema) -> pa.Table:
        return pa.Table.from_pylist([{k: r.get(k) for k in schema.names} for r in rows], schema=schema)

    with (
        registered(con, _checked=keys_table(checked, "article_id"), _hits=table(hits, HITS_SCHEMA),
                   _breaking=table(breaking, BREAKING_SCHEMA), _alerts=table(alerts, ALERTS_SCHEMA)),
        transaction(con),
    ):  # fmt: skip
        con.execute("INSERT INTO watch_hits BY NAME SELECT * FROM _hits ON CONFLICT DO NOTHING")
        con.execute("INSERT INTO breaking_stories BY NAME SELECT * FROM _breaking ON CONFLICT DO NOTHING")
        con.execute("INSERT INTO alerts BY NAME SELECT * FROM _alerts ON CONFLICT DO NOTHING")
        con.execute(
            "INSERT INTO alert_checked SELECT article_id, $now FROM _checked ON CONFLICT DO NOTHING", {"now": now}
        )


def alerts_to_send(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Alerts not sent yet, oldest first: new ones, failed ones (retried), and any a killed run left
    ``sending`` (it may or may not have gone out: sent again, saying so)."""
    return _records(con.execute(
        "SELECT * FROM alerts WHERE status IN ('pending', 'failed', 'sending') ORDER BY created_at, alert_id"
    ))  # fmt: skip


def mark_sending(con: duckdb.DuckDBPyConnection, alert_id: str, now: datetime) -> None:
    con.execute(
        "UPDATE alerts SET status = 'sending', attempts = attempts + 1, last_attempt_at = ? WHERE alert_id = ?",
        [now, alert_id],
    )


def record_delivery(
    con: duckdb.DuckDBPyConnection, alert_id: str, *, sent_at: datetime | None, error: str | None
) -> None:
    """An alert's outcome: sent (at ``sent_at``), or failed with its error (retried on the next run)."""
    con.execute(
        "UPDATE alerts SET status = ?, sent_at = ?, error = ? WHERE alert_id = ?",
        ["sent" if error is None else "failed", sent_at, error, alert_id],
    )


def hit_counts(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, datetime]]:
    """Per watch: its hits and the time of the last."""
    rows = con.execute("SELECT watch, count(*), max(matched_at) FROM watch_hits GROUP BY watch").fetchall()
    return {watch: (n, last) for watch, n, last in rows}


def breaking_count(con: duckdb.DuckDBPyConnection) -> tuple[int, datetime | None]:
    """Stories flagged as breaking, and when the last was."""
    return con.execute("SELECT count(*), max(reached_at) FROM breaking_stories").fetchone()


def delivery_stats(con: duckdb.DuckDBPyConnection, kind: str) -> dict[tuple[str, str], dict]:
    """Per (watch name, or "breaking"; target): the last alert's status and error, when one was last
    sent, and how many are not sent yet."""
    subject = "subject" if kind == "watch" else "'breaking'"
    rows = _records(con.execute(
        f"""
        SELECT {subject} AS subject, target, arg_max(status, coalesce(last_attempt_at, created_at)) AS status,
               arg_max(error, coalesce(last_attempt_at, created_at)) AS error, max(sent_at) AS last_sent,
               count(*) FILTER (WHERE status <> 'sent') AS unsent
        FROM alerts WHERE kind = $kind GROUP BY ALL
        """,
        {"kind": kind},
    ))  # fmt: skip
    return {(r["subject"], r["target"]): r for r in rows}
