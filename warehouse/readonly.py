"""`silkwatch query`'s guard: one reading statement, on a connection that cannot touch anything else.

Three layers, each enough for most writes and together for all: the warehouse is opened
read-only (no INSERT, UPDATE, DELETE, DDL, CHECKPOINT), the statement must be a single SELECT,
EXPLAIN or PRAGMA (so no COPY, ATTACH, INSTALL, LOAD, SET, EXPORT, CALL, and no ``select 1; drop
...``), and the connection loses access to files and extensions and has its settings locked, so
nothing that parses as a SELECT can write a file, attach another database or change a setting.
"""

from __future__ import annotations

import duckdb

READING_STATEMENTS = {"SELECT", "EXPLAIN", "PRAGMA"}


class ReadOnlyViolation(ValueError):
    """The SQL would do more than read the warehouse; the message says what."""


def check_reading_sql(sql: str) -> None:
    """Raise ``ReadOnlyViolation`` unless ``sql`` is exactly one reading statement."""
    statements = duckdb.extract_statements(sql)  # DuckDB's own parser: a syntax error raises duckdb.ParserException
    if len(statements) != 1:
        raise ReadOnlyViolation(f"one statement at a time, got {len(statements)}")
    kind = statements[0].type.name
    if kind not in READING_STATEMENTS:
        raise ReadOnlyViolation(f"{kind} statements are refused; only SELECT, EXPLAIN and PRAGMA read")


def lock_down(con: duckdb.DuckDBPyConnection) -> None:
    """No file, network or extension access from here on, and no setting can be changed back."""
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
