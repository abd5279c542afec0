"""Article pages: HTML -> clean text and metadata, with trafilatura, then the same cleaner as seeds."""

from __future__ import annotations

from dataclasses import dataclass, field

from parsers.clean import Removed, clean_text
from parsers.text import collapse_whitespace

MIN_WORDS = 25  # fewer words than this is a teaser or a failed extraction, not an article


@dataclass
class ExtractedPage:
    title: str | None
    text: str
    author: str | None
    date: str | None  # as trafilatura found it (ISO date), unvalidated
    sitename: str | None
    canonical_url: str | None  # the page's own rel=canonical / og:url, when it declares one
    removed: list[Removed] = field(default_factory=list)


def extract_page(html: bytes | str, url: str | None = None) -> ExtractedPage | None:
    """Main text and metadata of an article page; None when nothing article-like is found."""
    import trafilatura  # imported on first use: a run with no new page never pays for it

    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False)
    if doc is None or not doc.text:
        return None
    title = collapse_whitespace(doc.title) if doc.title else None
    cleaned = clean_text(doc.text, title=title)
    if len(cleaned.text.split()) < MIN_WORDS:
        return None
    return ExtractedPage(
        title=title,
        text=cleaned.text,
        author=doc.author or None,
        date=doc.date or None,
        sitename=doc.sitename or None,
        canonical_url=doc.url if doc.url and doc.url != url else None,
        removed=cleaned.removed,
    )
