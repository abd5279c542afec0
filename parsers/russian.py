"""Russian words as silkwatch compares them: the one place their case endings are handled.

Russian inflects every noun, name and adjective (Астана, Астаны, Астане, Астаной; Казахстан,
Казахстана; Шанхайская, Шанхайской), and prints ё as е or ё (Мирзиёев, Мирзиеев). Every
comparison folds a word first (``fold``: case, ё as е), then reads its ending by one of two rules,
each what its caller needs:

- **index** (``index_key``): one key per word that its case forms share, for a table lookup. The
  search index and its queries, watches, and the key terms and event phrases of stories use it.
  The key is the word's first ``INDEX_PREFIX`` letters (Астана, Астаны, Астане, Астаной -> астан):
  a prefix keeps a surname's forms together (Токаев, Токаеву -> токае), which Snowball's Russian
  stemmer splits (токаев -> тока, токаеву -> токаев); on the search judgements 5 letters rank best
  (with 4), Snowball and 6 letters lower (docs/performance.md).
- **name** (``name_stem``, ``ending_keys``, ``with_case_ending``; ``name_pattern`` for rules matched
  as regular expressions, the topic phrases marked ``cases = true``): a registered name against the
  words of a text. The name's word loses its own ending (``name_stem``: Астана -> астан,
  Ферганская -> ферганск), and a text word matches it when it is that stem plus a case ending of at
  most ``CASE_ENDING`` letters. Stricter than the index key, as tagging must be: Казахстан is not
  казахский (Kazakh) nor Китай китайский, and a short name (Ош, Си) keeps all its letters.
"""

from __future__ import annotations

import re

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
INDEX_PREFIX = 5  # letters of an index key
CASE_ENDING = 3  # letters a case ending may add to a name's stem (Астан-ой, Рахмон-ова)
_ADJECTIVE_ENDINGS = ("ая", "яя", "ое", "ее", "ые", "ие", "ый", "ий", "ой")  # Ферганская -> ферганск(ой)
_FINAL_VOWELS = "аяйьео"  # Астана -> астан(е), Россия -> росси(и)


def fold(word: str) -> str:
    """A word as every rule compares it: case folded, ё as е (Russian prints both)."""
    return word.casefold().replace("ё", "е")


def is_russian(word: str) -> bool:
    """Whether a word is Cyrillic, so has case endings to read."""
    return _CYRILLIC.search(word) is not None


def index_key(word: str) -> str:
    """The index rule: a folded Cyrillic word's key, the same for its case forms."""
    return word[:INDEX_PREFIX]


def name_stem(word: str) -> str:
    """The name rule, for a folded word of a registered name: what its case forms share, an
    adjective's ending cut (железная -> железн, matching железной), else a final vowel (Астана ->
    астан, matching Астане). Non-Cyrillic words are kept whole."""
    if not is_russian(word):
        return word
    if len(word) > 6 and word.endswith(_ADJECTIVE_ENDINGS):
        return word[:-2]
    return word[:-1] if word[-1] in _FINAL_VOWELS and len(word) > 3 else word


def with_case_ending(stem: str, word: str) -> bool:
    """The name rule, for a folded text word: whether it is ``stem`` (a ``name_stem``) itself or,
    in Cyrillic, ``stem`` with a case ending of at most ``CASE_ENDING`` letters."""
    if stem == word:
        return True
    return is_russian(word) and word.startswith(stem) and len(word) - len(stem) <= CASE_ENDING


def ending_keys(word: str) -> list[str]:
    """The name rule, for a folded text word: the stems it may be a case form of (itself, and in
    Cyrillic itself less up to ``CASE_ENDING`` final letters, never shorter than two: Ош, Си)."""
    if not is_russian(word):
        return [word]
    return [word[: len(word) - k] for k in range(CASE_ENDING + 1) if k == 0 or len(word) - k >= 2]


def name_pattern(phrase: str) -> str:
    """The name rule as a regular expression, for rules matched by pattern (topic phrases with
    ``cases = true``): each word of ``phrase`` as written, a Cyrillic one as its ``name_stem`` plus
    at most ``CASE_ENDING`` letters, ё and е alike (Шанхайская организация -> шанхайск\\w{0,3}
    организаци\\w{0,3}: Шанхайской организации). Matched case-insensitively; the caller ends it on a
    word boundary."""
    words = []
    for word in re.findall(r"\S+", phrase):
        stem = name_stem(fold(word))
        if is_russian(stem):
            words.append(re.escape(stem).replace("е", "[её]") + rf"\w{{0,{CASE_ENDING}}}")
        else:
            words.append(re.escape(word))
    return r"\s+".join(words)
