"""Load speed: saving article rows in batches into a real DuckDB file, through the real save path.

    python -m bench.load [N_ROWS]          (default 5000, in batches of 500)

Rows are what ingest saves: ``flows.ingest.copy_to_row`` of article copies made of 8-16 real
sentences (corpora bodies and seeds), classified, one in ten a near-copy of an earlier one, one in
twenty an exact repeat under another URL. They are prepared before the clock starts (that work
runs in the extraction pool). Two figures, each into a fresh warehouse:

- ``load_rows_per_s``: ``flows.ingest.save_rows`` per batch, as ingest runs it: open the file,
  near-duplicate lookups (LSH bands), ``save_copies`` (URL and content-hash lookups, articles,
  copies, topics, entities, signatures, bands), the search-index update, the fetch log, close;
- ``save_copies_rows_per_s``: ``warehouse.load.save_copies`` alone, per batch.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BATCH = 500


def make_rows(n: int) -> list[dict]:
    from bench.dedupe import sentence_pool
    from flows.ingest import copy_to_row
    from parsers.classify import classify_topics
    from parsers.dedupe import content_hash
    from parsers.model import ArticleCopy

    pool, rng = sentence_pool(), random.Random(n)
    texts: list[str] = []
    rows = []
    for i in range(n):
        if texts and rng.random() < 0.05:
            text = rng.choice(texts)  # the same story at another URL
        elif texts and rng.random() < 0.1:
            sentences = rng.choice(texts).split("\n\n")
            del sentences[rng.randrange(len(sentences))]
            text = "\n\n".join([f"Officials confirmed the report on day {rng.randrange(365)}.", *sentences])
        else:
            text = "\n\n".join(rng.sample(pool, rng.randint(8, 16)))
        texts.append(text)
        title = " ".join(text.split()[:9])
        copy = ArticleCopy(
            url=f"https://news{i % 40}.example.org/{i // 100}/story-{i}.html",
            title=title,
            text=text,
            source_name=f"Outlet {i % 40}",
            published_at=datetime(2026, 1, 1 + i % 28, i % 24),
            published_from="feed",
            language="en",
            content_hash=content_hash(text),
            feed_url=f"https://news{i % 40}.example.org/rss",
            text_from="page",
        )
        copy.topics = classify_topics(copy.title, copy.text)
        rows.append(copy_to_row(copy))
    return rows


def timed_batches(rows: list[dict], save) -> float:
    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        save([dict(r) for r in rows[start : start + BATCH]])
    return time.perf_counter() - started


def main() -> int:
    from flows.ingest import save_rows
    from warehouse.db import open_warehouse
    from warehouse.load import save_copies

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000
    started = time.perf_counter()
    rows = make_rows(n)
    prep_s = time.perf_counter() - started
    seen_at = datetime.now(UTC).replace(tzinfo=None)
    with tempfile.TemporaryDirectory() as tmp:
        full_db, copies_db = Path(tmp) / "full.duckdb", Path(tmp) / "copies.duckdb"
        log = [{"fetched_at": seen_at, "url": "x", "kind": "page", "status": "ok", "bytes": 1000, "ms": 20.0}]

        def full(batch: list[dict]) -> None:
            save_rows(full_db, batch, log * len(batch), "bench", seen_at)

        def copies_only(batch: list[dict]) -> None:
            with open_warehouse(copies_db) as con:
                save_copies(con, batch, seen_at)

        full_s = timed_batches(rows, full)
        copies_s = timed_batches(rows, copies_only)
        with open_warehouse(full_db, read_only=True) as con:
            articles, copies = con.execute(
                "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM article_sources)"
            ).fetchone()
    if copies != n:
        raise SystemExit(f"bench: {copies} copies stored of {n}; no figures")
    print(f"loading {n} article rows in batches of {BATCH} into a DuckDB file "
          f"({articles} articles after dedupe; rows prepared in {prep_s:.1f} s, not counted)")  # fmt: skip
    print(f"{'save path':<72}{'seconds':>8}{'rows/s':>9}")
    full_name = "save_rows: near-dup lookups + save_copies + search index + fetch log"
    print(f"{full_name:<72}{full_s:>8.2f}{n / full_s:>9,.0f}")
    print(f"{'save_copies alone: URL/hash lookups, articles, copies, topics, entities':<72}"
          f"{copies_s:>8.2f}{n / copies_s:>9,.0f}")  # fmt: skip
    print(f"load_rows={n} load_rows_per_s={n / full_s:.0f} save_copies_rows_per_s={n / copies_s:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
