"""The text of alerts: a watch's new matches, a breaking story. Pure.

Plain text (no markup), so it reads the same in a chat, a push notification, a JSON webhook and an
email. Each article is named by its title, outlet, URL and English line, with why it is there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from silkwatch.parsers.english_line import english_line

MAX_ARTICLES = 20  # listed in one message; the rest are counted (every one is recorded as a hit)


@dataclass(frozen=True)
class AlertText:
    title: str
    body: str


def _where(article: dict) -> str:
    url = article["url"]
    return f"seed file {url.removeprefix('seed:')}" if url.startswith("seed:") else url


def _when(article: dict) -> str:
    value: datetime | None = article.get("published_at")
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else "date unknown"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def article_lines(number: int, article: dict) -> list[str]:
    """An article as the lines of a numbered item: title, outlet and date, English line, URL, why."""
    outlets = [o for o in article.get("outlets") or [] if o]
    outlet = article.get("source_name") or (outlets[0] if outlets else "outlet unknown")
    also = [o for o in outlets if o != outlet]
    lines = [f"{number}. {article['title']}",
             f"   {outlet}{' (also ' + ', '.join(also) + ')' if also else ''} · {_when(article)}"
             f" · {article.get('language') or '?'}"]  # fmt: skip
    topics = [t["topic"] for t in article.get("topics") or []]
    english = english_line(
        article.get("language"), article["title"], article.get("text") or "", topics, show_title=False
    )
    if english:  # a non-English article: its language, topics and names in English, for triage
        lines.append(f"   English: {english}")
    lines.append(f"   {_where(article)}")
    if article.get("why"):
        lines.append(f"   Why: {article['why']}")
    return lines


def _listing(articles: list[dict]) -> list[str]:
    lines: list[str] = []
    for number, article in enumerate(articles[:MAX_ARTICLES], 1):
        lines += [*article_lines(number, article), ""]
    if len(articles) > MAX_ARTICLES:
        lines += [f"…and {len(articles) - MAX_ARTICLES} more: `silkwatch watch list` and the watch_hits table.", ""]
    return lines


def describe_watch(query: str, topics=(), entities=(), languages=(), sources=()) -> str:
    parts = [f"query {query}"]
    for name, values in (("topics", topics), ("entities", entities), ("languages", languages),
                         ("outlets", sources)):  # fmt: skip
        if values:
            parts.append(f"{name} {', '.join(values)}")
    return "; ".join(parts)


def watch_alert(name: str, description: str, articles: list[dict], alert_id: str) -> AlertText:
    """A watch's new matches (each with ``why``), in one message."""
    count = _plural(len(articles), "new article")
    body = [f"Watch “{name}” ({description}) matched {count}.", "", *_listing(articles),
            f"silkwatch alert {alert_id}"]  # fmt: skip
    return AlertText(f"silkwatch: {count} for “{name}”", "\n".join(body))


def breaking_alert(story: dict, articles: list[dict], hours: float, alert_id: str) -> AlertText:
    """A story that reached its outlet or language threshold: its counts, then its recent articles."""
    counts = (f"{_plural(story['articles'], 'article')} from {_plural(story['outlets'], 'outlet')} "
              f"in {_plural(story['languages'], 'language')} ({', '.join(story['language_names'])})")  # fmt: skip
    body = [f"Breaking: {story['label']}", "",
            f"{counts} within {hours:g} hours. Outlets: {', '.join(story['outlet_names'])}.",
            f"Story {story['story_id']}: `silkwatch stories` lists it with its dates and topics.", "",
            *_listing(articles), f"silkwatch alert {alert_id}"]  # fmt: skip
    return AlertText(f"silkwatch breaking: {story['label']}", "\n".join(body))


def repeat_note(body: str, attempted_at: datetime) -> str:
    """A message sent again after a run was stopped while sending it: it may have arrived before."""
    return (f"(Sent again: a run was stopped while sending this at {attempted_at:%Y-%m-%d %H:%M} UTC; "
            f"it may have arrived then too.)\n\n{body}")  # fmt: skip
