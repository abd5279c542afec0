"""``save_*`` functions: bulk upserts on natural keys, through Arrow tables, one transaction each.

Natural keys: an article copy is identified by its URL (``article_sources.url``); an article by the
content hash of any of its copies; a topic row by (article_id, topic); a feed by its URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute

from silkwatch.warehouse.search import index_winners
from silkwatch.warehouse.tx import keys_table, registered, transaction

REMOVED_TYPE = pa.list_(pa.struct([("line_no", pa.int32()), ("rule", pa.string()), ("text", pa.string())]))
MATCHES_TYPE = pa.list_(
    pa.struct([("phrase", pa.string()), ("field", pa.string()), ("start", pa.int32()), ("weight", pa.float64())])
)

TOPIC_TYPE = pa.struct(
    [
        ("topic", pa.string()),
        ("score", pa.float64()),
        ("evidence", pa.list_(pa.string())),
        ("matches", MATCHES_TYPE),
        ("rules_version", pa.string()),
    ]
)
ENTITY_TYPE = pa.struct(
    [("entity_id", pa.string()), ("mention", pa.string()), ("field", pa.string()), ("offset", pa.int32())]
)
TOPICS_SCHEMA = pa.schema(  # article_topics rows (``flows.reclassify``)
    [("article_id", pa.string()), *((f.name, f.type) for f in TOPIC_TYPE), ("classified_at", pa.timestamp("us"))]
)
ENTITIES_SCHEMA = pa.schema([("article_id", pa.string()), *((f.name, f.type) for f in ENTITY_TYPE)])
# One row per article copy of a batch: every column the load needs (``parsers.rows.copy_to_row``),
# numbered in batch order (``i``): the load decides everything from this table, in SQL.
BATCH_SCHEMA = pa.schema(
    [
        ("url", pa.string()),
        ("feed_url", pa.string()),
        ("title", pa.string()),
        ("text", pa.string()),
        ("summary", pa.string()),
        ("source_name", pa.string()),
        ("published_at", pa.timestamp("us")),
        ("published_from", pa.string()),
        ("language", pa.string()),
        ("content_hash", pa.string()),
        ("word_count", pa.int32()),
        ("candidate_article_id", pa.string()),
        ("near_article_id", pa.string()),
        ("author", pa.string()),
        ("date_note", pa.string()),
        ("text_from", pa.string()),
        ("encoding", pa.string()),
        ("encoding_from", pa.string()),
        ("feed_published_at", pa.timestamp("us")),
        ("feed_date_found", pa.string()),
        ("page_published_at", pa.timestamp("us")),
        ("page_date_found", pa.string()),
        ("removed_lines", REMOVED_TYPE),
        ("minhash", pa.list_(pa.uint32())),
        ("shingles", pa.int32()),
        ("band_keys", pa.list_(pa.int64())),
        ("search_hashes", pa.list_(pa.int64())),
        ("search_tfs", pa.list_(pa.uint16())),
        ("topics", pa.list_(TOPIC_TYPE)),
        ("entities", pa.list_(ENTITY_TYPE)),
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
    """Rows as a table of this schema, a column at a time (array columns may hold numpy arrays)."""
    return pa.Table.from_pydict({name: [row.get(name) for row in rows] for name in schema.names}, schema=schema)


# the columns a row holds as packed numbers (``parsers.rows``), and their numpy types
PACKED = {"minhash": np.uint32, "band_keys": np.int64, "search_hashes": np.int64, "search_tfs": np.uint16}


def packed_list(values: pa.ChunkedArray, dtype: type, type_: pa.DataType) -> pa.Array:
    """A list column of packed number arrays from their binary column (null: null), made from its
    buffers: no Python per value."""
    values = values.cast(pa.large_binary()).combine_chunks()  # one array, its offsets 64-bit whatever its size
    size = np.dtype(dtype).itemsize
    _, bounds_buffer, data = values.buffers()
    bounds = np.frombuffer(bounds_buffer, np.int64)[values.offset : values.offset + len(values) + 1]
    offsets = ((bounds - bounds[0]) // size).astype(np.int32)
    flat = np.frombuffer(data, np.uint8)[bounds[0] : bounds[-1]].view(dtype) if data is not None else np.empty(0, dtype)
    mask = values.is_null() if values.null_count else None
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat, type_.value_type), mask=mask, type=type_)


# the batch's columns as Arrow reads them from the row dicts, in one pass (packed ones as bytes)
_ROWS_SCHEMA = pa.schema([(f.name, pa.binary()) if f.name in PACKED else f for f in BATCH_SCHEMA])


def batch_table(rows: Sequence[dict]) -> pa.Table:
    """A batch of copy rows (``parsers.rows.copy_to_row``) as the load's table, numbered ``i`` in
    batch order."""
    read = pa.Table.from_pylist(rows, schema=_ROWS_SCHEMA)  # one pass over the rows, not one per column
    columns = [
        packed_list(read[f.name], PACKED[f.name], f.type) if f.name in PACKED else read[f.name] for f in BATCH_SCHEMA
    ]
    table = pa.Table.from_arrays(columns, schema=BATCH_SCHEMA)
    return table.append_column("i", pa.array(range(len(rows)), pa.int32()))


def _insert(con: duckdb.DuckDBPyConnection, table: str, source: str, conflict: str = "") -> None:
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {source} {conflict}")


# Which article each copy of the batch belongs to, in order: the one already holding its URL (the
# copy was seen: nothing to do; a URL twice in the batch counts from its first row), the one
# holding a copy with the same content hash (stored, or the first row of the batch with it), its
# near duplicate (``near_article_id``), or a new one (``candidate_article_id``). A fresh copy's URL
# is new (not stored, first in the batch): its source and signature rows are plain inserts.
PLACE_SQL = """
CREATE OR REPLACE TEMP TABLE _placed AS
WITH by_url AS (
    SELECT b.i, b.url, b.content_hash, b.near_article_id, b.candidate_article_id, s.article_id AS url_article,
           row_number() OVER (PARTITION BY b.url ORDER BY b.i) AS url_n
    FROM _batch b LEFT JOIN article_sources s USING (url)
), stored_hash AS (
    SELECT content_hash, min(article_id) AS hash_article FROM article_sources
    WHERE content_hash IN (SELECT content_hash FROM _batch) GROUP BY content_hash
), fresh AS (
    SELECT u.i, u.url,
           first_value(coalesce(h.hash_article, u.near_article_id, u.candidate_article_id))
               OVER (PARTITION BY u.content_hash ORDER BY u.i) AS article_id
    FROM by_url u LEFT JOIN stored_hash h USING (content_hash)
    WHERE u.url_article IS NULL AND u.url_n = 1
)
SELECT i, article_id, TRUE AS fresh FROM fresh
UNION ALL
SELECT u.i, coalesce(u.url_article, f.article_id), FALSE
FROM by_url u LEFT JOIN fresh f USING (url)
WHERE u.url_article IS NOT NULL OR u.url_n > 1
"""

# The merge rules, in this one place. Each article a batch touches has versions: the stored one
# (rank 0) and each new copy (rank i + 1). Its text is the fullest version's (most words; the
# stored one, then the earliest copy, on a tie), with that version's topics and entities; its date
# the earliest trusted date of any version (the stored one, then the earliest copy, on a tie; a
# copy without a date never replaces one). Each keeps the URL of the copy it came from.
WINNERS_SQL = """
CREATE OR REPLACE TEMP TABLE _winners AS
WITH versions AS (
    SELECT a.article_id, 0 AS rank, a.title, a.word_count, a.published_at
    FROM articles a WHERE a.article_id IN (SELECT article_id FROM _placed WHERE fresh)
    UNION ALL
    SELECT p.article_id, p.i + 1, b.title, b.word_count, b.published_at
    FROM _placed p JOIN _batch b USING (i) WHERE p.fresh
)
SELECT article_id,
       bool_or(rank = 0) AS stored,
       first(title ORDER BY rank) AS title,
       min(rank) FILTER (WHERE rank > 0) - 1 AS first_i,
       first(rank ORDER BY word_count DESC, rank) - 1 AS text_i,
       first(rank ORDER BY published_at ASC NULLS LAST, rank) - 1 AS date_i
