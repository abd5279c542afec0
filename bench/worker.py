"""Extraction worker cost: CPU time per page of the pool's work against bare ``trafilatura.extract``.

    python -m bench.worker [N_PAGES] [RUNS]      (default 300 pages, 5 runs)

The pages are the ingest benchmark's (``bench/site.py``, the first N of them). Each run times, in
this one process and alternated chunk by chunk, ``trafilatura.extract`` of every page's bytes and the
extraction pool's own work on the same bytes (``flows.pages.extract_chunk``: decode, parse once,
extract, dates, clean, classify, entities, the warehouse row), in chunks of ``CHUNK`` pages as the
pool gets them. The figure is CPU time (``time.process_time``), not wall time: it does not move
with the load of a shared machine, though it drifts with the host's speed, which the alternation
chunk by chunk cancels. ``worker_cpu_ratio`` = the median of the runs' worker CPU / bare CPU.

Two workers on two cores beat serial bare extraction by at most 2 / ``worker_cpu_ratio``: the
ingest's ``ingest_ratio`` target of 1.5 needs this ratio at 1.3 or below.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime


def main() -> int:
    import trafilatura

    from bench.dedupe import sentence_pool
    from bench.site import build_site
    from silkwatch.flows.fetch import FetchResult
    from silkwatch.flows.pages import CHUNK, extract_chunk
    from silkwatch.parsers.feeds import FeedEntry

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    site = build_site(n, 1, sentence_pool())
    base = "http://bench.test"
    now = datetime(2026, 1, 5, 8, 0, tzinfo=UTC).replace(tzinfo=None)  # naive UTC, as the pipeline passes it
    feed = {"url": f"{base}/feed.xml", "name": "bench"}
    jobs = []
    for path, article in zip(site.paths, site.articles, strict=True):
        url = base + path
        entry = FeedEntry(url, url, url, article.title, article.paragraphs[0], None, now)
        result = FetchResult(url, "page", "ok", final_url=url, http_status=200,
                             content_type="text/html; charset=utf-8", body=site.pages[path])  # fmt: skip
        jobs.append((entry, feed, result, 0, now, None, None))
    chunks = [jobs[i : i + CHUNK] for i in range(0, len(jobs), CHUNK)]
    pages = [site.pages[p] for p in site.paths]

    def one_run() -> tuple[float, float]:
        """CPU seconds of bare extraction and of the worker over all pages, alternated chunk by chunk:
        this machine's speed drifts by a third over seconds (a VM's CPU time includes the time its
        host gives to others), so both sides of the ratio are timed in the same stretch."""
        bare_s = worker_s = 0.0
        rows = 0
        for chunk in chunks:
            started = time.process_time()
            for job in chunk:
                trafilatura.extract(job[2].body)
            middle = time.process_time()
            rows += sum(1 for outcome in extract_chunk(chunk) if outcome.row is not None)
            bare_s, worker_s = bare_s + middle - started, worker_s + time.process_time() - middle
        if rows != n:
            raise SystemExit(f"bench: the worker made {rows} rows of {n} pages; no figures")
        return bare_s, worker_s

    extract_chunk(chunks[0])  # imports and caches (rules, registries) before any timing
    trafilatura.extract(pages[0])
    timings = [one_run() for _ in range(runs)]
    bare_ms = 1000 * statistics.median(b for b, _ in timings) / n
    worker_ms = 1000 * statistics.median(w for _, w in timings) / n
    ratio = statistics.median(w / b for b, w in timings)  # each run's ratio: its two sides ran side by side
    print(f"{n} bench pages, {runs} runs, CPU time per page (median): bare trafilatura.extract "
          f"{bare_ms:.2f} ms, extraction worker {worker_ms:.2f} ms; ratio {ratio:.2f} (target <= 1.3; runs "
          f"{', '.join(f'{w / b:.2f}' for b, w in timings)})")  # fmt: skip
    figures = {"worker_pages": n, "bare_cpu_ms": f"{bare_ms:.2f}", "worker_cpu_ms": f"{worker_ms:.2f}",
               "worker_cpu_ratio": f"{ratio:.2f}"}  # fmt: skip
    print(" ".join(f"{name}={value}" for name, value in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
