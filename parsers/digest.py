"""The digest's context: everything its templates show, as a pure function of the rows read for it.

The rows come from the warehouse (``warehouse.queries``, ``warehouse.stories``, ``warehouse.feeds``
and the rising subjects of ``flows.trends``); ``flows.digest`` reads them, builds the context here,
renders it (markdown and HTML) and writes the files. Values are raw: the templates escape.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

from silkwatch.parsers.classify import Ruleset
from silkwatch.parsers.english_line import english_line
from silkwatch.parsers.trends import TrendTest
from silkwatch.parsers.urls import error_kind

PERIOD_LENGTH = {"day": timedelta(days=1), "week": timedelta(days=7), "all": None}
PERIOD_NAME = {"day": "daily", "week": "weekly", "all": "full"}
NO_TOPIC = "No topic"
MAX_EVIDENCE = 6
MAX_LEAD_STORIES = 8  # the digest opens with at most this many stories of two or more articles
MAX_PER_TOPIC = 20  # [digest] max_per_topic: items shown per section (0: all); totals always count all


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
