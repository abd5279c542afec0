"""Opening the warehouse: one writer at a time, open for the write and closed after.

Errors name the file and say what to do, so the CLI can print them as one line.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from silkwatch.warehouse.schema import ensure_db_shape

BUSY_POLL_SECONDS = 0.2
# A writer holding the writer lock (warehouse/lock.py) can only be kept out by readers (query,
# search), which hold the file briefly: it waits for them rather than failing the run.
READER_GRACE_SECONDS = 30.0


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened or used; the message names the file."""


class WarehouseBusy(WarehouseError):
    """Another process holds the warehouse file."""


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseBusy(
                f"{path}: the warehouse is busy (another silkwatch process is writing it); try again shortly"
            ) from exc
        raise WarehouseError(f"{path}: cannot open the warehouse: {exc}") from exc
    except duckdb.Error as exc:
        raise WarehouseError(f"{path}: not a usable DuckDB warehouse: {exc}") from exc


@contextmanager
def open_warehouse(
    path: Path, *, read_only: bool = False, wait_seconds: float | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse file, bring its schema up to date (writers only), and close it after.

    ``wait_seconds`` > 0 waits that long for a busy file before giving up with ``WarehouseBusy``;
    by default a writer holding the writer lock waits ``READER_GRACE_SECONDS``, anyone else not at all.
    """
    from silkwatch.warehouse.lock import holds_writer_lock  # lock.py imports this module's errors

    path = Path(path)
    if wait_seconds is None:
        wait_seconds = READER_GRACE_SECONDS if not read_only and holds_writer_lock(path) else 0.0
    if path.is_dir():
        raise WarehouseError(f"{path}: is a directory; [warehouse] path must name a DuckDB file")
    if read_only and not path.exists():
        raise WarehouseError(f"{path}: no warehouse here yet; run `silkwatch run` first")
    if not read_only:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseError(f"{path}: cannot create its folder: {exc}") from exc
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            con = _connect(path, read_only)
            break
        except WarehouseBusy:
            if time.monotonic() >= deadline:
                raise
            time.sleep(BUSY_POLL_SECONDS)
    try:
        con.execute("SET TimeZone = 'UTC'")
        if not read_only:
            ensure_db_shape(con)
        yield con
    finally:
        con.close()


def check_integrity(con: duckdb.DuckDBPyConnection, *, indexed: bool = False, idle: bool = False) -> list[str]:
    """Problems that a consistent warehouse never has; an empty list means all is well.

    ``indexed``: every article must be in the search index (true of every warehouse loaded through
    ``flows.ingest.save_rows``, which indexes in the same transaction). ``idle``: no run is in
    progress, so none may be left 'running' (the next run marks a killed one 'interrupted').
    """
    checks = {
        "sources without an article": """
            SELECT count(*) FROM article_sources s ANTI JOIN articles a USING (article_id)""",
        "entities without an article": """
            SELECT count(*) FROM article_entities e ANTI JOIN articles a USING (article_id)""",
        "topics without an article": """
            SELECT count(*) FROM article_topics t ANTI JOIN articles a USING (article_id)""",
        "story articles without an article": """
            SELECT count(*) FROM story_articles m ANTI JOIN articles a USING (article_id)""",
        "story articles without a story": """
            SELECT count(*) FROM story_articles m ANTI JOIN stories s USING (story_id)""",
        "stories without an article": """
            SELECT count(*) FROM stories s ANTI JOIN story_articles m USING (story_id)""",
        "articles without any source": """
            SELECT count(*) FROM articles a ANTI JOIN article_sources s USING (article_id)""",
        "copy signatures without their copy (same url and article)": """
            SELECT count(*) FROM copy_signatures ANTI JOIN article_sources USING (url, article_id)""",
        "LSH band keys without their copy's signature": """
            SELECT count(*) FROM lsh_bands ANTI JOIN copy_signatures USING (url, article_id)""",
        "copy signatures without LSH band keys": """
            SELECT count(*) FROM copy_signatures ANTI JOIN lsh_bands USING (url, article_id)""",
        "search index entries without an article": """
            SELECT count(*) FROM search_docs ANTI JOIN articles USING (article_id)""",
        "search postings without an indexed article": """
            SELECT count(DISTINCT doc) FROM search_postings ANTI JOIN search_docs USING (doc)""",
        "search index entries from an older text": """
            SELECT count(*) FROM search_docs d JOIN articles a USING (article_id)
            WHERE d.content_hash <> a.content_hash""",
    }
    if indexed:
        checks["articles missing from the search index"] = """
            SELECT count(*) FROM articles ANTI JOIN search_docs USING (article_id)"""
    if idle:
        checks["runs left 'running'"] = "SELECT count(*) FROM runs WHERE status = 'running'"
    problems = []
    for name, sql in checks.items():
        (count,) = con.execute(sql).fetchone()
        if count:
            problems.append(f"{count} {name}")
    return problems
