"""Near-duplicate detection: MinHash signatures over word (or Chinese character) shingles, banded for LSH.

Why our own and not datasketch: signatures must be stable across processes and versions (they are
stored in the warehouse), and hashing whole batches with numpy is several times faster than
updating a MinHash object shingle by shingle.

- Shingles: overlapping runs of ``SHINGLE`` words of the normalised text (case, quotes and dashes
  folded), each hashed to 32 bits (CRC-32 per word, combined with numpy). Chinese and Japanese have
  no spaces: there each Han or kana character is a token (digits and Latin words among them stay
  words), and a text that is mostly such characters is shingled in runs of ``CJK_SHINGLE`` tokens.
- Signature: ``NUM_PERM`` minimums of multiply-shift hashes of the shingle hashes (uint32 each).
- LSH: the signature cut into ``BANDS`` bands of ``ROWS`` rows; two texts sharing one band are
  candidates, then verified: estimated Jaccard similarity, or containment for a shortened copy.
Thresholds are chosen from ``make eval`` (evaluation/dedupe.py) and documented in docs/performance.md.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np

from silkwatch.parsers.measure import CJK_CHARACTER, CJK_CHARS_PER_WORD
from silkwatch.parsers.text import normalise_text

SHINGLE = 4
CJK_SHINGLE = 6  # characters: the span of 4 words (4 x 1.4 characters, parsers/measure.py); chosen with make eval
NUM_PERM = 128
BANDS = 32
ROWS = NUM_PERM // BANDS
MAX_WORDS = 2000  # longer texts are signed on their first 2,000 words (a story's identity is early)
MAX_CJK_TOKENS = int(MAX_WORDS * CJK_CHARS_PER_WORD)  # the same length of Chinese, in characters
JACCARD_THRESHOLD = 0.5  # estimated Jaccard at or above: the same article
CONTAINMENT_THRESHOLD = 0.8  # or: the smaller copy's shingles mostly inside the larger (a shortened copy)
MIN_SHINGLES = 8  # texts shorter than this are only deduplicated exactly

_WORD = re.compile(r"\w+")
_CJK_TOKEN = re.compile(
    rf"{CJK_CHARACTER.pattern}|(?:(?!{CJK_CHARACTER.pattern})\w)+"
)  # a Han or kana character, or a word
_rng = np.random.default_rng(20261123)  # fixed: stored signatures must stay comparable
_A = (_rng.integers(1, 2**63, NUM_PERM, dtype=np.uint64) << np.uint64(1)) | np.uint64(1)  # odd multipliers
_B = _rng.integers(0, 2**63, NUM_PERM, dtype=np.uint64)
_MIX = np.array([0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1, 0xD3A2646C], dtype=np.uint64)
_BAND_SALT = np.arange(BANDS, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class Signature:
    values: np.ndarray  # uint32[NUM_PERM]
    shingles: int  # number of distinct shingles (for containment)

    def band_keys(self) -> list[int]:
        return band_keys(self.values)


def shingle_tokens(text: str) -> tuple[list[str], int]:
    """The tokens shingles are made of, and the shingle size: words, or characters for Chinese."""
    normalised = normalise_text(text)
    if not CJK_CHARACTER.search(normalised):
        return _WORD.findall(normalised)[:MAX_WORDS], SHINGLE
    tokens = _CJK_TOKEN.findall(normalised)
    cjk = sum(1 for t in tokens if CJK_CHARACTER.match(t))
    if cjk * 2 < len(tokens):  # mostly spaced words, with a few Chinese characters among them
        return tokens[:MAX_WORDS], SHINGLE
    return tokens[:MAX_CJK_TOKENS], CJK_SHINGLE


def shingle_hashes(text: str) -> np.ndarray:
    """Distinct 32-bit hashes of the text's shingles."""
    words, size = shingle_tokens(text)
    if len(words) < size:
        return np.zeros(0, dtype=np.uint64)
    w = np.fromiter((zlib.crc32(x.encode()) for x in words), dtype=np.uint64, count=len(words))
    n = len(words) - size + 1
    combined = np.zeros(n, dtype=np.uint64)
    for i in range(size):
        combined += w[i : i + n] * _MIX[i]  # wraps modulo 2**64, as intended
    return np.unique(combined >> np.uint64(32))


