"""The digest: what is new in a period, grouped by topic, as markdown and self-contained HTML.

One context feeds both templates. Article text reaches the markdown through ``md_escape`` (the
``md`` filter) and the HTML through Jinja's autoescape, so a title holding markup shows as text.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path

import jinja2

from flows.fetch import error_kind
from flows.trends import CHART_SUBJECTS, rising
from parsers.classify import PALETTE, Ruleset, default_ruleset
from parsers.english_line import english_line
from parsers.trends import TrendTest
from warehouse.clock import utc_now
from warehouse.db import open_warehouse
from warehouse.faults import fault_point
from warehouse.feeds import feed_health
from warehouse.load import save_digest
from warehouse.queries import daily_topic_counts, digest_articles, digest_record, previous_digest, topic_counts
from warehouse.stories import digest_stories

PERIOD_LENGTH = {"day": timedelta(days=1), "week": timedelta(days=7), "all": None}
PERIOD_NAME = {"day": "daily", "week": "weekly", "all": "full"}
CHART_DAYS = 7
NO_TOPIC = "No topic"
MAX_EVIDENCE = 6
MAX_LEAD_STORIES = 8  # the digest opens with at most this many stories of two or more articles
MAX_PER_TOPIC = 20  # [digest] max_per_topic: items shown per section (0: all); totals always count all
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def md_escape(text: str) -> str:
    """Article text as literal markdown: one line, syntax characters escaped."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def period_bounds(period: str, now: datetime) -> tuple[datetime | None, datetime]:
    length = PERIOD_LENGTH[period]
    return (now - length if length else None), now


def digest_filename(period: str, now: datetime, suffix: str = ".md") -> str:
    """Daily digests are digest-YYYY-MM-DD.md; the others name their kind: digest-week-YYYY-MM-DD.md."""
    day = now.strftime("%Y-%m-%d")
    return f"digest-{day}{suffix}" if period == "day" else f"digest-{period}-{day}{suffix}"


def format_date(value: datetime | None) -> str:
    if value is None:
        return "date unknown"
    text = f"{value.day} {value:%B %Y}"
    return f"{text}, {value:%H:%M} UTC" if (value.hour, value.minute) != (0, 0) else text


_URL_UNSAFE = re.compile(r"[\x00-\x20\x7f]")  # would end a markdown link and start a new line


def _link(url: str) -> str | None:
    """Only http(s) URLs become links (no javascript:, data:, file:), with spaces and control
    characters percent-encoded (quotes and brackets are escaped by each template)."""
    if not url.lower().startswith(("http://", "https://")):
        return None
    return _URL_UNSAFE.sub(lambda m: f"%{ord(m.group()):02X}", url)


def _item(row: dict, topic: str | None, order: tuple[str, ...]) -> dict:
    outlets = list(row["outlets"] or ([row["source_name"]] if row["source_name"] else []))
    main = row["source_name"] or (outlets[0] if outlets else None)
    also = [o for o in outlets if o != main]
    other_copies = [s for s in (row["sources"] or []) if s["url"] != row["url"]]
    also += [s["url"].removeprefix("seed:") for s in other_copies if not s["source_name"]]
    topics = {t["topic"]: t for t in row["topics"]}
    chosen = topics.get(topic)
    # the heading shows the title: the English line gives the rest
    english = english_line(row["language"], row["title"], row.get("text") or "", list(topics), show_title=False)
    return {
        "title": row["title"],
        "url": _link(row["url"]),
        "outlet": main or "outlet unknown",
        "date": format_date(row["published_at"]),
        "seed": row["url"].removeprefix("seed:") if row["url"].startswith("seed:") else None,
        "summary": row["summary"] or "",
        "english_line": english,
        "lang": row["language"] if english else None,  # HTML lang: the right glyphs for Chinese text
        "topic": topic,
        "score": f"{chosen['score']:g}" if chosen else None,
        "evidence": list(chosen["evidence"][:MAX_EVIDENCE]) if chosen else [],
        "other_topics": [t for t in order if t in topics and t != topic],
        "also_in": also,
        "copies": row["copies"] or 1,
    }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _peak(day: date | None) -> str:
    return f"{day.day} {day:%B %Y}" if day else ""


