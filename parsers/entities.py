"""Entity tagging: every mention of a registered person, place or organisation, in any script.

Matching walks the text's words once and looks each up in a table keyed by the first word of every
registered name (the longest name starting there wins), so its cost does not grow with the size of
the registry. Names match on word boundaries; short all-capital names (SCO, BRI) only as capitals;
Russian names also with their case endings (Рахмона, Токаеву, в Астане). Chinese has no spaces, so
Chinese names are found as substrings of runs of Han characters.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from parsers.text import unify_punctuation

_WORD = re.compile(r"\w+")
_CJK = re.compile(r"[\u3400-\u9fff]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_RU_ENDING = 3  # letters a Russian case ending may add


@dataclass(frozen=True)
class Mention:
    entity_id: str
    mention: str  # as written in the text
    field: str  # title or text
    offset: int


@dataclass
class Registry:
    by_first: dict[str, list[tuple[tuple[str, ...], str, str | None]]] = field(default_factory=dict)
    cjk: list[tuple[str, str]] = field(default_factory=list)  # (name, entity id)
    kinds: dict[str, str] = field(default_factory=dict)


def _stem_ru(word: str) -> str:
    return word[:-1] if _CYRILLIC.search(word) and word[-1] in "аяйьео" and len(word) > 4 else word


def load_registry(raw: str) -> Registry:
    reg = Registry()
    for entity in tomllib.loads(raw)["entity"]:
        reg.kinds[entity["id"]] = entity["kind"]
        for name in entity["names"]:
            if _CJK.search(name):
                reg.cjk.append((name, entity["id"]))
                continue
            words = tuple(_stem_ru(w.casefold()) for w in _WORD.findall(unify_punctuation(name)))
            exact = name if name.isupper() and len(name) <= 4 else None  # SCO, BRI, ШОС: capitals only
            reg.by_first.setdefault(words[0], []).append((words, entity["id"], exact))
    for options in reg.by_first.values():
        options.sort(key=lambda o: -len(o[0]))
    reg.cjk.sort(key=lambda o: -len(o[0]))
    return reg


@cache
def default_registry() -> Registry:
    return load_registry(resources.files("parsers").joinpath("rules/entities.toml").read_text("utf-8"))


def _word_matches(name_word: str, text_word: str) -> bool:
    if name_word == text_word:
        return True
    return (
        _CYRILLIC.search(text_word) is not None
        and text_word.startswith(name_word)
        and len(text_word) - len(name_word) <= _RU_ENDING
    )


def _lookup_keys(word: str) -> list[str]:
    if not _CYRILLIC.search(word):
        return [word]
    return [word[: len(word) - k] for k in range(_RU_ENDING + 1) if len(word) - k >= 3]


def _tag(value: str, field_name: str, reg: Registry) -> list[Mention]:
    unified = unify_punctuation(value)  # one character for one: offsets hold in the original
    words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(unified)]
    folded = [w.casefold() for w, _, _ in words]
    found, i = [], 0
    while i < len(words):
        best = None
        for key in _lookup_keys(folded[i]):
            for name_words, entity, exact in reg.by_first.get(key, ()):
                n = len(name_words)
                if exact is not None and words[i][0] != exact:
                    continue
                if i + n <= len(words) and all(_word_matches(name_words[k], folded[i + k]) for k in range(n)):
                    if best is None or n > best[0]:
                        best = (n, entity)
                    break  # options are longest first
        if best:
            n, entity = best
            start, end = words[i][1], words[i + n - 1][2]
            found.append(Mention(entity, value[start:end], field_name, start))
            i += n
            continue
        if reg.cjk and _CJK.search(words[i][0]):
            token, base = words[i][0], words[i][1]
            taken: list[tuple[int, int]] = []
            for name, entity in reg.cjk:
                pos = token.find(name)
                while pos >= 0:
                    if not any(s < pos + len(name) and pos < e for s, e in taken):
                        taken.append((pos, pos + len(name)))
                        found.append(Mention(entity, name, field_name, base + pos))
                    pos = token.find(name, pos + 1)
        i += 1
    return sorted(found, key=lambda m: m.offset)


def tag_entities(title: str, text: str, registry: Registry | None = None) -> list[Mention]:
    """Every mention in the title and the text, with its offset in that field."""
    reg = registry or default_registry()
    return _tag(title or "", "title", reg) + _tag(text or "", "text", reg)


@cache
def entity_names() -> dict[str, str]:
    """Each registered entity's id -> its first name in the registry, the one to show (Emomali Rahmon)."""
    raw = resources.files("parsers").joinpath("rules/entities.toml").read_text("utf-8")
    return {entity["id"]: entity["names"][0] for entity in tomllib.loads(raw)["entity"]}
