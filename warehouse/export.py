"""The warehouse as Parquet partitioned by month, for DuckDB, Spark, pandas or a data lake.

    DIR/articles/month=2026-11/data_0.parquet       (hive style: month of first_seen_at)
    DIR/article_sources/month=2026-11/...           (the month of their article: a month is self-contained)
    DIR/fetch_log/month=2026-11/...                 (month of fetched_at)
    DIR/feeds.parquet, DIR/runs.parquet, ...         (small tables, whole)
    DIR/_manifest.json, DIR/README.md

Every table of the warehouse is exported except the indexes rebuilt from the articles (search,
near-duplicate signatures) and ``schema_migrations`` (the manifest records the schema version).
The export is written beside DIR and swapped in at the end: a failed export leaves DIR as it was,
and a new export replaces the previous one whole. A DIR that is not a silkwatch export is refused.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime
from pathlib import Path

import duckdb

from silkwatch.warehouse.clock import utc_now
from silkwatch.warehouse.db import WarehouseError, open_warehouse

FORMAT = "silkwatch-parquet"
MANIFEST = "_manifest.json"
DERIVED = {"search_postings", "search_docs", "copy_signatures", "lsh_bands", "schema_migrations", "alert_checked"}
PRIVATE = {"alerts"}  # notify targets as configured: a webhook or chat URL may hold its token
BY_OWN_TIME = {"articles": "first_seen_at", "fetch_log": "fetched_at"}  # partitioned by their own column
UNKNOWN_MONTH = "unknown"  # a row whose article is missing (a damaged warehouse): kept, not dropped

README = """# silkwatch warehouse export

Exported {exported_at} UTC from `{warehouse}` (schema version {schema_version}) by
`silkwatch export --parquet`. `_manifest.json` lists every table with its row count and files.

Tables about articles are partitioned by month, hive style (`month=YYYY-MM`): `articles` by the
month it was first seen, and `article_sources`, `article_topics`, `article_entities` (and any
other table keyed by `article_id`) by the month of their article, so one month is complete on its
own. `fetch_log` is partitioned by the month of `fetched_at`. The other tables are one file each.
Timestamps are UTC. Column meanings: silkwatch's docs/schema.md.

DuckDB:

```sql
SELECT month, count(*) FROM read_parquet('articles/*/*.parquet', hive_partitioning = true) GROUP BY 1 ORDER BY 1;
SELECT a.title, t.topic, t.score
FROM read_parquet('articles/month=2026-11/*.parquet') a
JOIN read_parquet('article_topics/month=2026-11/*.parquet') t USING (article_id);
```

pandas / pyarrow:

```python
import pyarrow.dataset as ds
articles = ds.dataset("articles", format="parquet", partitioning="hive").to_table().to_pandas()
```

Spark:

```python
spark.read.parquet("articles").createOrReplaceTempView("articles")   # month becomes a column
```
"""


class ExportError(WarehouseError):
    """The export folder cannot be used; the message names it."""


def _is_export(folder: Path) -> bool:
    try:
        return json.loads((folder / MANIFEST).read_text("utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    rows = con.execute(
        "SELECT table_name, list(column_name ORDER BY ordinal_position) FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name IN "
        "(SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE') "
        "GROUP BY table_name ORDER BY table_name"
    ).fetchall()
    return {name: columns for name, columns in rows if name not in DERIVED | PRIVATE}


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _month(expr: str) -> str:
    return f"coalesce(strftime({expr}, '%Y-%m'), '{UNKNOWN_MONTH}') AS month"


def _copy_table(con: duckdb.DuckDBPyConnection, table: str, columns: list[str], out: Path) -> dict:
    """Write one table; return its manifest entry."""
    if table in BY_OWN_TIME:
        source = f"SELECT *, {_month(BY_OWN_TIME[table])} FROM {table}"
    elif "article_id" in columns:
        source = (
            f"SELECT c.*, {_month('a.first_seen_at')} FROM {table} c "
            "LEFT JOIN (SELECT article_id, first_seen_at FROM articles) a USING (article_id)"
        )
    else:
        target = out / f"{table}.parquet"
        con.execute(f"COPY {table} TO {_literal(target)} (FORMAT parquet, COMPRESSION zstd)")
        return {"files": f"{table}.parquet", "partitioned_by": None}
    target = out / table
    target.mkdir()
    con.execute(f"COPY ({source}) TO {_literal(target)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (month))")
    months = sorted(p.name.removeprefix("month=") for p in target.iterdir() if p.name.startswith("month="))
    return {"files": f"{table}/*/*.parquet", "partitioned_by": "month", "months": months}


def export_parquet(db_path: Path, folder: Path, now: datetime | None = None) -> dict:
    """Export the warehouse at ``db_path`` into ``folder`` (replacing a previous export); return the manifest."""
    folder = Path(folder).absolute()
    if folder.exists() and not (folder.is_dir() and _is_export(folder)):
        raise ExportError(
            f"{folder}: exists and is not a silkwatch export (no {MANIFEST}); "
            "choose a new folder or one written by `silkwatch export`"
        )
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"{folder}: cannot create its parent folder: {exc}") from exc
    staging = folder.with_name(f".{folder.name}.export-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        with open_warehouse(db_path, read_only=True) as con:
            con.execute("SET enable_progress_bar = false")
            tables = _tables(con)
            if "articles" not in tables:
                raise ExportError(f"{db_path}: not a silkwatch warehouse (no articles table)")
            (version,) = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
            manifest = {"format": FORMAT, "format_version": 1, "schema_version": version,
                        "exported_at": (now or utc_now()).isoformat(timespec="seconds"),
                        "warehouse": str(Path(db_path).absolute()), "tables": {}}  # fmt: skip
            for table, columns in tables.items():
                entry = _copy_table(con, table, columns, staging)
                (rows,) = con.execute(f"SELECT count(*) FROM {table}").fetchone()
                manifest["tables"][table] = {"rows": rows, **entry}
        (staging / "README.md").write_text(
            README.format(exported_at=manifest["exported_at"], warehouse=manifest["warehouse"],
                          schema_version=version),
            "utf-8",
        )  # fmt: skip
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")  # written last: complete
        _swap_in(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _swap_in(staging: Path, folder: Path) -> None:
    """Replace ``folder`` by ``staging``: two renames, so readers see the old export or the new one."""
    retired = folder.with_name(f".{folder.name}.retired-{os.getpid()}")
    if folder.exists():
        folder.rename(retired)
    staging.rename(folder)
    shutil.rmtree(retired, ignore_errors=True)
