"""Publication dates with their provenance: read as written (Chinese, Russian, English, ISO),
normalised to naive UTC in the outlet's zone, implausible ones refused.

A date is read as its text states it (``StatedDate``): the wall-clock value, whether it gives a
time, and the zone it names if it names one. Only then is it placed in UTC (``to_utc``): in the zone
it states, else in the outlet's (``outlet_zone``). A date without a time stays on its day (00:00 of
that day, never shifted across midnight); a time whose zone is unknown is kept as written, with a
note. Nothing is guessed: a day and month without a year take the year from context (the feed's
date, the URL's, the run's) only when one year fits; 7/5/2005 (July or May?) is not read at all.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from importlib import resources
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EARLIEST_PLAUSIBLE = datetime(1990, 1, 1)
FUTURE_TOLERANCE = timedelta(days=1)  # clocks and time zones disagree; a day ahead is still plausible
# A day and month without a year are read in the year that puts them at most this long before the
# context date (and at most a day after it); otherwise the year is ambiguous and the date unread.
YEARLESS_WINDOW = timedelta(days=45)
_URL_DATE = re.compile(r"/((?:19|20)\d{2})[/-](0[1-9]|1[0-2])[/-](0[1-9]|[12]\d|3[01])(?:/|[^\d]|$)")


@dataclass(frozen=True)
class DatedFrom:
    value: datetime | None  # naive UTC
    source: str | None  # "page", "feed", "url", "text"; None when unknown
    note: str | None = None  # why a stated date was not trusted


@dataclass(frozen=True)
class StatedDate:
    """A date as a text or a page states it, before any zone is applied."""

    value: datetime  # naive wall-clock time as written (00:00 when only a day is given)
    has_time: bool
    zone: tzinfo | None  # the zone the date itself states (an offset, Z, 北京时间, МСК), else None
    raw: str  # the text it was read from
    found: str = ""  # where it was found, e.g. "meta article:published_time", "text by the headline"

    def describe(self) -> str:
        return f"{self.found} {self.raw!r}".strip()


@cache
def date_rules() -> dict:
    return tomllib.loads(resources.files("silkwatch.parsers").joinpath("rules/dates.toml").read_text("utf-8"))


@cache
def _month_numbers() -> dict[str, int]:
    return {name: int(number) for number, names in date_rules()["months"].items() for name in names}


@cache
def _zone_words() -> dict[str, str]:
    return {word.casefold(): zone for word, zone in date_rules()["zone_words"].items()}


def zone_named(name: str) -> tzinfo:
    return UTC if name == "UTC" else ZoneInfo(name)


def is_zone_name(name: object) -> bool:
    """Whether ``name`` is an IANA time zone name this machine knows ("Asia/Almaty", "UTC")."""
    if not isinstance(name, str) or not name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        zone_named(name)
    except (ValueError, ZoneInfoNotFoundError):
        return False
    return True


# --- reading dates in text -----------------------------------------------------------------------

_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2}(?!\d)|(?:UTC|GMT)\s*[+-]\s*\d{1,2}(?::?\d{2})?(?!\d))"


@cache
def _patterns() -> tuple[re.Pattern[str], ...]:
    months = "|".join(sorted((re.escape(m) for m in _month_numbers()), key=len, reverse=True))
    zone_words = "|".join(sorted((re.escape(w) for w in _zone_words()), key=len, reverse=True))
    time = (
        r"(?:(?:[\sT,，]|&nbsp;)*(?:в\s+|at\s+|um\s+|-\s+)?(?P<zoneword0>北京时间|北京時間|格林尼治标准时间)?\s*"
        r"(?P<ampm0>上午|下午|晚上|凌晨|早上|中午)?\s*"
        r"(?P<hh>[012]?\d)\s*(?:[:：]|时|點|点)\s*(?P<mi>[0-5]\d)(?:\s*(?:[:：]|分)\s*(?P<ss>[0-5]\d))?"
        r"(?:[.,]\d+)?分?\s*(?P<ampm>[ap]\.?\s?m\.?(?![a-z]))?"
        rf"(?:\s*\(?\s*(?P<offset>{_OFFSET})|\s*\(?\s*(?P<zoneword>{zone_words})(?![\w]))?)?"
    )
    weekday = (
        r"(?:\s*[,，]?\s*(?:星期[一二三四五六日天]|周[一二三四五六日]|[（(]\s*(?:星期|周)[一二三四五六日天]\s*[)）]))?"
    )
    lead_time = r"(?:(?P<hh0>[012]?\d):(?P<mi0>[0-5]\d)\s*(?P<ampm00>[ap]\.?m\.?)?\s*(?:[A-Z]{2,4}\s*)?[,|]?\s*)?"
    ymd = (
        r"(?<![\d.\-/])(?P<y>(?:19|20)\d{2})\s*(?P<sep>[-/.]|年)\s*(?P<m>[01]?\d)\s*(?:(?P=sep)|月)\s*"
        r"(?P<d>[0-3]?\d)(?:\s*[日号]|(?!\d))"
    )
    md_zh = r"(?<![\d年/.\-])(?P<m>[01]?\d)\s*月\s*(?P<d>[0-3]?\d)\s*[日号]"
    dmy_dots = rf"(?<![\w.]){lead_time}(?P<d>[0-3]?\d)\.(?P<m>[01]?\d)\.(?P<y>(?:19|20)\d{{2}})(?![\d.])"
    slashes = r"(?<![\d/])(?P<a>[01]?\d|[0-3]\d)/(?P<b>[0-3]?\d)/(?P<y>(?:19|20)\d{2})(?![\d/])"
    day_word = r"(?:(?:[A-Za-zА-Яа-яЁё]+)\s*,\s*)?"
    d_month = (
        rf"(?<![\w]){lead_time}{day_word}(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\s+(?P<mon>{months})\.?"
        r"(?:\s*,?\s+(?P<y>(?:19|20)\d{2})(?:\s*(?:г\.|года|г(?![\w])))?)?(?![\w])"
    )
    month_d = (
        rf"(?<![\w]){lead_time}{day_word}(?P<mon>{months})\.?\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?"
        r"(?:\s*,?\s+(?P<y>(?:19|20)\d{2}))?(?![\w])"
    )
    return tuple(
        re.compile(p + weekday + time, re.IGNORECASE) for p in (ymd, dmy_dots, slashes, d_month, month_d, md_zh)
    )


def _int(value: str | None) -> int | None:
    return int(value) if value else None


def _year_from_context(month: int, day: int, context: datetime | None) -> int | None:
    """The year a yearless day and month falls in, near ``context``; None when no year fits."""
    if context is None:
        return None
    for year in (context.year, context.year - 1, context.year + 1):
        try:
            candidate = datetime(year, month, day)
        except ValueError:
            continue
        if context - YEARLESS_WINDOW <= candidate <= context + timedelta(days=1):
            return year
    return None


def _from_match(m: re.Match[str], context: datetime | None) -> StatedDate | None:
    g = m.groupdict()
    day_month = _day_month(g)
    if day_month is None:
        return None
    day, month = day_month
    year = _int(g.get("y")) or _year_from_context(month, day, context)
    if year is None:
        return None
    hh, mi, ss = _clock(g)
    try:
        value = datetime(year, month, day, hh or 0, mi or 0, ss or 0)
    except ValueError:
        return None
    has_time = hh is not None and (hh, mi, ss or 0) != (0, 0, 0)  # 00:00:00 is a CMS's "no time"
    zone = None
    if has_time and g.get("offset"):
        zone = _offset_zone(g["offset"])
    elif has_time and (g.get("zoneword") or g.get("zoneword0")):
        zone = zone_named(_zone_words()[(g.get("zoneword") or g["zoneword0"]).casefold()])
    return StatedDate(value, has_time, zone, " ".join(m.group(0).split()))


def _day_month(g: dict) -> tuple[int, int] | None:
    if g.get("mon"):
        return int(g["d"]), _month_numbers()[g["mon"].casefold().rstrip(".")]
    if g.get("a"):  # a/b/yyyy: day-first or month-first; read only when one of them cannot be a month
        a, b = int(g["a"]), int(g["b"])
        if a > 12 >= b:
            return a, b
        if b > 12 >= a:
            return b, a
        return None
    return int(g["d"]), int(g["m"])


def _clock(g: dict) -> tuple[int | None, int | None, int | None]:
    """Hours, minutes, seconds (24-hour clock), from a time after the date or before it."""
    hh, mi, ss = _int(g.get("hh")), _int(g.get("mi")), _int(g.get("ss"))
    ampm = (g.get("ampm") or "").casefold()
    if hh is None and g.get("hh0"):
        hh, mi, ampm = int(g["hh0"]), int(g["mi0"]), (g.get("ampm00") or "").casefold()
    if hh is not None:
        if (ampm.startswith("p") or g.get("ampm0") in ("下午", "晚上")) and hh < 12:
            hh += 12
        elif (ampm.startswith("a") or g.get("ampm0") == "凌晨") and hh == 12:
            hh = 0
    return hh, mi, ss


def _offset_zone(text: str) -> tzinfo | None:
    text = re.sub(r"\s+", "", text).upper().removeprefix("UTC").removeprefix("GMT")
    if text in ("Z", ""):
        return UTC
    m = re.fullmatch(r"([+-])(\d{1,2}):?(\d{2})?", text)
    if not m:
        return None
    minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
    if minutes > 14 * 60:
        return None
    from datetime import timezone

    return timezone(timedelta(minutes=minutes if m.group(1) == "+" else -minutes))


_ZONE_BEFORE = re.compile(r"(北京时间|北京時間)\s*[:：]?\s*$")


def dates_in_text(text: str, context: datetime | None = None) -> list[tuple[int, StatedDate]]:
    """Every date ``text`` states, with its offset, in order; overlapping readings keep the longest.

    A day and month with no year are read only near ``context`` (see ``YEARLESS_WINDOW``)."""
    found: list[tuple[int, int, StatedDate]] = []
    for pattern in _patterns():
        for m in pattern.finditer(text):
            stated = _from_match(m, context)
            if stated is None:
                continue
            if stated.has_time and stated.zone is None and _ZONE_BEFORE.search(text[max(0, m.start() - 8) : m.start()]):
                stated = replace(stated, zone=zone_named("Asia/Shanghai"))
            found.append((m.start(), m.end(), stated))
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    kept: list[tuple[int, int, StatedDate]] = []
    for start, end, stated in found:
        if kept and start < kept[-1][1]:
            continue
        kept.append((start, end, stated))
    return [(start, stated) for start, _, stated in kept]


def parse_stated(value: str | None, context: datetime | None = None, found: str = "") -> StatedDate | None:
    """The date a short text (a metadata value, a byline) states; None when it states none.

    ISO 8601 values (as metadata writes them) are read first, then the forms of ``dates_in_text``."""
    if not value or not value.strip():
        return None
    text = value.strip()
    iso = _read_iso(text)
    if iso is not None:
        return replace(iso, found=found)
    dates = dates_in_text(text[:200], context)
    return replace(dates[0][1], found=found) if dates else None


_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?)?")


def _read_iso(text: str) -> StatedDate | None:
    if not _ISO.fullmatch(text):
        return None
    normalised = re.sub(r"\s*([+-]\d{2})(\d{2})$", r"\1:\2", text.replace("Z", "+00:00"))
    normalised = re.sub(r"([+-]\d{2})$", r"\1:00", normalised) if "T" in text or " " in text else normalised
    try:
        parsed = datetime.fromisoformat(normalised)
    except ValueError:
        return None
    has_time = len(text) > 10 and parsed.time() != datetime.min.time()  # 00:00:00 is a CMS's "no time"
    zone = parsed.tzinfo if has_time else None
    return StatedDate(parsed.replace(tzinfo=None, microsecond=0), has_time, zone, text)


# --- placing dates in UTC ------------------------------------------------------------------------


def outlet_zone(
    url: str | None, language: str | None = None, declared: str | None = None
) -> tuple[tzinfo | None, str | None]:
    """The zone an outlet's unzoned times are in, and why: the feed's ``timezone`` key, else the
    host's country domain, else the language when it is written in one zone only (dates.toml)."""
    rules = date_rules()
    if declared:
        return zone_named(declared), f"{declared}: the feed's timezone"
    host = (urlsplit(url).hostname or "") if url and "://" in url else ""
    tld = host.rsplit(".", 1)[-1] if "." in host else ""
    if tld in rules["zone_by_tld"]:
        name = rules["zone_by_tld"][tld]
        return zone_named(name), f"{name}: a .{tld} host"
    if language in rules["zone_by_language"]:
        name = rules["zone_by_language"][language]
        return zone_named(name), f"{name}: a {language} outlet"
    return None, None


