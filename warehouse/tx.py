"""Two helpers every bulk statement uses: Arrow tables visible to SQL, and one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pyarrow as pa


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, **tables: pa.Table) -> Iterator[None]:
    """Arrow tables visible to SQL by name for the duration. Register them outside a transaction:
    unregistering inside an aborted one fails and would hide the original error."""
    for name, data in tables.items():
        con.register(name, data)
    try:
        yield
    finally:
        for name in tables:
            con.unregister(name)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All or nothing: a killed or failing write leaves the warehouse as it was."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def keys_table(values, column: str = "k", type_: pa.DataType | None = None) -> pa.Table:
    return pa.table({column: pa.array(list(values), type_ or pa.string())})
