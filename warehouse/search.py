"""The search index in plain SQL tables, and BM25 ranking in one query.

``search_postings`` holds (term_hash, doc, tf) as integers: a term by its 64-bit key
(``parsers.tokenize.term_hashes``, the same for articles and queries), an article by its number in
``search_docs``, which also holds each article's length and the content hash it was indexed from,
so stale or missing entries are found with one anti-join and the index heals itself on the next
load (``index_pending``). The terms' text is not stored: a query hashes its own terms, and the
words it matched come from the query. ``run_search`` answers a query with ranked hits and their
snippets.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa

from silkwatch.parsers.english_line import english_line
from silkwatch.parsers.rows import search_columns
from silkwatch.parsers.text import unify_punctuation
from silkwatch.parsers.tokenize import query_terms, snippet, term_counts, term_hashes
from silkwatch.warehouse.faults import fault_point
from silkwatch.warehouse.tx import keys_table, registered, transaction

BM25_K1 = 1.2
BM25_B = 0.75


def articles_to_index(con: duckdb.DuckDBPyConnection, everything: bool = False) -> list[str]:
    """Ids of articles missing from the index or indexed from an older text (all when ``everything``)."""
    where = "" if everything else "WHERE d.article_id IS NULL OR d.content_hash <> a.content_hash"
    rows = con.execute(f"SELECT a.article_id FROM articles a LEFT JOIN search_docs d USING (article_id) {where}")
    return [r[0] for r in rows.fetchall()]


def article_texts(con: duckdb.DuckDBPyConnection, ids: Sequence[str]) -> list[tuple]:
    """(article_id, title, text, content_hash) for these articles."""
    with registered(con, _want=keys_table(ids, "article_id")):
        return con.execute(
            "SELECT article_id, title, text, content_hash FROM articles JOIN _want USING (article_id)"
        ).fetchall()


def article_mentions(con: duckdb.DuckDBPyConnection, ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """article id -> its stored entity mentions as (entity_id, field), for these articles."""
    with registered(con, _want=keys_table(ids, "article_id")):
        rows = con.execute("SELECT article_id, entity_id, field FROM article_entities JOIN _want USING (article_id)")
        found: dict[str, list[tuple[str, str]]] = {}
        for article_id, entity_id, field in rows.fetchall():
            found.setdefault(article_id, []).append((entity_id, field))
        return found


def save_search_index(con: duckdb.DuckDBPyConnection, docs: Sequence[tuple[str, str, dict[str, int]]]) -> None:
    """Replace the index entries of these articles: (article_id, content_hash, term counts)."""
    if not docs:
        return
    columns = [search_columns(counts) for _, _, counts in docs]
    entries = pa.table({
        "article_id": [d[0] for d in docs], "content_hash": [d[1] for d in docs],
        "search_hashes": pa.array([np.frombuffer(c["search_hashes"], np.int64) for c in columns], pa.list_(pa.int64())),
        "search_tfs": pa.array([np.frombuffer(c["search_tfs"], np.uint16) for c in columns], pa.list_(pa.uint16())),
    })  # fmt: skip
    with registered(con, _entries=entries), transaction(con):
        _replace_entries(con, "SELECT article_id FROM _entries", "SELECT * FROM _entries")


# The index entries of the articles whose text a load takes from its batch (``warehouse.load``'s
# ``_winners`` and ``_batch``): the terms the workers counted and hashed (``parsers.rows``), when
# the copy's title is the article's (the terms count the title); the others are indexed by
# ``index_pending``.
BATCH_ENTRIES_SQL = """
SELECT w.article_id, t.content_hash, t.search_hashes, t.search_tfs
FROM _winners w JOIN _batch t ON t.i = w.text_i
WHERE t.title = w.title AND t.search_hashes IS NOT NULL
"""
# Entries (article_id, content_hash, search_hashes, search_tfs) into the index: each article
# numbered after the last (``doc``), then its postings.
NUMBER_ENTRIES_SQL = """
CREATE OR REPLACE TEMP TABLE _indexed AS
SELECT article_id, content_hash, coalesce(list_sum(search_tfs), 0) AS length,
       (SELECT coalesce(max(doc), 0) FROM search_docs) + row_number() OVER (ORDER BY article_id) AS doc
