"""Feed bytes -> entries, with feedparser on bytes we fetched (feedparser never fetches here)."""

from __future__ import annotations

import calendar
import codecs
import hashlib
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import feedparser

from silkwatch.parsers.decode import Decoded, decode, encoding_for
from silkwatch.parsers.text import collapse_whitespace
from silkwatch.parsers.urls import canonical_url

_TAG = re.compile(r"<[^>]+>")
_BLOCK = re.compile(r"</?(p|br|div|li|h[1-6]|blockquote)\b[^>]*>", re.IGNORECASE)


class FeedError(ValueError):
    """The bytes are not a usable feed; the message says why."""


@dataclass(frozen=True)
class FeedEntry:
    key: str  # identity: the canonical link, else the guid, else a hash of title and summary
    link: str | None  # canonical link
    guid: str | None
    title: str
    summary: str  # plain text
    author: str | None
    published: datetime | None  # as the feed states it, UTC
    date_note: str | None = None  # why a date the entry states could not be read
    encoding: str | None = None  # the feed's encoding, and why (``parsers.decode``): its summary's
    encoding_from: str | None = None
    date_found: str | None = None  # which of the entry's dates ``published`` is, as written


@dataclass
class ParsedFeed:
    title: str | None
    version: str | None
    encoding: str | None  # what the feed was read in, and why (``parsers.decode``)
    encoding_from: str | None
    entries: list[FeedEntry] = field(default_factory=list)
    bozo: str | None = None  # why the feed is malformed, when it is but still yielded entries
    empty_entries: int = 0  # items with no link, title or text (they happen): skipped


def html_to_text(value: str) -> str:
    """Feed summaries are HTML fragments: paragraphs kept, tags dropped, entities decoded."""
    text = _BLOCK.sub("\n", value or "")
    text = html.unescape(_TAG.sub("", text))
    return "\n\n".join(collapse_whitespace(p) for p in text.split("\n") if p.strip())


_IMPOSSIBLE_OFFSET = re.compile(r"[+-](?:1[5-9]|[2-9]\d):?\d\d\s*$|[+-]\d\d:?[6-9]\d\s*$")  # beyond ±14:59


def _entry_date(entry) -> tuple[datetime | None, str | None, str | None]:
    """The entry's date in UTC, or None with why a date it states could not be used; and which
    date it is, as written (``published 'Tue, 3 Jan 2006 19:57:00 +0300'``)."""
    for key in ("published", "updated", "created"):
        # `key in entry` first: feedparser's get() maps updated->published with a DeprecationWarning
        parsed = entry[f"{key}_parsed"] if f"{key}_parsed" in entry else None  # noqa: SIM401 - get() is what warns
        if parsed:
            if _IMPOSSIBLE_OFFSET.search(str(entry.get(key, ""))):  # feedparser reads +9999 as 99 h 99 min
                return (
                    None,
                    f"feed date {collapse_whitespace(str(entry[key]))[:60]!r} has an impossible time zone",
                    None,
                )
            try:
                value = datetime.fromtimestamp(calendar.timegm(parsed), UTC).replace(tzinfo=None)
            except (OverflowError, ValueError, OSError):
                return None, f"feed date {collapse_whitespace(str(entry.get(key, '')))[:60]!r} is out of range", None
            return value, None, f"{key} {collapse_whitespace(str(entry.get(key, '')))[:60]!r}"
    for key in ("published", "updated", "created"):
        if key in entry and collapse_whitespace(str(entry[key])):
            return None, f"feed date {collapse_whitespace(str(entry[key]))[:60]!r} could not be read", None
    return None, None, None


def effective_content_type(data: bytes, content_type: str | None, decoded: Decoded | None = None) -> str:
    """The Content-Type to read the feed with: its media type, and the charset ``parsers.decode``
    chose (the feed's own declaration, the server's charset, or what detection found)."""
    decoded = decoded or decode(data, content_type, "xml")
    encoding = encoding_for(decoded.encoding, ascii_compatible=False)
    return f"{_media_type(content_type)}; charset={encoding.codec if encoding else decoded.encoding}"


