"""Re-label stored articles with the current topic rules and entity registry, in bulk passes."""

from __future__ import annotations

from dataclasses import asdict

import duckdb

from parsers.classify import Ruleset, classify_topics, default_ruleset
from parsers.entities import tag_entities
from warehouse.clock import utc_now
from warehouse.load import ENTITIES_SCHEMA, TOPICS_SCHEMA, rows_table
from warehouse.search import article_texts
from warehouse.tx import keys_table, registered, transaction

BATCH = 5_000


def reclassify(con: duckdb.DuckDBPyConnection, ruleset: Ruleset | None = None) -> dict[str, dict[str, int]]:
    """Replace every article's topics and entities; per topic: before, after, added, removed (the
    rules' topics in their order, then any stored topic the rules no longer have)."""
    rs = ruleset or default_ruleset()
    now = utc_now()
    before = set(con.execute("SELECT article_id, topic FROM article_topics").fetchall())
    after: set[tuple[str, str]] = set()
    ids = [r[0] for r in con.execute("SELECT article_id FROM articles ORDER BY article_id").fetchall()]
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        topics, entities = [], []
        for article_id, title, text, _ in article_texts(con, chunk):
            for label in classify_topics(title, text, rs):
                after.add((article_id, label.topic))
                topics.append({"article_id": article_id, "topic": label.topic, "score": label.score,
                               "evidence": label.evidence, "matches": [asdict(m) for m in label.matches],
                               "rules_version": label.rules_version, "classified_at": now})  # fmt: skip
            entities.extend({**asdict(m), "article_id": article_id} for m in tag_entities(title, text))
        tables = {"_ids": keys_table(chunk, "article_id"), "_topics": rows_table(topics, TOPICS_SCHEMA),
                  "_entities": rows_table(entities, ENTITIES_SCHEMA)}  # fmt: skip
        with registered(con, **tables), transaction(con):
            con.execute("DELETE FROM article_topics WHERE article_id IN (SELECT article_id FROM _ids)")
            con.execute("INSERT INTO article_topics BY NAME SELECT * FROM _topics")
            con.execute("DELETE FROM article_entities WHERE article_id IN (SELECT article_id FROM _ids)")
            con.execute("INSERT INTO article_entities BY NAME SELECT * FROM _entities")
    return {
        topic: {
            "before": sum(t == topic for _, t in before),
            "after": sum(t == topic for _, t in after),
            "added": sum(t == topic for _, t in after - before),
            "removed": sum(t == topic for _, t in before - after),
        }
        for topic in (*rs.names, *sorted({t for _, t in before} - set(rs.names)))
    }