FROM versions GROUP BY article_id
"""
# title: the article's (the stored one, else its first copy's); text_i / date_i: the batch row whose
# text / date the article takes, or -1 when it keeps its own

SAVE_SQL = [
    """
    INSERT INTO articles BY NAME
    SELECT w.article_id, f.title, f.source_name, f.url, f.language, f.author, f.date_note,
           t.text, t.summary, t.word_count, t.content_hash, t.url AS text_source_url,
           d.published_at, CASE WHEN d.published_at IS NOT NULL THEN d.published_from END AS published_from,
           CASE WHEN d.published_at IS NOT NULL THEN d.url END AS date_source_url, $seen_at AS first_seen_at
    FROM _winners w JOIN _batch f ON f.i = w.first_i JOIN _batch t ON t.i = w.text_i JOIN _batch d ON d.i = w.date_i
    WHERE NOT w.stored
    """,
    """
    UPDATE articles SET text = t.text, summary = t.summary, word_count = t.word_count,
        content_hash = t.content_hash, text_source_url = t.url
    FROM _winners w JOIN _batch t ON t.i = w.text_i
    WHERE articles.article_id = w.article_id AND w.stored AND w.text_i >= 0
    """,
    """
    UPDATE articles SET published_at = d.published_at, published_from = d.published_from, date_source_url = d.url
    FROM _winners w JOIN _batch d ON d.i = w.date_i
    WHERE articles.article_id = w.article_id AND w.stored AND w.date_i >= 0
    """,
    "DELETE FROM article_topics WHERE article_id IN (SELECT article_id FROM _winners WHERE stored AND text_i >= 0)",
    """
    INSERT INTO article_topics BY NAME
    SELECT w.article_id, x.topic, x.score, x.evidence, x.matches, x.rules_version, $seen_at AS classified_at
    FROM _winners w JOIN (SELECT i, unnest(topics) AS x FROM _batch) t ON t.i = w.text_i
    ON CONFLICT DO NOTHING
    """,
    "DELETE FROM article_entities WHERE article_id IN (SELECT article_id FROM _winners WHERE stored AND text_i >= 0)",
    """
    INSERT INTO article_entities BY NAME
    SELECT w.article_id, x.entity_id, x.mention, x.field, x.offset
    FROM _winners w JOIN (SELECT i, unnest(entities) AS x FROM _batch) e ON e.i = w.text_i
    """,
    """
    INSERT INTO article_sources BY NAME
    SELECT b.url, p.article_id, b.feed_url, $seen_at AS seen_at, b.source_name, b.title, b.content_hash,
           b.removed_lines, b.text_from, b.encoding, b.encoding_from, b.feed_published_at, b.feed_date_found,
           b.page_published_at, b.page_date_found, b.date_note
    FROM _placed p JOIN _batch b USING (i) WHERE p.fresh
    """,
    """
    INSERT INTO copy_signatures BY NAME
    SELECT b.url, p.article_id, b.minhash, b.shingles FROM _placed p JOIN _batch b USING (i)
    WHERE p.fresh AND b.minhash IS NOT NULL
    """,
    """
    INSERT INTO lsh_bands
    SELECT unnest(b.band_keys) AS band_key, p.article_id, b.url FROM _placed p JOIN _batch b USING (i)
    WHERE p.fresh AND b.minhash IS NOT NULL
    """,
]


def save_copies(con: duckdb.DuckDBPyConnection, rows: Sequence[dict], seen_at: datetime) -> SaveResult:
    """Store article copies: every new copy in ``article_sources``, new articles, their topics and
    entities, merged articles, and the MinHash signature and LSH bands of each copy. All decided in
    SQL over the batch's table (``batch_table``), in one transaction: which article each copy
    belongs to (``PLACE_SQL``) and what each article keeps of its copies (``WINNERS_SQL``).

    Each row holds a copy's columns plus ``candidate_article_id`` (its id if it starts a new article),
    ``removed_lines``, ``topics`` (shaped like article_topics rows), ``entities``, optionally
    ``minhash``, ``shingles`` and ``band_keys``, and ``near_article_id`` when the caller found it to
    be a near duplicate of an article (``warehouse.neardup.near_duplicates``).
    """
    return save_batch(con, batch_table(rows), seen_at)


def save_batch(
    con: duckdb.DuckDBPyConnection, batch: pa.Table, seen_at: datetime, *, index: bool = False
) -> SaveResult:
    """``save_copies`` of a batch already made a table (``batch_table``). ``index``: also put each
    article whose text came from this batch in the search index (``warehouse.search.index_winners``)."""
    if not batch.num_rows:
        return SaveResult()
    with registered(con, _batch=batch), transaction(con):
        con.execute(PLACE_SQL)
        con.execute(WINNERS_SQL)
        for sql in SAVE_SQL:
            con.execute(sql, {"seen_at": seen_at}) if "$seen_at" in sql else con.execute(sql)
        if index:
            index_winners(con)
        fresh, new, seen = con.execute(
            "SELECT count(*) FILTER (WHERE fresh), (SELECT count(*) FROM _winners WHERE NOT stored), "
            "count(*) FILTER (WHERE NOT fresh) FROM _placed"
        ).fetchone()
        article_ids = [r[0] for r in con.execute("SELECT article_id FROM _placed ORDER BY i").fetchall()]
        con.execute("DROP TABLE _placed")
        con.execute("DROP TABLE _winners")
    return SaveResult(
        articles_new=new, sources_new=fresh, duplicates=fresh - new, already_seen=seen, article_ids=article_ids
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
