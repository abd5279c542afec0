"""robots.txt for the crawls: each host's rules fetched once per process (with the configured user
agent, through the fetcher), and its Crawl-delay applied to the host's request spacing."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

from silkwatch.flows.fetch import FetchPolicy, HostLimiter, fetch, make_client
from silkwatch.parsers.robots import RobotsRules, robots_rules
from silkwatch.warehouse.clock import utc_now
from silkwatch.warehouse.load import fetch_log_row


class RobotsCache:
    """The robots.txt rules of each host, read on first use. ``log``: the fetch-log rows of the
    robots.txt fetches (kind ``robots``), for the caller to save."""

    def __init__(self, policy: FetchPolicy, limiter: HostLimiter):
        self.policy, self.limiter = policy, limiter
        self._rules: dict[str, RobotsRules] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self.log: list[dict] = []

    def rules_for(self, url: str) -> RobotsRules:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        with self._lock:
            host_lock = self._locks.setdefault(origin, threading.Lock())
        with host_lock:
            if origin not in self._rules:
                self._rules[origin] = self._read(origin, parts.hostname or "")
            return self._rules[origin]

    def _read(self, origin: str, host: str) -> RobotsRules:
        with make_client(self.policy) as client:
            result = fetch(client, f"{origin}/robots.txt", "robots", self.policy, self.limiter)
        if result.status == "stopped":
            return RobotsRules(refusal="the run stopped before robots.txt answered")
        self.log.append(result.log_row())
        rules = robots_rules(result.http_status, result.body, result.error)
        delay = rules.crawl_delay(self.policy.user_agent)
        if delay is not None and delay > self.policy.per_host_delay:
            self.limiter.set_delay(host, delay)
        return rules

    def refuses(self, url: str) -> str | None:
        """Why ``url`` may not be fetched (robots.txt), or None when it may."""
        return self.rules_for(url).refuses(url, self.policy.user_agent)

    def crawl_delay(self, url: str) -> float | None:
        return self.rules_for(url).crawl_delay(self.policy.user_agent)


def skipped_row(url: str, kind: str, reason: str, run_id: str | None) -> dict:
    """The fetch-log row of a URL not fetched, and why."""
    return fetch_log_row(url, kind, "skipped", fetched_at=utc_now(), run_id=run_id, nbytes=0, ms=0.0, error=reason)