def _lead_stories(stories: list[dict], rows: list[dict], order: tuple[str, ...]) -> list[dict]:
    """The biggest stories with articles in the period, each with those articles under it."""
    by_id = {r["article_id"]: r for r in rows}
    lead = []
    for story in stories:
        if story["article_count"] < 2:
            continue  # one article is not a story: it stays in its topic section
        members = sorted((by_id[i] for i in story["new_ids"] if i in by_id),
                         key=lambda r: (r["published_at"] or r["first_seen_at"], r["article_id"]))  # fmt: skip
        counts = [_plural(story["article_count"], "article")]
        if story["outlet_count"]:
            counts.append(_plural(story["outlet_count"], "outlet"))
        counts.append(_plural(story["language_count"], "language"))
        grown = story["article_count"] - story["new_articles"]
        first, last = story["first_seen_at"], story["last_seen_at"]
        span = (
            format_date(first.replace(hour=0, minute=0))
            if first.date() == last.date()
            else (f"{format_date(first.replace(hour=0, minute=0))} – {format_date(last.replace(hour=0, minute=0))}")
        )
        # a label in Russian or Chinese gets its English line (from the article it is the title of)
        labelled = next((r for r in members if r["title"] == story["label"]), None)
        english = labelled and english_line(
            labelled["language"], story["label"], labelled.get("text") or "", list(story["topics"]), show_title=False
        )
        lead.append({
            "story_id": story["story_id"], "label": story["label"], "counts": ", ".join(counts),
            "english_line": english, "lang": labelled["language"] if english else None,
            "status": f"growing: +{story['new_articles']} since the last digest" if grown > 0 else "new",
            "span": span, "peak": _peak(story["peak_day"]) if first.date() != last.date() else "",
            "languages": list(story["languages"]), "topics": list(story["topics"]),
            "items": [{**_item(r, None, order), "language": r["language"] or "?"} for r in members],
            "article_ids": [r["article_id"] for r in members],
        })  # fmt: skip
        if len(lead) == MAX_LEAD_STORIES:
            break
    return lead


def _importance(row: dict, topic: str) -> tuple:
    score = next(t["score"] for t in row["topics"] if t["topic"] == topic)
    recency = row["published_at"] or row["first_seen_at"]
    return (-(len(row["outlets"] or []) or 1), -(row["copies"] or 1), -recency.timestamp(), -score)


def _story_refs(members: list[dict], story_of: dict[str, dict]) -> list[dict]:
    """The lead stories among a section's articles, once each, with how many of them it holds."""
    refs: dict[str, dict] = {}
    for r in members:
        story = story_of.get(r["article_id"])
        if story:
            refs.setdefault(story["story_id"], {"label": story["label"], "n": 0})["n"] += 1
    return list(refs.values())


def _health_rows(health: list[dict]) -> list[dict]:
    """One row per kind of trouble: twenty feeds failing the same way (offline) are one row."""
    groups: dict[tuple, dict] = {}
    for f in health:
        failing = f["state"] == "failing"
        n = f["consecutive_failures"]
        state = (
            ("failing (last check)" if n == 1 else f"failing ({n} checks in a row)") if failing else "quiet for 7+ days"
        )
        last = f"{f['last_success_at']:%Y-%m-%d %H:%M}" if f["last_success_at"] else "never"
        error = error_kind(f["feed_url"], f["last_error"] or "")[:160] if failing else ""
        group = groups.setdefault(
            (state, last, error), {"names": [], "state": state, "last_success": last, "error": error}
        )
        group["names"].append(f["name"] or f["feed_url"])
    return [{**g, "name": ", ".join(g["names"])} for g in groups.values()]


def _health_text(health: list[dict]) -> str:
    failing = sum(f["state"] == "failing" for f in health)
    quiet = len(health) - failing
    parts = [f"{failing} {'feed is' if failing == 1 else 'feeds are'} failing"] if failing else []
    if quiet:
        parts.append(f"{quiet} {'has' if quiet == 1 else 'have'} published nothing new for 7 days")
    return "; ".join(parts) + ". Failing feeds are retried with backoff (at most daily), never dropped."


def more_command(topic: str | None, since: datetime | None, until: datetime) -> str:
    """A `silkwatch query` that lists every article of a section, for the ones a capped digest leaves out."""
    where = ["t.topic = '" + topic + "'"] if topic else ["t.article_id IS NULL"]
    where += [f"a.first_seen_at >= '{since:%Y-%m-%d %H:%M}'"] if since else []
    where.append(f"a.first_seen_at <= '{until:%Y-%m-%d %H:%M}'")
    return (
        'silkwatch query "select a.title, a.source_name, a.first_seen_at, a.url from articles a '
        f'left join article_topics t using (article_id) where {" and ".join(where)} order by a.first_seen_at desc"'
    )


def _change(now_n: int, before: int | None) -> str:
    if before is None:
        return ""
    delta = now_n - before
    return "no change" if delta == 0 else f"{delta:+d}"


