"""The publication date an article page states: in its metadata, or by its headline. Never chrome.

Pages carry many dates that are not the article's: today's date in the site header, a copyright
year, dates of related articles, of comments, of events the story reports. Only three places are
read, and only these:

1. metadata written for machines: JSON-LD ``datePublished`` of the article, ``<meta>`` tags that name
   a publication date (``dates.toml``), ``itemprop="datePublished"``, ``<time pubdate>``;
2. the byline: text between the headline (``<h1>``, else the title) and the start of the article's
   main text (trafilatura's), where outlets print "2024年07月04日 10:30 来源：新华社" or
   "4 июля 2024, 10:30"; a ``<time datetime>`` there is read by its attribute;
3. the dateline opening the main text ("新华社北京7月4日电", "МОСКВА, 4 июля. /ТАСС/"): a day and
   month whose year comes from context.

When metadata and byline disagree on the day, the metadata is kept: it is written for this
article by the site's software, while the text under a headline can be an update line ("Updated
May 6, 2019"), a standfirst or a caption with another date. On the pages of evaluation/dates.py,
where only one of the two matched the label, it was the metadata 5 times in 6 (the sixth: a CNN
"Updated ... March 14, 2021" line, which the label took too).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache

from lxml import etree
from lxml import html as lxml_html
from lxml.html import HtmlElement

from silkwatch.parsers.dates import EARLIEST_PLAUSIBLE, StatedDate, date_rules, dates_in_text, parse_stated
from silkwatch.parsers.decode import decode
from silkwatch.parsers.text import collapse_whitespace

BYLINE_MAX_CHARS = 400  # the byline follows the headline closely; further on are sidebars and lists
LEAD_CHARS = 60  # a dateline opens the main text
TITLE_PROBE_CHARS = 12  # enough of a headline to find it again in the page's text
MIN_HEADLINE_CHARS = 4
# The title is printed in a breadcrumb, then as the headline; further copies are in lists of related
# articles, references and footers, whose dates are theirs
MAX_HEADLINES = 3
ABOVE_TEXT_CHARS = 150  # without a headline, the byline is read just above the main text
MIN_LEDE_CHARS = 20  # the main text's first line is found by its opening; shorter lines are captions
LONG_LINE_WIDTH = 120  # a line wider than this is story text (lede, standfirst), not a byline
_SKIPPED = {"script", "style", "noscript", "template", "iframe", "svg", "select", "textarea", "head"}
_BLOCKS = {"p", "div", "br", "li", "ul", "ol", "tr", "td", "th", "table", "section", "article", "header",
           "footer", "aside", "nav", "h1", "h2", "h3", "h4", "h5", "h6", "dd", "dt", "dl", "form"}  # fmt: skip
_DATELINE = re.compile(
    r"^.{0,24}?(?:\d{1,2}\s*月\s*\d{1,2}\s*日\s*(?:电|讯|消息)|[A-ZА-ЯЁ][A-ZА-ЯЁ .\-]+,\s*\d{1,2}\s+[а-яё]+\.?\s*[/(]"
    r"|[A-Z][A-Z .\-]+,\s*[A-Z][a-z]+\.?\s+\d{1,2}\s*[(\-–—])"
)


_CJK = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
_AMBIGUOUS = re.compile(r"(?<![\d/])(?:0?[1-9]|1[0-2])/(?:0?[1-9]|1[0-2])/(?:19|20)\d{2}(?![\d/])")


@cache
def _not_published() -> re.Pattern[str]:
    words = date_rules()["metadata"]["not_published_words"]
    return re.compile("(?:" + "|".join(re.escape(w) for w in words) + r")\W{0,3}$", re.IGNORECASE)


@dataclass(frozen=True)
class PageDate:
    """What a page says about its own date: the one kept, and a note when its sources disagreed."""

    stated: StatedDate | None
    note: str | None = None


def page_date(
    page: str | bytes | HtmlElement, title: str | None, main_text: str | None, context: datetime | None = None
) -> PageDate:
    """The publication date ``page`` states (see the module docstring); ``main_text`` is the article
    text as extracted, ``context`` the date that places a yearless day (a feed's, a URL's, today).
    ``page`` parsed already (``trafilatura.load_html``, as ``extract_page`` does) is read as it is."""
    tree = page if isinstance(page, HtmlElement) else _parse(page)
    if tree is None:
        return PageDate(None)
    meta = metadata_date(tree)
    linear, times = _linear_text(tree)
    byline, dateline = _byline_date(tree, linear, times, title, main_text, meta.value if meta else context)
    if meta and byline:
        if meta.value.date() == byline.value.date():
            return PageDate(byline if byline.has_time and not meta.has_time else meta)
        return PageDate(meta, f"page's {meta.describe()} kept over {byline.describe()}")
    return PageDate(meta or byline or dateline)


def _parse(page: str | bytes):
    if isinstance(page, bytes):
        page = decode(page).text  # as pages are read everywhere (lxml reads undeclared bytes as Latin-1)
    page = re.sub(r"^\s*<\?xml[^>]*>", "", page)  # lxml refuses a str that declares an encoding
    if not page.strip():
        return None
    try:
        return lxml_html.document_fromstring(page)
    except (ValueError, TypeError, lxml_html.etree.ParserError):
        return None


def metadata_date(tree) -> StatedDate | None:
    """The publication date the page's machine-readable metadata states, most specific first; a
    value before 1990 is a broken CMS's placeholder (1970-01-01), not a date."""
    return next((d for d in _metadata_dates(tree) if d.value >= EARLIEST_PLAUSIBLE), None)