def feedparser_result(
    data: bytes, url: str = "", content_type: str | None = None, decoded: Decoded | None = None
) -> feedparser.FeedParserDict:
    """feedparser's own result for the bytes, read in the encoding ``parsers.decode`` chose.

    feedparser decodes by itself first, and its result (``encoding`` and ``bozo`` included) is kept
    whenever it reads the text as the decoder does. Where they differ (a Latin-1 label over
    windows-1252 quotes, a server charset the feed contradicts, a feed with no declaration, a few
    invalid bytes in UTF-8) it parses again, in the decoder's encoding."""
    decoded = decoded or decode(data, content_type, "xml")
    parsed = _feedparser_parse(data, url, content_type)
    if not decoded.confident or _reads_alike(parsed.get("encoding"), data, decoded):
        return parsed
    try:
        data.decode(encoding_for(decoded.encoding, ascii_compatible=False).codec)
    except (UnicodeDecodeError, AttributeError):  # damaged bytes, whose invalid sequences became U+FFFD
        return _feedparser_parse(decoded.text.encode("utf-8"), url, f"{_media_type(content_type)}; charset=utf-8")
    return _feedparser_parse(data, url, effective_content_type(data, content_type, decoded))


def _media_type(content_type: str | None) -> str:
    return (content_type or "").partition(";")[0].strip() or "application/xml"


def _feedparser_parse(data: bytes, url: str, content_type: str | None) -> feedparser.FeedParserDict:
    headers = {"content-type": content_type, "content-location": url} if content_type else None
    return feedparser.parse(data, response_headers=headers, sanitize_html=False, resolve_relative_uris=True)


def _reads_alike(label: str | None, data: bytes, decoded: Decoded) -> bool:
    """feedparser, reading ``data`` in the encoding ``label`` names, gets the decoder's text."""
    theirs = encoding_for(label, ascii_compatible=False) if label else None
    ours = encoding_for(decoded.encoding, ascii_compatible=False)
    if theirs is None or ours is None:
        return False
    if codecs.lookup(theirs.codec).name == codecs.lookup(ours.codec).name:
        return True
    try:
        return data.decode(theirs.codec).removeprefix("\ufeff") == decoded.text
    except UnicodeDecodeError:
        return False


def parse_feed(data: bytes, url: str = "", content_type: str | None = None) -> ParsedFeed:
    """Parse RSS 0.9x/1.0/2.0 or Atom bytes. Malformed feeds that still yield entries are used and
    flagged (``bozo``); a document with no entries and no feed element is a ``FeedError``."""
    decoded = decode(data, content_type, "xml")
    parsed = feedparser_result(data, url, content_type, decoded)
    if not decoded.confident and not _reads_alike(parsed.get("encoding"), data, decoded):
        # too few bytes for our detector's guess, and feedparser's own reading was kept: record that
        decoded = Decoded("", parsed.get("encoding") or decoded.encoding, "detected (by feedparser)", False)
    bozo = None
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        bozo = f"{type(exc).__name__}: {exc}" if exc else "malformed"
    if not parsed.entries and not parsed.get("version"):
        raise FeedError("not an RSS or Atom feed" + (f" ({bozo})" if bozo else ""))
    if not parsed.entries and bozo:
        raise FeedError(f"no entries in a malformed feed ({bozo})")
    feed = ParsedFeed(
        title=collapse_whitespace(parsed.feed.get("title", "")) or None,
        version=parsed.get("version") or None,
        encoding=decoded.encoding,
        encoding_from=decoded.encoding_from,
        bozo=bozo,
    )
    raw_links = [(entry.get("link") or "").strip() for entry in parsed.entries]
    canonical = [canonical_url(x) if x.startswith(("http://", "https://")) else None for x in raw_links]
    seen: set[str] = set()
    for entry, raw, canonical_link in zip(parsed.entries, raw_links, canonical, strict=True):
        link = canonical_link
        if link and canonical.count(link) > 1 and "#" in raw:
            # Old blog archives give each post a #fragment on one page: there the fragment identifies it.
            link = f"{link}#{raw.split('#', 1)[1]}"
        guid = (entry.get("id") or "").strip() or None
        title = collapse_whitespace(html.unescape(_TAG.sub("", entry.get("title", ""))))
        content = entry.get("content") or []
        body = max([c.get("value", "") for c in content] + [entry.get("summary", "")], key=len)
        summary = html_to_text(body)
        if not (link or title or summary):
            feed.empty_entries += 1
            continue
        key = link or guid or "sha1:" + hashlib.sha1(f"{title}\n{summary}".encode()).hexdigest()  # noqa: S324 - identity, not security
        if key in seen:
            continue
        seen.add(key)
        published, date_note, date_found = _entry_date(entry)
        feed.entries.append(
            FeedEntry(
                key=key,
                link=link,
                guid=guid,
                title=title,
                summary=summary,
                author=collapse_whitespace(entry.get("author", "")) or None,
                published=published,
                date_note=date_note,
                encoding=decoded.encoding,
                encoding_from=decoded.encoding_from,
                date_found=date_found,
            )
        )
    return feed
