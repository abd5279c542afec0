"""Feed bytes -> entries, with feedparser on bytes we fetched (feedparser never fetches here)."""

from __future__ import annotations

import calendar
import hashlib
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import feedparser

from parsers.text import collapse_whitespace
from parsers.urls import canonical_url

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
    date_found: str | None = None  # which of the entry's dates ``published`` is, as written


@dataclass
class ParsedFeed:
    title: str | None
    version: str | None
    encoding: str | None
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


_XML_DECL_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*\bencoding=["']([A-Za-z0-9._-]+)["']""")
_C1_BYTES = re.compile(rb"[\x80-\x9f]")
_LATIN1_LABELS = {"iso-8859-1", "latin-1", "latin1", "windows-1252", "cp1252", "us-ascii", "ascii"}


def effective_content_type(data: bytes, content_type: str | None) -> str | None:
    """The content type to decode with. Servers often send a default charset that the feed's own
    XML declaration contradicts; the declaration is written by the feed's producer, so it wins.
    Without a declaration, bytes that are valid UTF-8 but labelled Latin-1 are read as UTF-8."""
    declared = _XML_DECL_ENCODING.match(data[:300])
    if declared and declared.group(1).decode().lower() in _LATIN1_LABELS and _C1_BYTES.search(data):
        # Bytes 0x80-0x9F are control characters in ISO-8859-1 but quotes and dashes in windows-1252,
        # which is what such feeds are written in (the WHATWG Encoding Standard reads the label so too).
        return f"{(content_type or 'application/xml').partition(';')[0].strip()}; charset=windows-1252"
    if not content_type or "charset=" not in content_type.lower():
        return content_type
    media_type, _, params = content_type.partition(";")
    charset = params.lower().split("charset=", 1)[1].split(";")[0].strip(" \"'")
    if declared:
        return media_type.strip() or None
    if charset in _LATIN1_LABELS and not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return content_type
        return f"{media_type.strip()}; charset=utf-8"
    return content_type


def _replace_invalid_utf8(data: bytes, content_type: str | None) -> bytes:
    """A feed that says it is UTF-8 but holds a few invalid bytes: those bytes become U+FFFD. Left
    alone, feedparser would decode the whole feed as windows-1252 and every non-ASCII word would be
    stored garbled."""
    declared = _XML_DECL_ENCODING.match(data[:300])
    charset = (content_type or "").lower().partition("charset=")[2].strip(" \"'")
    encoding = (charset or (declared.group(1).decode() if declared else "")).lower()
    if encoding not in ("utf-8", "utf8") or data.isascii():
        return data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace").encode("utf-8")
    return data


def feedparser_result(data: bytes, url: str = "", content_type: str | None = None) -> feedparser.FeedParserDict:
    """feedparser's own result for the bytes, decoded as ``effective_content_type`` says."""
    content_type = effective_content_type(data, content_type)
    data = _replace_invalid_utf8(data, content_type)
    headers = {"content-type": content_type, "content-location": url} if content_type else None
    return feedparser.parse(data, response_headers=headers, sanitize_html=False, resolve_relative_uris=True)


def parse_feed(data: bytes, url: str = "", content_type: str | None = None) -> ParsedFeed:
    """Parse RSS 0.9x/1.0/2.0 or Atom bytes. Malformed feeds that still yield entries are used and
    flagged (``bozo``); a document with no entries and no feed element is a ``FeedError``."""
    parsed = feedparser_result(data, url, content_type)
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
        encoding=parsed.get("encoding"),
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
                date_found=date_found,
            )
        )
    return feed
