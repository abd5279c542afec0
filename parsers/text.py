"""Small text helpers shared by the parsers: normalisation, sentence splitting, language."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from silkwatch.parsers.measure import SUMMARY_MAX_COLUMNS, columns, is_wide, truncate


class Translation:
    """What ``str.translate`` by ``table`` gives, done by a regex: translate looks every character up
    in the table in Python, the regex finds the few characters to replace at C speed (profiled: the
    translations were the extraction worker's largest single cost, after trafilatura)."""

    def __init__(self, table: dict[int, str | int | None]) -> None:
        self.table = table
        self._replacement = {chr(c): chr(r) if isinstance(r, int) else r or "" for c, r in table.items()}
        self._any = re.compile("[" + "".join(re.escape(chr(c)) for c in table) + "]")

    def __call__(self, text: str) -> str:
        return self._any.sub(self._replace, text)

    def _replace(self, match: re.Match) -> str:
        return self._replacement[match.group()]


# Typographic variants mapped to one form, so that re-typed quotes and dashes compare equal.
_UNIFY = Translation(
    str.maketrans({
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
        "\u2212": "-", "\u00a0": " ", "\u2026": "...",
    })
)  # fmt: skip


# One character for one character, so offsets into the result are offsets into the original.
_UNIFY_SAME_LENGTH = Translation({k: v for k, v in _UNIFY.table.items() if len(v) == 1})


def unify_punctuation(text: str) -> str:
    """Typographic quotes, dashes and no-break spaces as ASCII, keeping every offset."""
    return _UNIFY_SAME_LENGTH(text)


# Characters that never belong in stored text: C0 and C1 controls (NUL included), DEL, bidi
# embeddings, overrides and isolates (they can make a title read backwards), marks that only steer
# direction, zero-width spaces and BOMs, and non-characters. Format controls that spelling needs
# (zero-width joiner and non-joiner: Persian, Indic scripts, emoji) are kept. Line and paragraph
# separators and the whitespace-like controls become spaces.
_INVISIBLE_TABLE = dict.fromkeys(
    [*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0), 0x061C, 0x180E, 0x200B, 0x200E, 0x200F,
     *range(0x202A, 0x202F), 0x2060, *range(0x2066, 0x206A), 0xFEFF, 0xFFFE, 0xFFFF],
)  # fmt: skip
_INVISIBLE_TABLE.update(dict.fromkeys([0x0B, 0x0C, *range(0x1C, 0x20), 0x85, 0x2028, 0x2029], " "))
_INVISIBLE = Translation(_INVISIBLE_TABLE)


def strip_invisible(text: str) -> str:
    """``text`` without control, bidi-override and zero-width characters (see ``_INVISIBLE``)."""
    return _INVISIBLE(text)


def collapse_whitespace(text: str) -> str:
    """One line of clean text: whitespace runs as one space, invisible characters dropped."""
    return " ".join(strip_invisible(text).split())


def normalise_text(text: str) -> str:
    """NFKC, quotes and dashes unified, whitespace collapsed, case folded."""
    return collapse_whitespace(_UNIFY(unicodedata.normalize("NFKC", text))).casefold()


def line_key(line: str) -> str:
    """A comparison key for a line: normalised, without trailing punctuation or ellipsis."""
    return normalise_text(line).rstrip(" .…!?:;,\"'")


_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "gen", "lt", "col", "sen", "rep", "gov", "prof", "no", "vs"}
# A sentence ends at . ! ? before a space and a capital or digit, or at Chinese 。！？ (with a
# closing quote or bracket after it), which need no space after them.
_SENTENCE_END = re.compile(
    r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9А-ЯЁ])"
    r"|(?:(?<=[。！？])|(?<=[。！？][”’」』）)]))(?![”’」』）)])\s*(?=\S)"
)


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences (Chinese too); conservative around abbreviations and initials."""
    out: list[str] = []
    for raw in text.split("\n"):
        start = 0
        para = raw.strip()
        for m in _SENTENCE_END.finditer(para):
            before = para[start : m.start()].rstrip("\"'”’)]")
            last_word = re.split(r"\s+", before)[-1].rstrip(".").casefold() if before else ""
            if last_word in _ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)*[a-z]", last_word):
                continue
            out.append(para[start : m.start()].strip())
            start = m.end()
        if para[start:].strip():
            out.append(para[start:].strip())
    return [s for s in out if s]


def summarise(text: str, max_sentences: int = 2, max_columns: int = SUMMARY_MAX_COLUMNS) -> str:
    """The first one or two sentences of ``text``, cut at a word boundary if very long."""
    chosen = ""
    for count, sentence in enumerate(split_sentences(text), start=1):
        longer = join_sentences(chosen, sentence)
        if chosen and columns(longer) > max_columns:
            break
        chosen = longer
        if count >= max_sentences:
            break
    return truncate(chosen, max_columns)


def join_sentences(first: str, second: str) -> str:
    """Two sentences as one text: a space between them, but none after a Chinese sentence."""
    if not first:
        return second
    return first + ("" if is_wide(first[-1]) else " ") + second


_SCRIPT_LANGUAGE = (
    (re.compile(r"[\u0400-\u04ff]"), "ru"),
    (re.compile(r"[\u4e00-\u9fff]"), "zh"),
    (re.compile(r"[\u0600-\u06ff]"), "ar"),
)
_STOPWORDS = {
    "en": {"the", "and", "of", "to", "in", "is", "that", "for", "with", "was", "on", "said"},
    "de": {"der", "die", "und", "das", "ist", "nicht", "mit", "den", "für", "auf"},
    "fr": {"le", "la", "les", "et", "des", "est", "une", "pour", "dans", "que"},
    "es": {"el", "los", "las", "del", "por", "una", "con", "para", "que", "y"},
    "pt": {"o", "os", "as", "do", "da", "uma", "com", "para", "não", "em"},
    "it": {"il", "gli", "della", "che", "è", "per", "una", "con", "sono", "di"},
}


def detect_language(text: str) -> str | None:
    """A coarse language guess (ISO 639-1) from script and stopwords; None when unsure."""
    sample = text[:5000]
    letters = sum(map(str.isalpha, sample))
    if letters < 20:
        return None
    for pattern, lang in _SCRIPT_LANGUAGE:
        if len(pattern.findall(sample)) > letters * 0.3:
            return lang
    words = re.findall(r"[^\W\d_]+", sample.casefold())
    counts = Counter(words)
    scores = {lang: sum(counts[w] for w in stop) for lang, stop in _STOPWORDS.items()}
    lang, best = max(scores.items(), key=lambda kv: kv[1])
    return lang if best >= 3 and best >= 0.05 * len(words) else None
