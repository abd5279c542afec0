"""Plain functions behind the feed tasks: the feed list, checking feeds, fetching their new pages.

The fetcher (httpx) and the feed parser (feedparser) are imported by the checks that use them: a
run whose feed list is empty (``load_feed_list``) does not load them."""

from __future__ import annotations

import dataclasses
import json
import queue
import re
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from silkwatch.flows import stopping
from silkwatch.flows.config import FeedListError
from silkwatch.parsers.dates import is_zone_name
from silkwatch.parsers.polling import parse_interval, poll_plan

if TYPE_CHECKING:
    from silkwatch.flows.fetch import FetchPolicy, FetchResult, HostLimiter
    from silkwatch.parsers.feeds import FeedEntry


def load_feed_list(path: Path) -> list[dict]:
    """``[[feed]]`` entries with ``url`` (required), ``name``, ``language``, ``timezone`` (the IANA
    zone of the outlet's unzoned times, e.g. "Asia/Bishkek"; see parsers/rules/dates.toml for the
    default), ``tags`` (a list of names), ``enabled`` (default true) and ``interval`` (minutes, or
    "45m", "2h", "1d": checked that often instead of at its publishing rate). A missing file is no feeds."""
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text("utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FeedListError(f"{path}: invalid TOML: {exc}") from exc
    feeds, seen = [], set()
    for i, item in enumerate(data.get("feed", []), start=1):
        unknown = set(item) - {"url", "name", "language", "timezone", "tags", "enabled", "interval"}
        if unknown:
            raise FeedListError(f"{path}: feed {i}: unknown key(s) {', '.join(sorted(unknown))}")
        url = item.get("url", "")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise FeedListError(f"{path}: feed {i}: url must be an http(s) URL, got {url!r}")
        if url in seen:
            raise FeedListError(f"{path}: feed {i}: {url} is listed twice")
        seen.add(url)
        timezone = item.get("timezone")
        if timezone is not None and not is_zone_name(timezone):
            raise FeedListError(f"{path}: feed {i}: timezone {timezone!r} is not a time zone name (e.g. Asia/Almaty)")
        feeds.append({"url": url, "name": item.get("name"), "language": item.get("language"), "timezone": timezone,
                      **_feed_settings(path, i, item)})  # fmt: skip
    return feeds


def _feed_settings(path: Path, i: int, item: dict) -> dict:
    """A feed's ``tags``, ``enabled`` and ``interval`` (a timedelta, or None: from its publishing rate)."""
    tags, enabled, interval = item.get("tags", []), item.get("enabled", True), item.get("interval")
    if not isinstance(tags, list) or not all(
        isinstance(t, str) and t.strip() and not set(t) & {",", "/"} for t in tags
    ):
        raise FeedListError(f"{path}: feed {i}: tags must be a list of names without ',' or '/', got {tags!r}")
    if not isinstance(enabled, bool):
        raise FeedListError(f"{path}: feed {i}: enabled must be true or false, got {enabled!r}")
    if interval is not None:
        try:
            interval = parse_interval(interval)
        except ValueError as exc:
            raise FeedListError(f"{path}: feed {i}: interval {exc}") from None
    return {"tags": [t.strip() for t in tags], "enabled": enabled, "interval": interval}


def append_feed(path: Path, url: str, name: str | None, language: str | None, tags: list[str] | None = None) -> None:
    """Add a ``[[feed]]`` block at the end of the feed list, keeping its comments and layout."""
    lines = ["", "[[feed]]", f"url = {_toml_str(url)}"]
    if name:
        lines.append(f"name = {_toml_str(name)}")
    if language:
        lines.append(f"language = {_toml_str(language)}")
    if tags:
        lines.append(f"tags = [{', '.join(_toml_str(t) for t in tags)}]")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def _toml_str(value: str) -> str:
    """A TOML basic string: quotes, backslashes and every control character escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\u{ord(m.group()):04x}", escaped) + '"'


@dataclass
class FeedOutcome:
    feed: dict
    result: FetchResult
    entries: list[FeedEntry] = field(default_factory=list)
    title: str | None = None
    bozo: str | None = None
    error: str | None = None  # fetch or parse failure

    @property
    def ok(self) -> bool:
        return self.error is None and not self.stopped

    @property
    def stopped(self) -> bool:
        """The run stopped before the feed answered: nothing to record, the next run checks it."""
        return self.result.status == "stopped"


def check_feed(feed: dict, state: dict | None, policy: FetchPolicy, limiter: HostLimiter) -> FeedOutcome:
    """Fetch one feed (conditionally, with its last ETag/Last-Modified) and parse it."""
    from silkwatch.flows.fetch import fetch, make_client
    from silkwatch.parsers.feeds import FeedError, parse_feed

    state = state or {}
    with make_client(policy) as client:
        result = fetch(
            client,
            feed["url"],
            "feed",
            policy,
            limiter,
            etag=state.get("etag"),
            last_modified=state.get("last_modified"),
        )
    outcome = FeedOutcome(feed, result)
    if result.status in ("error", "stopped"):
        outcome.error = result.error
    elif result.status == "ok":
        try:
            parsed = parse_feed(result.body, result.final_url or feed["url"], result.content_type)
        except FeedError as exc:
            outcome.error = f"{exc}"
            result.status, result.error = "error", outcome.error
        except Exception as exc:  # a parser bug on hostile bytes must fail this feed, never the run
            outcome.error = f"could not parse the feed ({type(exc).__name__}: {exc})"
            result.status, result.error = "error", outcome.error
        else:
            outcome.entries, outcome.title, outcome.bozo = parsed.entries, parsed.title, parsed.bozo
    result.body = b""  # parsed; no need to carry the bytes further
    return outcome


class FeedChecks:
    """Feeds checked concurrently (``policy.max_concurrency`` at once), each outcome put on
    ``answers`` as it comes (one per feed), so that the pages of the feeds that answered are
    fetched while slower feeds are still being waited for."""

    def __init__(
        self, feeds: list[dict], states: dict, policy: FetchPolicy, limiter: HostLimiter, answers: queue.Queue
    ):
        self._answers = answers
        self._threads = ThreadPoolExecutor(max_workers=policy.max_concurrency, thread_name_prefix="feed-check")
        for feed in feeds:
            self._threads.submit(self._check, feed, states.get(feed["url"]), policy, limiter)

    def _check(self, feed: dict, state: dict | None, policy: FetchPolicy, limiter: HostLimiter) -> None:
        try:
            outcome = check_feed(feed, state, policy, limiter)
        except Exception as exc:  # a bug checking one feed fails that feed, never the run
            from silkwatch.flows.fetch import FetchResult

            error = f"could not check the feed ({type(exc).__name__}: {exc})"
            outcome = FeedOutcome(feed, FetchResult(feed["url"], "feed", "error", error=error), error=error)
        self._answers.put(outcome)

    def __enter__(self) -> FeedChecks:
        return self

    def __exit__(self, *exc) -> None:
        # Stopping, a check still running ends within a read slice (a connect, within its timeout):
        # not waited for.
        self._threads.shutdown(wait=not stopping.stop_requested(), cancel_futures=True)


def poll_plans(outcomes: list[FeedOutcome], now: datetime) -> dict[str, tuple[timedelta, str] | None]:
    """When each feed that answered is checked next, and why (``parsers.polling``); None for a feed
    unchanged since its last check (304): it keeps its plan. Failed feeds back off instead."""
    plans: dict[str, tuple[timedelta, str] | None] = {}
    for outcome in outcomes:
        if outcome.ok:
            unchanged = outcome.result.status == "not_modified" and outcome.feed.get("interval") is None
            plan = poll_plan([e.published for e in outcome.entries], now, outcome.feed.get("interval"))
            plans[outcome.feed["url"]] = None if unchanged else (plan.interval, plan.reason)
    return plans


def entry_to_json(entry: FeedEntry) -> str:
    """A feed entry as JSON, to be kept until its page is stored (``warehouse.feeds.pending_entries``)."""
    return json.dumps(dataclasses.asdict(entry), default=datetime.isoformat, ensure_ascii=False)


def entry_from_json(text: str) -> FeedEntry:
    from silkwatch.parsers.feeds import FeedEntry

    values = json.loads(text)
    for f in dataclasses.fields(FeedEntry):
        if "datetime" in str(f.type) and values.get(f.name) is not None:
            values[f.name] = datetime.fromisoformat(values[f.name])
    return FeedEntry(**values)


@dataclass
class PageBatch:
    rows: list[dict] = field(default_factory=list)  # warehouse rows (see parsers.rows.copy_to_row)
    log: list[dict] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    deferred: int = 0  # pages that failed transiently: retried next run
    settled: list[str] = field(default_factory=list)  # keys of the entries done with (stored or failed for good)
    retry_later: dict[str, int] = field(default_factory=dict)  # entry key -> failures so far, of transient failures
    stopped: bool = False  # the run stopped: this batch is incomplete, and is not saved
