"""``save_*`` functions: bulk upserts on natural keys, through Arrow tables, one transaction each.

Natural keys: an article copy is identified by its URL (``article_sources.url``); an article by the
content hash of any of its copies; a topic row by (article_id, topic); a feed by its URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.compute

from warehouse.tx import keys_table, registered, transaction

REMOVED_TYPE = pa.list_(pa.struct([("line_no", pa.int32()), ("rule", pa.string()), ("text", pa.string())]))
MATCHES_TYPE = pa.list_(
    pa.struct([("phrase", pa.string()), ("field", pa.string()), ("start", pa.int32()), ("weight", pa.float64())])
)

ARTICLES_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("title", pa.string()),
        ("text", pa.string()),
        ("summary", pa.string()),
        ("source_name", pa.string()),
        ("url", pa.string()),
        ("published_at", pa.timestamp("us")),
        ("published_from", pa.string()),
        ("first_seen_at", pa.timestamp("us")),
        ("language", pa.string()),
        ("content_hash", pa.string()),
        ("word_count", pa.int32()),
        ("author", pa.string()),
        ("date_note", pa.string()),
        ("text_source_url", pa.string()),
        ("date_source_url", pa.string()),
    ]
)
SIGNATURES_SCHEMA = pa.schema(
    [("url", pa.string()), ("article_id", pa.string()), ("minhash", pa.list_(pa.uint32())), ("shingles", pa.int32())]
)
BANDS_SCHEMA = pa.schema([("band_key", pa.int64()), ("article_id", pa.string()), ("url", pa.string())])
MERGE_SCHEMA = pa.schema(  # what a batch's new copies bring to an article already stored
    [
        ("article_id", pa.string()),
        ("text", pa.string()),
        ("summary", pa.string()),
        ("word_count", pa.int32()),
        ("content_hash", pa.string()),
        ("text_source_url", pa.string()),
        ("published_at", pa.timestamp("us")),
        ("published_from", pa.string()),
        ("date_source_url", pa.string()),
    ]
)
SOURCES_SCHEMA = pa.schema(
    [
        ("url", pa.string()),
        ("article_id", pa.string()),
        ("feed_url", pa.string()),
        ("seen_at", pa.timestamp("us")),
        ("source_name", pa.string()),
        ("title", pa.string()),
        ("content_hash", pa.string()),
        ("removed_lines", REMOVED_TYPE),
        ("text_from", pa.string()),
        ("encoding", pa.string()),
        ("encoding_from", pa.string()),
        ("feed_published_at", pa.timestamp("us")),
        ("feed_date_found", pa.string()),
        ("page_published_at", pa.timestamp("us")),
        ("page_date_found", pa.string()),
        ("date_note", pa.string()),
    ]
)
TOPICS_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("topic", pa.string()),
        ("score", pa.float64()),
        ("evidence", pa.list_(pa.string())),
        ("matches", MATCHES_TYPE),
        ("rules_version", pa.string()),
        ("classified_at", pa.timestamp("us")),
    ]
)
ENTITIES_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("entity_id", pa.string()),
        ("mention", pa.string()),
        ("field", pa.string()),
        ("offset", pa.int32()),
    ]
)
FETCH_LOG_SCHEMA = pa.schema(
    [
        ("fetched_at", pa.timestamp("us")),
        ("run_id", pa.string()),
        ("url", pa.string()),
        ("kind", pa.string()),
        ("status", pa.string()),
        ("http_status", pa.int32()),
        ("bytes", pa.int64()),
        ("ms", pa.float64()),
        ("error", pa.string()),
    ]
)


@dataclass
class SaveResult:
    articles_new: int = 0
    sources_new: int = 0
    duplicates: int = 0  # new copies of an article already stored (or earlier in the batch)
    already_seen: int = 0  # copies whose URL was stored before: nothing to do
    article_ids: list[str] = field(default_factory=list)  # per input row, the article it belongs to


def rows_table(rows: Sequence[dict], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pydict({name: [row.get(name) for row in rows] for name in schema.names}, schema=schema)


def _insert(con: duckdb.DuckDBPyConnection, table: str, source: str, conflict: str = "") -> None:
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {source} {conflict}")


def _lookup(con, sql: str, keys: list[str]) -> dict[str, str]:
    if not keys:
        return {}
    with registered(con, _keys=keys_table(keys)):
        return dict(con.execute(sql).fetchall())


def _fullest(copies: list[dict]) -> dict:
    return max(copies, key=lambda r: (r["word_count"], -copies.index(r)))


def _earliest_dated(copies: list[dict]) -> dict | None:
    dated = [r for r in copies if r.get("published_at") is not None]
    return min(dated, key=lambda r: r["published_at"]) if dated else None


def save_copies(con: duckdb.DuckDBPyConnection, rows: Sequence[dict], seen_at: datetime) -> SaveResult:
    """Store article copies: every new copy in ``article_sources``, new articles, their topics, and
    the MinHash signature and LSH bands of each copy. All in one transaction.

    Each row holds a copy's columns plus ``candidate_article_id`` (its id if it starts a new article),
    ``removed_lines``, ``topics`` (shaped like article_topics rows), optionally ``minhash``,
    ``shingles`` and ``band_keys``, and ``near_article_id`` when the caller found it to be a near
    duplicate of an article. A copy's article is, in order: the one already holding its URL (nothing
    to do), the one holding a copy with the same content hash, its near duplicate, or a new one.
    An article keeps the fullest text and the earliest publication date of all its copies, and
    records which copy each came from (``text_source_url``, ``date_source_url``).
    """
    result = SaveResult()
    by_url = _lookup(con, "SELECT url, article_id FROM article_sources JOIN _keys ON url = k", [r["url"] for r in rows])
    by_hash = _lookup(
        con,
        "SELECT DISTINCT content_hash, article_id FROM article_sources JOIN _keys ON content_hash = k",
        list({r["content_hash"] for r in rows}),
    )
    groups: dict[str, list[dict]] = {}  # article id -> new copies of it in this batch
    new_ids: set[str] = set()
    for row in rows:
        if row["url"] in by_url:
            result.already_seen += 1
            result.article_ids.append(by_url[row["url"]])
            continue
        article_id = by_hash.get(row["content_hash"]) or row.get("near_article_id")
        if article_id is None:
            article_id = row["candidate_article_id"]
            new_ids.add(article_id)
        else:
            result.duplicates += 1
        by_hash.setdefault(row["content_hash"], article_id)
        by_url[row["url"]] = article_id
        groups.setdefault(article_id, []).append(row)
        result.article_ids.append(article_id)

    articles, topics, merges, merge_topics, sources, signatures = [], [], [], [], [], []
    entities, merge_entities = [], []
    for article_id, copies in groups.items():
        for row in copies:
            sources.append({**row, "article_id": article_id, "seen_at": seen_at})
            if row.get("minhash") is not None:
                signatures.append({**row, "article_id": article_id})
        fullest, dated = _fullest(copies), _earliest_dated(copies)
        best = {
            **{k: fullest[k] for k in ("text", "summary", "word_count", "content_hash")},
            "article_id": article_id,
            "text_source_url": fullest["url"],
            "published_at": dated["published_at"] if dated else None,
            "published_from": dated["published_from"] if dated else None,
            "date_source_url": dated["url"] if dated else None,
        }
        new_topics = [{**t, "article_id": article_id, "classified_at": seen_at} for t in fullest.get("topics", [])]
        new_entities = [{**e, "article_id": article_id} for e in fullest.get("entities", [])]
        if article_id in new_ids:
            articles.append({**copies[0], **best, "first_seen_at": seen_at})
            topics.extend(new_topics)
            entities.extend(new_entities)
        else:
            merges.append(best)
            merge_topics.extend(new_topics)
            merge_entities.extend(new_entities)
    result.articles_new, result.sources_new = len(articles), len(sources)

    with (
        registered(
            con,
            _new_articles=rows_table(articles, ARTICLES_SCHEMA),
            _new_sources=rows_table(sources, SOURCES_SCHEMA),
            _new_topics=rows_table(topics, TOPICS_SCHEMA),
            _new_signatures=rows_table(signatures, SIGNATURES_SCHEMA),
            _new_bands=_bands_table(signatures),
            _merge_topics=rows_table(merge_topics, TOPICS_SCHEMA),
            _new_entities=rows_table(entities, ENTITIES_SCHEMA),
            _merge_entities=rows_table(merge_entities, ENTITIES_SCHEMA),
            _merges=rows_table(merges, MERGE_SCHEMA),
        ),
        transaction(con),
    ):
        _insert(con, "articles", "_new_articles")
        _insert(con, "article_sources", "_new_sources", "ON CONFLICT (url) DO NOTHING")
        _insert(con, "article_topics", "_new_topics", "ON CONFLICT DO NOTHING")
        _insert(con, "copy_signatures", "_new_signatures", "ON CONFLICT (url) DO NOTHING")
        _insert(con, "lsh_bands", "_new_bands")
        _insert(con, "article_entities", "_new_entities")
        if merges:
            _merge_into_existing(con)
    return result


def _bands_table(signed: list[dict]) -> pa.Table:
    """One row per LSH band of each signed copy: ~30 per copy, so built by column, not as dicts."""
    columns = {"band_key": [], "article_id": [], "url": []}
    for row in signed:
        n = len(row["band_keys"])
        columns["band_key"].extend(row["band_keys"])
        columns["article_id"].extend([row["article_id"]] * n)
        columns["url"].extend([row["url"]] * n)
    return pa.Table.from_pydict(columns, schema=BANDS_SCHEMA)


FULLER = "SELECT m.article_id FROM _merges m JOIN articles a USING (article_id) WHERE a.word_count < m.word_count"


def _merge_into_existing(con: duckdb.DuckDBPyConnection) -> None:
    """Existing articles take a new copy's text if it is fuller (with the topics and entities
    computed from it), and its date if it is earlier: a few set-based statements per batch."""
    con.execute(f"DELETE FROM article_topics WHERE article_id IN ({FULLER})")
    con.execute(f"INSERT INTO article_topics BY NAME SELECT * FROM _merge_topics WHERE article_id IN ({FULLER})")
    con.execute(f"DELETE FROM article_entities WHERE article_id IN ({FULLER})")
    con.execute(f"INSERT INTO article_entities BY NAME SELECT * FROM _merge_entities WHERE article_id IN ({FULLER})")
    con.execute(
        """
        UPDATE articles SET text = m.text, summary = m.summary, word_count = m.word_count,
            content_hash = m.content_hash, text_source_url = m.text_source_url
        FROM _merges m WHERE articles.article_id = m.article_id AND articles.word_count < m.word_count
        """
    )
    con.execute(
        """
        UPDATE articles SET published_at = m.published_at, published_from = m.published_from,
            date_source_url = m.date_source_url
        FROM _merges m
        WHERE articles.article_id = m.article_id AND m.published_at IS NOT NULL
          AND (articles.published_at IS NULL OR articles.published_at > m.published_at)
        """
    )


def fetch_log_row(
    url: str, kind: str, status: str, *, fetched_at: datetime, run_id: str | None = None,
    http_status: int | None = None, nbytes: int | None = None, ms: float | None = None, error: str | None = None,
) -> dict:  # fmt: skip
    """One ``fetch_log`` row: a seed read, a feed or a page fetch. Every row is built here."""
    return {"fetched_at": fetched_at, "run_id": run_id, "url": url, "kind": kind, "status": status,
            "http_status": http_status, "bytes": nbytes, "ms": ms, "error": error}  # fmt: skip


def save_fetch_log(con: duckdb.DuckDBPyConnection, rows: Sequence[dict], run_id: str | None = None) -> None:
    """Append fetch attempts (``fetch_log_row``) to ``fetch_log``; ``run_id`` for rows that name none
    (a seed is read before its batch knows the run)."""
    if rows:
        table = rows_table(rows, FETCH_LOG_SCHEMA)
        if run_id is not None:
            filled = pa.compute.fill_null(table["run_id"], run_id)
            table = table.set_column(table.schema.get_field_index("run_id"), "run_id", filled)
        with registered(con, _new_log=table):
            _insert(con, "fetch_log", "_new_log")


def topic_rows(labels: Sequence, **columns) -> list[dict]:
    """``article_topics`` rows of classified labels (``parsers.model.TopicLabel``); ``columns`` adds
    what the caller knows already (``article_id``, ``classified_at``). Every topic row is built here."""
    return [
        {"topic": label.topic, "score": label.score, "evidence": label.evidence,
         "matches": [asdict(m) for m in label.matches], "rules_version": label.rules_version, **columns}
        for label in labels
    ]  # fmt: skip


def replace_labels(con: duckdb.DuckDBPyConnection, article_ids: Sequence[str], topics: Sequence[dict],
                   entities: Sequence[dict]) -> None:  # fmt: skip
    """Replace the topics and entities of ``article_ids`` with these rows, in one transaction."""
    tables = {"_ids": keys_table(list(article_ids), "article_id"), "_topics": rows_table(topics, TOPICS_SCHEMA),
              "_entities": rows_table(entities, ENTITIES_SCHEMA)}  # fmt: skip
    with registered(con, **tables), transaction(con):
        con.execute("DELETE FROM article_topics WHERE article_id IN (SELECT article_id FROM _ids)")
        con.execute("INSERT INTO article_topics BY NAME SELECT * FROM _topics")
        con.execute("DELETE FROM article_entities WHERE article_id IN (SELECT article_id FROM _ids)")
        con.execute("INSERT INTO article_entities BY NAME SELECT * FROM _entities")


def start_run(con: duckdb.DuckDBPyConnection, run_id: str, started_at: datetime) -> None:
    """Record a run starting; first mark runs that never finished as interrupted (the caller holds
    the writer lock, so no other run is in progress: those were killed or crashed)."""
    mark_interrupted_runs(con, started_at)
    con.execute("INSERT INTO runs (run_id, started_at, status) VALUES (?, ?, 'running')", [run_id, started_at])


def mark_interrupted_runs(con: duckdb.DuckDBPyConnection, now: datetime) -> list[str]:
    """Runs left 'running' (killed, or crashed) become 'interrupted'. What they had read and not
    saved is still in ``pending_entries``, for this run to finish."""
    return [r[0] for r in con.execute(
        "UPDATE runs SET status = 'interrupted', finished_at = ?, error = 'stopped before finishing "
        "(killed or crashed); every batch it saved is kept, the next run did the rest' "
        "WHERE status = 'running' RETURNING run_id", [now]).fetchall()]  # fmt: skip


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, finished_at: datetime, **counts) -> None:
    """Record a run's outcome; ``counts`` are columns of ``runs`` (status, articles_new, ...)."""
    columns = ", ".join(f"{name} = ?" for name in counts)
    con.execute(
        f"UPDATE runs SET finished_at = ?, {columns} WHERE run_id = ?",
        [finished_at, *counts.values(), run_id],
    )


