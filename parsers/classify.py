"""Topic classification from weighted phrase rules (``rules/topics.toml``), with its evidence.

Each topic's phrases are compiled into one alternation, so an article is scanned once per topic
and field, not once per phrase.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from parsers.model import TOPICS, Match, TopicLabel
from parsers.text import unify_punctuation

_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class TopicRules:
    topic: str
    label: str  # heading for readers, e.g. "Belt and Road (BRI)"
    patterns: tuple[re.Pattern[str], ...]  # case-insensitive words, case-sensitive words
    cjk: re.Pattern[str] | None  # Chinese phrases: tried only on text that has Chinese in it
    weights: tuple[float, ...]  # by phrase index (group name p<i>)
    exclude: re.Pattern[str] | None


@dataclass(frozen=True)
class Ruleset:
    version: str
    threshold: float
    title_weight: float
    max_repeats: int
    topics: tuple[TopicRules, ...]


class RulesError(ValueError):
    """The topic rules file is malformed; the message names the file and the entry."""


def _alternation(groups: list[str], flags: int, words: bool) -> re.Pattern[str] | None:
    """One pattern for many phrases. For words, the leading boundary is checked once, before any
    alternative is tried, so most positions (inside words) fail at once: several times faster."""
    if not groups:
        return None
    body = "|".join(groups)
    return re.compile(rf"(?<!\w)(?:{body})" if words else body, flags)


def _exclusions(phrases: list[str]) -> re.Pattern[str] | None:
    """One pattern for a topic's exclusions: words on word boundaries, Chinese anywhere."""
    words = "|".join(f"(?:{e})(?!\\w)" for e in phrases if not _CJK.search(e))
    chinese = "|".join(f"(?:{e})" for e in phrases if _CJK.search(e))
    pieces = ([f"(?<!\\w)(?:{words})"] if words else []) + ([chinese] if chinese else [])
    return re.compile("|".join(pieces), re.IGNORECASE) if pieces else None


def compile_ruleset(data: dict, where: str = "topics rules") -> Ruleset:
    topics = []
    for topic in TOPICS:
        spec = data.get("topics", {}).get(topic)
        if spec is None:
            raise RulesError(f"{where}: no rules for topic {topic!r}")
        phrases = sorted(spec["phrases"], key=lambda ph: -len(ph["p"]))  # prefer longer phrases
        ci, cs, cjk = [], [], []
        for i, ph in enumerate(phrases):
            if _CJK.search(ph["p"]):
                cjk.append(f"(?P<p{i}>{ph['p']})")
            else:
                (cs if ph.get("cs") else ci).append(rf"(?P<p{i}>(?:{ph['p']})(?!\w))")
        try:
            patterns = tuple(
                p for p in (_alternation(ci, re.IGNORECASE, words=True), _alternation(cs, 0, words=True)) if p
            )
            cjk_pattern = _alternation(cjk, 0, words=False)
            exclude = _exclusions(spec.get("exclude") or [])
        except re.error as exc:
            raise RulesError(f"{where}: topic {topic}: {exc}") from exc
        weights = tuple(float(ph["w"]) for ph in phrases)
        topics.append(TopicRules(topic, spec.get("label", topic), patterns, cjk_pattern, weights, exclude))
    return Ruleset(
        version=str(data["rules_version"]),
        threshold=float(data["threshold"]),
        title_weight=float(data.get("title_weight", 1.0)),
        max_repeats=int(data.get("max_repeats", 3)),
        topics=tuple(topics),
    )


@cache
def default_ruleset() -> Ruleset:
    raw = resources.files("parsers").joinpath("rules/topics.toml").read_text("utf-8")
    return compile_ruleset(tomllib.loads(raw), "parsers/rules/topics.toml")


def _matches(rules: TopicRules, original: str, text: str, field: str) -> list[tuple[int, Match]]:
    """Matches in ``text`` (``original`` with punctuation unified: the same offsets)."""
    patterns = rules.patterns + ((rules.cjk,) if rules.cjk is not None and _CJK.search(text) else ())
    hits = [m for pattern in patterns for m in pattern.finditer(text)]
    if not hits:
        return []
    # exclusions are looked for only where there is something to exclude: most texts match nothing
    excluded = [m.span() for m in rules.exclude.finditer(text)] if rules.exclude else []
    found = []
    for m in hits:
        start, end = m.span()
        if any(s < end and start < e for s, e in excluded):
            continue
        idx = int(m.lastgroup[1:])
        found.append((idx, Match(original[start:end], field, start, rules.weights[idx])))
    found.sort(key=lambda pair: pair[1].start)
    return found


def classify_topics(title: str, text: str, ruleset: Ruleset | None = None) -> list[TopicLabel]:
    """The topics that apply to an article, each with its score and the matches behind it."""
    rs = ruleset or default_ruleset()
    # "People’s" matches "People's": punctuation unified once, one character for one
    fields = [(name, value, unify_punctuation(value)) for name, value in (("title", title or ""), ("text", text or ""))]
    labels = []
    for rules in rs.topics:
        counts: dict[int, int] = {}
        score = 0.0
        kept: list[Match] = []
        for field, original, value in fields:
            for idx, match in _matches(rules, original, value, field):
                counts[idx] = counts.get(idx, 0) + 1
                if counts[idx] > rs.max_repeats:
                    continue
                score += match.weight * (rs.title_weight if field == "title" else 1.0)
                kept.append(match)
        if score >= rs.threshold:
            labels.append(TopicLabel(rules.topic, round(score, 2), tuple(kept), rs.version))
    return labels
