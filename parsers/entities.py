"""Entity tagging: every mention of a registered person, place or organisation, in any script.

Matching walks the text's words once and looks each up in a table keyed by the first word of every
registered name (the longest name starting there wins), so its cost does not grow with the size of
the registry. Names match on word boundaries; short all-capital names (SCO, BRI) only as capitals;
Russian names also with their case endings (Рахмона, Токаеву, в Астане, Ферганской долины) and
with ё written as е (Мирзиеев). Chinese has no spaces, so Chinese names are found as substrings of
the text (a middle dot in a transliterated name, 古尔班古力·别尔德穆哈梅多夫, in any of its forms).

Each entity has an English ``label`` for readers who read only English (``parsers.english_line``):
the short form a headline would use (Tokayev, SCO), else its first name.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from silkwatch.parsers.text import Translation, unify_punctuation

_WORD = re.compile(r"\w+")
_CJK = re.compile(r"[\u3400-\u9fff]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_RU_ENDING = 3  # letters a Russian case ending may add
_RU_ADJECTIVE = ("ая", "яя", "ое", "ее", "ые", "ие", "ый", "ий", "ой")  # Ферганская -> ферганск(ой)
# In Chinese text: the middle dots of transliterated names as one, the full-width hyphen as "-"
_CJK_VARIANTS = Translation(str.maketrans("・•‧∙．－", "·····-"))


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
    labels: dict[str, str] = field(default_factory=dict)  # entity id -> its English label
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)  # entity id -> every spelling


def _fold(word: str) -> str:
    """A word as names are compared: case folded, ё as е (Russian prints both)."""
    return word.casefold().replace("ё", "е")


def _stem_ru(word: str) -> str:
    """A Russian name word cut to what its case forms share: an adjective ending (железная ->
    железн, matching железной), else a final vowel (Астана -> астан, matching Астане)."""
    if not _CYRILLIC.search(word):
        return word
    if len(word) > 6 and word.endswith(_RU_ADJECTIVE):
        return word[:-2]
    return word[:-1] if word[-1] in "аяйьео" and len(word) > 3 else word


def load_registry(raw: str) -> Registry:
    reg = Registry()
    for entity in tomllib.loads(raw)["entity"]:
        reg.kinds[entity["id"]] = entity["kind"]
        reg.labels[entity["id"]] = entity.get("label", entity["names"][0])
        reg.names[entity["id"]] = tuple(entity["names"])
        for name in entity["names"]:
            if _CJK.search(name):
                reg.cjk.append((_CJK_VARIANTS(unify_punctuation(name)), entity["id"]))
                continue
            words = tuple(_stem_ru(_fold(w)) for w in _WORD.findall(unify_punctuation(name)))
            exact = name if name.isupper() and len(name) <= 4 else None  # SCO, BRI, ШОС: capitals only
            reg.by_first.setdefault(words[0], []).append((words, entity["id"], exact))
    for options in reg.by_first.values():
        options.sort(key=lambda o: -len(o[0]))
    reg.cjk.sort(key=lambda o: -len(o[0]))
    return reg


@cache
def default_registry() -> Registry:
    """The registry of ``rules/entities.toml``: the one place that file is read."""
    return load_registry(resources.files("silkwatch.parsers").joinpath("rules/entities.toml").read_text("utf-8"))


def _word_matches(name_word: str, text_word: str) -> bool:
    if name_word == text_word:
        return True
    return (
        _CYRILLIC.search(text_word) is not None
        and text_word.startswith(name_word)
        and len(text_word) - len(name_word) <= _RU_ENDING
    )


def _lookup_keys(word: str) -> list[str]:
    """The keys a text word may start a name under: itself, and for Russian its stems without a
    case ending of up to 3 letters (two-letter names, Си Цзиньпин, Ош, are keys too)."""
    if not _CYRILLIC.search(word):
        return [word]
    return [word[: len(word) - k] for k in range(_RU_ENDING + 1) if k == 0 or len(word) - k >= 2]


def _tag(value: str, field_name: str, reg: Registry) -> list[Mention]:
    unified = unify_punctuation(value)  # one character for one: offsets hold in the original
    words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(unified)]
    folded = [_fold(w) for w, _, _ in words]
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
        i += 1
    if reg.cjk and _CJK.search(unified):
        found += _tag_cjk(value, _CJK_VARIANTS(unified), field_name, reg)
    return sorted(found, key=lambda m: m.offset)


def _tag_cjk(value: str, text: str, field_name: str, reg: Registry) -> list[Mention]:
    """Chinese names anywhere in the text, the longest first, none inside another."""
    found: list[Mention] = []
    taken: list[tuple[int, int]] = []
    for name, entity in reg.cjk:  # longest first
        pos = text.find(name)
        while pos >= 0:
            end = pos + len(name)
            if not any(s < end and pos < e for s, e in taken):
                taken.append((pos, end))
                found.append(Mention(entity, value[pos:end], field_name, pos))
            pos = text.find(name, pos + 1)
    return found


def tag_entities(title: str, text: str, registry: Registry | None = None) -> list[Mention]:
    """Every mention in the title and the text, with its offset in that field."""
    reg = registry or default_registry()
    return _tag(title or "", "title", reg) + _tag(text or "", "text", reg)


@cache
def entity_names() -> dict[str, str]:
    """Each registered entity's id -> its first name in the registry, the one to show (Emomali Rahmon)."""
    return {entity_id: names[0] for entity_id, names in default_registry().names.items()}
