"""Slow and hostile feed servers on loopback addresses, for the stall tests.

Every feed is on a host of its own (127.0.0.2, 127.0.0.3, ...), as hostile feeds are on hosts of
their own in the wild, so per-host politeness does not line them up behind one another. The hosts:

- one good feed (the 8 fixture pages, and one more page that drips);
- hostile feeds, each misbehaving in one way of ``HOSTILE_KINDS``, one of them dripping.

A drip sends its status line and headers (or only the start of them), then a byte every
``drip_every`` seconds, for longer than any timeout: each byte comes well within the read
timeout, so only the total timeout cuts it off. The server records when each request came.

Hand-written on purpose (the other test servers are pytest-httpserver): these cases write raw bytes
to the socket, and pytest-httpserver cannot. Its server (werkzeug) sends the status line and all the
headers itself, in one go, so it cannot drip headers a byte at a time ("drips-headers"), stop in the
middle of them, or close without answering ("closes-without-answer"); and it listens on one
address, where these feeds need one host each.
"""

from __future__ import annotations

import gzip
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

from tests.conftest import FIXTURES

PAGES = sorted((FIXTURES / "pages").glob("*.html"))
CAP = 10 * 1024 * 1024  # silkwatch's default [fetch] max_bytes
HOSTILE_KINDS = (  # how a feed server misbehaves; the hostile feeds go round these
    "404", "410", "500", "503-retry-after", "429-retry-after-a-day", "closes-without-answer", "not-xml",
    "empty", "html", "redirect-loop", "redirect-to-file", "silent", "drips-headers", "over-the-cap",
    "gzip-bomb", "truncated-xml",
)  # fmt: skip


class StallSite:
    """``hostile`` feed hosts (the first of them dripping when ``drip_feed``), and a good feed host
    whose feed lists the fixture pages and, when ``drip_page``, a page that drips."""

    def __init__(self, hostile: int, drip_every: float, drip_feed: bool = True, drip_page: bool = True):
        self.drip_every = drip_every
        self.requests: list[tuple[float, str, str]] = []  # (monotonic time, base URL, path)
        self.ended: dict[tuple[str, str], float] = {}  # (base URL, path) -> when its last answer ended
        self._closing = threading.Event()
        self._servers: list[ThreadingHTTPServer] = []
        self.good = self._serve(1, "good")
        kinds = ["drip"] if drip_feed else []
        kinds += [HOSTILE_KINDS[i % len(HOSTILE_KINDS)] for i in range(hostile - len(kinds))]
        self.hostile = {self._serve(2 + i, kind): kind for i, kind in enumerate(kinds)}
        self.page_paths = [f"/news/{i}" for i in range(len(PAGES))] + (["/drip-page"] if drip_page else [])

    def _serve(self, last_octet: int, kind: str) -> str:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                base = self.server.base
                site.requests.append((time.monotonic(), base, self.path))
                try:
                    site.answer(self, kind)
                except OSError:
                    pass  # the client gave up (a timeout, a stop)
                finally:
                    site.ended[(base, self.path)] = time.monotonic()

            def log_message(self, *args) -> None:
                pass

        server = _Server((f"127.0.0.{last_octet}", 0), Handler)
        server.base = f"http://127.0.0.{last_octet}:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._servers.append(server)
        return server.base

    @property
    def feeds(self) -> list[str]:
        return [f"{self.good}/feed.xml", *(f"{base}/feed.xml" for base in self.hostile)]

    def requested(self, base: str, path: str) -> list[float]:
        """When ``base`` + ``path`` was asked for, each time."""
        return [when for when, b, p in self.requests if b == base and p == path]

    def answer(self, handler: BaseHTTPRequestHandler, kind: str) -> None:  # noqa: PLR0911, PLR0912 - one case a kind
        path = handler.path
        if kind == "good":
            if path == "/feed.xml":
                return _send(handler, 200, self.good_feed(), "application/rss+xml")
            if path == "/drip-page":
                return self._drip(handler, b"<html><head><title>Slow</title></head><body><p>")
            if path.startswith("/news/") and int(path.rsplit("/", 1)[1]) < len(PAGES):
                return _send(handler, 200, PAGES[int(path.rsplit("/", 1)[1])].read_bytes(), "text/html; charset=utf-8")
            return _send(handler, 404, b"not found", "text/plain")
        if kind == "drip":
            return self._drip(handler, b'<?xml version="1.0"?><rss version="2.0"><channel><title>Slow</title>')
        if kind in ("404", "410", "500"):
            return _send(handler, int(kind), b"no", "text/plain")
        if kind == "503-retry-after":
            return _send(handler, 503, b"busy", "text/plain", {"Retry-After": "1"})
        if kind == "429-retry-after-a-day":
            return _send(handler, 429, b"slow down", "text/plain", {"Retry-After": "86400"})
        if kind == "closes-without-answer":
            handler.close_connection = True
            return None
        if kind == "not-xml":
            return _send(handler, 200, bytes(range(256)) * 64, "application/octet-stream")
        if kind == "empty":
            return _send(handler, 200, b"", "application/rss+xml")
        if kind == "html":
            return _send(handler, 200, PAGES[0].read_bytes(), "text/html")
        if kind == "redirect-loop":
            return _send(handler, 302, b"", "text/plain", {"Location": path})
        if kind == "redirect-to-file":
            return _send(handler, 302, b"", "text/plain", {"Location": "file:///etc/passwd"})
        if kind == "silent":  # connected, then not a byte: the read timeout
            self._closing.wait(600)
            return None
        if kind == "drips-headers":
            handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
            return self._drip(handler, b"", headers_done=False)
        if kind == "over-the-cap":
            return _send(handler, 200, b"<rss>", "application/rss+xml", {"Content-Length": str(2 * CAP)})
        if kind == "gzip-bomb":
            bomb = gzip.compress(b" " * 3 * CAP)
            return _send(handler, 200, bomb, "application/rss+xml", {"Content-Encoding": "gzip"})
        if kind == "truncated-xml":
            return _send(handler, 200, self.good_feed()[:300], "application/rss+xml")
        raise AssertionError(kind)

    def good_feed(self) -> bytes:
        day = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
        items = "".join(
            f"<item><link>{escape(self.good + p)}</link><title>Story {escape(p)}</title>"
            f"<description>A summary of story {escape(p)}, long enough to be kept as an article.</description>"
            f"<pubDate>{format_datetime(day + timedelta(hours=i))}</pubDate></item>"
            for i, p in enumerate(self.page_paths)
        )
        head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Good news</title>'
        return f"{head}{items}</channel></rss>".encode()

    def _drip(self, handler: BaseHTTPRequestHandler, start: bytes, headers_done: bool = True) -> None:
        if headers_done:
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html" if b"<html" in start else "application/rss+xml")
            handler.send_header("Connection", "close")
            handler.end_headers()
        handler.wfile.write(start)
        handler.wfile.flush()
        while not self._closing.wait(self.drip_every):
            handler.wfile.write(b" " if headers_done else b"X")  # inside a header line, it never ends
            handler.wfile.flush()

    def close(self) -> None:
        self._closing.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # a client that went away (a timeout, a stop) before its request was read


def _send(handler, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    headers = {"Content-Length": str(len(body)), **(headers or {})}
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)
