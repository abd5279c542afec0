"""Topic classification from weighted phrase rules (``rules/topics.toml``), with its evidence.

The topics are the rules file's: every ``[topics.NAME]`` table is a topic, in file order (SCO, BRI,
security and trade by default). A team adds its own in a file of the same format named by the
config's ``[topics] file``: its topics follow the built-in ones (one with a built-in name replaces
it), its ``threshold``, ``title_weight`` and ``max_repeats`` override, and its ``rules_version`` is
recorded after the built-in one (``2026.11.29-2+team-1``).

A phrase marked ``cases = true`` is plain words, its Russian ones matched in every case ending by
the name rule of ``parsers.russian`` (``name_pattern``). Each topic's phrases are compiled into one
alternation, so an article is scanned once per topic and field, not once per phrase; and that
alternation holds only the phrases whose required words the article has (``PhraseSet``): most
articles name few of a topic's phrases, and none of most topics'.
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
from silkwatch.parsers.text import Translation, unify_punctuation

_CJK = re.compile(r"[\u3400-\u9fff]")
# A topic's name is stored, shown, typed on the command line and written into SQL the digest prints:
# letters, digits, '-' and '_' only.
_TOPIC_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,39}")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
# Colours for topics whose rules give none (the digest's chart and section rules), in turn.
PALETTE = ("#1f6f8b", "#c8553d", "#3d405b", "#588157", "#b5838d", "#e09f3e", "#6d597a", "#2a9d8f", "#9c6644")


# re.IGNORECASE matches a few characters to ones of another lower case (sre's table of equivalences:
# i and dotless ı, s and long ſ, Greek symbol forms, Cyrillic's old forms ᲀ for в), and İ to i
# (its lower() is i and a combining dot). Each is folded here to the one form, so that a literal is
# found in the folded text wherever the pattern can match (tests/test_classify.py checks every
# character below U+3000; a literal is cut at a cased character above it).
_IGNORECASE_FOLD = Translation(
    str.maketrans({
        "ı": "i", "\u0307": None, "ſ": "s", "µ": "μ", "\u0345": "ι", "\u1fbe": "ι", "\u1fd3": "\u0390",
        "\u1fe3": "\u03b0", "ϐ": "β", "ϵ": "ε", "ϑ": "θ", "ϰ": "κ", "ϖ": "π", "ϱ": "ρ", "ς": "σ", "ϕ": "φ",
        "ᲀ": "в", "ᲁ": "д", "ᲂ": "о", "ᲃ": "с", "ᲄ": "т", "ᲅ": "т", "ᲆ": "ъ", "ᲇ": "ѣ", "ᲈ": "ꙋ", "ẛ": "ṡ",
    })
)  # fmt: skip
UNFOLDED_FROM = 0x3000


def fold_case(text: str) -> str:
    """``text`` lowercased, with the characters re.IGNORECASE takes for others folded to them."""
    return _IGNORECASE_FOLD(text.lower())


def _trusted(char: str) -> bool:
    """Whether ``fold_case`` speaks for ``char`` in a literal: below U+3000, or without case."""
    return ord(char) < UNFOLDED_FROM or char.upper() == char == char.lower()


_INLINE_FLAGS = re.compile(r"\(\?[aiLmsux-]")
_QUANTIFIER = "?*{"


def _skip_class(pattern: str, i: int) -> int:
    """The index after the character class that opens at ``pattern[i]`` ('[')."""
    i += 1
    if i < len(pattern) and pattern[i] == "^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i + 1


def _skip_group(pattern: str, i: int) -> int:
    """The index after the group that opens at ``pattern[i]`` ('(')."""
    depth = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            i = _skip_class(pattern, i)
            continue
        depth += (c == "(") - (c == ")")
        i += 1
        if depth == 0:
            return i
    return i


def _branches(pattern: str) -> list[str]:
    """``pattern`` split at its top-level ``|``."""
    out, start, i = [], 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
        elif c == "[":
            i = _skip_class(pattern, i)
        elif c == "(":
            i = _skip_group(pattern, i)
        elif c == "|":
            out.append(pattern[start:i])
            start = i = i + 1
        else:
            i += 1
    return [*out, pattern[start:]]


def _literal_runs(branch: str) -> list[str]:
    """Runs of plain characters that a match of ``branch`` (no top-level ``|``) always holds: those
    outside groups and classes, without a character a quantifier makes optional. Whatever is not
    surely plain (an escape such as \\w or \\x41, a class, a group) ends a run and is passed over."""
    runs: list[str] = []
    run: list[str] = []
    i = 0
    while i < len(branch):
        c = branch[i]
        nxt = branch[i + 1] if i + 1 < len(branch) else ""
        if c == "\\" and nxt and not nxt.isalnum():
            run.append(nxt)  # an escaped character stands for itself
            i += 2
            continue
        if c not in "\\[(.^$+" + _QUANTIFIER:
            run.append(c)
            i += 1
            continue
        if c in _QUANTIFIER and run:
            run.pop()  # the character before it is optional
        runs.append("".join(run))
        run = []
        if c == "[":
            i = _skip_class(branch, i)
        elif c == "(":
            i = _skip_group(branch, i)
        elif c == "{":
            end = branch.find("}", i)
            i = i + 1 if end < 0 else end + 1
        elif c == "\\":
            i += 2
            if nxt in "xuUN01234567":  # a character by its code: \\x41, \\u0430, \\N{...}, \\101
                while i < len(branch) and (branch[i].isalnum() or branch[i] in "{} -"):
                    i += 1
        else:
            i += 1
    return [r for r in [*runs, "".join(run)] if r]


def required_literals(pattern: str, ignore_case: bool) -> tuple[str, ...] | None:
    """Strings one of which every match of ``pattern`` holds (case folded when ``ignore_case``: look
    in the ``fold_case`` of the text), or None when that cannot be told (then the pattern is always tried)."""
    if _INLINE_FLAGS.search(pattern):
        return None
    found = []
    for branch in _branches(pattern):
        pieces = _literal_runs(branch)
        if ignore_case:
            pieces = ["".join(c if _trusted(c) else "\n" for c in fold_case(run)).split("\n") for run in pieces]
            pieces = [piece for split in pieces for piece in split]
        best = max(pieces, key=len, default="")
        if not best:
            return None
        found.append(best)
    return tuple(found)


@dataclass(frozen=True)
class PhraseSet:
    """A topic's phrases of one kind (case-insensitive words, case-sensitive words, Chinese), matched
    as one alternation of those that can match the text: a phrase whose required literals
    (``required_literals``) the text lacks is left out. Leaving out an alternative that matches
    nowhere changes no match, so the matches are the whole alternation's."""

    groups: tuple[str, ...]  # (?P<p{i}>...) per phrase, longest first
    literals: tuple[tuple[str, ...] | None, ...]
    flags: int
    words: bool

    def pattern(self, text: str, lowered: str) -> re.Pattern[str] | None:
        """The alternation for ``text`` (``lowered``: its ``fold_case``), None when no phrase can match."""
        haystack = lowered if self.flags & re.IGNORECASE else text
        present = tuple(
            group
            for group, literals in zip(self.groups, self.literals, strict=True)
            if literals is None or any(literal in haystack for literal in literals)
        )
        return _alternation(present, self.flags, self.words)


