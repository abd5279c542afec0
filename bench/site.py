"""A news site built from real pages, served on 127.0.0.1: the ingest benchmark's workload.

Each of the 50 corpora pages (``../shared/corpora/pages``) is a template: its navigation,
boilerplate, scripts and markup are kept, and the paragraphs of its article (those found in the
page's reference body) are replaced with a new article made of real sentences (the corpora bodies
and the seeds). So every generated page costs what a real page costs to extract, and holds a
distinct article under a fresh URL. About one page in ten is a syndicated near-copy of an earlier
article on another site's template (a paragraph dropped, a credit line added), which dedupe must
merge. The pages are listed in feeds (RSS 2.0 and Atom alternately) that answer conditional GETs
with a 304, like real servers.
"""

from __future__ import annotations

import hashlib
import html
import json
import random
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import lxml.html

from silkwatch.parsers.text import unify_punctuation

ROOT = Path(__file__).resolve().parents[1]
CORPORA_PAGES = ROOT.parent / "shared" / "corpora" / "pages"
MARKER = "SWBENCHPARA{}X"
TITLE_MARKER = "SWBENCHTITLEX"
COPY_SHARE = 0.1  # syndicated near-copies among the generated pages
LAST_MODIFIED = format_datetime(datetime(2026, 1, 5, 8, 0, tzinfo=UTC), usegmt=True)


def _norm(text: str) -> str:
    return " ".join(text.split())


def _loose(text: str) -> str:
    return " ".join(unify_punctuation(text).casefold().split())


def make_template(raw: bytes, body: str) -> str | None:
    """The page's HTML with its article paragraphs and title replaced by markers, or None when
    too few of its paragraphs can be told apart from the boilerplate."""
    tree = lxml.html.fromstring(raw)
    reference = _loose(body)
    markers = 0
    for p in tree.iter("p"):
        words = _loose(p.text_content()).split()
        if len(words) >= 8 and any(" ".join(words[i : i + 6]) in reference for i in range(0, len(words) - 5, 3)):
            for child in list(p):
                p.remove(child)
            p.text = MARKER.format(markers)
            markers += 1
    if markers < 3:
        return None
    for el in tree.iter("title", "h1"):
        for child in list(el):
            el.remove(child)
        el.text = TITLE_MARKER
    for meta in tree.iter("meta"):
        if meta.get("property") in ("og:title", "twitter:title") or meta.get("name") == "twitter:title":
            meta.set("content", TITLE_MARKER)
    return lxml.html.tostring(tree, encoding="unicode", doctype="<!DOCTYPE html>")


def fill(template: str, title: str, paragraphs: list[str]) -> bytes:
    """A template with the article in it: paragraphs spread over the template's paragraph slots."""
    slots = template.count("SWBENCHPARA")
    groups = [paragraphs[i::slots] for i in range(slots)]  # round-robin keeps every paragraph
    page = template.replace(TITLE_MARKER, html.escape(title))
    for i in range(slots - 1, -1, -1):  # from the last, so SWBENCHPARA1X never matches inside ...10X
        page = page.replace(MARKER.format(i), "</p><p>".join(html.escape(p) for p in groups[i]))
    return page.encode("utf-8")


@dataclass
class Article:
    number: int
    template: int
    title: str
    paragraphs: list[str]
    copy_of: int | None = None  # the article this one syndicates


@dataclass
class Site:
    pages: dict[str, bytes] = field(default_factory=dict)  # path -> HTML
    feeds: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # path -> (XML, content type)
    articles: list[Article] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)  # page paths in article order

    @property
    def distinct(self) -> int:
        return sum(a.copy_of is None for a in self.articles)


def usable_templates(pages_dir: Path) -> list[str]:
    truth = json.loads((pages_dir / "ground_truth.json").read_text("utf-8"))
    templates = []
    for item in sorted(truth.values(), key=lambda t: t["html_file"]):
        template = make_template((pages_dir / item["html_file"]).read_bytes(), item["articleBody"])
        if template is not None:
            templates.append(template)
    return templates


def _article_text_survives(template: str, pool: list[str], rng: random.Random) -> bool:
    """Whether silkwatch's extraction keeps an article put into this template (some templates' slots
    sit in teasers or paywall blocks that extraction rightly drops)."""
    from silkwatch.parsers.extract import extract_page

    paragraphs = [" ".join(rng.sample(pool, 2)) for _ in range(8)]  # as short as a generated article gets
    page = extract_page(fill(template, "A probe headline for the template", paragraphs), "http://bench.test/probe")
    if page is None:
        return False
    kept = _norm(page.text)
    ours = sum(len(p.split()) for p in paragraphs)
    # all of the article kept, and not drowned in the template's own text (which would make
    # different articles on one template look alike)
    return all(_norm(p) in kept for p in paragraphs) and ours >= 0.85 * len(kept.split())


