"""Sitemap bytes -> the URLs they list: sitemaps, sitemap indexes, Google News sitemaps, plain-text
sitemaps, gzipped or not. Pure, streaming and bounded: a sitemap is read as a stream (lxml
``iterparse``, entities and network off) and stops at ``max_urls``; gzip is undone once, up to a
size cap, and gzip inside that gzip is refused (a decompression bomb's usual shape).

Sitemaps protocol: https://www.sitemaps.org/protocol.html (50,000 URLs and 50 MB uncompressed per
file); Google News sitemaps: https://developers.google.com/search/docs/crawling-indexing/sitemaps/news-sitemap
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

from silkwatch.parsers.urls import canonical_url

MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the protocol's limit for one file, uncompressed
MAX_URLS_PER_SITEMAP = 50_000  # likewise: entries past it are not read
GZIP_MAGIC = b"\x1f\x8b"


class SitemapError(ValueError):
    """The bytes are not a usable sitemap; the message says why (without the URL: the caller names it)."""


@dataclass(frozen=True)
class ListedUrl:
    url: str
    lastmod: datetime | None = None  # <news:publication_date>, else <lastmod>; naive UTC
    title: str | None = None  # <news:title>
    language: str | None = None  # <news:language>
    publication: str | None = None  # <news:name>


@dataclass
class Sitemap:
    kind: str  # "index" (lists sitemaps) or "urlset" (lists pages)
    urls: list[ListedUrl] = field(default_factory=list)
    skipped: int = 0  # entries without a usable absolute http(s) <loc>
    truncated: bool = False  # more than max_urls entries: the rest were not read
    damage: str | None = None  # malformed after some entries: those are kept, and this says what broke


def ungzip(data: bytes, max_bytes: int = MAX_SITEMAP_BYTES) -> bytes:
    """``data`` gunzipped once if it is gzip (a ``.xml.gz`` sitemap), at most ``max_bytes`` of it."""
    if not data.startswith(GZIP_MAGIC):
        return data
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise SitemapError(f"damaged gzip ({exc})") from None
    if len(out) > max_bytes:
        raise SitemapError(f"over {max_bytes} bytes once gunzipped (a decompression bomb?)")
    if out.startswith(GZIP_MAGIC):
        raise SitemapError("gzip inside gzip (a decompression bomb's shape); not read")
    return out


def parse_sitemap(data: bytes, max_urls: int = MAX_URLS_PER_SITEMAP) -> Sitemap:
    """The entries of one sitemap file (gzipped or not): page URLs (canonical) of a ``<urlset>``,
    or the sitemap URLs of a ``<sitemapindex>``, in file order, at most ``max_urls`` of them."""
    data = ungzip(data)
    if len(data) > MAX_SITEMAP_BYTES:
        raise SitemapError(f"{len(data)} bytes is over the {MAX_SITEMAP_BYTES}-byte limit of a sitemap")
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<"):
        return _text_sitemap(head, max_urls)
    return _xml_sitemap(data, max_urls)


def _text_sitemap(data: bytes, max_urls: int) -> Sitemap:
    """A plain-text sitemap: one absolute URL per line (the protocol allows it)."""
    sitemap = Sitemap("urlset")
    lines = data.decode("utf-8", errors="replace").splitlines()
    for line in lines:
        url = line.strip()
        if not url:
            continue
        if not url.startswith(("http://", "https://")):
            if not sitemap.urls:
                raise SitemapError("neither XML nor a list of URLs")
            sitemap.skipped += 1
            continue
        if len(sitemap.urls) >= max_urls:
            sitemap.truncated = True
            break
        sitemap.urls.append(ListedUrl(canonical_url(url)))
    if not sitemap.urls:
        raise SitemapError("no URLs in it")
    return sitemap


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _xml_sitemap(data: bytes, max_urls: int) -> Sitemap:
    events = etree.iterparse(
        io.BytesIO(data), events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False,
        huge_tree=False, remove_comments=True, remove_pis=True,
    )  # fmt: skip
    sitemap: Sitemap | None = None
    entry = "url"
    try:
        for event, element in events:
            if sitemap is None:  # the root element says what this is
                root = _local(element.tag)
                if root not in ("urlset", "sitemapindex"):
                    raise SitemapError(f"not a sitemap (its root element is <{root}>, not <urlset> or <sitemapindex>)")
                sitemap = Sitemap("index" if root == "sitemapindex" else "urlset")
                entry = "sitemap" if sitemap.kind == "index" else "url"
                continue
            if event != "end" or _local(element.tag) != entry:
                continue
            listed = _entry(element, sitemap.kind)
            element.clear()  # streaming: what is read is let go
            parent = element.getparent()
            while parent is not None and element.getprevious() is not None:
                del parent[0]
            if listed is None:
                sitemap.skipped += 1
                continue
            if len(sitemap.urls) >= max_urls:
                sitemap.truncated = True
                break
            sitemap.urls.append(listed)
    except etree.XMLSyntaxError as exc:
        if sitemap is None or not sitemap.urls:
            raise SitemapError(f"malformed XML ({exc})") from None
        sitemap.damage = f"malformed XML after {len(sitemap.urls)} entries ({exc}); those were kept"
    if sitemap is None:
        raise SitemapError("empty document")
    return sitemap


def _entry(element, kind: str) -> ListedUrl | None:
    fields: dict[str, str] = {}
    for child in element.iter():
        name = _local(child.tag)
        if name in ("loc", "lastmod", "publication_date", "title", "language", "name") and name not in fields:
            fields[name] = (child.text or "").strip()
    loc = fields.get("loc", "")
    if not loc.startswith(("http://", "https://")):
        return None
    url = canonical_url(loc) if kind == "urlset" else loc
    lastmod = w3c_datetime(fields.get("publication_date")) or w3c_datetime(fields.get("lastmod"))
    return ListedUrl(
        url, lastmod, fields.get("title") or None, fields.get("language") or None, fields.get("name") or None
    )


def w3c_datetime(value: str | None) -> datetime | None:
    """A W3C datetime ("2024-05-01", "2024-05-01T10:00:00+06:00", "...Z") as naive UTC; None if unreadable.
    A date without a zone is read as UTC."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when
