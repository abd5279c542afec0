"""The digest: what is new in a period, grouped by topic, as markdown and self-contained HTML.

Reading, rendering and writing: the context both templates show is built from the rows read here
by ``parsers.digest.build_context``, a pure function. Article text reaches the markdown through
``md_escape`` (the ``md`` filter) and the HTML through Jinja's autoescape, so a title holding
markup shows as text.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path

from silkwatch.flows.trends import CHART_SUBJECTS, rising
from silkwatch.parsers.classify import PALETTE, Ruleset, default_ruleset
from silkwatch.parsers.digest import MAX_PER_TOPIC, PERIOD_LENGTH, build_context, digest_filename, period_bounds
from silkwatch.warehouse.clock import utc_now
from silkwatch.warehouse.db import open_warehouse
from silkwatch.warehouse.faults import fault_point
from silkwatch.warehouse.feeds import feed_health
from silkwatch.warehouse.load import save_digest
from silkwatch.warehouse.queries import (
    daily_topic_counts,
    digest_articles,
    digest_record,
    previous_digest,
    topic_counts,
)
from silkwatch.warehouse.stories import digest_stories

CHART_DAYS = 7
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def md_escape(text: str) -> str:
    """Article text as literal markdown: one line, syntax characters escaped."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _env(autoescape: bool):
    import jinja2  # only when a digest is rendered

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: resources.files("silkwatch.flows").joinpath(f"templates/{name}").read_text("utf-8")
        ),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=autoescape,  # noqa: S701 - markdown is escaped by the md filter; HTML autoescapes
        undefined=jinja2.StrictUndefined,
    )
    env.filters["md"] = md_escape
    return env


def render_markdown(context: dict) -> str:
    return _env(autoescape=False).get_template("digest.md.j2").render(**context)


def render_html(context: dict, chart_src: str | None, rising_chart_src: str | None = None) -> str:
    return (
        _env(autoescape=True)
        .get_template("digest.html.j2")
        .render(**context, chart_src=chart_src, rising_chart_src=rising_chart_src)
    )


def _new_chart():
    import matplotlib as mpl  # a second of import time: only when a chart is drawn

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6.4, 2.2), dpi=100)


def _chart_png(fig, ax, title: str) -> bytes:
    """The digest's chart style (small type, no top or right frame, the legend below), as a PNG."""
    import matplotlib.pyplot as plt

    ax.tick_params(axis="y", labelsize=8)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(title, fontsize=9, loc="left")
    ax.legend(fontsize=8, frameon=False, ncol=4, loc="upper left", bbox_to_anchor=(0, -0.18))
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def chart_png(daily: list[tuple], end: date, days: int = CHART_DAYS, ruleset: Ruleset | None = None) -> bytes | None:
    """A small stacked bar chart of articles per topic per day; None when there is nothing to draw."""
    if not daily:
        return None
    ruleset = ruleset or default_ruleset()
    span = [end - timedelta(days=i) for i in range(days - 1, -1, -1)]
    per_topic = {t: [0] * days for t in ruleset.names}
    for day, topic, n in daily:
        if day in span and topic in per_topic:  # a topic no longer in the rules is not drawn
            per_topic[topic][span.index(day)] = n
    fig, ax = _new_chart()
    bottom = [0] * days
    for topic, colour in ruleset.colours.items():
        ax.bar(range(days), per_topic[topic], bottom=bottom, label=topic, color=colour, width=0.7)
        bottom = [b + v for b, v in zip(bottom, per_topic[topic], strict=True)]
    ax.set_xticks(range(days), [f"{d:%a %d}" for d in span], fontsize=8)
    return _chart_png(fig, ax, "Articles per topic per day (an article counts under each of its topics)")


