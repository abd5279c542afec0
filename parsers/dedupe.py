"""Dedupe keys: the content hash that identifies exact duplicates, and stable article ids."""

from __future__ import annotations

import hashlib

from silkwatch.parsers.text import normalise_text


def content_hash(text: str) -> str:
    """SHA-256 of the normalised clean text: equal for copies that differ only in typography."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


def article_id_for(first_content_hash: str) -> str:
    """An article's id is fixed by its first copy's content hash and never changes afterwards."""
    return first_content_hash[:20]