def _metadata_dates(tree) -> Iterator[StatedDate]:
    rules = date_rules()["metadata"]
    yield from _json_ld_dates(tree, set(rules["json_ld_types"]))
    by_name: dict[str, str] = {}
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().casefold()
        if key and meta.get("content") and key not in by_name:
            by_name[key] = meta.get("content")
    for key in rules["meta_names"]:
        if key in by_name and (stated := parse_stated(by_name[key], found=f"meta {key}")):
            yield stated
    for el in tree.xpath('//*[@itemprop="datePublished"]'):
        value = el.get("content") or el.get("datetime") or el.text_content()
        if stated := parse_stated(value, found="itemprop datePublished"):
            yield stated
    for el in tree.xpath("//time[@pubdate]"):
        if stated := parse_stated(el.get("datetime") or el.text_content(), found="time pubdate"):
            yield stated


def _json_ld_dates(tree, types: set[str]) -> Iterator[StatedDate]:
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "")
        except (ValueError, RecursionError):  # broken, or nested deeper than a page's metadata ever is
            continue
        for item in _json_ld_items(data):
            kinds = item.get("@type")
            kinds = {k.casefold() for k in (kinds if isinstance(kinds, list) else [kinds]) if isinstance(k, str)}
            value = item.get("datePublished")
            if (
                kinds & types
                and isinstance(value, str)
                and (stated := parse_stated(value, found="json-ld datePublished"))
            ):
                yield stated


def _json_ld_items(data) -> list[dict]:
    """The page's own objects: top level, in a list, or in @graph (never the nested ones a
    related-articles list or an ``isPartOf`` carries)."""
    items = data if isinstance(data, list) else [data]
    out = []
    for item in items:
        if isinstance(item, dict):
            out.append(item)
            graph = item.get("@graph")
            if isinstance(graph, list):
                out.extend(g for g in graph if isinstance(g, dict))
    return out