def to_utc(stated: StatedDate, zone: tzinfo | None, zone_why: str | None = None) -> tuple[datetime, str]:
    """``stated`` in naive UTC, and how it was placed there (for provenance).

    A bare date stays on its day; a time goes through the zone it states, else the outlet's; a
    time in an unknown zone is kept as written (its day is the stated day, its hour may be off)."""
    how = stated.describe()
    if not stated.has_time:
        return stated.value, f"{how} (a day, no time)"
    if stated.zone is not None:
        return to_utc_naive(stated.value.replace(tzinfo=stated.zone)), how
    if zone is not None:
        return to_utc_naive(stated.value.replace(tzinfo=zone)), f"{how} (in {zone_why or zone})"
    return stated.value, f"{how} (no zone known: kept as written)"


def to_utc_naive(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(microsecond=0)


def local_day(value_utc: datetime, zone: tzinfo | None) -> datetime:
    """The calendar day (00:00) a naive-UTC moment falls on in ``zone`` (UTC when unknown)."""
    if zone is not None:
        value_utc = value_utc.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)
    return value_utc.replace(hour=0, minute=0, second=0, microsecond=0)


# --- trust -----------------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class CopyDates:
    """A copy's date and the provenance of each date it was chosen from (article_sources columns)."""

    chosen: DatedFrom
    feed_published_at: datetime | None = None
    feed_date_found: str | None = None
    page_published_at: datetime | None = None
    page_date_found: str | None = None


