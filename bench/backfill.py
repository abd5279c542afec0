"""Backfill speed: `silkwatch backfill --sitemap` of N real-looking pages served on 127.0.0.1.

    python -m bench.backfill [N_PAGES]          (default 2000)

The workload is ``bench/site.py``'s (N pages built on the 50 corpora pages, ~10% syndicated
near-copies, 10 ms per response), listed in one Google News sitemap, gzipped, behind a sitemap
index; robots.txt allows everything and sets no Crawl-delay; ``per_host_delay = 0``. The command is
the real CLI in a fresh process (Prefect's temporary server): read the sitemaps, fetch, extract,
clean, dedupe, classify, tag, load, index, cluster. Then the same command again (a new backfill of
the same sitemap), which must fetch no page.

Figures: ``backfill_s`` (the whole command), ``backfill_pages_per_s`` = N / backfill_s,
``backfill_fetch_pages_per_s`` (the rate the command reports: pages fetched to saved, without
Prefect's start-up and the sitemaps), ``backfill_rerun_s``.
"""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


def add_sitemaps(site, base: str) -> str:
    """A sitemap index and a gzipped Google News sitemap of every page, served by the site; the index's URL."""
    published = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    entries = "".join(
        f"<url><loc>{base}{path}</loc><news:news><news:publication><news:name>Bench wire</news:name>"
        f"<news:language>en</news:language></news:publication><news:publication_date>"
        f"{(published - timedelta(minutes=7 * k)).isoformat()}</news:publication_date></news:news></url>"
        for k, path in enumerate(site.paths)
    )
    news = (
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{entries}</urlset>'
    )
    index = (
        '<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{base}/sitemap-news.xml.gz</loc></sitemap></sitemapindex>"
    )
    site.feeds["/sitemap-news.xml.gz"] = (gzip.compress(news.encode()), "application/gzip")
    site.feeds["/sitemap.xml"] = (index.encode(), "application/xml")
    site.feeds["/robots.txt"] = (f"User-agent: *\nAllow: /\n\nSitemap: {base}/sitemap.xml\n".encode(), "text/plain")
    return f"{base}/sitemap.xml"


def main() -> int:
    from bench.dedupe import sentence_pool
    from bench.site import SiteServer, build_site

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    site = build_site(n, 1, sentence_pool())
    cli = str(Path(sys.executable).with_name("silkwatch"))
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"} | {"COLUMNS": "200"}
    with tempfile.TemporaryDirectory() as tmp, SiteServer(site) as server:
        root = Path(tmp)
        sitemap = add_sitemaps(site, server.base)
        (root / "seeds").mkdir()
        config = root / "silkwatch.toml"
        config.write_text(
            '[warehouse]\npath = "backfill.duckdb"\n[seeds]\ndir = "seeds"\n'
            "[fetch]\nallow_private_networks = true\nper_host_delay = 0.0\nper_host_concurrency = 8\n"
            "max_concurrency = 8\n",
            "utf-8",
        )
        command = [cli, "backfill", "--sitemap", sitemap, "--config", str(config)]
        started = time.perf_counter()
        first = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        backfill_s = time.perf_counter() - started
        if first.returncode != 0:
            raise SystemExit(f"bench: silkwatch backfill failed ({first.returncode}): {first.stderr[-2000:]}")
        pages_served = server.requests["page"]
        if pages_served != n:
            raise SystemExit(f"bench: {pages_served} pages fetched for {n} listed; no figures")
        reported = re.search(r"pages read\W+(\d+) \(([\d.]+) pages/s\)", first.stdout)  # in a table's borders
        if reported is None or int(reported[1]) != n:
            raise SystemExit(f"bench: the backfill did not report {n} pages read: {first.stdout[-2000:]}")
        started = time.perf_counter()
        again = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        rerun_s = time.perf_counter() - started
        if again.returncode != 0 or server.requests["page"] != pages_served:
            raise SystemExit("bench: the second backfill failed or fetched pages again; no figures")
    print(
        f"backfill of {n} pages ({site.distinct} distinct articles) from a local news sitemap; {os.cpu_count()} cores"
    )
    print(f"{'silkwatch backfill --sitemap (whole command)':<48}{backfill_s:>8.1f} s   {n / backfill_s:.1f} pages/s")
    print(f"{'  pages fetched to saved (reported)':<48}{'':>8}     {float(reported[2]):.1f} pages/s")
    print(f"{'the same again (nothing new)':<48}{rerun_s:>8.1f} s")
    print(f"backfill_pages={n} backfill_s={backfill_s:.1f} backfill_pages_per_s={n / backfill_s:.1f} "
          f"backfill_fetch_pages_per_s={float(reported[2]):.1f} backfill_rerun_s={rerun_s:.1f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
