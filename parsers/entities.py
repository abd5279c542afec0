"""Entity tagging: every mention of a registered person, place or organisation, in any script.

Matching walks the text's words once and looks each up in a table keyed by the first word of every
registered name (the longest name starting there wins), so its cost does not grow with the size of
the registry. Names match on word boundaries; short all-capital names (SCO, BRI) only as capitals;
Russian names also with their case endings (Рахмона, Токаеву, в Астане, Ферганской долины) and
with ё written as е (Мирзиеев), by the name rule of ``parsers.russian``. Chinese has no spaces,
so Chinese names are found as substrings of the text (a middle dot in a transliterated name,
古尔班古力·别尔德穆哈梅多夫, in any of its forms).

Each entity has an English ``label`` for readers who read only English (``parsers.english_line``):
the short form a headline would use (Tokayev, SCO), else its first name.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from silkwatch.parsers.russian import ending_keys, fold, name_stem, with_case_ending
from silkwatch.parsers.text import Translation, unify_punctuation

_WORD = re.compile(r"\w+")
_CJK = re.compile(r"[\u3400-\u9fff]")
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
            words = tuple(name_stem(fold(w)) for w in _WORD.findall(unify_punctuation(name)))
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


def _tag(value: str, field_name: str, reg: Registry) -> list[Mention]:
    unified = unify_punctuation(value)  # one character for one: offsets hold in the original
    words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(unified)]
    folded = [fold(w) for w, _, _ in words]
    found, i = [], 0
    while i < len(words):
        best = None
        for key in ending_keys(folded[i]):
            for name_words, entity, exact in reg.by_first.get(key, ()):
                n = len(name_words)
                if exact is not None and words[i][0] != exact:
                    continue
                if i + n <= len(words) and all(with_case_ending(name_words[k], folded[i + k]) for k in range(n)):
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
