"""A watch's query: what an article must contain to match it. Pure.

A watch uses the search syntax (``parsers.tokenize``), but where search ranks every article that has
any of the words, a watch raises an alert, so an article must have all of them:

- a name in the entity registry (``Rahmon``, ``Рахмон``, ``拉赫蒙``, ``Xi Jinping``) stands for the
  entity: the article must mention it, in any spelling or script (``article_entities``);
- every other word must be in the article (as the search index stores it: stemmed, Russian by its
  index key, ``parsers.russian.index_key``, Chinese as character pairs);
- every "quoted phrase" must occur as written (case and apostrophes aside).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from silkwatch.parsers.text import unify_punctuation
from silkwatch.parsers.tokenize import alias_groups, normalise_token, terms

_PHRASE = re.compile(r'"([^"]+)"')
_HAN = re.compile(r"[\u3400-\u9fff]")


class WatchQueryError(ValueError):
    """The query asks for nothing that can be matched; the message says why."""


@dataclass(frozen=True)
class WatchQuery:
    entities: tuple[str, ...]  # entity ids the article must mention
    terms: tuple[str, ...]  # index terms the article must have (a phrase's terms included)
    phrases: tuple[str, ...]  # lower case, straight apostrophes: verbatim in the title or text


def parse_watch_query(query: str) -> WatchQuery:
    phrases = [p.strip() for p in _PHRASE.findall(query) if p.strip()]
    rest = terms(_PHRASE.sub(" ", query).replace('"', " "))
    groups = alias_groups()
    longest = max((len(alias) for alias in groups), default=1)
    entities: list[str] = []
    words: list[str] = []
    i = 0
    while i < len(rest):
        for n in range(min(longest, len(rest) - i), 0, -1):  # the longest registered name starting here
            found = groups.get(tuple(rest[i : i + n]))
            if found:
                entities.append(found[0])
                i += n
                break
        else:
            words.append(rest[i])
            i += 1
    words += [t for p in phrases for t in terms(p)]  # the index finds the candidates; the text decides
    if not entities and not words:
        raise WatchQueryError(f"query {query!r} has no word to look for (only punctuation or common words)")
    return WatchQuery(
        entities=tuple(dict.fromkeys(entities)),
        terms=tuple(dict.fromkeys(words)),
        phrases=tuple(unify_punctuation(p).casefold() for p in phrases),
    )


def words_as_written(text: str, wanted: set[str], limit: int = 3) -> list[str]:
    """The words of ``text`` that the index reads as one of ``wanted`` terms, as written (first few)."""
    found: list[str] = []
    for raw in re.findall(r"\w[\w'’-]*", text):
        hit = set(normalise_token(raw.casefold())) & wanted
        # a run of Chinese is one token of many character pairs: the pairs that matched say more
        for form in sorted(hit) if _HAN.match(raw) else [raw] if hit else []:
            if form not in found:
                found.append(form)
        if len(found) >= limit:
            break
    return found[:limit]
