"""A feed entry and its fetched page -> the outcome the page batch keeps: the copy's warehouse row,
the page's fetch-log row, a failure to report. Pure: runs in the extraction worker processes.

The fetch result is whatever ``flows.fetch`` answered (``PageResponse`` is what this module reads
of it): parsers never import the fetcher.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from silkwatch.parsers.classify import classify_topics, topic_ruleset
from silkwatch.parsers.entries import copy_from_entry
from silkwatch.parsers.extract import extract_page, page_problem
from silkwatch.parsers.feeds import FeedEntry
from silkwatch.parsers.rows import copy_to_row

HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")
PAGE_TRANSIENT_TRIES = 3  # after this many failed fetches of a page, store the feed's summary instead


class PageResponse(Protocol):
    """What a page fetch answered (``flows.fetch.FetchResult``)."""

    status: str
    error: str | None
    final_url: str | None
    content_type: str | None
    body: bytes
    transient: bool

    def log_row(self, run_id: str | None = None) -> dict: ...


@dataclass
class PageOutcome:
    """What one feed entry gives: a warehouse row (or none), its page's fetch-log row, a failure to report."""

    row: dict | None = None
    log: dict | None = None
    failure: str | None = None
    deferred: bool = False  # the page failed transiently: retried next run


def _page_failure(result: PageResponse) -> str | None:
    if result.status == "error":
        return result.error
    kind = (result.content_type or "").split(";")[0].strip().lower()
    if kind not in HTML_TYPES:
        return f"not an HTML page ({kind})"
    return page_problem(result.body)


def page_outcome(
    entry: FeedEntry,
    feed: dict,
    result: PageResponse | None,
    tries_before: int,
    now: datetime,
    run_id: str | None = None,
    topics_file: str | None = None,
    failure: str | None = None,
) -> PageOutcome:
    """Extract an entry's fetched page (``result``; None when the entry has no link), and build the
    classified, tagged, signed warehouse row of its copy. Pure: runs in the extraction pool.

    A page that fails for good (404, not HTML, over the size cap, nothing extractable, or
    ``failure`` given by the caller) falls back to the feed's summary. One that fails transiently
    (timeout, 5xx) is retried on later runs, and falls back to the summary after
    ``PAGE_TRANSIENT_TRIES`` failures (``tries_before`` is how many fetches of it failed before).
    ``topics_file``: the team's topics file of the config, if any (``parsers.classify.topic_ruleset``).
    """
    outcome = PageOutcome()
    page = None
    if result is not None:
        failure = failure or _page_failure(result)
        if failure is None:
            try:
                page = extract_page(
                    result.body, result.final_url or entry.link, result.content_type, entry.published or now
                )
            except Exception as exc:  # an extractor bug on a hostile page fails this page, never the batch
                failure = f"could not extract the page ({type(exc).__name__}: {exc})"
            else:
                failure = None if page else "no article text found on the page"
        if failure is not None:
            transient = result.transient
            result.status, result.error = "error", failure
            outcome.log = result.log_row(run_id)
            if transient and tries_before + 1 < PAGE_TRANSIENT_TRIES:
                outcome.deferred = True  # retried next run
                return outcome
        else:
            outcome.log = result.log_row(run_id)
    copy = copy_from_entry(entry, feed["url"], feed.get("name"), page, now, feed.get("language"), feed.get("timezone"))
    subject = entry.link or f"entry {entry.title!r} of {feed['url']}"
    if copy is None:
        why = f"{failure}, and" if failure else "no link, and"
        outcome.failure = f"{subject}: {why} the feed's summary is too short to keep; skipped"
        return outcome
    if failure:
        outcome.failure = f"{subject}: {failure}; stored the feed's summary instead"
    copy.topics = classify_topics(copy.title, copy.text, topic_ruleset(topics_file))
    outcome.row = copy_to_row(copy)
    return outcome
