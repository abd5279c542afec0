"""Search speed: indexing rate, query latency and index size over N synthetic articles.

    python -m bench.search [N]       (default 100000)

Articles are 8-16 real sentences each (corpora bodies and seeds), loaded straight into the
articles table, then indexed by the same code as ingest (tokenizer + bulk insert), and queried
with the judged queries of tests/fixtures/search_judgements.toml. Index size is the growth of the
DuckDB file's used blocks after indexing and compaction, against the bytes of text indexed.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import pyarrow as pa

from bench.dedupe import sentence_pool
from silkwatch.parsers.dedupe import content_hash
from silkwatch.warehouse.db import open_warehouse
from silkwatch.warehouse.search import compact_search_index, index_pending, run_search

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    pool, rng = sentence_pool(), random.Random(n)
    texts = ["\n\n".join(rng.sample(pool, rng.randint(8, 16))) for _ in range(n)]
    queries = [
        q["q"] for q in tomllib.loads((ROOT / "tests/fixtures/search_judgements.toml").read_text("utf-8"))["query"]
    ]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        with open_warehouse(db) as con:
            table = pa.table({
                "article_id": [f"a{i:08d}" for i in range(n)], "title": [t.split(". ", 1)[0][:100] for t in texts],
                "text": texts, "url": [f"bench:{i}" for i in range(n)],
                "content_hash": [content_hash(t) for t in texts],
                "word_count": pa.array([len(t.split()) for t in texts], pa.int32()),
            })  # fmt: skip
            con.register("_bench", table)
            con.execute("INSERT INTO articles BY NAME SELECT *, now()::TIMESTAMP AS first_seen_at FROM _bench")
            con.unregister("_bench")
            con.execute("CHECKPOINT")
            text_bytes = con.execute("SELECT sum(strlen(title) + strlen(text)) FROM articles").fetchone()[0]
            used, block = con.execute("SELECT used_blocks, block_size FROM pragma_database_size()").fetchone()
            before = used * block
        with open_warehouse(db) as con:
            started = time.perf_counter()
            index_pending(con)
            index_s = time.perf_counter() - started
            started = time.perf_counter()
            compact_search_index(con)  # what `silkwatch reindex` does after indexing
            con.execute("CHECKPOINT")
            compact_s = time.perf_counter() - started
            used, block = con.execute("SELECT used_blocks, block_size FROM pragma_database_size()").fetchone()
        index_bytes = used * block - before
        with open_warehouse(db, read_only=True) as con:
            run_search(con, queries[0])  # warm
            timings = []
            for q in queries:
                started = time.perf_counter()
                run_search(con, q, limit=10)
                timings.append((time.perf_counter() - started) * 1000)
    rate = n / index_s
    print(f"search over {n} synthetic articles ({text_bytes / 1e6:.0f} MB of text)")
    print(f"{'indexing':<28}{index_s:>8.1f} s   {rate:,.0f} articles/s")
    print(f"{'compaction (sort by term)':<28}{compact_s:>8.1f} s")
    print(
        f"{'query (median / max)':<28}{statistics.median(timings):>8.0f} ms / {max(timings):.0f} ms"
        f" over {len(queries)} queries"
    )
    print(f"{'index size / text size':<28}{index_bytes / text_bytes:>8.2f}")
    print(f"search_articles={n} index_articles_per_s={rate:.0f} query_median_ms={statistics.median(timings):.0f} "
          f"query_max_ms={max(timings):.0f} index_size_ratio={index_bytes / text_bytes:.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
