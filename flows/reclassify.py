"""Re-label stored articles with the current topic rules and entity registry, in bulk passes."""

from __future__ import annotations

from dataclasses import asdict

import duckdb

from silkwatch.parsers.classify import Ruleset, classify_topics, default_ruleset
from silkwatch.parsers.entities import tag_entities
from silkwatch.parsers.rows import topic_rows
from silkwatch.warehouse.clock import utc_now
from silkwatch.warehouse.load import replace_labels
from silkwatch.warehouse.queries import article_ids, topic_labels
from silkwatch.warehouse.search import article_texts

BATCH = 5_000


def reclassify(con: duckdb.DuckDBPyConnection, ruleset: Ruleset | None = None) -> dict[str, dict[str, int]]:
    """Replace every article's topics and entities; per topic: before, after, added, removed (the
    rules' topics in their order, then any stored topic the rules no longer have)."""
    rs = ruleset or default_ruleset()
    now = utc_now()
    before = topic_labels(con)
    after: set[tuple[str, str]] = set()
    ids = article_ids(con)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        topics, entities = [], []
        for article_id, title, text, _ in article_texts(con, chunk):
            labels = classify_topics(title, text, rs)
            after.update((article_id, label.topic) for label in labels)
            topics += topic_rows(labels, article_id=article_id, classified_at=now)
            entities.extend({**asdict(m), "article_id": article_id} for m in tag_entities(title, text))
        replace_labels(con, chunk, topics, entities)
    return {
        topic: {
            "before": sum(t == topic for _, t in before),
            "after": sum(t == topic for _, t in after),
            "added": sum(t == topic for _, t in after - before),
            "removed": sum(t == topic for _, t in before - after),
        }
        for topic in (*rs.names, *sorted({t for _, t in before} - set(rs.names)))
    }
