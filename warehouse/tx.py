"""Two helpers every bulk statement uses: Arrow tables visible to SQL, and one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:  # the schema's migrations use transaction(): reading the warehouse needs no Arrow
    import pyarrow as pa


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, **tables: pa.Table) -> Iterator[None]:
    """Arrow tables visible to SQL by name for the duration. Register them outside a transaction:
    unregistering inside an aborted one fails and would hide the original error."""
    for name, data in tables.items():
        con.register(name, data)
    try:
        yield
    except BaseException:
        # inside an enclosing transaction that is now aborted, unregistering fails: keep the first error
        for name in tables:
            with suppress(duckdb.Error):
                con.unregister(name)
        raise
    for name in tables:
        con.unregister(name)


_open_transactions: set[int] = set()  # id() of connections inside ``transaction``


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All or nothing: a killed or failing write leaves the warehouse as it was.

    Inside another ``transaction`` on the same connection it joins that one, which commits or
    rolls back the whole (a load saves copies and indexes them as one unit)."""
    if id(con) in _open_transactions:
        yield
        return
    _open_transactions.add(id(con))
    try:
        with _begin_commit(con):
            yield
    finally:
        _open_transactions.discard(id(con))


@contextmanager
def _begin_commit(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def keys_table(values, column: str = "k", type_: pa.DataType | None = None) -> pa.Table:
    import pyarrow as pa

    return pa.table({column: pa.array(list(values), type_ or pa.string())})
