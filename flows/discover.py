"""Feed discovery for ``silkwatch feeds add``: the URL itself when it is a feed; else the feeds its
page names (``parsers.discovery``), else the site's common feed paths, each checked as a feed."""

from __future__ import annotations

from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from silkwatch.flows.feeds import FeedOutcome, check_feed
from silkwatch.flows.fetch import FetchPolicy, HostLimiter, fetch, make_client
from silkwatch.parsers.decode import decode
from silkwatch.parsers.discovery import common_feed_urls, linked_feeds
from silkwatch.parsers.feeds import FeedError, parse_feed
from silkwatch.parsers.text import detect_language
from silkwatch.parsers.urls import canonical_url


class NoFeedFound(ValueError):
    """The URL is no feed and names none, and no common feed path answers; the message names it."""


@dataclass
class FoundFeed:
    url: str
    title: str | None
    items: int
    language: str | None  # detected from its entries' titles and summaries


def _found(outcome: FeedOutcome) -> FoundFeed:
    sample = "\n".join(f"{e.title}\n{e.summary}" for e in outcome.entries[:20])
    return FoundFeed(outcome.feed["url"], outcome.title, len(outcome.entries), detect_language(sample))


def discover_feeds(url: str, policy: FetchPolicy, listed: Collection[str] = ()) -> list[FoundFeed]:
    """The feeds found for ``url``, in the order found, but those ``listed`` already (canonical
    URLs); ``NoFeedFound`` when there are none."""
    limiter = HostLimiter(policy.per_host_concurrency, policy.per_host_delay)
    with make_client(policy) as client:
        page = fetch(client, url, "page", policy, limiter)
    if page.status != "ok":
        raise NoFeedFound(f"{url}: not added: {page.error}")
    try:
        parse_feed(page.body, page.final_url or url, page.content_type)
    except FeedError:
        pass
    else:  # a feed itself
        return [_found(check_feed({"url": url}, None, policy, limiter))]
    html = decode(page.body, page.content_type, "html").text
    named = linked_feeds(html, page.final_url or url)
    candidates = named or common_feed_urls(page.final_url or url)
    probe = replace(policy, retries=0)  # a guessed path that fails is no feed: not worth a retry
    with ThreadPoolExecutor(policy.max_concurrency) as pool:
        outcomes = list(pool.map(lambda c: check_feed({"url": c}, None, probe, limiter), candidates))
    found, seen, known = [], set(), []
    for outcome in outcomes:
        key = canonical_url(outcome.result.final_url or outcome.feed["url"])
        if outcome.ok and outcome.entries and key not in seen:
            seen.add(key)
            if key in listed or canonical_url(outcome.feed["url"]) in listed:
                known.append(outcome.feed["url"])
            else:
                found.append(_found(outcome))
    if not found and known:
        raise NoFeedFound(f"{url}: not added: not an RSS or Atom feed, and the feeds it leads to are listed already "
                          f"({', '.join(known)})")  # fmt: skip
    if not found:
        looked = (f"none of its {len(named)} feed links answers as a feed" if named
                  else f"it names no feed, and none of {len(candidates)} common feed paths answers")  # fmt: skip
        raise NoFeedFound(f"{url}: not added: not an RSS or Atom feed, and {looked}")
    return found
