"""Publication dates with their provenance: normalised to naive UTC, implausible ones refused."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EARLIEST_PLAUSIBLE = datetime(1990, 1, 1)
FUTURE_TOLERANCE = timedelta(days=1)  # clocks and time zones disagree; a day ahead is still plausible
_URL_DATE = re.compile(r"/((?:19|20)\d{2})[/-](0[1-9]|1[0-2])[/-](0[1-9]|[12]\d|3[01])(?:/|[^\d]|$)")


@dataclass(frozen=True)
class DatedFrom:
    value: datetime | None  # naive UTC
    source: str | None  # "page", "feed", "url", "text"; None when unknown
    note: str | None = None  # why a stated date was not trusted


def to_utc_naive(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(microsecond=0)


def check_plausible(value: datetime | None, source: str, now: datetime) -> DatedFrom:
    """Accept a date between 1990 and a day from now; otherwise keep it only as a note."""
    if value is None:
        return DatedFrom(None, None)
    value = to_utc_naive(value)
    if value < EARLIEST_PLAUSIBLE:
        return DatedFrom(None, None, f"{source} date {value:%Y-%m-%d} is before 1990; not trusted")
    if value > now + FUTURE_TOLERANCE:
        return DatedFrom(None, None, f"{source} date {value:%Y-%m-%d %H:%M} is in the future; not trusted")
    return DatedFrom(value, source)


def date_from_url(url: str) -> datetime | None:
    """A /2019/11/18/ style date in a URL path (day precision)."""
    m = _URL_DATE.search(url)
    if not m:
        return None
    try:
        return datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def parse_iso_date(value: str | None) -> datetime | None:
    """Dates as trafilatura reports them (YYYY-MM-DD, maybe with a time)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def best_date(candidates: list[tuple[datetime | None, str]], now: datetime) -> DatedFrom:
    """The first plausible candidate in order of trust; notes of refused ones are kept."""
    notes = []
    for value, source in candidates:
        dated = check_plausible(value, source, now)
        if dated.value is not None:
            return DatedFrom(dated.value, dated.source, "; ".join(notes) or None)
        if dated.note:
            notes.append(dated.note)
    return DatedFrom(None, None, "; ".join(notes) or None)
