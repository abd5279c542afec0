"""How long a text is, in any script, and every length rule silkwatch applies to text.

Two measures, each the same for every script:

- **Words**, for the rules that ask "is this an article, a headline, a caption?". Latin, Cyrillic and
  other scripts written with spaces count whitespace-separated words. Chinese and Japanese are
  written without spaces: each Han or kana character counts ``1 / CJK_CHARS_PER_WORD`` of a word.
  Running Chinese has about 1.4 characters per word: SUBTLEX-CH, 46.8 million characters in 33.5
  million words (Q. Cai and M. Brysbaert, "SUBTLEX-CH: Chinese Word and Character Frequencies Based
  on Film Subtitles", PLoS ONE 5(6): e10729, 2010). News prose runs to somewhat longer words, so a
  threshold met in characters is met leniently: a short Chinese article is kept, not refused.
  CJK punctuation (。，、「」 ...) separates, and is not counted, as spaces are not.
- **Columns**, for widths (titles, summaries, snippets): a character of East Asian Width "wide" or
  "fullwidth" (Han, kana, Hangul, CJK punctuation) takes two columns, as in a terminal or a
  monospaced layout; every other character one. A width therefore holds about as much Chinese on
  screen as it holds English.

Thresholds in words (``word_count``) and widths in columns (``columns``) are defined here and
nowhere else; the boilerplate rules' per-rule ``max_words`` (``rules/boilerplate.toml``, data) are
counted with ``word_count`` too.
"""

from __future__ import annotations

import re
import unicodedata

CJK_CHARS_PER_WORD = 1.4

# Words (``word_count``)
MIN_PAGE_WORDS = 25  # fewer than this after cleaning: a teaser or a failed extraction, not an article
MIN_SEED_WORDS = 20  # a seed with less text than this after removing boilerplate is refused
MIN_SUMMARY_WORDS = 8  # a feed summary shorter than this is not worth storing as an article
HEADLINE_MAX_WORDS = 25  # a longer line is prose, not a headline
TEASER_MIN_WORDS = 6  # a shorter line repeating the next paragraph's start is not called a teaser
REPEATED_LINE_MAX_WORDS = 40  # a line repeated within a text and this short is a caption or link

# Columns (``columns``)
TITLE_MAX_COLUMNS = 120  # a title made from a text's first sentence
SUMMARY_MAX_COLUMNS = 320  # the stored summary (digests show it)
SNIPPET_COLUMNS = 240  # a search result's passage

CJK_CHARACTER = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")  # Han, kana
_CJK_OR_PUNCTUATION = re.compile(
    r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\U00020000-\U0003134f]"
)
_SPACED_WORD = re.compile(r"\S+")
_CLAUSE_END = ",;:–—- \u3001\uff0c\uff1b\uff1a"  # trimmed from a cut text's end: , ; : dashes, and 、，；：


def word_count(text: str) -> int:
    """Words in ``text``: spaced words, plus Han and kana characters at ``CJK_CHARS_PER_WORD`` a word."""
    cjk = len(CJK_CHARACTER.findall(text))
    if not cjk:
        return len(_SPACED_WORD.findall(text))
    return len(_SPACED_WORD.findall(_CJK_OR_PUNCTUATION.sub(" ", text))) + int(cjk / CJK_CHARS_PER_WORD)


def is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def columns(text: str) -> int:
    """Display width of ``text``: two columns for each wide character, one for any other."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for c in text if is_wide(c))


def truncate(text: str, max_columns: int) -> str:
    """``text`` cut to at most ``max_columns`` columns with an ellipsis: at a space, or between two
    Chinese characters (which need no space), never inside a word."""
    if columns(text) <= max_columns:
        return text
    prefix, width = [], 0
    for char in text:
        width += 2 if is_wide(char) else 1
        if width > max_columns - 1:
            break
        prefix.append(char)
    head, space, tail = "".join(prefix).rpartition(" ")
    last_wide = max((i for i, c in enumerate(tail) if is_wide(c)), default=-1)
    # after the last space, Chinese: cut after its last character; else drop the partial word
    cut = head + space + tail[: last_wide + 1] if last_wide >= 0 else head if space else tail
    return cut.rstrip(_CLAUSE_END) + "…"
