"""Stories: cluster the stored articles that have no story yet, a batch at a time, in a stable order.

Called after every batch save (``flows.ingest.save_rows``), so a late article joins its story on
the load that brings it, and an article a killed run left out is clustered by the next load.
"""

from __future__ import annotations

import duckdb

from silkwatch.parsers.stories import Story, StoryIndex, article_features, default_rules
from silkwatch.warehouse.clock import utc_now
from silkwatch.warehouse.faults import fault_point
from silkwatch.warehouse.stories import clear_stories, pending_articles, save_stories, stories_near

CLUSTER_BATCH = 5_000


def cluster_pending(
    con: duckdb.DuckDBPyConnection,
    everything: bool = False,
    made: dict[tuple[str, str], tuple[dict[str, float], frozenset[str]]] | None = None,
) -> int:
    """Put every article without a story in one (every article, from scratch, when ``everything``).
    ``made``: ``parsers.stories.text_features`` already made (by the extraction workers), by
    (title, text); an article whose stored title and text are not there has them made here.

    Articles go in (date, id) order, a batch at a time, each batch against the stored stories
    dated near it and saved in one transaction, so an interrupted run re-run gives the same stories."""
    if everything:
        clear_stories(con)
    rules = default_rules()
    made = made or {}
    reach = rules.window + rules.max_span
    total = 0
    while batch := pending_articles(con, CLUSTER_BATCH):
        features = [
            article_features(r["article_id"], r["when"], r["language"], r["title"], r["text"],
                             [tuple(m) for m in r["mentions"] or []], set(r["topics"] or []), rules,
                             r["dated"], made.get((r["title"], r["text"])))
            for r in batch
        ]  # fmt: skip
        index = StoryIndex(rules)
        for story_id, first, last, profile in stories_near(con, features[0].when, features[-1].when, reach):
            index.load(Story.from_profile(story_id, first, last, profile))
        members = [(index.add(f), f.article_id) for f in features]
        fault_point("clustering")
        changed = [_story_row(index.stories[sid], rules.version) for sid in sorted(index.changed)]
        save_stories(con, changed, members, utc_now())
        total += len(batch)
    return total


def _story_row(story: Story, rules_version: str) -> dict:
    return {"story_id": story.story_id, "label": story.label[1], "label_article_id": story.label[0],
            "first_seen_at": story.first, "last_seen_at": story.last, "profile": story.profile(),
            "rules_version": rules_version}  # fmt: skip
