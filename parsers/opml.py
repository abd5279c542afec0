"""OPML feed lists, as other readers write and read them (Miniflux, FreshRSS, Inoreader, Feedly,
NetNewsWire): parse a file into feeds with their tags, and write the feed list as OPML 2.0.

A feed is an ``<outline>`` with an ``xmlUrl``. Its tags are the titles of the outlines it is nested
in (the readers' folders or categories), then the segments of its OPML 2.0 ``category`` attribute
("/Asia/Kazakhstan,/Trade"). Written back, a feed sits in the folder of its first tag (Miniflux and
FreshRSS keep one category per feed) and carries all its tags in ``category``, so nothing is lost
on a round trip. Pure: lxml with entities and network off, and a size cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

MAX_OPML_BYTES = 10 * 1024 * 1024


class OpmlError(ValueError):
    """Not a usable OPML file; the message says why (the caller names the file)."""


@dataclass
class OpmlFeed:
    url: str
    name: str | None = None
    language: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass
class OpmlList:
    title: str | None
    feeds: list[OpmlFeed] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # outlines with an xmlUrl that is not http(s), and why


def _attr(element, name: str) -> str | None:
    """An attribute by name, whatever its case (``xmlUrl``, ``xmlurl``, ``XMLURL`` all occur)."""
    for key, value in element.attrib.items():
        if isinstance(key, str) and key.lower() == name.lower():
            return value.strip() or None
    return None


def parse_opml(data: bytes) -> OpmlList:
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"{len(data)} bytes is over the {MAX_OPML_BYTES}-byte limit of a feed list")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise OpmlError(f"malformed XML ({exc})") from None
    if root is None or etree.QName(root).localname.lower() != "opml":
        raise OpmlError(f"not OPML (its root element is <{etree.QName(root).localname if root is not None else ''}>)")
    body = next((c for c in root if isinstance(c.tag, str) and c.tag.lower() == "body"), None)
    if body is None:
        raise OpmlError("not OPML (no <body>)")
    title = root.findtext("head/title")
    result = OpmlList((title or "").strip() or None)
    seen: set[str] = set()
    _walk(body, [], result, seen)
    if not result.feeds:
        raise OpmlError("no feeds in it (no <outline> with an xmlUrl)" + _skipped_note(result))
    return result


def _skipped_note(result: OpmlList) -> str:
    return f"; skipped: {'; '.join(result.skipped[:3])}" if result.skipped else ""


def _walk(parent, folders: list[str], result: OpmlList, seen: set[str]) -> None:
    for outline in parent:
        if not isinstance(outline.tag, str) or outline.tag.lower() != "outline":
            continue
        label = _attr(outline, "title") or _attr(outline, "text")
        url = _attr(outline, "xmlUrl")
        if url is None:  # a folder: its feeds take its name as a tag
            _walk(outline, [*folders, label] if label else folders, result, seen)
            continue
        if not url.startswith(("http://", "https://")):
            result.skipped.append(f"{url[:80]!r} is not an http(s) URL")
            continue
        if url in seen:
            continue
        seen.add(url)
        tags = list(folders)
        for path in (_attr(outline, "category") or "").split(","):
            tags.extend(segment.strip() for segment in path.split("/") if segment.strip())
        result.feeds.append(OpmlFeed(url, label, _attr(outline, "language"), list(dict.fromkeys(tags))))


def write_opml(feeds: list[dict], title: str, now: datetime) -> bytes:
    """OPML 2.0 of ``feeds`` (``url``, ``name``, ``language``, ``tags``), grouped by first tag."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = f"{now:%a, %d %b %Y %H:%M:%S} GMT"
    body = etree.SubElement(root, "body")
    folders: dict[str, etree._Element] = {}
    for feed in feeds:
        tags = feed.get("tags") or []
        parent = body
        if tags:
            if tags[0] not in folders:
                folders[tags[0]] = etree.SubElement(body, "outline", text=tags[0], title=tags[0])
            parent = folders[tags[0]]
        name = feed.get("name") or feed["url"]
        outline = etree.SubElement(parent, "outline", type="rss", text=name, title=name, xmlUrl=feed["url"])
        if feed.get("language"):
            outline.set("language", feed["language"])
        if len(tags) > 1:
            outline.set("category", ",".join(f"/{t}" for t in tags))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