def save_digest(con: duckdb.DuckDBPyConnection, digest: dict) -> bool:
    """Record a digest built: one row per digest file. Rebuilding it with the same articles changes
    nothing; with other articles, the row is replaced. Returns whether anything changed."""
    existing = con.execute("SELECT article_ids FROM digests WHERE digest_id = ?", [digest["digest_id"]]).fetchone()
    if existing is not None and list(existing[0]) == list(digest["article_ids"]):
        return False
    con.execute("DELETE FROM digests WHERE digest_id = ?", [digest["digest_id"]])
    con.execute(
        "INSERT INTO digests (digest_id, kind, period_start, period_end, created_at, path, article_ids, status) "
        "VALUES ($digest_id, $kind, $period_start, $period_end, $created_at, $path, $article_ids, $status)",
        digest,
    )
    return True


def record_send(
    con: duckdb.DuckDBPyConnection, digest_id: str, *, sent_at: datetime | None, message_id: str | None,
    error: str | None,
) -> None:  # fmt: skip
    """Record an email attempt for a digest: sent (with its Message-ID) or send_failed (with the error)."""
    status = "sent" if error is None else "send_failed"
    con.execute(
        "UPDATE digests SET status = ?, sent_at = coalesce(?, sent_at), message_id = coalesce(?, message_id), "
        "error = ? WHERE digest_id = ?",
        [status, sent_at, message_id, error, digest_id],
    )
