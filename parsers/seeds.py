"""Seed articles: plain text copied from news sites, with the sites' boilerplate left in.

``parse_seed`` turns one such text into an ``ArticleCopy``: headline, clean body, outlet (only when
the site's own boilerplate names it), and publication date (only when the text states one).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from silkwatch.parsers.clean import Removed, clean_text, match_line_rule
from silkwatch.parsers.dates import DatedFrom, check_plausible, outlet_zone, parse_stated, to_utc
from silkwatch.parsers.decode import Decoded, decode
from silkwatch.parsers.dedupe import content_hash
from silkwatch.parsers.measure import HEADLINE_MAX_WORDS, MIN_SEED_WORDS, TITLE_MAX_COLUMNS, truncate, word_count
from silkwatch.parsers.model import ArticleCopy
from silkwatch.parsers.text import collapse_whitespace, detect_language, split_sentences

HEADLINE_SEARCH_LINES = 3  # the headline is among the first few non-boilerplate lines, or absent
_DATELINE = re.compile(r"^\s*(\([^)]{2,40}\)|[A-Z][A-Z .,'-]{2,40}(\([^)]*\))?\s*[-–—:])\s*")


class SeedError(ValueError):
    """A seed cannot be used; the message names the file and the reason."""


def decode_seed(name: str, data: bytes) -> Decoded:
    """Decode a seed file's bytes (``parsers.decode``, as plain text: a BOM, else UTF-8, else the
    encoding detected). Bytes too few to detect from are refused rather than guessed at."""
    decoded = decode(data, document="text")
    if not decoded.confident:
        first = next(i for i, byte in enumerate(data) if byte > 0x7F)
        raise SeedError(
            f"{name}: not UTF-8 text (byte 0x{data[first]:02x} at offset {first}); convert it to UTF-8 and run again"
        )
    return decoded


def seed_url(name: str) -> str:
    """The URL of the copy a seed file ``name`` gives: ``seed:<name>``."""
    return f"seed:{name}"


def parse_seed(name: str, text: str) -> ArticleCopy:
    """Parse one seed text; ``name`` is the file name, used in the copy's URL ``seed:<name>``."""
    if "\x00" in text:
        raise SeedError(f"{name}: contains NUL bytes; not a text file")
    if not text.strip():
        raise SeedError(f"{name}: empty file")
    headline = find_headline(text)
    cleaned = clean_text(text, title=headline)
    body = cleaned.text
    words = word_count(body)
    if words < MIN_SEED_WORDS:
        raise SeedError(f"{name}: no article text left after removing boilerplate ({words} words)")
    removed = _mark_title_line(cleaned.removed)
    title = headline or title_from_lede(body)
    language = detect_language(body)
    dated = stated_date(cleaned.captures.get("published"), language=language)
    return ArticleCopy(
        url=seed_url(name),
        title=title,
        text=body,
        source_name=cleaned.captures.get("outlet"),
        published_at=dated.value,
        published_from=dated.source,
        date_note=dated.note,
        language=language,
        content_hash=content_hash(body),
        removed=removed,
    )


def find_headline(text: str) -> str | None:
    """The headline: a short line without a sentence's final punctuation, near the top."""
    candidates = 0
    for raw in text.splitlines():
        line = collapse_whitespace(raw)
        if not line or match_line_rule(line) is not None:
            continue
        if is_headline_like(line):
            return line
        candidates += 1
        if candidates >= HEADLINE_SEARCH_LINES:
            break
    return None


def is_headline_like(line: str) -> bool:
    """A line of 2 to ``HEADLINE_MAX_WORDS`` words that does not end as a sentence or clause does."""
    ends_like_prose = line.rstrip("\"'”’」』 ").endswith((".", ",", ";", ":", "。", "，", "；", "："))
    return 2 <= word_count(line) <= HEADLINE_MAX_WORDS and not ends_like_prose


def title_from_lede(body: str) -> str:
    """For a text without a headline: its first sentence, dateline removed, cut to a title's length."""
    first = split_sentences(body)[0] if body.strip() else ""
    first = _DATELINE.sub("", first).rstrip(".。")
    return truncate(first, TITLE_MAX_COLUMNS)


def stated_date(value: str | None, now: datetime | None = None, language: str | None = None) -> DatedFrom:
    """A date the text states, read as pages' dates are (parsers/dates.py: Chinese, Russian, English
    and ISO forms), placed in UTC by the zone it states, else its language's when that has one zone
    (Chinese); a seed has no host, so an English or Russian time without a zone is kept as written.
    Checked for plausibility like every other date: an implausible one becomes a note, not a value."""
    stated = parse_stated(value)
    parsed = to_utc(stated, *outlet_zone(None, language))[0] if stated else None
    return check_plausible(parsed, "text", now or datetime.now(UTC).replace(tzinfo=None))


def _mark_title_line(removed: list[Removed]) -> list[Removed]:
    # The first copy of the headline is not boilerplate: it became the title. Later copies are.
    out, seen = [], False
    for r in removed:
        if r.rule == "headline" and not seen:
            seen = True
            out.append(Removed(r.line_no, "headline (kept as title)", r.text))
        else:
            out.append(r)
    return out
