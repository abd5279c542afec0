"""A feed entry (plus its page, when it could be fetched) -> an article copy."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from silkwatch.parsers.clean import clean_text
from silkwatch.parsers.dates import reconcile_dates
from silkwatch.parsers.dedupe import content_hash
from silkwatch.parsers.extract import ExtractedPage
from silkwatch.parsers.feeds import FeedEntry
from silkwatch.parsers.measure import MIN_SUMMARY_WORDS, TITLE_MAX_COLUMNS, truncate, word_count
from silkwatch.parsers.model import ArticleCopy
from silkwatch.parsers.text import detect_language
from silkwatch.parsers.urls import canonical_url


def copy_from_entry(
    entry: FeedEntry,
    feed_url: str,
    feed_name: str | None,
    page: ExtractedPage | None,
    now: datetime,
    feed_language: str | None = None,
    feed_timezone: str | None = None,
) -> ArticleCopy | None:
    """The copy to store: the page's clean text, or the feed's summary when the page gave nothing.

    Its date: the feed entry's and the page's, reconciled (``parsers.dates.reconcile_dates``), else
    the URL's; each kept with where it was found. Untrusted dates are kept as ``date_note``.
    """
    url = entry.link or entry.key
    if page is not None and page.canonical_url:
        declared = canonical_url(page.canonical_url)
        if urlsplit(declared).hostname == urlsplit(url).hostname:  # the site's own canonical, never another's
            url = declared
    if page is not None:
        title, text, removed, text_from = page.title or entry.title, page.text, page.removed, "page"
    else:
        cleaned = clean_text(entry.summary, title=entry.title)
        if word_count(cleaned.text) < MIN_SUMMARY_WORDS:
            return None
        title, text, removed, text_from = entry.title, cleaned.text, cleaned.removed, "feed-summary"
    language = detect_language(text) or feed_language
    dates = reconcile_dates(
        entry.published, entry.date_found, page.date if page else None, url, now,
        language=language, timezone=feed_timezone,
    )  # fmt: skip
    dated = dates.chosen
    return ArticleCopy(
        url=url,
        title=title or truncate(text.split("\n", 1)[0], TITLE_MAX_COLUMNS),
        text=text,
        source_name=feed_name or (page.sitename if page else None),
        published_at=dated.value,
        published_from=dated.source,
        language=language,
        content_hash=content_hash(text),
        feed_url=feed_url,
        text_from=text_from,
        author=(page.author if page else None) or entry.author,
        date_note="; ".join(n for n in (entry.date_note, page.date_note if page else None, dated.note) if n) or None,
        feed_published_at=dates.feed_published_at,
        feed_date_found=dates.feed_date_found,
        page_published_at=dates.page_published_at,
        page_date_found=dates.page_date_found,
        removed=removed,
        encoding=page.encoding if page else entry.encoding,
        encoding_from=page.encoding_from if page else entry.encoding_from,
    )