def build_context(
    rows: list[dict],
    period: str,
    now: datetime,
    warehouse: Path,
    ruleset: Ruleset,
    health: list[dict] | None = None,
    previous_counts: dict | None = None,
    stories: list[dict] | None = None,
    max_per_topic: int = MAX_PER_TOPIC,
    risen: list[dict] | None = None,
) -> dict:
    """Everything both templates show, as raw values (the templates escape).

    ``stories`` (``warehouse.stories.digest_stories``) puts the biggest stories first, their articles
    grouped under them; the topic sections then name each story once instead of repeating its
    articles. Each section shows its ``max_per_topic`` most important other articles (0: all) and
    says how many more there are and how to list them; the totals count every article. ``risen``
    (``flows.trends.rising``): the topics and entities well above their baseline."""
    labels, order = ruleset.labels, ruleset.names
    since, until = period_bounds(period, now)
    lead = _lead_stories(stories or [], rows, order)
    story_of = {item_id: s for s in lead for item_id in s["article_ids"]}
    sections = []
    shown_in: dict[str, str] = {}  # article id -> the section that shows it in full
    for topic in order:
        members = sorted(
            (r for r in rows if any(t["topic"] == topic for t in r["topics"])), key=lambda r: _importance(r, topic)
        )
        if not members:
            continue
        # Each article is shown in full once, under its first topic; later topics list it briefly,
        # with the evidence for that topic, so every topic still lists all of the articles it shows.
        in_stories = _story_refs(members, story_of)
        size = len(members)
        members = [r for r in members if r["article_id"] not in story_of]
        shown = members[:max_per_topic] if max_per_topic else members
        full = [_item(r, topic, order) for r in shown if r["article_id"] not in shown_in]
        brief = [
            {**_item(r, topic, order), "shown_in": shown_in[r["article_id"]]}
            for r in shown
            if r["article_id"] in shown_in
        ]
        for r in shown:
            shown_in.setdefault(r["article_id"], topic)
        more = {"more": len(members) - len(shown), "more_command": more_command(topic, since, until)}
        sections.append({"topic": topic, "label": labels[topic], "items": full, "brief": brief, "size": size,
                         "stories": in_stories, **more})  # fmt: skip
    untagged = [r for r in rows if not r["topics"]]
    if untagged:
        rest = [r for r in untagged if r["article_id"] not in story_of]
        items = [_item(r, None, order) for r in (rest[:max_per_topic] if max_per_topic else rest)]
        more = {"more": len(rest) - len(items), "more_command": more_command(None, since, until)}
        sections.append({"topic": None, "label": NO_TOPIC, "items": items, "brief": [], "size": len(untagged),
                         "stories": _story_refs(untagged, story_of), **more})  # fmt: skip
    counts = []
    for topic in (*order, None):
        n = len(untagged) if topic is None else sum(any(x["topic"] == topic for x in r["topics"]) for r in rows)
        before = None if previous_counts is None else previous_counts.get(topic, 0)
        counts.append({"label": labels.get(topic, NO_TOPIC), "count": n, "change": _change(n, before)})
    length = PERIOD_LENGTH[period]
    period_text = {"day": "New in the last 24 hours", "week": "New in the last 7 days"}.get(period, "Everything")
    return {
        "title": f"Silkwatch {PERIOD_NAME[period]} digest, {now.day} {now:%B %Y}",
        "period": period,
        "period_text": period_text + (f" (since {since:%Y-%m-%d %H:%M} UTC)" if since else ""),
        "previous_text": f"the previous {('24 hours' if period == 'day' else '7 days')}" if length else "",
        "total": len(rows),
        "outlets": sorted({o for r in rows for o in (r["outlets"] or [])}),
        "topic_counts": counts,
        "sections": sections,
        "stories": lead,
        "built_at": f"{now:%Y-%m-%d %H:%M}",
        "warehouse": warehouse.name,
        "rules_version": ruleset.version,
        "feed_health": _health_rows(health or []),
        "feed_health_text": _health_text(health or []),
        "colours": ruleset.colours,
        "rising": [_rising_item(r, period) for r in risen or []],
        "rising_text": _rising_text(period) if risen else "",
    }


def _rising_item(subject: dict, period: str) -> dict:
    unit = "day" if period == "day" else "week"
    return {"label": subject["label"], "kind": subject["kind"], "count": subject["count"],
            "baseline": f"{subject['baseline']:.1f} a {unit}", "p": f"{subject['p_value']:.1g}"}  # fmt: skip


def _rising_text(period: str) -> str:
    unit = "day" if period == "day" else "week"
    span = "24 hours" if period == "day" else "7 days"
    return f"articles in the last {span}; {TrendTest.for_period(unit).describe(unit)}"


def _env(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: resources.files("flows").joinpath(f"templates/{name}").read_text("utf-8")
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
