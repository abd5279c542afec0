"""Topic classification from weighted phrase rules (``rules/topics.toml``), with its evidence.

The topics are the rules file's: every ``[topics.NAME]`` table is a topic, in file order (SCO, BRI,
security and trade by default). A team adds its own in a file of the same format named by the
config's ``[topics] file``: its topics follow the built-in ones (one with a built-in name replaces
it), its ``threshold``, ``title_weight`` and ``max_repeats`` override, and its ``rules_version`` is
recorded after the built-in one (``2026.11.29-2+team-1``).

A phrase marked ``cases = true`` is plain words, its Russian ones matched in every case ending by
the name rule of ``parsers.russian`` (``name_pattern``). Each topic's phrases are compiled into one
alternation, so an article is scanned once per topic and field, not once per phrase.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

from silkwatch.parsers.model import Match, TopicLabel
from silkwatch.parsers.russian import name_pattern
from silkwatch.parsers.text import unify_punctuation

_CJK = re.compile(r"[\u3400-\u9fff]")
# A topic's name is stored, shown, typed on the command line and written into SQL the digest prints:
# letters, digits, '-' and '_' only.
_TOPIC_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,39}")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
# Colours for topics whose rules give none (the digest's chart and section rules), in turn.
PALETTE = ("#1f6f8b", "#c8553d", "#3d405b", "#588157", "#b5838d", "#e09f3e", "#6d597a", "#2a9d8f", "#9c6644")


@dataclass(frozen=True)
class TopicRules:
    topic: str
    label: str  # heading for readers, e.g. "Belt and Road (BRI)"
    colour: str  # "#rrggbb": the topic in the digest's charts and section rules
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

    @property
    def names(self) -> tuple[str, ...]:
        """The topics, in the rules' order."""
        return tuple(rules.topic for rules in self.topics)

    @property
    def labels(self) -> dict[str, str]:
        return {rules.topic: rules.label for rules in self.topics}

    @property
    def colours(self) -> dict[str, str]:
        return {rules.topic: rules.colour for rules in self.topics}


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
    specs = data.get("topics")
    if not isinstance(specs, dict) or not specs:
        raise RulesError(f"{where}: no topics (each topic is a [topics.NAME] table with phrases)")
    topics = []
    for number, (topic, spec) in enumerate(specs.items()):
        if not _TOPIC_NAME.fullmatch(topic):
            raise RulesError(f"{where}: topic {topic!r}: a name is a letter, then letters, digits, '-' or '_'")
        if not isinstance(spec, dict) or not isinstance(spec.get("phrases"), list) or not spec["phrases"]:
            raise RulesError(f'{where}: topic {topic}: needs phrases = [{{ p = "...", w = 2 }}, ...]')
        colour = spec.get("colour", PALETTE[number % len(PALETTE)])
        if not isinstance(colour, str) or not _COLOUR.fullmatch(colour):
            raise RulesError(f'{where}: topic {topic}: colour must be "#rrggbb", got {colour!r}')
        phrases = sorted(spec["phrases"], key=lambda ph: -len(ph["p"]))  # prefer longer phrases
        ci, cs, cjk = [], [], []
        for i, ph in enumerate(phrases):
            if _CJK.search(ph["p"]):
                cjk.append(f"(?P<p{i}>{ph['p']})")
            else:
                body = name_pattern(ph["p"]) if ph.get("cases") else ph["p"]  # Russian case endings
                (cs if ph.get("cs") else ci).append(rf"(?P<p{i}>(?:{body})(?!\w))")
        try:
            patterns = tuple(
                p for p in (_alternation(ci, re.IGNORECASE, words=True), _alternation(cs, 0, words=True)) if p
            )
            cjk_pattern = _alternation(cjk, 0, words=False)
            exclude = _exclusions(spec.get("exclude") or [])
        except re.error as exc:
            raise RulesError(f"{where}: topic {topic}: {exc}") from exc
        weights = tuple(float(ph["w"]) for ph in phrases)
        topics.append(TopicRules(topic, spec.get("label", topic), colour, patterns, cjk_pattern, weights, exclude))
    return Ruleset(
        version=str(data["rules_version"]),
        threshold=float(data["threshold"]),
        title_weight=float(data.get("title_weight", 1.0)),
        max_repeats=int(data.get("max_repeats", 3)),
        topics=tuple(topics),
    )


def builtin_rules() -> dict:
    """The built-in rules file (parsers/rules/topics.toml), parsed."""
    return tomllib.loads(resources.files("silkwatch.parsers").joinpath("rules/topics.toml").read_text("utf-8"))


@cache
def default_ruleset() -> Ruleset:
    return compile_ruleset(builtin_rules(), "parsers/rules/topics.toml")


def topic_ruleset(team_file: str | Path | None = None) -> Ruleset:
    """The built-in topics, with a team's own file (``[topics] file``) layered on top when given.
    Read again when the file changes (a long-lived ``silkwatch serve`` follows edits)."""
    if not team_file:
        return default_ruleset()
    path = Path(team_file)
    try:
        stat = path.stat()
    except OSError as exc:
        raise RulesError(f"{path}: cannot read the topics file ([topics] file in the config): {exc.strerror}") from None
    return _layered_ruleset(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _layered_ruleset(path: str, _mtime_ns: int, _size: int) -> Ruleset:
    try:
        team = tomllib.loads(Path(path).read_text("utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RulesError(f"{path}: not a readable topics file: {exc}") from None
    return compile_ruleset(layer_rules(builtin_rules(), team, path), path)


def layer_rules(builtin: dict, team: dict, where: str) -> dict:
    """A team's rules over the built-in ones: its topics added after them (or replacing one of the
    same name), its scoring settings overriding, both versions recorded."""
    version = team.get("rules_version")
    if not isinstance(version, str) or not version.strip():
        raise RulesError(f'{where}: needs rules_version = "..." (recorded with every label it makes)')
    topics = team.get("topics", {})
    if not isinstance(topics, dict):
        raise RulesError(f"{where}: topics must be [topics.NAME] tables")
    settings = {k: team[k] for k in ("threshold", "title_weight", "max_repeats") if k in team}
    return {**builtin, **settings, "topics": {**builtin["topics"], **topics},
            "rules_version": f"{builtin['rules_version']}+{version.strip()}"}  # fmt: skip


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
