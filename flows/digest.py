"""The digest: what is new in a period, grouped by topic, each item explained by its evidence."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

import jinja2

from parsers.classify import Ruleset, default_ruleset
from parsers.model import TOPICS
from warehouse.clock import utc_now
from warehouse.db import open_warehouse
from warehouse.feeds import feed_health
from warehouse.load import save_digest
from warehouse.queries import digest_articles

PERIOD_LENGTH = {"day": timedelta(days=1), "week": timedelta(days=7), "all": None}
PERIOD_TEXT = {
    "day": "New in the last 24 hours",
    "week": "New in the last 7 days",
    "all": "Everything in the warehouse",
}
NO_TOPIC = "No topic"
MAX_EVIDENCE = 6
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def md_escape(text: str) -> str:
    """Article text as literal markdown: one line, syntax characters escaped."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def period_bounds(period: str, now: datetime) -> tuple[datetime | None, datetime]:
    length = PERIOD_LENGTH[period]
    return (now - length if length else None), now


def digest_filename(period: str, now: datetime) -> str:
    day = now.strftime("%Y-%m-%d")
    return f"digest-{day}.md" if period == "day" else f"digest-{period}-{day}.md"


def format_date(value: datetime | None) -> str:
    if value is None:
        return "date unknown"
    text = f"{value.day} {value:%B %Y}"
    return f"{text}, {value:%H:%M}" if (value.hour, value.minute) != (0, 0) else text


def _item(row: dict, topic: str | None) -> dict:
    title = md_escape(row["title"])
    url = row["url"]
    if url.startswith(("http://", "https://")):
        title = f"[{title}](<{url.replace('>', '%3E').replace(' ', '%20')}>)"
    outlets = row["outlets"] or ([row["source_name"]] if row["source_name"] else [])
    meta = [md_escape(", ".join(outlets)) if outlets else "outlet unknown", format_date(row["published_at"])]
    if url.startswith("seed:"):
        meta.append(f"seed file {md_escape(url.removeprefix('seed:'))}")
    if (row["copies"] or 1) > 1:
        meta.append(f"{row['copies']} copies")
    topics = {t["topic"]: t for t in row["topics"]}
    if topic is None:
        why = "No topic rule matched strongly enough."
    else:
        t = topics[topic]
        phrases = ", ".join(f"“{md_escape(p)}”" for p in t["evidence"][:MAX_EVIDENCE])
        why = f"**Why {topic}** (score {t['score']:g}): {phrases}"
        others = [name for name in TOPICS if name in topics and name != topic]
        if others:
            why += f" · also under {', '.join(others)}"
    return {"title": title, "meta": " · ".join(meta), "summary": md_escape(row["summary"] or ""), "why": why}


def _health_rows(health: list[dict]) -> list[dict]:
    rows = []
    for f in health:
        failing = f["state"] == "failing"
        n = f["consecutive_failures"]
        rows.append(
            {
                "name": md_escape(f["name"] or f["feed_url"]),
                "state": ("failing (last check)" if n == 1 else f"failing ({n} checks in a row)")
                if failing
                else "quiet for 7+ days",
                "last_success": f"{f['last_success_at']:%Y-%m-%d %H:%M}" if f["last_success_at"] else "never",
                "error": md_escape((f["last_error"] or "")[:160]) if failing else "",
            }
        )
    return rows


def build_context(
    rows: list[dict], period: str, now: datetime, warehouse: Path, ruleset: Ruleset, health: list[dict] | None = None
) -> dict:
    labels = {rules.topic: rules.label for rules in ruleset.topics}
    sections = []
    for topic in TOPICS:
        members = [r for r in rows if any(t["topic"] == topic for t in r["topics"])]
        members.sort(key=lambda r: -next(t["score"] for t in r["topics"] if t["topic"] == topic))
        members.sort(key=lambda r: -(r["copies"] or 1))  # stable: most widely carried, then strongest
        if members:
            sections.append({"topic": topic, "label": labels[topic], "items": [_item(r, topic) for r in members]})
    untagged = [r for r in rows if not r["topics"]]
    if untagged:
        sections.append({"topic": None, "label": NO_TOPIC, "items": [_item(r, None) for r in untagged]})
    outlets = sorted({o for r in rows for o in (r["outlets"] or [])})
    counts = [
        {"label": labels[t], "count": sum(any(x["topic"] == t for x in r["topics"]) for r in rows)} for t in TOPICS
    ]
    counts.append({"label": NO_TOPIC, "count": len(untagged)})
    since, _ = period_bounds(period, now)
    period_text = PERIOD_TEXT[period] + (f" (since {since:%Y-%m-%d %H:%M} UTC)" if since else "")
    return {
        "heading_date": f"{now.day} {now:%B %Y}",
        "period_text": period_text,
        "total": len(rows),
        "outlets": md_escape(", ".join(outlets)) if outlets else "",
        "topic_counts": counts,
        "sections": sections,
        "built_at": f"{now:%Y-%m-%d %H:%M}",
        "warehouse": md_escape(warehouse.name),
        "rules_version": ruleset.version,
        "feed_health": _health_rows(health or []),
        "feed_health_text": _health_text(health or []),
    }


def _health_text(health: list[dict]) -> str:
    failing = sum(f["state"] == "failing" for f in health)
    quiet = len(health) - failing
    parts = [f"{failing} {'feed is' if failing == 1 else 'feeds are'} failing"] if failing else []
    if quiet:
        parts.append(f"{quiet} {'has' if quiet == 1 else 'have'} published nothing new for 7 days")
    return "; ".join(parts) + ". Failing feeds are retried with backoff (at most daily), never dropped."


def render_markdown(context: dict) -> str:
    template_text = resources.files("flows").joinpath("templates/digest.md.j2").read_text("utf-8")
    # Markdown, not HTML: article text is escaped by md_escape before it reaches the template.
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, autoescape=False)  # noqa: S701
    return env.from_string(template_text).render(**context)


@dataclass
class DigestResult:
    path: Path
    article_ids: list[str]
    period: str


def write_digest(
    db_path: Path, digest_dir: Path, period: str, now: datetime | None = None, out: Path | None = None
) -> DigestResult:
    """Build the digest for ``period`` ending at ``now``, write it as markdown, record it in ``digests``."""
    now = now or utc_now()
    since, until = period_bounds(period, now)
    with open_warehouse(db_path) as con:
        rows = digest_articles(con, since, until)
        health = feed_health(con, now)
        text = render_markdown(build_context(rows, period, now, db_path, default_ruleset(), health))
        path = out or digest_dir / digest_filename(period, now)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, "utf-8")
        tmp.replace(path)  # readers never see a half-written digest
        ids = [r["article_id"] for r in rows]
        save_digest(
            con,
            {
                "digest_id": f"{period}:{path.name}",
                "kind": period,
                "period_start": since,
                "period_end": until,
                "created_at": now,
                "path": str(path),
                "article_ids": ids,
                "status": "written",
            },
        )
    return DigestResult(path, ids, period)
