"""How often to check a feed: from the rate at which it publishes, between 10 minutes and 24 hours,
unless its ``interval`` is set in feeds.toml. Pure.

The interval is the mean gap between the feed's dated entries of the last week, counted from the
oldest of them to now (Miniflux's entry frequency scheduler counts a week's entries likewise): a
feed publishing every hour is checked every hour, and then a check finds about one new item; a feed
quiet for a week is checked once a day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

MIN_INTERVAL = timedelta(minutes=10)
MAX_INTERVAL = timedelta(hours=24)
DEFAULT_INTERVAL = timedelta(minutes=30)  # no dated entries to learn from: the old fixed cadence
WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class PollPlan:
    interval: timedelta
    reason: str


def describe_interval(interval: timedelta) -> str:
    minutes = round(interval.total_seconds() / 60)
    if minutes % 1440 == 0:
        return f"{minutes // 1440} d"
    if minutes >= 60 and minutes % 60 == 0:
        return f"{minutes // 60} h"
    if minutes > 90:
        return f"{minutes / 60:.1f} h"
    return f"{minutes} min"


def parse_interval(value: object) -> timedelta:
    """feeds.toml's ``interval``: minutes as a number, or "45m", "2h", "1d"; ValueError if neither."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an interval")
    if isinstance(value, int | float):
        minutes = float(value)
    elif isinstance(value, str) and value.strip()[-1:].lower() in ("m", "h", "d") and value.strip()[:-1]:
        unit = {"m": 1, "h": 60, "d": 1440}[value.strip()[-1].lower()]
        try:
            minutes = float(value.strip()[:-1]) * unit
        except ValueError:
            raise ValueError(f"{value!r} is not an interval (e.g. 45m, 2h, 1d, or minutes)") from None
    else:
        raise ValueError(f"{value!r} is not an interval (e.g. 45m, 2h, 1d, or minutes)")
    if not 1 <= minutes <= 7 * 1440:
        raise ValueError(f"{value!r} is out of range (1 minute to 7 days)")
    return timedelta(minutes=minutes)


def poll_plan(published: Sequence[datetime | None], now: datetime, interval: timedelta | None = None) -> PollPlan:
    """When to check the feed next, and why, from the publication times of its current entries."""
    if interval is not None:
        return PollPlan(interval, f"every {describe_interval(interval)}: interval set in the feed list")
    dated = sorted(d for d in published if d is not None and d <= now + timedelta(hours=1))
    if not dated:
        return PollPlan(
            DEFAULT_INTERVAL, f"every {describe_interval(DEFAULT_INTERVAL)}: no dated entries to learn from"
        )
    recent = [d for d in dated if d >= now - WINDOW]
    if not recent:
        return PollPlan(MAX_INTERVAL, f"every {describe_interval(MAX_INTERVAL)}: nothing new for over a week")
    # n items since the oldest of them (within the week): a feed listing only its last 2 hours
    # publishes n per 2 hours, not n per week
    span = max(now - recent[0], timedelta(hours=1))
    gap = span / len(recent)
    chosen = min(MAX_INTERVAL, max(MIN_INTERVAL, gap))
    per_day = len(recent) / (span / timedelta(days=1))
    per = f"{per_day:.1f} items a day" if per_day >= 1 else f"{per_day * 7:.1f} items a week"
    bound = " (the shortest)" if chosen == MIN_INTERVAL else " (the longest)" if chosen == MAX_INTERVAL else ""
    return PollPlan(chosen, f"every {describe_interval(chosen)}{bound}: {per} in its last {describe_interval(span)}")
