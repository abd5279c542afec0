"""robots.txt -> what a crawler may fetch, as RFC 9309 reads it (protego: longest match, ``*`` and
``$`` wildcards, Crawl-delay). Pure: the caller fetches the file (``flows.robots``)."""

from __future__ import annotations

from dataclasses import dataclass

from protego import Protego

MAX_ROBOTS_BYTES = 500 * 1024  # RFC 9309 2.5: a crawler must read at least 500 KiB; the rest is ignored


@dataclass(frozen=True)
class RobotsRules:
    """One host's rules. ``refusal``: every URL is off limits, and why (RFC 9309 2.3.1.4: robots.txt
    unreachable, or answering 5xx, means complete disallow); no ``rules`` and no refusal: all allowed."""

    rules: Protego | None = None
    refusal: str | None = None

    def refuses(self, url: str, user_agent: str) -> str | None:
        """Why ``url`` may not be fetched by ``user_agent``, or None when it may."""
        if self.refusal:
            return self.refusal
        if self.rules is not None and not self.rules.can_fetch(url, product_token(user_agent)):
            return f"disallowed by robots.txt for user agent {product_token(user_agent)!r}"
        return None

    def crawl_delay(self, user_agent: str) -> float | None:
        if self.rules is None:
            return None
        delay = self.rules.crawl_delay(product_token(user_agent))
        return float(delay) if delay is not None else None

    def sitemaps(self) -> list[str]:
        return list(self.rules.sitemaps) if self.rules is not None else []


def product_token(user_agent: str) -> str:
    """The name robots.txt groups match (RFC 9309 2.2.1): "silkwatch" of "silkwatch/0.1 (...)"."""
    return user_agent.split("/", 1)[0].split(" ", 1)[0].strip() or user_agent


def robots_rules(http_status: int | None, body: bytes, error: str | None = None) -> RobotsRules:
    """The rules a robots.txt answer gives: 2xx its content; 4xx none (everything allowed); 5xx or no
    answer at all (``http_status`` None), everything refused until a later run reads it."""
    if http_status is not None and 200 <= http_status < 300:
        text = body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace").removeprefix("\ufeff")
        return RobotsRules(Protego.parse(text))
    if http_status is not None and 400 <= http_status < 500:
        return RobotsRules()
    why = f"HTTP {http_status}" if http_status is not None else (error or "no answer")
    return RobotsRules(refusal=f"robots.txt unreachable ({why}): the site is not crawled until it answers")
