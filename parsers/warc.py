"""WARC files -> the HTML pages they archive (warcio): each ``response`` record of HTTP 200 with an
HTML body, with its URL, status, Content-Type and crawl time. Pure: reads a stream it is given.
Common Crawl News files are gzipped per record; warcio reads both that and plain WARC."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from silkwatch.parsers.urls import canonical_url

HTML_TYPES = ("text/html", "application/xhtml+xml")
MAX_RECORD_BYTES = 10 * 1024 * 1024  # a larger page body is not an article (the fetcher's cap, likewise)


class WarcError(ValueError):
    """Not a readable WARC file, or damaged part-way; the message says where (the caller names the file)."""


@dataclass(frozen=True)
class ArchivedPage:
    url: str  # canonical
    http_status: int
    content_type: str | None
    body: bytes
    crawled_at: datetime | None  # WARC-Date, naive UTC


def archived_pages(stream: BinaryIO, with_bodies: bool = True) -> Iterator[ArchivedPage]:
    """The HTML pages of the WARC stream, in file order (bodies left empty unless ``with_bodies``).
    A record over ``MAX_RECORD_BYTES`` is skipped. Damage raises ``WarcError`` after the pages before it."""
    if not starts_as_warc(stream):
        raise WarcError("not a WARC file (it does not begin with a WARC/1.x record; ARC files are not read)")
    records = 0
    try:
        for record in ArchiveIterator(stream):
            records += 1
            if record.rec_type != "response" or record.http_headers is None:
                continue
            url = record.rec_headers.get_header("WARC-Target-URI") or ""
            status = record.http_headers.get_statuscode()
            content_type = record.http_headers.get_header("Content-Type")
            kind = (content_type or "").split(";")[0].strip().lower()
            if not url.startswith(("http://", "https://")) or status != "200" or kind not in HTML_TYPES:
                continue
            body = b""
            if with_bodies:
                body = record.content_stream().read(MAX_RECORD_BYTES + 1)
                if len(body) > MAX_RECORD_BYTES:
                    continue
                if getattr(record.raw_stream, "limit", 0) > 0:  # the file ended inside the record
                    raise WarcError(f"damaged after record {records - 1}: the record of {url} is cut short")
            yield ArchivedPage(canonical_url(url), int(status), content_type, body, _warc_date(record))
    except ArchiveLoadFailed as exc:
        where = "not a WARC file" if records == 0 else f"damaged after record {records}"
        raise WarcError(f"{where} ({str(exc).strip().splitlines()[0][:200]})") from None
    except (OSError, EOFError, ValueError) as exc:  # truncated gzip, broken headers
        where = "not a WARC file" if records == 0 else f"damaged after record {records}"
        raise WarcError(f"{where} ({type(exc).__name__}: {exc})") from None


def starts_as_warc(stream: BinaryIO) -> bool:
    """Whether the stream (gzipped or not) begins with a WARC record header; the stream is rewound."""
    head = stream.read(4096)
    stream.seek(0)
    if head.startswith(b"\x1f\x8b"):
        try:
            head = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS).decompress(head, 16)
        except zlib.error:
            return False
    return head.startswith(b"WARC/")


def _warc_date(record) -> datetime | None:
    value = record.rec_headers.get_header("WARC-Date")
    try:
        return datetime.fromisoformat(value).astimezone(UTC).replace(tzinfo=None) if value else None
    except ValueError:
        return None