def _phrase_set(groups: list[tuple[str, str]], flags: int, words: bool) -> PhraseSet | None:
    """``groups``: (group, phrase's pattern) pairs. Compiled whole once, so that a bad rule fails on load."""
    if not groups:
        return None
    _alternation(tuple(g for g, _ in groups), flags, words)
    literals = tuple(required_literals(body, bool(flags & re.IGNORECASE)) for _, body in groups)
    return PhraseSet(tuple(g for g, _ in groups), literals, flags, words)


@dataclass(frozen=True)
class TopicRules:
    topic: str
    label: str  # heading for readers, e.g. "Belt and Road (BRI)"
    colour: str  # "#rrggbb": the topic in the digest's charts and section rules
    phrases: tuple[PhraseSet, ...]  # case-insensitive words, case-sensitive words
    cjk: PhraseSet | None  # Chinese phrases: tried only on text that has Chinese in it
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


@lru_cache(maxsize=4096)
def _alternation(groups: tuple[str, ...], flags: int, words: bool) -> re.Pattern[str] | None:
    """One pattern for many phrases. For words, the leading boundary is checked once, before any
    alternative is tried, so most positions (inside words) fail at once: several times faster.
    Cached: the phrases an article can match are few, and the same few again and again."""
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
                cjk.append((f"(?P<p{i}>{ph['p']})", ph["p"]))
            else:
                body = name_pattern(ph["p"]) if ph.get("cases") else ph["p"]  # Russian case endings
                (cs if ph.get("cs") else ci).append((rf"(?P<p{i}>(?:{body})(?!\w))", body))
        try:
            sets = tuple(s for s in (_phrase_set(ci, re.IGNORECASE, True), _phrase_set(cs, 0, True)) if s)
            cjk_set = _phrase_set(cjk, 0, words=False)
            exclude = _exclusions(spec.get("exclude") or [])
        except re.error as exc:
            raise RulesError(f"{where}: topic {topic}: {exc}") from exc
        weights = tuple(float(ph["w"]) for ph in phrases)
        topics.append(TopicRules(topic, spec.get("label", topic), colour, sets, cjk_set, weights, exclude))
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


def _matches(
    rules: TopicRules, original: str, text: str, lowered: str, chinese: bool, field: str
) -> list[tuple[int, Match]]:
    """Matches in ``text`` (``original`` with punctuation unified: the same offsets; ``lowered``:
    its ``fold_case``; ``chinese``: whether it has Chinese in it)."""
    sets = rules.phrases + ((rules.cjk,) if rules.cjk is not None and chinese else ())
    patterns = [p for s in sets if (p := s.pattern(text, lowered)) is not None]
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
    fields = []
    for name, value in (("title", title or ""), ("text", text or "")):
        unified = unify_punctuation(value)
        fields.append((name, value, unified, fold_case(unified), bool(_CJK.search(unified))))
    labels = []
    for rules in rs.topics:
        counts: dict[int, int] = {}
        score = 0.0
        kept: list[Match] = []
        for field, original, value, lowered, chinese in fields:
            for idx, match in _matches(rules, original, value, lowered, chinese, field):
                counts[idx] = counts.get(idx, 0) + 1
                if counts[idx] > rs.max_repeats:
                    continue
                score += match.weight * (rs.title_weight if field == "title" else 1.0)
                kept.append(match)
        if score >= rs.threshold:
            labels.append(TopicLabel(rules.topic, round(score, 2), tuple(kept), rs.version))
    return labels
