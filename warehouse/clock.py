"""Timestamps in the warehouse are naive UTC (DuckDB TIMESTAMP), taken from one place."""

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
