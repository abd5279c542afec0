"""An article copy -> its warehouse row: every column the load needs, computed where the copy is
made (the extraction workers, the seed batches), so the load does no per-article work of its own.
See ``warehouse.load.save_copies`` for what the load does with each column."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

import numpy as np

from silkwatch.parsers.dedupe import article_id_for
from silkwatch.parsers.entities import tag_entities
from silkwatch.parsers.measure import word_count
from silkwatch.parsers.model import ArticleCopy
from silkwatch.parsers.neardup import signature
from silkwatch.parsers.stories import text_features
from silkwatch.parsers.text import summarise
from silkwatch.parsers.tokenize import term_counts, term_hashes


def copy_to_row(copy: ArticleCopy) -> dict:
    """The warehouse row for one article copy (see ``warehouse.load.save_copies``)."""
    mentions = tag_entities(copy.title, copy.text)
    return {
        "url": copy.url,
        "feed_url": copy.feed_url,
        "title": copy.title,
        "text": copy.text,
        "summary": summarise(copy.text),
        "source_name": copy.source_name,
        "published_at": copy.published_at,
        "published_from": copy.published_from,
        "language": copy.language,
        "content_hash": copy.content_hash,
        "word_count": word_count(copy.text),
        "candidate_article_id": article_id_for(copy.content_hash),
        **_signature_columns(copy.text),
        "text_from": copy.text_from,
        "encoding": copy.encoding,
        "encoding_from": copy.encoding_from,
        "author": copy.author,
        "date_note": copy.date_note,
        "feed_published_at": copy.feed_published_at,
        "feed_date_found": copy.feed_date_found,
        "page_published_at": copy.page_published_at,
        "page_date_found": copy.page_date_found,
        "removed_lines": [asdict(r) for r in copy.removed],
        "entities": [asdict(m) for m in mentions],
        # the search index's, should this copy's text be kept
        **search_columns(term_counts(copy.title, copy.text, mentions=[(m.entity_id, m.field) for m in mentions])),
        "story_text": text_features(copy.title, copy.text),  # story clustering's (events, key terms), likewise
        "topics": topic_rows(copy.topics),
    }


def topic_rows(labels: Sequence, **columns) -> list[dict]:
    """``article_topics`` rows of classified labels (``parsers.model.TopicLabel``); ``columns`` adds
    what the caller knows already (``article_id``, ``classified_at``). Every topic row is built here."""
    return [
        {"topic": label.topic, "score": label.score, "evidence": label.evidence,
         "matches": [asdict(m) for m in label.matches], "rules_version": label.rules_version, **columns}
        for label in labels
    ]  # fmt: skip


# Number arrays are packed (``numpy.ndarray.tobytes``: uint32 minhash, int64 band_keys and
# search_hashes, uint16 search_tfs): one bytes object each, which the load makes a list column
# without Python per value (``warehouse.load.batch_table``), and which crosses from a worker
# process as one object.
def _signature_columns(text: str) -> dict:
    sig = signature(text)
    if sig is None:
        return {"minhash": None, "shingles": None, "band_keys": None}
    keys = np.asarray(sig.band_keys(), np.int64)
    return {"minhash": sig.values.astype(np.uint32).tobytes(), "shingles": sig.shingles, "band_keys": keys.tobytes()}


TF_MAX = np.iinfo(np.uint16).max  # a term's count in one article is stored up to this (search_postings.tf)


def search_columns(counts: dict[str, int]) -> dict:
    """The copy's search-index entry: its terms' index keys (``parsers.tokenize.term_hashes``) and
    their counts, aligned; the load unnests them in SQL. A count past ``TF_MAX`` is stored as
    ``TF_MAX``: BM25 saturates long before."""
    tfs = np.fromiter(counts.values(), np.int64, len(counts))
    return {
        "search_hashes": term_hashes(counts).tobytes(),
        "search_tfs": np.minimum(tfs, TF_MAX).astype(np.uint16).tobytes(),
    }
