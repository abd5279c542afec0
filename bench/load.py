"""Load speed: saving article rows in batches into a real DuckDB file, through the real save path.

    python -m bench.load [N_ROWS]          (default 5000)

Rows are what ingest saves: ``parsers.rows.copy_to_row`` of article copies made of 8-16 real
sentences (corpora bodies and seeds), classified, one in ten a near-copy of an earlier one, one in
twenty an exact repeat under another URL. They are prepared before the clock starts (that work
runs in the extraction pool). Each measurement loads all N rows into a fresh warehouse file, and
opens and closes the file for every batch, as the pipeline's save task does (``save_rows``; the
close checkpoints the file).

- ``load_rows_per_s`` (the headline): ``flows.ingest.save_rows`` in batches of ``BACKFILL_BATCH``
  (5,000 rows, a backfill's batches), file opened and closed per batch: the near-duplicate
  lookups (LSH bands), ``save_copies``, the search-index update and the fetch log, one
  transaction a batch (story clustering is the step after the load: ``bench.stories``).
  ``load_seed_rows_per_s``: the same in batches of ``flows.pipeline.BATCH_SIZE`` (500, the seed
  batches); ``load_pages_rows_per_s``: in batches of ``PAGE_BATCH_SIZE`` (200, the page batches
  of a feed ingest).
- ``save_copies_rows_per_s``: ``warehouse.load.save_copies`` alone (URL and content-hash lookups,
  articles, copies, topics, entities, signatures, bands), batches of 5,000, file opened per batch.

A table shows both at batch sizes of 200, 500, 2,000 and 5,000 rows. The search index and the
story clustering are measured on their own by ``bench.search`` and ``bench.stories``.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path


def make_rows(n: int) -> list[dict]:
    from bench.dedupe import sentence_pool
    from silkwatch.parsers.classify import classify_topics
    from silkwatch.parsers.dedupe import content_hash
    from silkwatch.parsers.model import ArticleCopy
    from silkwatch.parsers.rows import copy_to_row

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


def timed_batches(rows: list[dict], save, batch: int) -> float:
    started = time.perf_counter()
    for start in range(0, len(rows), batch):
        save([dict(r) for r in rows[start : start + batch]])
    return time.perf_counter() - started


SIZES = (200, 500, 2_000, 5_000)
BACKFILL_BATCH = 5_000  # the headline's batch size (issue 19: "load_rows_per_s at 5,000-row batches")


def main() -> int:
    from silkwatch.flows.ingest import save_rows
    from silkwatch.flows.pipeline import BATCH_SIZE, PAGE_BATCH_SIZE
    from silkwatch.warehouse.db import open_warehouse
    from silkwatch.warehouse.load import save_copies

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000
    started = time.perf_counter()
    rows = make_rows(n)
    prep_s = time.perf_counter() - started
    seen_at = datetime.now(UTC).replace(tzinfo=None)
    log = [{"fetched_at": seen_at, "url": "x", "kind": "page", "status": "ok", "bytes": 1000, "ms": 20.0}]
    sizes = sorted({*SIZES, BACKFILL_BATCH, BATCH_SIZE, PAGE_BATCH_SIZE})
    full_s: dict[int, float] = {}
    copies_s: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            full_db, copies_db = Path(tmp) / f"full{size}.duckdb", Path(tmp) / f"copies{size}.duckdb"

            def full(batch: list[dict], db: Path = full_db) -> None:
                save_rows(db, batch, log * len(batch), "bench", seen_at)

            def copies_only(batch: list[dict], db: Path = copies_db) -> None:
                with open_warehouse(db) as con:
                    save_copies(con, batch, seen_at)

            full_s[size] = timed_batches(rows, full, size)
            copies_s[size] = timed_batches(rows, copies_only, size)
            with open_warehouse(full_db, read_only=True) as con:
                articles, copies = con.execute(
                    "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM article_sources)"
                ).fetchall()[0]
            if copies != n:
                raise SystemExit(f"bench: {copies} copies stored of {n} in batches of {size}; no figures")
    print(f"loading {n} article rows into a fresh DuckDB file per measurement, the file opened and closed "
          f"for every batch as the pipeline does ({articles} articles after dedupe; rows prepared in "
          f"{prep_s:.1f} s, not counted)")  # fmt: skip
    print("rows/s by batch size (seconds for all rows in brackets); the pipeline saves seed batches of "
          f"{BATCH_SIZE} and page batches of {PAGE_BATCH_SIZE}")  # fmt: skip
    print(f"{'save path':<56}" + "".join(f"{size:>16,}" for size in sizes))
    for name, timings in (
        ("save_rows: near-dup, save_copies, index, log", full_s),
        ("save_copies alone", copies_s),
    ):
        cells = "".join(f"{f'{n / timings[size]:,.0f} ({timings[size]:.2f})':>16}" for size in sizes)
        print(f"{name:<56}{cells}")
    print(
        f"headline: load_rows_per_s = save_rows in batches of {BACKFILL_BATCH:,}, file opened and closed per batch: "
        f"{n / full_s[BACKFILL_BATCH]:,.0f} rows/s (target 20,000)"
    )
    print(
        f"load_rows={n} load_batch={BACKFILL_BATCH} load_rows_per_s={n / full_s[BACKFILL_BATCH]:.0f} "
        f"load_seed_rows_per_s={n / full_s[BATCH_SIZE]:.0f} load_pages_rows_per_s={n / full_s[PAGE_BATCH_SIZE]:.0f} "
        f"save_copies_rows_per_s={n / copies_s[BACKFILL_BATCH]:.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
