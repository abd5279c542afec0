"""The search tokenizer: one pure function for articles and queries alike.

- Latin and other alphabetic scripts: case folded, a light English stemmer (plurals, -ing, -ed).
- Cyrillic: case folded, ё as е, one key for all its case forms (``parsers.russian.index_key``:
  Астана, Астане, Астаной -> астан).
- Chinese: overlapping character bigrams of every run of Han characters (single characters alone).
Aliases from ``rules/entities.toml`` expand a query to every spelling of the entity it names, and
to the entity itself: each article's index also holds an ``entity:<id>`` term per mention the
tagger found (``parsers.entities``), so "Tokayev" finds Токаеву and 托卡耶夫, whose bigrams alone
could not be told from other names ending in 耶夫.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import cache, lru_cache
from hashlib import blake2b

import numpy as np

from silkwatch.parsers.entities import default_registry, tag_entities
from silkwatch.parsers.measure import SNIPPET_COLUMNS, columns
from silkwatch.parsers.russian import fold, index_key, is_russian

_TOKEN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]+|[^\W\d_][\w'’-]*[^\W_]|[^\W_]+")
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "he",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
        "и",
        "в",
        "во",
        "на",
        "не",
        "что",
        "с",
        "со",
        "по",
        "к",
        "из",
        "за",
        "от",
        "для",
        "о",
        "об",
        "а",
        "но",
    ]
)


@lru_cache(maxsize=200_000)
def normalise_token(token: str) -> tuple[str, ...]:
    """A raw word (already case folded) as index terms (one, or bigrams for Chinese)."""
    if _HAN.match(token):
        if len(token) == 1:
            return (token,)
        return tuple(token[i : i + 2] for i in range(len(token) - 1))
    token = fold(token.replace("’", "").replace("'", ""))  # Xi'an -> xian, China's -> chinas
    parts = [p for p in token.split("-") if p]
    if len(parts) > 1:  # China-Europe, Nur-Sultan: the parts and the joined form
        return (*(t for p in parts for t in normalise_token(p)), *normalise_token("".join(parts)))
    if is_russian(token):
        return (index_key(token),)
    return (_stem_english(token),)


def _stem_english(word: str) -> str:
    if len(word) <= 3 or not word.isascii():
        return word
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)] + keep
    return word


def terms(text: str) -> list[str]:
    """Index terms in order (stopwords dropped)."""
    out: list[str] = []
    for raw in _TOKEN.findall(text.casefold()):
        if raw not in STOPWORDS:
            out.extend(normalise_token(raw))
    return out


TERM_HASH = np.dtype("<i8")  # a term's index key: its blake2b digest of 8 bytes, read as a little-endian int64


def term_hashes(terms: Iterable[str]) -> np.ndarray:
    """The index keys of these terms (``search_postings.term_hash``), in order: blake2b of the term's
    UTF-8 with an 8-byte digest, read as a signed little-endian 64-bit integer. Not Python's
    ``hash()`` (salted per process) nor DuckDB's (free to change between versions): a warehouse
    outlives both, and articles and queries must be hashed alike."""
    return np.frombuffer(b"".join(map(_term_key, terms)), TERM_HASH).astype(np.int64)


@lru_cache(maxsize=65_536)  # common terms recur in every article: 5 times faster than hashing each
def _term_key(term: str) -> bytes:
    return blake2b(term.encode(), digest_size=8).digest()


ENTITY_TERM = "entity:"  # the index term of an entity mention: entity:<id> (no word can look like it)


def term_counts(
    title: str, text: str, title_weight: int = 3, mentions: Iterable[tuple[str, str]] | None = None
) -> Counter:
    """Term frequencies of an article, a title term counting ``title_weight`` times, with an
    ``entity:<id>`` term per entity mention (``mentions``: the article's (entity id, field) pairs
    when already tagged; else it is tagged here)."""
    counts = Counter(terms(text))
    for term, n in Counter(terms(title)).items():
        counts[term] += n * title_weight
    if mentions is None:
        mentions = [(m.entity_id, m.field) for m in tag_entities(title, text)]
    for entity_id, field in mentions:
        counts[ENTITY_TERM + entity_id] += title_weight if field == "title" else 1
    return counts


@cache
def alias_groups() -> dict[tuple[str, ...], tuple[str, frozenset[str]]]:
    """Each alias as a term sequence -> (its entity's id, its one-term spellings).

    Only one-term spellings join a query: the parts of a longer name ("China", "Europe") are common
    words, and an entity counted through them would match everything."""
    groups: dict[tuple[str, ...], tuple[str, frozenset[str]]] = {}
    for entity_id, names in default_registry().names.items():  # spellings as search reads them
        spelled = [tuple(terms(name)) for name in names]
        every = frozenset(s[0] for s in spelled if len(s) == 1)
        for s in spelled:
            if s:
                groups[s] = (entity_id, every)
    return groups


def query_terms(query: str) -> tuple[dict[str, str], list[str]]:
    """The terms a query searches for, each with the concept it counts toward, and its quoted phrases.

    A plain term is its own concept. Every spelling of an entity the query names (Rakhmon: Rahmon,
    Рахмон, ...) and the entity's own term count toward one concept, whose frequency in an article
    is the largest of theirs (``warehouse.search``), so an article is not rewarded twice for using
    two spellings of one name, and one indexed before entity terms existed is still found.
    """
    phrases = [p.strip() for p in re.findall(r'"([^"]+)"', query) if p.strip()]
    base = terms(query.replace('"', " "))
    concepts = {t: t for t in base}
    for alias, (entity, every) in alias_groups().items():
        n = len(alias)
        if any(tuple(base[i : i + n]) == alias for i in range(len(base) - n + 1)):
            for t in (*sorted(every), ENTITY_TERM + entity):
                concepts[t] = ENTITY_TERM + entity
    return concepts, phrases


_SNIPPET_UNIT = re.compile(
    r"[\u4e00-\u9fff\u3400-\u4dbf]|[^\s\u4e00-\u9fff\u3400-\u4dbf]+"
)  # a Han character, or a word
_WORD_PUNCTUATION = ".,;:!?()[]\"“”'‘’«»"


def snippet(text: str, matched: set[str], width: int = SNIPPET_COLUMNS, mark: tuple[str, str] = ("**", "**")) -> str:
    """The passage of ``text`` (at most ``width`` columns) with the most matched terms, the words
    that match marked. Chinese, which has no spaces, is read character by character: a run of
    characters that forms matched bigrams is marked as one."""
    units = list(_SNIPPET_UNIT.finditer(text))
    if not units:
        return ""
    han = [bool(_HAN.match(u.group())) for u in units]
    hits = [
        not is_han and any(t in matched for t in normalise_token(u.group().casefold().strip(_WORD_PUNCTUATION)))
        for u, is_han in zip(units, han, strict=True)
    ]
    for i in range(len(units)):  # Han: both characters of a matched bigram, or a lone matched character
        joined_next = i + 1 < len(units) and han[i] and han[i + 1] and units[i].end() == units[i + 1].start()
        if joined_next and units[i].group() + units[i + 1].group() in matched:
            hits[i] = hits[i + 1] = True
        joined_prev = i > 0 and han[i - 1] and units[i - 1].end() == units[i].start()
        if han[i] and not joined_next and not joined_prev and units[i].group() in matched:
            hits[i] = True
    # each unit's columns, and one for the space after it (none between two Chinese characters)
    cost = [columns(u.group()) + (0 if i + 1 < len(units) and units[i + 1].start() == u.end() else 1)
            for i, u in enumerate(units)]  # fmt: skip
    size = 0
    window = 0
    while window < len(units) and size + cost[window] <= width:
        size += cost[window]
        window += 1
    window = max(window, 1)
    best, best_start, current = -1, 0, sum(hits[:window])
    for start in range(len(units) - window + 1):
        if start:
            current += hits[start + window - 1] - hits[start - 1]
        if current > best:
            best, best_start = current, start
    out: list[str] = []
    marking = False
    for k in range(best_start, best_start + window):
        spaced = k > best_start and units[k].start() > units[k - 1].end()
        continues_run = k > best_start and not spaced and han[k] and han[k - 1] and hits[k]
        if marking and not continues_run:
            out.append(mark[1])
            marking = False
        out.append(" " if spaced else "")
        if hits[k] and not marking:
            out.append(mark[0])
            marking = True
        out.append(units[k].group())
    if marking:
        out.append(mark[1])
    prefix = "… " if best_start else ""
    suffix = " …" if best_start + window < len(units) else ""
    return prefix + "".join(out) + suffix
