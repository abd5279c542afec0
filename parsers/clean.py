"""Remove site boilerplate from article text while keeping every sentence of the story.

Two kinds of evidence decide what is boilerplate:
- line patterns from ``rules/boilerplate.toml`` (slogans, share lines, comment forms, footers, ...);
- structure: a line repeated within the same text (related links, photo captions, the headline
  printed twice), a teaser that repeats the start of the next paragraph, the lines after a marker
  that ends the story ("Leave a Reply", "You Might Like...").

Everything removed is reported with the rule that removed it, so a reader can audit the cleaner.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path

from silkwatch.parsers.measure import REPEATED_LINE_MAX_WORDS, TEASER_MIN_WORDS, word_count
from silkwatch.parsers.text import collapse_whitespace, line_key, normalise_text


@dataclass(frozen=True)
class LineRule:
    name: str
    regex: re.Pattern[str]
    max_words: int | None = None  # counted with ``parsers.measure.word_count``
    ends_story: bool = False


@dataclass(frozen=True)
class Removed:
    line_no: int  # 1-based line number in the input text
    rule: str
    text: str


@dataclass
class Cleaned:
    paragraphs: list[str]
    removed: list[Removed]
    captures: dict[str, str] = field(default_factory=dict)  # first value of each named group

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


class RulesError(ValueError):
    """A rules file is malformed; the message names the file and the rule."""


def load_line_rules(path: Path | None = None) -> tuple[LineRule, ...]:
    """Read boilerplate line rules from a TOML file (default: the packaged rules)."""
    if path is None:
        raw = resources.files("silkwatch.parsers").joinpath("rules/boilerplate.toml").read_text("utf-8")
        where = "parsers/rules/boilerplate.toml"
    else:
        raw, where = path.read_text("utf-8"), str(path)
    data = tomllib.loads(raw)
    rules = []
    for i, item in enumerate(data.get("line", []), start=1):
        try:
            regex = re.compile(item["pattern"], re.IGNORECASE)
        except (KeyError, re.error) as exc:
            raise RulesError(f"{where}: rule {i} ({item.get('name', '?')}): {exc}") from exc
        rules.append(
            LineRule(
                name=item["name"],
                regex=regex,
                max_words=item.get("max_words"),
                ends_story=bool(item.get("ends_story", False)),
            )
        )
    return tuple(rules)


@cache
def default_line_rules() -> tuple[LineRule, ...]:
    return load_line_rules()


def match_line_rule(line: str, rules: tuple[LineRule, ...] | None = None) -> tuple[LineRule, dict] | None:
    """The first rule whose pattern matches the whole (whitespace-collapsed) line, with its captures.
    A table row as trafilatura writes it ("| 编辑：金金 | 来源：千龙网 |") matches when each of its
    cells does: the rule of its first cell, with the captures of all. A row never ends the story:
    on a page laid out in a table, the story's rows may come after the comment form's."""
    return _match_collapsed(collapse_whitespace(line), rules)


def _match_collapsed(line: str, rules: tuple[LineRule, ...] | None) -> tuple[LineRule, dict] | None:
    """``match_line_rule`` of a line whose whitespace is collapsed already."""
    if not line:
        return None
    cells = [cell.strip() for cell in _CELL_BORDER.split(line[1:-1])] if _TABLE_ROW.fullmatch(line) else []
    if any(cells):
        hits = [_match_whole_line(cell, rules) for cell in cells if cell]
        if not all(hits):
            return None
        return replace(hits[0][0], ends_story=False), {k: v for _, found in reversed(hits) for k, v in found.items()}
    return _match_whole_line(line, rules)


_TABLE_ROW = re.compile(r"\|.*\|")
_CELL_BORDER = re.compile(r"(?<!\\)\|")  # trafilatura writes a "|" inside a cell as "\|"


def _match_whole_line(line: str, rules: tuple[LineRule, ...] | None) -> tuple[LineRule, dict] | None:
    words = word_count(line)
    for rule in rules if rules is not None else default_line_rules():
        if rule.max_words is not None and words > rule.max_words:
            continue
        m = rule.regex.fullmatch(line)
        if m:
            return rule, {k: v.strip() for k, v in m.groupdict().items() if v and v.strip()}
    return None


def clean_text(text: str, title: str | None = None, rules: tuple[LineRule, ...] | None = None) -> Cleaned:
    """Split ``text`` into story paragraphs and removed boilerplate.

    ``title``, when known, is the headline: lines repeating it are removed from the body.
    """
    lines = [(no, collapse_whitespace(raw)) for no, raw in enumerate(text.splitlines(), start=1)]
    lines = [(no, line) for no, line in lines if line]
    removed: list[Removed] = []
    captures: dict[str, str] = {}
    kept: list[tuple[int, str]] = []

    for idx, (no, line) in enumerate(lines):
        hit = _match_collapsed(line, rules)
        if hit is None:
            kept.append((no, line))
            continue
        rule, groups = hit
        for key, value in groups.items():
            captures.setdefault(key, value)
        removed.append(Removed(no, rule.name, line))
        if rule.ends_story and idx >= len(lines) / 2:
            removed.extend(Removed(n, f"after '{line}'", rest) for n, rest in lines[idx + 1 :])
            break

    # each line's keys once: the three passes below compared them five times a line
    keys, normalised = cache(line_key), cache(normalise_text)
    kept = _drop_headline(kept, title, removed, keys)
    kept = _drop_repeated_lines(kept, removed, normalised)
    kept = _drop_teasers(kept, removed, keys)
    removed.sort(key=lambda r: r.line_no)
    return Cleaned(paragraphs=[line for _, line in kept], removed=removed, captures=captures)


def _drop_headline(kept, title, removed, keys):
    if not title:
        return kept
    title_key = keys(title)
    out = []
    for no, line in kept:
        if keys(line) == title_key:
            removed.append(Removed(no, "headline", line))
        else:
            out.append((no, line))
    return out


def _drop_repeated_lines(kept, removed, normalised):
    # Exact repeats only (up to typography): "Here's the thing:" and "Here's the thing …" are prose.
    counts: dict[str, int] = {}
    for _, line in kept:
        key = normalised(line)
        counts[key] = counts.get(key, 0) + 1
    out, seen = [], set()
    for no, line in kept:
        key = normalised(line)
        if counts[key] > 1 and word_count(line) <= REPEATED_LINE_MAX_WORDS:
            removed.append(Removed(no, "repeated line (caption, link or headline)", line))
        elif key in seen:
            removed.append(Removed(no, "duplicate paragraph", line))
        else:
            seen.add(key)
            out.append((no, line))
    return out


def _drop_teasers(kept, removed, keys):
    out = []
    for i, (no, line) in enumerate(kept):
        nxt = kept[i + 1][1] if i + 1 < len(kept) else ""
        key, next_key = keys(line), keys(nxt)
        if word_count(line) >= TEASER_MIN_WORDS and len(next_key) > len(key) and next_key.startswith(key):
            removed.append(Removed(no, "teaser repeats the next paragraph", line))
        else:
            out.append((no, line))
    return out