def _linear_text(tree) -> tuple[str, list[tuple[int, str, object]]]:
    """The page body's text in document order (whitespace collapsed, blocks on their own lines),
    and where each ``<time datetime>`` and ``<h1>`` starts in it. One ``iterwalk`` over the
    elements (in C), not a recursion in Python: it was most of the page date's cost."""
    parts: list[str] = []
    marks: list[tuple[int, str, object]] = []
    length = 0
    line_start = True  # nothing yet, or the last part ends a line

    def add(text: str | None) -> None:
        nonlocal length, line_start
        if text and not text.isspace():  # whitespace alone collapses to nothing
            text = collapse_whitespace(text)
            if text:
                piece = text if line_start else " " + text
                parts.append(piece)
                length += len(piece)
                line_start = False

    def newline() -> None:
        nonlocal length, line_start
        if not line_start:
            parts.append("\n")
            length += 1
            line_start = True

    body = tree.find("body")
    root = body if body is not None else tree
    if not isinstance(root.tag, str):
        return "", marks
    walker = etree.iterwalk(root, events=("start", "end", "comment", "pi"))
    for event, el in walker:
        tag = el.tag
        if event == "start":
            if tag in _SKIPPED:
                walker.skip_subtree()
                continue
            if tag in _BLOCKS:
                newline()
            if tag == "time" and el.get("datetime"):
                marks.append((length, "time", el))
            elif tag == "h1":
                marks.append((length, "h1", el))
            add(el.text)
            continue
        if event == "end" and tag in _BLOCKS:
            newline()
        if el is not root:
            add(el.tail)  # a comment's or a skipped element's tail is text all the same
    return "".join(parts), marks


_TITLE_SEPARATORS = re.compile(r"\s*(?:[_|｜]|\s[-–—]\s|--|——)\s*")


def _headline_texts(tree, title: str | None) -> list[str]:
    """What the headline may read: the extracted title, the <title> and og:title, each whole and
    without the site's name ("Headline_新浪网", "搜狐财经-Headline": the longest part), longest first.
    The site's name alone is no headline: it is printed in every header and footer."""
    texts = [title or "", tree.findtext(".//title") or ""]
    texts += [m.get("content") or "" for m in tree.xpath('//meta[@property="og:title"]')]
    pieces = set()
    for text in map(collapse_whitespace, texts):
        pieces |= {text, max(_TITLE_SEPARATORS.split(text), key=len)} if text else set()
    return sorted((p for p in pieces if len(p) >= MIN_HEADLINE_CHARS), key=len, reverse=True)


def _headlines(linear: str, marks, headlines: list[str]) -> list[tuple[int, int]]:
    """Where the headline may stand in the page's text (start, end), in document order: each <h1>
    that reads like the title (any <h1> when no title is known), and each place the title is printed."""
    found = set()
    for pos, kind, el in marks:
        if kind == "h1":
            heading = collapse_whitespace(el.text_content())
            if len(heading) >= MIN_HEADLINE_CHARS and (
                not headlines
                or any(
                    h[:TITLE_PROBE_CHARS] in heading or (heading in h and 2 * len(heading) >= len(h)) for h in headlines
                )
            ):
                found.add((pos, pos + len(heading) + 1))
    for headline in headlines:
        probe = headline[:TITLE_PROBE_CHARS]
        pos = linear.find(probe)
        while pos >= 0:
            if linear.startswith(headline, pos):
                found.add((pos, pos + len(headline)))
            pos = linear.find(probe, pos + 1)
    return sorted(found)


