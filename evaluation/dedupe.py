"""Near-duplicate detection quality on pairs built from real articles, per language.

    python -m evaluation.dedupe

Base articles, each at least 60 words long (``parsers.measure.word_count``):
- en: the 5 seeds (cleaned) and the 50 reference bodies of shared/corpora/pages (copied in
  tests/fixtures/corpora_bodies.json);
- zh: the expected texts of newspaper4k's three Chinese pages (tests/fixtures/newspaper4k), the
  summaries of the GB2312 and Big5 fixture feeds, and, when ``$SILKWATCH_EVAL_DATA`` has it, the
  69 reference bodies of the zh-cwced corpus (evaluation/external.py);
- ru: the full texts of the windows-1251 AviaPort feed (yandex:full-text) and the long summaries
  of the other windows-1251 fixture feeds.
Positive pairs: each base with an edited copy of itself — another outlet's header and footer (a
wire copy under another masthead), a paragraph dropped, paragraphs reordered, a new first line (a
rewritten lede), quotes and dashes re-typed, shortened to its first 60%, and all of these at once;
in the language's own words and typography. Chinese and Russian texts of fewer than 4 paragraphs
are edited sentence by sentence. Negative pairs: every two different base articles (copies of one
article that the data holds itself are listed in ``REAL_COPIES`` and reported apart, as pairs
that must be found). For zh and ru, harder negatives too: the items of tests/fixtures/story_labels.toml
in that language, every two that report different events on the same beat (the same leaders,
bodies and places). Prints, per language, precision and recall per decision rule, and what LSH
banding finds.
"""

from __future__ import annotations

import itertools
import json
import random
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from evaluation import external
from silkwatch.parsers import neardup
from silkwatch.parsers.clean import clean_text
from silkwatch.parsers.feeds import feedparser_result, html_to_text, parse_feed
from silkwatch.parsers.measure import word_count
from silkwatch.parsers.seeds import parse_seed
from silkwatch.parsers.text import split_sentences

ROOT = Path(__file__).resolve().parents[1]

EDITS = ("outlet header/footer", "paragraph dropped", "paragraphs reordered", "lede rewritten",
         "quotes re-typed", "shortened to 60%", "all combined")  # fmt: skip


MIN_BASE_WORDS = 60
# Copies of one article inside the base data: real near-duplicates, not different articles.
REAL_COPIES = {
    ("coolloud-15", "coolloud-18"): "one press release posted twice in the Big5 feed, under two headlines",
}
FEEDS = ROOT / "tests/fixtures/feeds"


@dataclass(frozen=True)
class Edits:
    """One language's words for the edits: another outlet's header and footer, a new lede, re-typing."""

    header: tuple[str, ...]
    footer: tuple[str, ...]
    lede: str
    retype: Callable[[str], str]


EDITS_BY_LANGUAGE = {
    "en": Edits(
        ("Breaking News Network", "By staff reporters"),
        ("Follow our Telegram channel for more news", "© 2024 Breaking News Network"),
        "In a development closely watched across the region, officials confirmed the news on Monday.",
        lambda x: x.replace("“", '"').replace("”", '"').replace("’", "'").replace(" – ", " - "),
    ),
    "zh": Edits(
        ("中亚新闻网", "来源：本网综合"),
        ("关注我们的微信公众号，获取更多新闻", "（责任编辑：王磊）"),
        "记者从有关方面获悉，这一消息于周一得到官方证实，引发地区各方广泛关注。",
        lambda x: x.replace("“", "「").replace("”", "」").replace("‘", "『").replace("’", "』").replace("——", "—"),
    ),
    "ru": Edits(
        ("Новости Центральной Азии", "Автор: редакция"),
        ("Подписывайтесь на наш Telegram-канал", "© 2024 Новости Центральной Азии"),
        "В понедельник официальные лица подтвердили эту новость, за развитием событий следят во всём регионе.",
        lambda x: x.replace("«", '"').replace("»", '"').replace(" — ", " - ").replace("ё", "е"),
    ),
}


