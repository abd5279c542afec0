"""Feed discovery on a page: the feeds a site names (``<link rel="alternate">``, then feed-like
``<a>`` links, by trafilatura's feed helpers) and the paths where sites commonly serve one
(rules/feed_paths.toml). Pure: the caller fetches (``flows.discover``)."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from trafilatura.feeds import FeedParameters, determine_feed

RULES = Path(__file__).parent / "rules" / "feed_paths.toml"


def linked_feeds(html: str, page_url: str) -> list[str]:
    """Feed URLs the page names, in page order, absolute."""
    parts = urlsplit(page_url)
    base = f"{parts.scheme}://{parts.netloc}"
    found = determine_feed(html, FeedParameters(base, parts.hostname or "", page_url))
    return list(dict.fromkeys(urljoin(page_url, url) for url in found))


@cache
def _common_paths() -> tuple[str, ...]:
    return tuple(tomllib.loads(RULES.read_text("utf-8"))["paths"])


def common_feed_urls(page_url: str) -> list[str]:
    """The site's usual feed locations (rules/feed_paths.toml), to try when the page names no feed."""
    parts = urlsplit(page_url)
    return [f"{parts.scheme}://{parts.netloc}{path}" for path in _common_paths()]
