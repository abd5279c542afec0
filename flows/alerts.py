"""Watches and breaking stories: after each ingest, check the new articles, record what matched
and the alerts to send, then send every alert not sent yet.

Exactly once: the hits, the alerts (with their text) and the mark that the articles were checked
are one transaction, so a run killed before it leaves the articles for the next run's check, and a
run killed after it leaves the alerts for the next run's delivery. Each alert is marked ``sending``
(committed) before it leaves and ``sent`` after; a failed one is recorded and retried on the next
run. The one window left is a kill between the receiver's answer and the commit of ``sent`` (a few
milliseconds): that alert is sent again by the next run, which says so in the message.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb

from silkwatch.flows.config import EMAIL_TARGET, Config, ConfigError, WatchConfig
from silkwatch.flows.notify import NotifyError, check_notify, send, shown
from silkwatch.parsers.alerts import breaking_alert, describe_watch, repeat_note, watch_alert
from silkwatch.parsers.entities import entity_names
from silkwatch.parsers.watches import WatchQuery, parse_watch_query, words_as_written
from silkwatch.warehouse.alerts import (
    alerts_to_send,
    articles_by_id,
    breaking_candidates,
    mark_sending,
    match_articles,
    record_delivery,
    save_findings,
    unchecked_articles,
)
from silkwatch.warehouse.clock import utc_now
from silkwatch.warehouse.db import open_warehouse
from silkwatch.warehouse.faults import fault_point


@dataclass
class Delivery:
    alert_id: str
    kind: str  # watch, breaking
    subject: str  # the watch's name, or the story id
    target: str  # as it may be shown (secrets masked)
    sent: bool
    reason: str  # sent / failed: ...; retried on the next run


@dataclass
class AlertSummary:
    checked: int = 0  # articles checked against the watches
    hits: dict[str, int] = field(default_factory=dict)  # watch -> new hits
    breaking: list[str] = field(default_factory=list)  # stories that broke in this run
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        return [f"alert {d.alert_id} to {d.target}: {d.reason}" for d in self.deliveries if not d.sent]


def watch_matches(con: duckdb.DuckDBPyConnection, watch: WatchConfig, among: list[str] | None = None) -> list[dict]:
    """The articles a watch matches (of ``among``, else of the whole archive), each with ``why``."""
    query = parse_watch_query(watch.query)
    found = match_articles(
        con, entities=query.entities, terms=query.terms, phrases=query.phrases, topics=watch.topics,
        any_entities=watch.entities, languages=watch.languages, sources=watch.sources, among=among,
    )  # fmt: skip
    return [{**article, "why": why_matched(article, watch, query)} for article in found]


def _quoted(forms: list[str]) -> str:
    return ", ".join(f"“{f}”" for f in forms)


def why_matched(article: dict, watch: WatchConfig, query: WatchQuery) -> str:
    """What in the article matched the watch, as it is written there."""
    names = entity_names()
    mentions: dict[str, list[str]] = {}
    for entity_id, mention in article.get("mentions") or []:
        forms = mentions.setdefault(entity_id, [])
        if mention not in forms:
            forms.append(mention)
    parts = [f"{names.get(e, e)} as {_quoted(mentions.get(e, [])[:3])}" for e in query.entities]
    words = words_as_written(f"{article['title']}\n{article['text']}", set(query.terms), limit=6)
    if words:
        parts.append(f"words {_quoted(words)}")
    parts += [f"phrase “{p}”" for p in query.phrases]
    topics = {t["topic"]: t for t in article.get("topics") or []}
    for topic in watch.topics:
        if topic in topics:
            parts.append(f"topic {topic} ({', '.join(topics[topic]['evidence'][:3])})")
    parts += [f"mentions {names.get(e, e)}" for e in watch.entities if e in mentions]
    if watch.languages:
        parts.append(f"in {article['language']}")
    if watch.sources:
        parts.append(f"from {', '.join(article.get('outlets') or [article.get('source_name') or '?'])}")
    return "; ".join(parts)


def alert_id(kind: str, subject: str, run_id: str, target: str) -> str:
    return f"{kind}:{subject}:{run_id}:{hashlib.sha256(target.encode()).hexdigest()[:8]}"


def _alert(kind: str, subject: str, target: str, run_id: str, ids: list[str], now: datetime, text) -> dict:
    return {"alert_id": alert_id(kind, subject, run_id, target), "kind": kind, "subject": subject, "target": target,
            "article_ids": ids, "title": text.title, "body": text.body, "created_at": now, "run_id": run_id,
            "status": "pending", "attempts": 0}  # fmt: skip


def find_and_record(config: Config, run_id: str, now: datetime) -> tuple[AlertSummary, list[dict]]:
    """Check the articles not checked yet against every watch, look for stories that broke, and
    record the hits, the stories and their alerts (one transaction). Return what was found, and
    every alert not sent yet whose target is still configured (read in the same opening of the
    warehouse: a run with nothing to check or send opens it once)."""
    summary = AlertSummary()
    hits, broken, alerts = [], [], []
    with open_warehouse(config.warehouse_path, wait_seconds=10) as con:
        unchecked = unchecked_articles(con)
        summary.checked = len(unchecked)
        for watch in config.watches if unchecked else ():
            found = watch_matches(con, watch, unchecked)
            if not found:
                continue
            summary.hits[watch.name] = len(found)
            hits += [{"watch": watch.name, "article_id": a["article_id"], "matched_at": now, "run_id": run_id,
                      "why": a["why"]} for a in found]  # fmt: skip
            ids = [a["article_id"] for a in found]
            description = describe_watch(watch.query, watch.topics, watch.entities, watch.languages, watch.sources)
            for target in watch.notify:
                text = watch_alert(watch.name, description, found, alert_id("watch", watch.name, run_id, target))
                alerts.append(_alert("watch", watch.name, target, run_id, ids, now, text))
        rules = config.breaking
        for story in breaking_candidates(con, now - timedelta(hours=rules.hours), rules.outlets, rules.languages):
            summary.breaking.append(story["story_id"])
            broken.append({**story, "reached_at": now, "run_id": run_id})
            articles = articles_by_id(con, story["article_ids"])
            for target in rules.notify:
                text = breaking_alert(
                    story, articles, rules.hours, alert_id("breaking", story["story_id"], run_id, target)
                )
                alerts.append(_alert("breaking", story["story_id"], target, run_id, story["article_ids"], now, text))
        save_findings(con, unchecked, hits, broken, alerts, now)
        pending = [a for a in alerts_to_send(con) if _configured(config, a)]
    fault_point("alerts-recorded")
    return summary, pending


def _configured(config: Config, alert: dict) -> bool:
    """Whether the alert's target is still in its watch's (or [breaking]'s) notify list."""
    if alert["kind"] == "breaking":
        return alert["target"] in config.breaking.notify
    return any(w.name == alert["subject"] and alert["target"] in w.notify for w in config.watches)


def deliver(config: Config, pending: list[dict]) -> list[Delivery]:
    """Send the alerts ``pending`` (``find_and_record``'s), one at a time, recording each outcome as
    it comes (alerts of a watch or target removed from the config wait, unsent)."""
    done = []
    for alert in pending:
        body = alert["body"]
        if alert["status"] == "sending":  # a run was stopped while sending it: it may have arrived
            body = repeat_note(body, alert["last_attempt_at"])
        with open_warehouse(config.warehouse_path, wait_seconds=10) as con:
            mark_sending(con, alert["alert_id"], utc_now())
        fault_point("alert-sending")
        try:
            send(alert["target"], alert["title"], body, config.email)
            error = None
        except (NotifyError, ConfigError) as exc:
            error = str(exc)
        except Exception as exc:  # a notification service's bug fails this alert, never the run
            error = f"{type(exc).__name__}: {exc}"
        fault_point("alert-sent")
        with open_warehouse(config.warehouse_path, wait_seconds=10) as con:
            record_delivery(con, alert["alert_id"], sent_at=None if error else utc_now(), error=error)
        fault_point("alert-recorded")
        reason = "sent" if error is None else f"failed: {error}; retried on the next run"
        target = alert["target"] if alert["target"] == EMAIL_TARGET else shown(alert["target"])
        done.append(Delivery(alert["alert_id"], alert["kind"], alert["subject"], target, error is None, reason))
    return done


def check_and_alert(config: Config, run_id: str, now: datetime | None = None) -> AlertSummary:
    """The ingest's alert step: notify URLs checked first (a bad one is a ConfigError naming its
    watch, and nothing is sent), then the new articles checked and every pending alert sent."""
    check_notify(config)
    summary, pending = find_and_record(config, run_id, now or utc_now())
    summary.deliveries = deliver(config, pending)
    return summary