def rising_chart_png(risen: list[dict], until: datetime, period: str, ruleset: Ruleset) -> bytes | None:
    """A small line chart of the rising subjects' articles per period, the baseline's periods then
    this one (the last point); None when nothing rises."""
    if not risen:
        return None
    length = PERIOD_LENGTH[period]
    shown = risen[:CHART_SUBJECTS]
    n = len(shown[0]["series"])
    ends = [until - back * length for back in range(n - 1, -1, -1)]
    fig, ax = _new_chart()
    for i, subject in enumerate(shown):
        colour = ruleset.colours.get(subject["key"]) if subject["kind"] == "topic" else None
        ax.plot(range(n), subject["series"], marker="o", markersize=2.5, linewidth=1.2, label=subject["label"],
                color=colour or PALETTE[(i + 4) % len(PALETTE)])  # fmt: skip
    ticks = list(range(n - 1, -1, -max(1, n // 7)))[::-1]
    ax.set_xticks(ticks, [f"{ends[i]:%d %b}" for i in ticks], fontsize=8)
    unit = "24 hours" if period == "day" else "7 days"
    return _chart_png(fig, ax, f"Rising: articles per {unit}, this period last")


@dataclass
class DigestResult:
    path: Path  # the markdown file; the HTML file sits beside it
    article_ids: list[str]
    period: str
    digest_id: str
    status: str  # written, or sent (already emailed: left as it was)

    @property
    def html_path(self) -> Path:
        return self.path.with_suffix(".html")


def _data_src(png: bytes | None) -> str | None:
    return f"data:image/png;base64,{base64.b64encode(png).decode()}" if png else None


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as out:  # in two writes, so a crash test can stop it half-way
        half = len(text) // 2
        out.write(text[:half])
        out.flush()
        fault_point("digest-write")
        out.write(text[half:])
    tmp.replace(path)  # readers never see a half-written digest


def write_digest(
    db_path: Path,
    digest_dir: Path,
    period: str,
    now: datetime | None = None,
    out: Path | None = None,
    force: bool = False,
    max_per_topic: int = MAX_PER_TOPIC,
    ruleset: Ruleset | None = None,
) -> DigestResult:
    """Build the digest for ``period`` ending at ``now``: markdown and HTML files, and a ``digests`` row.

    Articles in the previous digest of the same kind are not repeated. A digest already emailed is
    left exactly as sent unless ``force``. Sections show ``max_per_topic`` articles each (0: all);
    the ``digests`` row records every article covered.
    """
    now = now or utc_now()
    ruleset = ruleset or default_ruleset()
    since, until = period_bounds(period, now)
    path = out or digest_dir / digest_filename(period, now)
    digest_id = f"{period}:{path.name}"
    with open_warehouse(db_path) as con:
        existing = digest_record(con, digest_id)
        if existing and existing["status"] == "sent" and not force and Path(existing["path"]).exists():
            return DigestResult(Path(existing["path"]), list(existing["article_ids"]), period, digest_id, "sent")
        previous = previous_digest(con, period, digest_id)
        exclude = list(previous["article_ids"]) if previous and period != "all" else []
        rows = digest_articles(con, since, until, exclude)
        before = topic_counts(con, since - PERIOD_LENGTH[period], since) if since else None
        stories = digest_stories(con, [r["article_id"] for r in rows])
        risen = rising(con, until, PERIOD_LENGTH[period], ruleset) if since else []
        context = build_context(rows, period, now, db_path, ruleset, feed_health(con, now), before,
                                stories, max_per_topic, risen)  # fmt: skip
        png = chart_png(
            daily_topic_counts(con, until - timedelta(days=CHART_DAYS), until), until.date(), ruleset=ruleset
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, render_markdown(context))
        rising_png = rising_chart_png(risen, until, period, ruleset)
        _write_atomically(path.with_suffix(".html"), render_html(context, _data_src(png), _data_src(rising_png)))
        ids = [r["article_id"] for r in rows]
        digest = {"digest_id": digest_id, "kind": period, "period_start": since, "period_end": until,
                  "created_at": now, "path": str(path), "article_ids": ids, "status": "written"}  # fmt: skip
        save_digest(con, digest)
    return DigestResult(path, ids, period, digest_id, "written")
