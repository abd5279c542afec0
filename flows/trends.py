"""Trends: a subject's articles and outlets per day or week against its trailing baseline
(``parsers.trends`` has the test), and the topics and entities rising in a digest's period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from silkwatch.parsers.classify import Ruleset
from silkwatch.parsers.entities import entity_names
from silkwatch.parsers.trends import Assessment, TrendTest, assess
from silkwatch.warehouse.trends import observed_since, period_counts, subject_period_counts

LENGTH = {"day": timedelta(days=1), "week": timedelta(days=7)}
MAX_RISING = 6  # entries in the digest's "Rising" section (the most significant first)
CHART_SUBJECTS = 4  # lines in its chart


@dataclass(frozen=True)
class TrendRow:
    start: datetime
    articles: int
    outlets: int
    observed: bool  # the warehouse existed then (else no baseline)
    assessment: Assessment

    def as_dict(self) -> dict:
        a = self.assessment
        return {"start": self.start, "articles": self.articles, "outlets": self.outlets, "baseline": a.baseline,
                "p_value": a.p_value, "rising": a.rising}  # fmt: skip


def period_end(by: str, now: datetime) -> datetime:
    """The end of the period ``now`` is in: the next midnight (UTC), or the next Monday's."""
    midnight = datetime(now.year, now.month, now.day) + timedelta(days=1)
    return midnight if by == "day" else midnight + timedelta(days=(7 - midnight.weekday()) % 7)


def trend(
    con: duckdb.DuckDBPyConnection, by: str, since: datetime, now: datetime, kind: str | None = None,
    key: str | None = None,
) -> list[TrendRow]:  # fmt: skip
    """Per day or week from the one holding ``since`` to the one holding ``now``: articles, outlets,
    and the test against the ``window`` periods before each (read from before ``since`` too)."""
    test = TrendTest.for_period(by)
    length, end = LENGTH[by], period_end(by, now)
    shown = max(1, -(-(end - since) // length))  # periods that overlap [since, end)
    total = shown + test.window
    counts = period_counts(con, kind, key, end, length, total)
    started = observed_since(con)
    starts = [end - (back + 1) * length for back in range(total - 1, -1, -1)]
    observed = [started is not None and start + length > started for start in starts]
    values = [counts.get(back, (0, 0)) for back in range(total - 1, -1, -1)]
    tested = assess([n if seen else None for (n, _), seen in zip(values, observed, strict=True)], test)
    rows = [TrendRow(s, n, o, seen, a) for s, (n, o), seen, a in zip(starts, values, observed, tested, strict=True)]
    return rows[-shown:]


def rising(con: duckdb.DuckDBPyConnection, until: datetime, length: timedelta, ruleset: Ruleset) -> list[dict]:
    """Topics and entities whose articles in the period ending at ``until`` are significantly and
    well above their baseline (the previous periods of the same length), most significant first,
    each with its counts per period (oldest first) for the chart."""
    test = TrendTest.for_period("day" if length <= LENGTH["day"] else "week")
    total = test.window + 1
    started = observed_since(con)
    if started is None:
        return []
    observed = [until - back * length > started for back in range(total - 1, -1, -1)]
    names = entity_names()
    found = []
    for (kind, key), counts in subject_period_counts(con, until, length, total).items():
        if kind == "topic" and key not in ruleset.labels:
            continue  # a topic the rules no longer have
        series = [counts.get(back, 0) for back in range(total - 1, -1, -1)]
        latest = assess([n if seen else None for n, seen in zip(series, observed, strict=True)], test)[-1]
        if latest.rising:
            label = ruleset.labels[key] if kind == "topic" else names.get(key, key)
            found.append({"kind": kind, "key": key, "label": label, "count": series[-1], "series": series,
                          "baseline": latest.baseline, "p_value": latest.p_value})  # fmt: skip
    found.sort(key=lambda r: (r["p_value"], -r["count"], r["key"]))
    return found[:MAX_RISING]