def base_articles(language: str = "en") -> list[tuple[str, list[str]]]:
    """(name, paragraphs) of every base article in ``language``."""
    return {"en": _english_bases, "zh": _chinese_bases, "ru": _russian_bases}[language]()


def _english_bases() -> list[tuple[str, list[str]]]:
    bases = []
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        bases.append((path.name, parse_seed(path.name, path.read_text("utf-8")).text.split("\n\n")))
    pages = json.loads((ROOT / "tests/fixtures/corpora_bodies.json").read_text("utf-8"))["pages"]
    for page_id, page in sorted(pages.items()):
        paragraphs = clean_text(page["articleBody"]).paragraphs
        if word_count(" ".join(paragraphs)) >= MIN_BASE_WORDS:
            bases.append((page_id[:8], paragraphs))
    return bases


def _long_enough(named_texts: list[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    """Cleaned texts of at least ``MIN_BASE_WORDS`` words, as paragraphs, or as sentences when a text
    has fewer than 4 paragraphs (so that dropping or reordering one is an edit)."""
    bases = []
    for name, text in named_texts:
        paragraphs = clean_text(text).paragraphs
        if word_count(" ".join(paragraphs)) < MIN_BASE_WORDS:
            continue
        if len(paragraphs) < 4:
            paragraphs = [s for p in paragraphs for s in split_sentences(p)]
        bases.append((name, paragraphs))
    return bases


def _feed_summaries(name: str) -> list[tuple[str, str]]:
    feed = parse_feed((FEEDS / name).read_bytes(), f"http://127.0.0.1/{name}")
    return [(f"{name.split('_', maxsplit=1)[0]}-{i}", e.summary) for i, e in enumerate(feed.entries)]


def _chinese_bases() -> list[tuple[str, list[str]]]:
    texts = [(p.stem, p.read_text("utf-8")) for p in sorted((ROOT / "tests/fixtures/newspaper4k").glob("*.txt"))]
    for name in (
        "acnnewswire_rss20_gb2312.xml",
        "cnblog_org_rss092_gb2312.xml",
        "coolloud_org_tw_rss10_big5_malformed.xml",
    ):
        texts.extend(_feed_summaries(name))
    try:
        texts.extend((f"cwced-{p.page_id[:8]}", p.body) for p in external.pages("zh-cwced") if p.body)
    except external.CorpusMissing as missing:
        print(f"[zh] without zh-cwced: {missing}")
    return _long_enough(texts)


def _russian_bases() -> list[tuple[str, list[str]]]:
    parsed = feedparser_result((FEEDS / "aviaport_ru_rss20_yandex_cp1251.xml").read_bytes())
    texts = [(f"aviaport-{i}", html_to_text(e.get("yandex_full-text", ""))) for i, e in enumerate(parsed.entries)]
    for name in ("newsru_com_rss20_cp1251.xml", "money_rin_ru_rss091_cp1251.xml"):
        texts.extend(_feed_summaries(name))
    return _long_enough(texts)


def edit(paragraphs: list[str], kind: str, rng: random.Random, language: str = "en") -> list[str]:
    words = EDITS_BY_LANGUAGE[language]
    p = list(paragraphs)
    if kind in ("outlet header/footer", "all combined"):
        p = [*words.header, *p, *words.footer]
    if kind in ("paragraph dropped", "all combined") and len(p) > 3:
        del p[rng.randrange(1, len(p) - 1)]
    if kind == "paragraphs reordered" and len(p) > 3:
        i = rng.randrange(1, len(p) - 1)
        p[i], p[i + 1] = p[i + 1], p[i]
    if kind in ("lede rewritten", "all combined"):
        p.insert(0, words.lede)
    if kind in ("quotes re-typed", "all combined"):
        p = [words.retype(x) for x in p]
    if kind == "shortened to 60%":
        p = p[: max(2, int(len(p) * 0.6))]
    return clean_text("\n\n".join(p)).paragraphs  # copies go through the same cleaner as everything


def report(language: str) -> None:
    rng = random.Random(5)
    bases = base_articles(language)
    sigs = {name: neardup.signature("\n".join(p)) for name, p in bases}
    positives = []
    for name, paragraphs in bases:
        for kind in EDITS:
            copy = neardup.signature("\n".join(edit(paragraphs, kind, rng, language)))
            positives.append((kind, sigs[name], copy))
    named_pairs = [(a, b) for (a, _), (b, _) in itertools.combinations(bases, 2) if sigs[a] and sigs[b]]
    negatives = [(sigs[a], sigs[b]) for a, b in named_pairs if (a, b) not in REAL_COPIES]
    positives = [(k, a, b) for k, a, b in positives if a and b]

    def jac(a, b):
        return neardup.estimated_jaccard(a.values, b.values)

    print(f"[{language}] near-duplicate detection: {len(bases)} base articles, {len(positives)} edited-copy pairs, "
          f"{len(negatives)} different-article pairs")  # fmt: skip
    print(f"{'rule':<44}{'precision':>10}{'recall':>8}{'false merges':>14}")
    rules = {f"Jaccard >= {t}": (lambda a, b, t=t: jac(a, b) >= t) for t in (0.3, 0.4, 0.5, 0.6, 0.7)}
    rules[f"Jaccard >= {neardup.JACCARD_THRESHOLD} or containment >= {neardup.CONTAINMENT_THRESHOLD} (chosen)"] = (
        neardup.same_article
    )
    for name, rule in rules.items():
        tp = sum(rule(a, b) for _, a, b in positives)
        fp = sum(rule(a, b) for a, b in negatives)
        precision = tp / (tp + fp) if tp + fp else 1.0
        print(f"{name:<44}{precision:>10.3f}{tp / len(positives):>8.3f}{fp:>14}")
    print(
        "\nrecall of the chosen rule per kind of edit, and with LSH candidate search "
        f"({neardup.BANDS} bands x {neardup.ROWS} rows):"
    )
    index = neardup.NearDupIndex()
    for name, _ in bases:
        if sigs[name]:
            index.add(name, sigs[name])
    for kind in EDITS:
        pairs = [(a, b) for k, a, b in positives if k == kind]
        direct = sum(neardup.same_article(a, b) for a, b in pairs) / len(pairs)
        via_lsh = sum(index.find(b) is not None and index.signatures[index.find(b)] is a for a, b in pairs) / len(pairs)
        print(f"  {kind:<24} direct {direct:.3f}   via LSH {via_lsh:.3f}")
    sims = sorted((jac(a, b) for a, b in negatives), reverse=True)[:3]
    print(f"highest Jaccard between different articles: {', '.join(f'{s:.3f}' for s in sims)}")
    for a, b in named_pairs:
        if (a, b) in REAL_COPIES:
            found = "found" if neardup.same_article(sigs[a], sigs[b]) else "MISSED"
            similarity = jac(sigs[a], sigs[b])
            print(f"real copies in the data: {a} and {b} ({REAL_COPIES[a, b]}): {found}, Jaccard {similarity:.3f}")
    if language != "en":
        same_beat = _same_beat_pairs(language)
        merged = sum(neardup.same_article(a, b) for a, b in same_beat)
        top = max((jac(a, b) for a, b in same_beat), default=0.0)
        top_containment = max((neardup.estimated_containment(a, b) for a, b in same_beat), default=0.0)
        print(f"same-beat articles on different events (story_labels.toml): {len(same_beat)} pairs, {merged} merged, "
              f"highest Jaccard {top:.3f}, highest containment {top_containment:.3f}")  # fmt: skip


def _same_beat_pairs(language: str) -> list:
    labels = tomllib.loads((ROOT / "tests/fixtures/story_labels.toml").read_text("utf-8"))["item"]
    items = [i for i in labels if i["language"] == language and "text" in i]
    sigs = [(i["story"], neardup.signature(f"{i['title']}\n{i['text']}")) for i in items]
    return [(a, b) for (s, a), (t, b) in itertools.combinations(sigs, 2) if s != t and a and b]


def main() -> int:
    for i, language in enumerate(("en", "zh", "ru")):
        if i:
            print()
        report(language)
    return 0


if __name__ == "__main__":
    sys.exit(main())
