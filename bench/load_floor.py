"""The load's floor: what storing one batch's final rows costs with no Python and no logic.

    python -m bench.load_floor [N_ROWS] [RUNS]      (default 5000 rows, 3 runs)

``bench.load``'s rows are saved once through ``save_rows``; every table's rows are then read back
as Arrow and inserted, in one transaction, into a fresh file made with the same tables and
indexes, which is then closed (checkpointed) as the pipeline closes it. No dedupe, no merge, no
index logic: the time is what DuckDB takes to store what a batch stores, the least a batch can
cost. ``load_floor_rows_per_s`` = N_ROWS / the median run.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path


def main() -> int:
    import duckdb

    from bench.load import make_rows
    from silkwatch.flows.ingest import save_rows

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    rows = make_rows(n)
    seen_at = datetime.now(UTC).replace(tzinfo=None)
    log = [{"fetched_at": seen_at, "url": "x", "kind": "page", "status": "ok", "bytes": 1000, "ms": 20.0}]
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source.duckdb"
        save_rows(source, rows, log * n, "bench", seen_at)
        with duckdb.connect(str(source), read_only=True) as con:
            made = con.execute("SELECT table_name, sql FROM duckdb_tables() ORDER BY table_name").fetchall()
            tables, ddl = [t for t, _ in made], [sql for _, sql in made]
            ddl += [sql for (sql,) in con.execute("SELECT sql FROM duckdb_indexes() WHERE sql IS NOT NULL").fetchall()]
            data = {t: con.sql(f'SELECT * FROM "{t}"').to_arrow_table() for t in tables}
        timings: list[dict[str, float]] = []
        for run in range(runs):
            target = Path(tmp) / f"floor{run}.duckdb"
            with duckdb.connect(str(target)) as con:
                for sql in ddl:
                    con.execute(sql)
            con = duckdb.connect(str(target))
            parts: dict[str, float] = {}
            started = time.perf_counter()
            con.execute("BEGIN")
            for table, arrow in data.items():
                if arrow.num_rows:
                    t = time.perf_counter()
                    con.register("batch_rows", arrow)
                    con.execute(f'INSERT INTO "{table}" SELECT * FROM batch_rows')
                    con.unregister("batch_rows")
                    parts[table] = time.perf_counter() - t
            t = time.perf_counter()
            con.execute("COMMIT")
            parts["commit"] = time.perf_counter() - t
            t = time.perf_counter()
            con.close()
            parts["close (checkpoint)"] = time.perf_counter() - t
            parts["total"] = time.perf_counter() - started
            timings.append(parts)
    stored = {t: a.num_rows for t, a in data.items() if a.num_rows}
    print(f"{n} article rows saved once; their stored rows ({', '.join(f'{t} {c:,}' for t, c in stored.items())}) "
          f"inserted from Arrow into a fresh file, one transaction, then closed; median of {runs} runs:")  # fmt: skip
    for part in timings[0]:
        print(f"  {part:<28}{1000 * statistics.median(p[part] for p in timings):>8.0f} ms")
    total = statistics.median(p["total"] for p in timings)
    print(f"load_floor_rows={n} load_floor_s={total:.3f} load_floor_rows_per_s={n / total:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
