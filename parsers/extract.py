"""Article pages: HTML -> clean text and metadata, with trafilatura, then the same cleaner as seeds.

The page's bytes are decoded first (``parsers.decode``: BOM, HTTP charset, ``<meta charset>``,
detection), so trafilatura always gets text, never bytes whose encoding it would have to guess."""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from html import unescape

from lxml import etree

from silkwatch.parsers.clean import Removed, clean_text
from silkwatch.parsers.dates import StatedDate, date_from_url
from silkwatch.parsers.decode import decode
from silkwatch.parsers.measure import MIN_PAGE_WORDS, word_count
from silkwatch.parsers.pagedates import MIN_HEADLINE_CHARS, page_date
from silkwatch.parsers.text import collapse_whitespace

# Extraction time grows with the markup (about 0.6 s per MB here): a page with more markup than this,
# scripts and styles aside, is not an article page worth the time. Real article pages have far less.
MAX_MARKUP_BYTES = 4 * 1024 * 1024
# trafilatura (htmldate) searches the whole page for a date by default, copyright lines and lists of
# related articles included. silkwatch reads the page's date itself (parsers/pagedates.py) and never
# asks htmldate; evaluation/dates.py measures htmldate with these settings against it.
TRAFILATURA_DATE_PARAMS = {"extensive_search": False, "original_date": True}
_MAGIC = (
    (b"%PDF-", "PDF"), (b"\x89PNG", "PNG image"), (b"GIF8", "GIF image"), (b"\xff\xd8\xff", "JPEG image"),
    (b"RIFF", "RIFF media"), (b"PK\x03\x04", "ZIP archive"), (b"\x1f\x8b", "gzip data"), (b"\x00\x00\x01\x00", "icon"),
)  # fmt: skip
_SCRIPT_OR_STYLE = re.compile(rb"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
# lxml refuses text that still carries an XML encoding declaration (trafilatura then hands it UTF-8
# bytes, which libxml2 would read in the declared encoding): once decoded, the declaration goes.
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
AUTHOR_MAX_CHARS = 120  # trafilatura's extract_author: a longer text is not a name
_H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
# "-新华网", " | РИА Новости", "_新闻中心_新浪网" after the headline; "新浪网_" before it
_SITE_NAME_AFTER = re.compile(r"\s*[-_|｜–—]+\s*[^-_|｜–—\s][^|｜]{0,40}")
_SITE_NAME_BEFORE = re.compile(r"[^|｜]{1,40}?[^-_|｜–—\s]\s*[-_|｜–—]+\s*")


@dataclass
class ExtractedPage:
    title: str | None
    text: str
    author: str | None
    date: StatedDate | None  # as the page states it (parsers/pagedates.py), not yet in UTC
    sitename: str | None
    canonical_url: str | None  # the page's own rel=canonical / og:url, when it declares one
    removed: list[Removed] = field(default_factory=list)
    encoding: str | None = None  # what the page was read in, and why (``parsers.decode``)
    encoding_from: str | None = None
    date_note: str | None = None  # when the page's own dates disagreed, which was kept


def headline_without_site_name(title: str, html: str) -> str:
    """``title`` without the site's name when the page's ``<h1>`` is the rest of it: a <title> is
    often "headline-新华网" or "新浪网_headline", and trafilatura keeps it whole."""
    for match in _H1.finditer(html):
        heading = collapse_whitespace(unescape(_TAG.sub("", match.group(1))))
        if len(heading) < MIN_HEADLINE_CHARS or heading == title or 2 * len(heading) <= len(title):
            continue  # a site's logo in an <h1> is not the headline the title holds
        if title.startswith(heading) and _SITE_NAME_AFTER.fullmatch(title[len(heading) :]):
            return heading
        if title.endswith(heading) and _SITE_NAME_BEFORE.fullmatch(title[: -len(heading)]):
            return heading
    return title


def page_problem(body: bytes) -> str | None:
    """Why ``body`` cannot be an article page whatever its Content-Type says (servers lie), or None."""
    head = body[:1024]
    for magic, kind in _MAGIC:
        if head.lstrip().startswith(magic):
            return f"not an HTML page (binary content: {kind})"
    if head.count(b"\x00") > 16:  # a stray NUL is a broken page; many are a binary file
        return "not an HTML page (binary content)"
    if len(body) > MAX_MARKUP_BYTES and len(_SCRIPT_OR_STYLE.sub(b"", body)) > MAX_MARKUP_BYTES:
        return f"page of {len(body)} bytes has more markup than the {MAX_MARKUP_BYTES}-byte extraction limit"
    return None


def page_metadata(tree, url: str | None):
    """The title, author, site name and canonical URL of a parsed page, as trafilatura's
    ``extract_metadata`` finds them (its steps, in its order), without what silkwatch never reads:
    htmldate's date (``parsers.pagedates`` reads the page's date), categories, tags and licence,
    which were a third of its cost (``make bench BENCH=worker``). A ``trafilatura.settings.Document``."""
    from trafilatura import metadata

    found = metadata.examine_meta(tree)
    if found.author and " " not in found.author:
        found.author = None
    with suppress(Exception):  # trafilatura's own guard: its JSON-LD reader fails on odd pages
        found = metadata.extract_meta_json(tree, found)
    found.title = found.title or metadata.extract_title(tree)
    found.author = found.author or page_author(tree)
    found.url = found.url or metadata.extract_url(tree, url)
    if not found.sitename:
        found.sitename = metadata.extract_sitename(tree)
    if found.sitename:
        found.sitename = found.sitename.lstrip("@")  # a Twitter handle
        if found.sitename and "." not in found.sitename and not found.sitename[0].isupper():
            found.sitename = found.sitename.title()
    elif found.url and (host := metadata.META_URL.match(found.url)):
        found.sitename = host[1]
    found.clean_and_trim()
    return found


# trafilatura 2.3's AUTHOR_DISCARD_XPATHS and AUTHOR_XPATHS (trafilatura/xpaths.py) as tests on one
# element. libxml2 spent ~3 ms a page on each of those five XPaths (``//*[...]`` over every element,
# ``re:test`` calling into Python's ``re`` for each), ~13 ms a page where the metadata names no
# author: one pass over the elements reads them all at once. ``re:test(@a, p)`` is lxml's EXSLT
# ``re.search(p, value of @a or "")``, which these patterns are. tests/test_extract.py checks that
# trafilatura's XPaths are still the ones written out here, and that ``page_author`` answers as it does.
_DISCARD_ID = re.compile(r"^comments|comment-?list|ProductReviews")
_DISCARD_CLASS = re.compile(
    r"^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram|article-(?:share|support)"
    r"|print|category|meta-date|meta-reviewer"
)
_AUTHOR_CLASS = (
    re.compile(r"author-?name|AuthorName|authorName"),
    re.compile(r"author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name"),
    re.compile(r"[Aa]uthor|screenname|writer|[Bb]yline"),
)
_AUTHOR_ID = (re.compile(r"author|zuozhe|bianji|xiaobian"), re.compile(r"[Aa]uthor"))
_AUTHOR_TAGS = (
    frozenset({"a", "address", "div", "link", "p", "span", "strong"}),
    frozenset({"a", "div", "h3", "h4", "p", "span"}),
)
_DISCARD_TAGS = frozenset({"a", "div", "section", "span"})


def _class_tests(cls: str) -> tuple[bool, bool, bool, bool]:
    """What a class attribute's value gives: (discard, author path 1, 2, 3)."""
    return (
        cls in ("comments", "title", "date") or bool(_DISCARD_CLASS.search(cls)),
        cls == "author" or bool(_AUTHOR_CLASS[0].search(cls)),
        cls in ("byline", "username", "byl", "BBL") or bool(_AUTHOR_CLASS[1].search(cls)),
        bool(_AUTHOR_CLASS[2].search(cls)),
    )


def _id_tests(id_: str) -> tuple[bool, bool, bool, bool]:
    """What an id attribute's value gives: (discard, author path 1, 2, 3)."""
    return (
        id_ == "comments" or bool(_DISCARD_ID.search(id_)),
        id_ == "author",
        bool(_AUTHOR_ID[0].search(id_)),
        bool(_AUTHOR_ID[1].search(id_)),
    )


def _author_elements(root) -> tuple[list, list[list]]:
    """What trafilatura's AUTHOR_DISCARD_XPATHS (pruned, the root aside: it is never pruned) and each of
    its three AUTHOR_XPATHS (candidates, in document order) select in the page ``root``. The
    ``rel='me'`` test (a ``<rel>`` child's text) is not made here: ``page_author`` leaves such pages
    to trafilatura. A page repeats its class values: each is tested once."""
    pruned: list = []
    candidates: list[list] = [[], [], []]
    by_class: dict[str, tuple[bool, bool, bool, bool]] = {}
    by_id: dict[str, tuple[bool, bool, bool, bool]] = {}
    for el in root.iter(etree.Element):
        tag, attrib = el.tag, el.attrib
        if tag in {"time", "figure"}:
            if el is not root:
                pruned.append(el)
        elif tag == "author":
            candidates[0].append(el)
        if not attrib:
            continue
        get = attrib.get
        cls, id_, itemprop = get("class", ""), get("id", ""), get("itemprop", "")
        if (by_cls := by_class.get(cls)) is None:
            by_cls = by_class[cls] = _class_tests(cls)
        if (by_i := by_id.get(id_)) is None:
            by_i = by_id[id_] = _id_tests(id_)
        if tag in _DISCARD_TAGS and el is not root and (
            by_i[0] or by_cls[0] or "Figure" in get("data-component", "")
        ):  # fmt: skip
            pruned.append(el)
        if tag in _AUTHOR_TAGS[0] and (
            by_cls[1] or by_i[1] or get("rel") == "author" or itemprop == "author name"
            or get("data-testid") in ("AuthorCard", "AuthorURL")
        ):  # fmt: skip
            candidates[0].append(el)
        if tag in _AUTHOR_TAGS[1] and (by_cls[2] or by_i[2] or "author" in itemprop):
            candidates[1].append(el)
        if by_cls[3] or by_i[3] or "author" in itemprop or "Byline" in get("data-component", ""):
            candidates[2].append(el)
    return pruned, candidates


def page_author(tree) -> str | None:
    """trafilatura's ``metadata.extract_author``, several times faster, with the same answer.
    trafilatura prunes a copy of the page (comments, sidebars, dates, figures) and takes the first
    element its author XPaths select there with a name-sized text. Those XPaths test tags and
    attributes, which pruning never changes, so the copy's candidates are the page's outside the
    pruned parts, with the same text when nothing inside them is pruned. Where that does not hold (a
    candidate holds a pruned element; a ``<rel>`` element, whose text ``rel='me'`` tests; a tree that
    is not a whole page), trafilatura answers itself."""
    from trafilatura import metadata
    from trafilatura.utils import trim

    if tree.getparent() is not None or tree.find(".//rel") is not None:
        return metadata.extract_author(tree)
    pruned, candidates = _author_elements(tree)
    pruned = set(pruned)
    for candidate in (el for found in candidates for el in found):
        if candidate in pruned or any(a in pruned for a in candidate.iterancestors()):
            continue
        if pruned and any(d in pruned for d in candidate.iterdescendants()):
            return metadata.extract_author(tree)  # its text on the pruned copy is another
        content = trim(" ".join(candidate.itertext()))
        if content and 2 < len(content) < AUTHOR_MAX_CHARS:
            return metadata.normalize_authors(None, content)
    return None


def extract_page(
    html: bytes | str, url: str | None = None, content_type: str | None = None, context: datetime | None = None
) -> ExtractedPage | None:
    """Main text and metadata of an article page; None when nothing article-like is found.
    ``html`` as fetched (decoded here, ``content_type`` giving the server's charset) or as text;
    ``context`` (the feed's date, else today) gives a yearless dateline its year."""
    import trafilatura  # imported on first use: a run with no new page never pays for it

    decoded = decode(html, content_type) if isinstance(html, bytes) else None
    text = _XML_DECLARATION.sub("", decoded.text if decoded else html, count=1)
    # parsed once, as trafilatura parses a string, for both trafilatura (which works on its own copy) and the dates
    tree = trafilatura.load_html(text)
    if tree is None:
        return None
    meta = page_metadata(tree, url)
    doc = trafilatura.bare_extraction(tree, url=url or meta.url, include_comments=False)
    if doc is None or not doc.text:
        return None
    title = headline_without_site_name(collapse_whitespace(meta.title), text) if meta.title else None
    cleaned = clean_text(doc.text, title=title)
    if word_count(cleaned.text) < MIN_PAGE_WORDS:
        return None
    dated = page_date(tree, title, doc.text, (date_from_url(url) if url else None) or context)
    return ExtractedPage(
        title=title,
        text=cleaned.text,
        author=collapse_whitespace(meta.author or "") or None,
        date=dated.stated,
        date_note=dated.note,
        sitename=collapse_whitespace(meta.sitename or "") or None,
        canonical_url=meta.url if meta.url and meta.url != url else None,
        removed=cleaned.removed,
        encoding=decoded.encoding if decoded else None,
        encoding_from=decoded.encoding_from if decoded else None,
    )