def signature(text: str) -> Signature | None:
    """The MinHash signature of a text; None when it is too short to compare approximately."""
    shingles = shingle_hashes(text)
    if len(shingles) < MIN_SHINGLES:
        return None
    hashed = (_A[:, None] * shingles[None, :] + _B[:, None]) >> np.uint64(32)  # multiply-shift, per permutation
    return Signature(hashed.min(axis=1).astype(np.uint32), len(shingles))


def band_keys(values: np.ndarray) -> list[int]:
    """One 63-bit key per band (band number mixed in), for an equality join."""
    bands = values.astype(np.uint64).reshape(BANDS, ROWS)
    key = np.zeros(BANDS, dtype=np.uint64)
    for r in range(ROWS):
        key = key * np.uint64(0x100000001B3) + bands[:, r]
    key ^= _BAND_SALT
    return [int(k) >> 1 for k in key]  # fits a signed BIGINT


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.count_nonzero(a == b)) / len(a)


def _scores(a: np.ndarray, b: np.ndarray, a_shingles: np.ndarray, b_shingles: np.ndarray):
    """Estimated Jaccard and containment (the share of the smaller text's shingles found in the
    larger, from Jaccard and the set sizes) of pairs of signatures: row k of ``a`` against row k of ``b``."""
    jaccard = np.count_nonzero(a == b, axis=1) / a.shape[1]
    union = (a_shingles + b_shingles) / (1 + jaccard)
    return jaccard, np.minimum(1.0, jaccard * union / np.minimum(a_shingles, b_shingles))


def match_scores(
    a: np.ndarray, b: np.ndarray, a_shingles: np.ndarray, b_shingles: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For pairs of signatures (NUM_PERM values and a shingle count each): the estimated Jaccard,
    and whether the two are the same article (Jaccard or containment, a shortened copy, at or above
    its threshold)."""
    jaccard, containment = _scores(a, b, a_shingles, b_shingles)
    return jaccard, (jaccard >= JACCARD_THRESHOLD) | (containment >= CONTAINMENT_THRESHOLD)


def _pair(a: Signature, b: Signature) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return a.values[None, :], b.values[None, :], np.array([a.shingles]), np.array([b.shingles])


def estimated_containment(a: Signature, b: Signature) -> float:
    return float(_scores(*_pair(a, b))[1][0])


def same_article(a: Signature, b: Signature) -> bool:
    return bool(match_scores(*_pair(a, b))[1][0])


def best_match(sig: Signature, candidates: Iterable[tuple[Hashable, Signature]]):
    """Of (key, signature) candidates, the key of the most similar one that is the same article."""
    best, best_score = None, 0.0
    for key, other in candidates:
        if same_article(sig, other):
            score = estimated_jaccard(sig.values, other.values)
            if best is None or score > best_score:
                best, best_score = key, score
    return best


@dataclass
class NearDupIndex:
    """An in-memory LSH index: add signatures under keys, find the key a new signature duplicates."""

    buckets: dict[int, list] = field(default_factory=dict)
    signatures: dict = field(default_factory=dict)

    def add(self, key, sig: Signature) -> None:
        self.signatures[key] = sig
        for band in sig.band_keys():
            self.buckets.setdefault(band, []).append(key)

    def candidates(self, sig: Signature) -> set:
        found: set = set()
        for band in sig.band_keys():
            found.update(self.buckets.get(band, ()))
        return found

    def find(self, sig: Signature):
        """The most similar stored key that is the same article, or None."""
        return best_match(sig, ((key, self.signatures[key]) for key in self.candidates(sig)))
