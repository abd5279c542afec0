"""Search: keep the index in step with the articles, and answer queries with snippets."""

from __future__ import annotations

import duckdb

from parsers.english_line import english_line
from parsers.text import unify_punctuation
from parsers.tokenize import query_terms, snippet, term_counts
from warehouse.search import (
    article_mentions,
    article_texts,
    articles_to_index,
    clear_search_index,
    compact_search_index,
    save_search_index,
    search,
)

INDEX_BATCH = 5_000


def index_pending(
    con: duckdb.DuckDBPyConnection, everything: bool = False, counted: dict[tuple[str, str], dict] | None = None
) -> int:
    """Index articles that are new or whose text changed (every article when ``everything``).
    ``counted``: term counts already made (by the extraction workers), by (title, content hash).
    The others' entity terms come from their stored mentions (``article_entities``), not a second
    tagging: `silkwatch reclassify` then `silkwatch reindex` brings a registry change to search."""
    if everything:
        clear_search_index(con)
    counted = counted or {}
    pending = articles_to_index(con, everything)
    for start in range(0, len(pending), INDEX_BATCH):  # a batch at a time: memory stays bounded
        chunk = article_texts(con, pending[start : start + INDEX_BATCH])
        mentions = article_mentions(con, [c[0] for c in chunk if (c[1], c[3]) not in counted])
        save_search_index(
            con,
            [
                (aid, chash, counted.get((title, chash)) or term_counts(title, text, mentions=mentions.get(aid, [])))
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
