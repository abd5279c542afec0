"""Orchestration overhead of feed ingestion: `run_flow` vs fetching the same feeds and pages by hand.

    python -m bench.feeds_overhead [N_FEEDS]

A local HTTP server on 127.0.0.1 serves N feeds (default 50) of 2 entries each, every response
delayed 100 ms like a real server; each page is a distinct article of 10 real sentences.
Both sides use the same fetch policy (bounded concurrency);
"by hand" is fetch_as_completed over the feeds, then over their pages. The flow additionally parses,
extracts, classifies and loads into DuckDB. Prefect's server start is paid in a warm-up run first.
Prints a table and a final line of name=value pairs.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

LATENCY = 0.1
PAGES: dict[str, str] = {}  # page name -> HTML, filled in main() from real sentences


def page_html(name: str, sentences: list[str]) -> str:
    paragraphs = "".join(f"<p>{s}</p>" for s in sentences)
    head = f"<html><head><title>Story {name}</title></head>"
    return f"{head}<body><article><h1>Story {name}</h1>{paragraphs}</article></body></html>"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(LATENCY)
        host = f"http://{self.server.server_address[0]}:{self.server.server_address[1]}"
        if self.path.startswith("/feed/"):
            n = self.path.rsplit("/", 1)[1]
            items = "".join(
                f"<item><title>Story {n}-{i}</title><link>{host}/page/{n}-{i}</link>"
                f"<description>Summary of story {n}-{i}.</description></item>"
                for i in range(2)
            )
            body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {n}</title>{items}</channel></rss>'
            ctype = "application/rss+xml"
        else:
            body, ctype = PAGES[self.path.rsplit("/", 1)[1]], "text/html; charset=utf-8"
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def main() -> int:
    import random

    from bench.dedupe import sentence_pool
    from silkwatch.flows.config import config_from_dict
    from silkwatch.flows.fetch import FetchPolicy, fetch_as_completed
    from silkwatch.flows.pipeline import run_flow
    from silkwatch.parsers.feeds import parse_feed

    n_feeds = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    pool, rng = sentence_pool(), random.Random(n_feeds)
    for prefix in ("", "warmup-", "bench-"):  # every page a distinct article, as in a real feed
        for i in range(n_feeds):
            for k in range(2):
                PAGES[f"{prefix}{i}-{k}"] = page_html(f"{prefix}{i}-{k}", rng.sample(pool, 10))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    knobs = {"per_host_delay": 0, "per_host_concurrency": 8, "max_concurrency": 8, "retries": 0,
             "allow_private_networks": True}  # fmt: skip
    policy = FetchPolicy(**knobs)

    started = time.perf_counter()
    feeds = [
        r for _, r in sorted(fetch_as_completed([(f"{base}/feed/{i}", {}) for i in range(n_feeds)], "feed", policy))
    ]
    links = [e.link for r in feeds for e in parse_feed(r.body).entries]
    pages = [r for _, r in sorted(fetch_as_completed([(link, {}) for link in links], "page", policy))]
    by_hand = time.perf_counter() - started
    if not all(r.ok for r in feeds + pages):
        raise SystemExit("bench: the local server failed a request; no figures")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "seeds").mkdir()

        def config(name: str, count: int):
            feed_list = root / f"{name}.toml"
            feed_list.write_text("".join(f'[[feed]]\nurl = "{base}/feed/{name}-{i}"\n' for i in range(count)))
            data = {"warehouse": {"path": f"{name}.duckdb"}, "feeds": {"file": str(feed_list)}, "fetch": knobs}
            return config_from_dict(data, root)

        run_flow(config("warmup", 1), write_report=False)  # Prefect's temporary server starts here
        started = time.perf_counter()
        summary = run_flow(config("bench", n_feeds), write_report=False)
        flow_time = time.perf_counter() - started
    server.shutdown()
    if summary.feeds_ok != n_feeds or summary.articles_new != 2 * n_feeds:
        raise SystemExit(f"bench: the flow did not ingest everything: {summary}")

    overhead = flow_time - by_hand
    print(f"feed ingestion: {n_feeds} feeds, {2 * n_feeds} pages, {LATENCY * 1000:.0f} ms per response")
    print(f"{'by hand (fetch_as_completed feeds, then pages)':<44}{by_hand:>8.2f} s")
    print(f"{'silkwatch run_flow (fetch+parse+extract+load)':<44}{flow_time:>8.2f} s")
    print(f"{'overhead':<44}{overhead:>8.2f} s")
    print(f"feeds={n_feeds} by_hand_s={by_hand:.2f} flow_s={flow_time:.2f} overhead_s={overhead:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