FROM ({entries})
"""
POSTINGS_SQL = """
INSERT INTO search_postings
SELECT unnest(e.search_hashes) AS term_hash, x.doc, unnest(e.search_tfs) AS tf
FROM ({entries}) e JOIN _indexed x USING (article_id)
"""


def _replace_entries(con: duckdb.DuckDBPyConnection, replaced: str, entries: str) -> None:
    """Inside a transaction: delete the index entries of the articles ``replaced`` selects (when
    there are any), then insert ``entries``."""
    if con.execute(f"SELECT count(*) FROM ({replaced})").fetchone()[0]:
        stale = f"SELECT doc FROM search_docs WHERE article_id IN ({replaced})"
        con.execute(f"DELETE FROM search_postings WHERE doc IN ({stale})")
        con.execute(f"DELETE FROM search_docs WHERE article_id IN ({replaced})")
    con.execute(NUMBER_ENTRIES_SQL.format(entries=entries))
    con.execute("INSERT INTO search_docs BY NAME SELECT * FROM _indexed")
    fault_point("indexing")
    con.execute(POSTINGS_SQL.format(entries=entries))
    con.execute("DROP TABLE _indexed")


def index_winners(con: duckdb.DuckDBPyConnection) -> None:
    """Inside a load (``warehouse.load.save_batch``): replace the index entries of every article
    whose text comes from the batch, with the batch's own term counts. Only a stored article whose
    text changed has entries to delete, so a batch of new articles only appends."""
    _replace_entries(con, "SELECT article_id FROM _winners WHERE stored AND text_i >= 0", BATCH_ENTRIES_SQL)


def compact_search_index(con: duckdb.DuckDBPyConnection) -> None:
    """Rewrite search_postings sorted by term, so a query reads only the row groups of its terms,
    and the sorted keys compress (run lengths). (Loads append unsorted; `silkwatch reindex` compacts.)"""
    with transaction(con):
        con.execute("CREATE TABLE search_postings_sorted AS SELECT * FROM search_postings ORDER BY term_hash, doc")
        con.execute("DROP TABLE search_postings")
        con.execute("ALTER TABLE search_postings_sorted RENAME TO search_postings")


def clear_search_index(con: duckdb.DuckDBPyConnection) -> None:
    for table in ("search_postings", "search_docs"):
        con.execute(f"DELETE FROM {table}")


SEARCH_SQL = """
WITH q AS (SELECT unnest($hashes::BIGINT[]) AS term_hash, unnest($terms::VARCHAR[]) AS term,
                  unnest($concepts::VARCHAR[]) AS concept),
stats AS (SELECT count(*) AS n, avg(length) AS avgdl FROM search_docs),
tc AS (
    SELECT p.doc, q.concept, max(p.tf) AS tf, list(q.term) AS terms  -- a concept's spellings: the most used
    FROM search_postings p JOIN q USING (term_hash)
    WHERE p.term_hash IN ({placeholders})  -- a constant list: zone maps skip row groups of other terms
    GROUP BY p.doc, q.concept
),
df AS (SELECT concept, count(*) AS df FROM tc GROUP BY concept),
scored AS (
    SELECT d.article_id,
           sum(ln(1 + (stats.n - df.df + 0.5) / (df.df + 0.5))
               * tc.tf * ($k1 + 1) / (tc.tf + $k1 * (1 - $b + $b * d.length / stats.avgdl))) AS score,
           flatten(list(tc.terms)) AS matched
    FROM tc JOIN df USING (concept) JOIN search_docs d USING (doc), stats
    GROUP BY d.article_id
)
SELECT s.article_id, s.score, s.matched
FROM scored s JOIN articles a USING (article_id)  -- a's small columns only: never the text
WHERE ($topic IS NULL OR EXISTS (SELECT 1 FROM article_topics x
                               WHERE x.article_id = a.article_id AND x.topic = $topic))
  AND ($source IS NULL OR EXISTS (SELECT 1 FROM article_sources y WHERE y.article_id = a.article_id
                                  AND y.source_name ILIKE '%' || $source || '%'))
  AND ($language IS NULL OR a.language = $language)
  AND ($since IS NULL OR coalesce(a.published_at, a.first_seen_at) >= $since)
  AND ($until IS NULL OR coalesce(a.published_at, a.first_seen_at) < $until)