def build_site(n_pages: int, n_feeds: int, pool: list[str], seed: int = 8) -> Site:
    rng = random.Random(seed)
    templates = [t for t in usable_templates(CORPORA_PAGES) if _article_text_survives(t, pool, rng)]
    site = Site()
    for k in range(n_pages):
        template = k % len(templates)
        originals = [a for a in site.articles[-200:] if a.copy_of is None and a.template != template]
        if originals and rng.random() < COPY_SHARE:
            source = rng.choice(originals)
            paragraphs = list(source.paragraphs)
            del paragraphs[rng.randrange(1, len(paragraphs))]
            paragraphs.append(f"This story first appeared on Regional Wire {source.number % 7}.")
            article = Article(k, template, source.title, paragraphs, copy_of=source.number)
        else:
            paragraphs = [" ".join(rng.sample(pool, rng.randint(2, 3))) for _ in range(rng.randint(8, 12))]
            title = " ".join(paragraphs[0].split()[:9]).rstrip(".,;:") + f" ({k})"
            article = Article(k, template, title, paragraphs)
        slug = re.sub(r"[^a-z0-9]+", "-", article.title.lower())[:60].strip("-")
        path = f"/news/{k // 100:02d}/{k:05d}-{slug}.html"
        site.articles.append(article)
        site.paths.append(path)
        site.pages[path] = fill(templates[template], article.title, article.paragraphs)
    return site


def add_feeds(site: Site, base: str, n_feeds: int) -> list[str]:
    """Feeds listing the pages (page k in feed k mod n_feeds), RSS and Atom alternately; their URLs."""
    published = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    urls = []
    for f in range(n_feeds):
        ks = range(f, len(site.articles), n_feeds)
        items = []
        atom = f % 2 == 1
        for k in ks:
            a, link = site.articles[k], html.escape(base + site.paths[k])
            when = published - timedelta(minutes=7 * k)
            summary = html.escape(a.paragraphs[0][:300])
            if atom:
                items.append(
                    f"<entry><title>{html.escape(a.title)}</title><link rel='alternate' href='{link}'/>"
                    f"<id>{link}</id><updated>{when.isoformat()}</updated><summary>{summary}</summary></entry>"
                )
            else:
                items.append(
                    f"<item><title>{html.escape(a.title)}</title><link>{link}</link><guid>{link}</guid>"
                    f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>"
                    f"<description>{summary}</description></item>"
                )
        if atom:
            xml = (
                "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
                f"<title>Bench wire {f}</title><id>{base}/feeds/{f}</id><updated>{published.isoformat()}</updated>"
                + "".join(items) + "</feed>"
            )  # fmt: skip
            site.feeds[f"/feeds/{f}.atom"] = (xml.encode("utf-8"), "application/atom+xml; charset=utf-8")
            urls.append(f"{base}/feeds/{f}.atom")
        else:
            xml = (
                "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
                f"<title>Bench wire {f}</title><link>{base}/</link>" + "".join(items) + "</channel></rss>"
            )
            site.feeds[f"/feeds/{f}.rss"] = (xml.encode("utf-8"), "application/rss+xml; charset=utf-8")
            urls.append(f"{base}/feeds/{f}.rss")
    return urls


class SiteServer:
    """The site on 127.0.0.1 with real-world headers (ETag, Last-Modified, 304s) and a small latency."""

    def __init__(self, site: Site, latency: float = 0.01):
        self.site, self.latency = site, latency
        self.requests = {"feed": 0, "page": 0, "not_modified": 0}
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                server.serve(self)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        time.sleep(self.latency)
        path = handler.path
        if path in self.site.feeds:
            body, ctype = self.site.feeds[path]
            self.requests["feed"] += 1
        elif path in self.site.pages:
            body, ctype = self.site.pages[path], "text/html; charset=utf-8"
            self.requests["page"] += 1
        else:
            handler.send_response(404)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'  # noqa: S324 - a cache validator
        if handler.headers.get("If-None-Match") == etag or handler.headers.get("If-Modified-Since") == LAST_MODIFIED:
            self.requests["not_modified"] += 1
            handler.send_response(304)
            handler.send_header("ETag", etag)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        handler.send_response(200)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("ETag", etag)
        handler.send_header("Last-Modified", LAST_MODIFIED)
        handler.send_header("Cache-Control", "max-age=300")
        handler.end_headers()
        handler.wfile.write(body)

    def __enter__(self) -> SiteServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
