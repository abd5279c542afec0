"""The plain records that flow between the parsers, the flows and the warehouse."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from silkwatch.parsers.clean import Removed


@dataclass(frozen=True)
class Match:
    phrase: str  # the text as it appears in the article
    field: str  # "title" or "text"
    start: int  # character offset in that field
    weight: float


@dataclass(frozen=True)
class TopicLabel:
    topic: str
    score: float
    matches: tuple[Match, ...]
    rules_version: str

    @property
    def evidence(self) -> list[str]:
        """Distinct matched phrases, strongest first: what explains the label."""
        best: dict[str, float] = {}
        for m in self.matches:
            key = m.phrase.casefold()
            best[key] = best.get(key, 0.0) + m.weight
        first_form = {}
        for m in self.matches:
            first_form.setdefault(m.phrase.casefold(), m.phrase)
        return [first_form[k] for k, _ in sorted(best.items(), key=lambda kv: -kv[1])]


@dataclass
class ArticleCopy:
    """One copy of an article as seen at one URL (a seed file is ``seed:<file name>``)."""

    url: str
    title: str
    text: str
    source_name: str | None
    published_at: datetime | None
    published_from: str | None  # where the date came from: "text", "feed", "page", ...
    language: str | None
    content_hash: str
    feed_url: str | None = None
    text_from: str = "text"  # "text" (a seed), "page" (extracted), "feed-summary" (page unusable)
    author: str | None = None
    date_note: str | None = None  # why a stated date was not trusted, or how two were reconciled
    feed_published_at: datetime | None = None  # the feed entry's date (UTC), whether chosen or not
    feed_date_found: str | None = None  # which of the entry's dates, as written
    page_published_at: datetime | None = None  # the page's stated date placed in UTC, chosen or not
    page_date_found: str | None = None  # where on the page, as written, and in which zone
    encoding: str | None = None  # what the copy's bytes were read in (``parsers.decode``)
    encoding_from: str | None = None  # and why: bom, http, meta, xml-declaration, detected (...)
    removed: list[Removed] = field(default_factory=list)
    topics: list[TopicLabel] = field(default_factory=list)