def reconcile_dates(
    feed: datetime | None,
    feed_found: str | None,
    page: StatedDate | None,
    url: str,
    now: datetime,
    *,
    language: str | None = None,
    timezone: str | None = None,
) -> CopyDates:
    """The date to store for a copy: the feed entry's (UTC), the page's (placed in UTC in the
    outlet's zone), else the URL's. When feed and page put the article on different days, the
    earlier is kept and the disagreement noted: a feed's later date is when it listed or updated
    the item (some stamp every item with the time they were fetched), a page's later date is an
    update line or a re-publication. Dates before 1990 or in the future are not trusted."""
    zone, zone_why = outlet_zone(url, language, timezone)
    page_at, page_found = to_utc(page, zone, zone_why) if page else (None, None)
    feed_ok, page_ok = check_plausible(feed, "feed", now), check_plausible(page_at, "page", now)
    notes = [n for n in (feed_ok.note, page_ok.note) if n]
    provenance = {
        "feed_published_at": feed, "feed_date_found": feed_found if feed else None,
        "page_published_at": page_at, "page_date_found": page_found,
    }  # fmt: skip
    if feed_ok.value and page_ok.value and page and not _same_day(feed_ok.value, page, page_ok.value, zone):
        earlier = min(feed_ok, page_ok, key=lambda d: d.value)
        notes.append(
            f"feed says {feed_ok.value:%Y-%m-%d %H:%M} UTC, page says {page_ok.value:%Y-%m-%d %H:%M} UTC "
            f"({page_found}): the earlier, the {earlier.source}'s, kept"
        )
        return CopyDates(DatedFrom(earlier.value, earlier.source, "; ".join(notes)), **provenance)
    for dated in (feed_ok, page_ok):
        if dated.value is not None:
            return CopyDates(DatedFrom(dated.value, dated.source, "; ".join(notes) or None), **provenance)
    from_url = best_date([(date_from_url(url), "url")], now)
    notes += [from_url.note] if from_url.note else []
    return CopyDates(DatedFrom(from_url.value, from_url.source, "; ".join(notes) or None), **provenance)


def _same_day(feed: datetime, page: StatedDate, page_at: datetime, zone: tzinfo | None) -> bool:
    """Whether the feed's moment falls on the day the page states: in the outlet's zone when it is
    known; when it is not, on that day somewhere between UTC-12 and UTC+14."""
    if page.has_time:
        frame = zone or page.zone
        return local_day(feed, frame) == local_day(page_at, frame)
    day = page.value.date()
    if zone is not None:
        return local_day(feed, zone).date() == day
    return (feed - timedelta(hours=12)).date() <= day <= (feed + timedelta(hours=14)).date()