def _byline_date(tree, linear, marks, title, main_text, context) -> tuple[StatedDate | None, StatedDate | None]:
    """The date of the byline under the headline (else just above the headline, when the story
    follows it at once; else, when no headline is found, just above the story), and the story's
    dateline. A byline states its year: a yearless day there is another date (the lede's "7月1日，"),
    so only the dateline takes its year from ``context``."""
    headlines = _headline_texts(tree, title)
    lines = [line for line in (main_text or "").splitlines() if len(line.strip()) >= MIN_LEDE_CHARS]
    first_line = next(  # the story's first line: not a table row, not the headline repeated
        (line for line in lines if not line.lstrip().startswith("|") and collapse_whitespace(line) not in headlines), ""
    )
    m = _DATELINE.match(collapse_whitespace(first_line)[:LEAD_CHARS])
    dated = dates_in_text(m.group(0), context) if m else []
    dateline = replace(dated[0][1], found="dateline") if dated else None
    probe = collapse_whitespace(first_line)[:TITLE_PROBE_CHARS]
    found_headlines = _headlines(linear, marks, headlines)[:MAX_HEADLINES]
    for start, end in found_headlines:
        main_start = linear.find(probe, end) if len(probe) >= MIN_HEADLINE_CHARS else -1
        zone_end = _byline_end(linear, end, main_start)
        found, ended = _first_date(linear, marks, end, zone_end, "by the headline")
        if not (found or ended) and not linear[end:zone_end].strip():  # the story follows the headline
            found, ended = _first_date(
                linear, marks, max(0, start - ABOVE_TEXT_CHARS), start, "above the headline", last=True
            )
        if found or ended:
            return found, dateline
    main_start = linear.find(probe) if len(probe) >= MIN_HEADLINE_CHARS else -1
    if not found_headlines and main_start > 0:
        found, _ = _first_date(
            linear, marks, max(0, main_start - ABOVE_TEXT_CHARS), main_start, "above the text", last=True
        )
        return found, dateline
    return None, dateline


def _first_date(linear, marks, start, end, where, last=False) -> tuple[StatedDate | None, bool]:
    """The first (or ``last``) date stated in ``linear[start:end]``, a ``<time datetime>`` there read
    by its attribute, and whether the search ends here. A date introduced as something else
    ("建立于", "updated") is passed over; a date that cannot be read unambiguously (7/5/2005) ends
    the search with none: the page's own date is unknown, and the next date would be another one."""
    candidates = [
        (pos, stated)
        for pos, kind, el in marks
        if kind == "time" and start <= pos < end
        and (stated := parse_stated(el.get("datetime"), found=f"time {where}"))
    ]  # fmt: skip
    text = linear[start:end]
    for pos, stated in dates_in_text(text):
        if stated.value < EARLIEST_PLAUSIBLE:
            continue  # a birth date in an infobox, a founding year: never a news article's date
        if not _not_published().search(text[max(0, pos - 12) : pos]):
            candidates.append((start + pos, replace(stated, found=f"text {where}")))
    ambiguous = _AMBIGUOUS.search(text)
    if ambiguous:
        if last:
            return None, True
        candidates = [c for c in candidates if c[0] < start + ambiguous.start()]
        if not candidates:
            return None, True
    if not candidates or (last and len({c[1].value.date() for c in candidates}) > 1):
        return None, False  # above the text, two days are a list (of posts, of related articles)
    candidates.sort(key=lambda c: c[0], reverse=last)
    first = candidates[0][1]
    timed = [d for _, d in candidates if d.has_time and d.value.date() == first.value.date()]
    return (timed[0] if timed and not first.has_time else first), True


def _byline_end(linear: str, start: int, main_start: int) -> int:
    """The byline ends where the story starts: at the main text, or at the first long line (a
    lede, a standfirst, an encyclopedia's summary with a birth date), and within ``BYLINE_MAX_CHARS``."""
    limit = min(len(linear), start + BYLINE_MAX_CHARS)
    if main_start > start:
        limit = min(limit, main_start)
    pos = start
    while pos < limit:
        nl = linear.find("\n", pos, limit)
        line_end = limit if nl < 0 else nl
        if text_width(linear[pos:line_end]) > LONG_LINE_WIDTH:
            return pos
        pos = line_end + 1
    return limit


def text_width(text: str) -> int:
    """Characters, a CJK one counting as two (a line of 60 Chinese characters is a sentence)."""
    return len(text) + len(_CJK.findall(text))