ORDER BY s.score DESC, s.article_id
LIMIT $limit
"""


# Every phrase of $phrases (lower case, straight apostrophes) is in the title or text of article a.
PHRASES_MATCH = """list_bool_and([strpos(replace(lower(a.title || ' ' || a.text), chr(8217), chr(39)), p) > 0
                     FOR p IN $phrases::VARCHAR[]] || [true])"""
# The hits' display columns, by primary key (index lookups: the text of other articles is never read).
HITS_SQL = f"""
SELECT a.article_id, a.title, a.text, a.source_name, a.published_at, a.first_seen_at, a.language, a.url,
       (SELECT list(topic ORDER BY score DESC) FROM article_topics x WHERE x.article_id = a.article_id) AS topics
FROM articles a
WHERE a.article_id IN ({{placeholders}})
  AND {PHRASES_MATCH}
"""
PHRASE_CANDIDATES = 500  # a quoted phrase is checked on this many of the best-ranked articles


def search(
    con: duckdb.DuckDBPyConnection,
    concepts: dict[str, str],
    *,
    phrases: Sequence[str] = (),
    topic: str | None = None,
    source: str | None = None,
    language: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 10,
) -> list[dict]:
    """Articles ranked by BM25, filtered. ``concepts`` maps each query term to the concept it counts
    toward (BM25 treats each concept as one term: its tf is the largest of its terms', since an
    entity's spellings and its ``entity:<id>`` term count the same mentions). ``phrases`` (lower
    case, straight apostrophes) must occur verbatim in the title or text."""
    if not concepts:
        return []
    hashes = term_hashes(concepts).tolist()
    params = {
        "hashes": hashes, "terms": list(concepts), "concepts": list(concepts.values()), "topic": topic,
        "source": source, "language": language, "since": since, "until": until, "k1": BM25_K1, "b": BM25_B,
        "limit": max(limit, PHRASE_CANDIDATES) if phrases else limit,
    }  # fmt: skip
    params.update({f"t{i}": key for i, key in enumerate(hashes)})
    placeholders = ", ".join(f"$t{i}::BIGINT" for i in range(len(hashes)))
    ranked = con.execute(SEARCH_SQL.format(placeholders=placeholders), params).fetchall()
    if not ranked:
        return []
    ids = {f"a{i}": article_id for i, (article_id, _, _) in enumerate(ranked)}
    cur = con.execute(HITS_SQL.format(placeholders=", ".join(f"${k}" for k in ids)), {**ids, "phrases": list(phrases)})
    names = [d[0] for d in cur.description]
    shown = {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}
    hits = [{**shown[a], "score": score, "matched": matched} for a, score, matched in ranked if a in shown]
    return hits[:limit]


INDEX_BATCH = 5_000


def index_pending(con: duckdb.DuckDBPyConnection, everything: bool = False) -> int:
    """Index articles that are new or whose text changed (every article when ``everything``): after
    a load (``index_winners``) only those it could not index from its batch, and any a killed run
    left out. Their entity terms come from their stored mentions (``article_entities``), not a second
    tagging: `silkwatch reclassify` then `silkwatch reindex` brings a registry change to search."""
    if everything:
        clear_search_index(con)
    pending = articles_to_index(con, everything)
    for start in range(0, len(pending), INDEX_BATCH):  # a batch at a time: memory stays bounded
        chunk = article_texts(con, pending[start : start + INDEX_BATCH])
        mentions = article_mentions(con, [c[0] for c in chunk])
        save_search_index(
            con,
            [
                (aid, chash, term_counts(title, text, mentions=mentions.get(aid, [])))
                for aid, title, text, chash in chunk
            ],
        )
    if everything:
        compact_search_index(con)
    return len(pending)


def run_search(
    con: duckdb.DuckDBPyConnection, query: str, *, limit: int = 10, mark: tuple[str, str] = ("**", "**"), **filters
) -> list[dict]:
    """Ranked hits: article_id, title, outlet, date, language, topics, score, snippet (matched words
    marked), and the English line of a non-English hit (``parsers.english_line``; None for English).
    ``filters``: topic, source, language, since, until (see ``warehouse.search.search``)."""
    concepts, phrases = query_terms(query)
    phrases = [unify_punctuation(p).casefold() for p in phrases]
    hits = search(con, concepts, phrases=phrases, limit=limit, **filters)
    return [
        {
            "article_id": h["article_id"],
            "title": h["title"],
            "score": round(h["score"], 3),
            "snippet": snippet(h["text"], set(h["matched"]), mark=mark),
            "outlet": h["source_name"],
            "published_at": h["published_at"],
            "topics": h["topics"] or [],
            "url": h["url"],
            "language": h["language"],
            "english_line": english_line(h["language"], h["title"], h["text"], h["topics"] or []),
        }
        for h in hits
    ]
