"""Search: keep the index in step with the articles, and answer queries with snippets."""

from __future__ import annotations

from datetime import datetime

import duckdb

from parsers.text import unify_punctuation
from parsers.tokenize import query_terms, snippet, term_counts
from warehouse.search import (
    article_texts,
    articles_to_index,
    clear_search_index,
    compact_search_index,
    save_search_index,
    search,
)

INDEX_BATCH = 5_000


def index_pending(con: duckdb.DuckDBPyConnection, everything: bool = False) -> int:
    """Index articles that are new or whose text changed (every article when ``everything``)."""
    if everything:
        clear_search_index(con)
    pending = articles_to_index(con, everything)
    for start in range(0, len(pending), INDEX_BATCH):  # a batch at a time: memory stays bounded
        chunk = article_texts(con, pending[start : start + INDEX_BATCH])
        save_search_index(con, [(aid, chash, term_counts(title, text)) for aid, title, text, chash in chunk])
    if everything:
        compact_search_index(con)
    return len(pending)


def run_search(
    con: duckdb.DuckDBPyConnection,
    query: str,
    *,
    topic: str | None = None,
    source: str | None = None,
    language: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 10,
    mark: tuple[str, str] = ("**", "**"),
) -> list[dict]:
    """Ranked hits: article_id, title, outlet, date, topics, score, snippet (matched words marked)."""
    concepts, phrases = query_terms(query)
    hits = search(
        con, concepts, phrases=[unify_punctuation(p).casefold() for p in phrases], topic=topic, source=source,
        language=language, since=since, until=until, limit=limit,
    )  # fmt: skip
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
        }
        for h in hits
    ]
