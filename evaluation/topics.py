"""Topic classification quality on the labelled set in tests/fixtures/topic_labels.toml.

    python -m evaluation.topics

Prints per-topic support, precision, recall and F1 over every labelled article, then the same per
language (English, Russian, Chinese), and every error (false or missed label). Items from an
external corpus (``evaluation/external.py``) count only when it is in $SILKWATCH_EVAL_DATA.
"""

from __future__ import annotations

import json
import sys
import tomllib
from functools import cache
from pathlib import Path

from evaluation import external
from silkwatch.parsers.classify import classify_topics, default_ruleset
from silkwatch.parsers.feeds import parse_feed
from silkwatch.parsers.seeds import parse_seed
from silkwatch.parsers.text import detect_language

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "tests" / "fixtures" / "topic_labels.toml"
BODIES = ROOT / "tests" / "fixtures" / "corpora_bodies.json"
STORIES = ROOT / "tests" / "fixtures" / "story_labels.toml"
LANGUAGES = ("en", "ru", "zh")  # reported one by one; the overall table counts every language


@cache
def _external_bodies(corpus: str) -> dict[str, str]:
    """page id -> reference body of an external corpus; empty when it is not on this machine."""
    try:
        return {p.page_id: p.body for p in external.pages(corpus) if p.body}
    except external.CorpusMissing:
        return {}


def _title_text(item: dict) -> tuple[str, str] | None:
    """The labelled article's title and text, None when its external corpus is missing."""
    source = item["source"]
    if source.startswith("seeds/"):
        article = parse_seed(source.removeprefix("seeds/"), (ROOT / source).read_text("utf-8"))
        return article.title, article.text
    if "corpora_bodies.json#" in source:
        page_id = source.split("#", 1)[1].split(" ", 1)[0]
        return "", json.loads(BODIES.read_text("utf-8"))["pages"][page_id]["articleBody"]
    if source.startswith("tests/fixtures/feeds/"):
        path, number = source.split(" ", 1)[0].split("#")
        entry = parse_feed((ROOT / path).read_bytes()).entries[int(number)]
        return entry.title, entry.summary
    if source.startswith("tests/fixtures/story_labels.toml#"):
        story_id = source.split("#", 1)[1]
        story = next(s for s in tomllib.loads(STORIES.read_text("utf-8"))["item"] if s["id"] == story_id)
        return story.get("title", ""), story["text"]
    corpus, _, page_id = source.partition("#")
    if corpus in external.CORPORA:
        body = _external_bodies(corpus).get(page_id)
        return ("", body) if body else None
    return item.get("title", ""), item["text"]


def labelled_items() -> list[tuple[dict, str, str]]:
    """(item, title, text) for every labelled article whose text is here; each item's language is
    its ``language`` if given, else the one its text is detected in."""
    out = []
    for item in tomllib.loads(LABELS.read_text("utf-8"))["item"]:
        found = _title_text(item)
        if found is None:
            continue
        title, text = found
        out.append(({**item, "language": item.get("language") or detect_language(text or title)}, title, text))
    return out


def score(items: list[tuple[dict, str, str]]) -> tuple[dict[str, dict], list[str]]:
    topics = default_ruleset().names
    stats = {t: {"tp": 0, "fp": 0, "fn": 0} for t in topics}
    stats["_negatives"] = {"n": 0, "clean": 0}  # articles with no topic: how many got none
    errors = []
    for item, title, text in items:
        got = {label.topic for label in classify_topics(title, text)}
        want = set(item["topics"])
        if not want:
            stats["_negatives"]["n"] += 1
            stats["_negatives"]["clean"] += not got
        for topic in topics:
            key = "tp" if topic in got and topic in want else "fp" if topic in got else "fn" if topic in want else None
            if key:
                stats[topic][key] += 1
            if key == "fp":
                errors.append(f"false {topic}: {item['id']}")
            elif key == "fn":
                errors.append(f"missed {topic}: {item['id']}")
    for name, s in stats.items():
        if name == "_negatives":
            s["rate"] = s["clean"] / s["n"] if s["n"] else 1.0
            continue
        s["support"] = s["tp"] + s["fn"]
        s["precision"] = s["tp"] / (s["tp"] + s["fp"]) if s["tp"] + s["fp"] else 1.0
        s["recall"] = s["tp"] / s["support"] if s["support"] else 1.0
        total = s["precision"] + s["recall"]
        s["f1"] = 2 * s["precision"] * s["recall"] / total if total else 0.0
    return stats, errors


def _table(stats: dict[str, dict]) -> list[str]:
    lines = [f"{'topic':<10}{'support':>8}{'precision':>11}{'recall':>8}{'F1':>7}"]
    lines += [
        f"{t:<10}{s['support']:>8}{s['precision']:>11.2f}{s['recall']:>8.2f}{s['f1']:>7.2f}"
        for t, s in stats.items()
        if t != "_negatives"
    ]
    neg = stats["_negatives"]
    lines.append(f"articles labelled with no topic: {neg['n']}; given no topic: {neg['clean']} ({neg['rate']:.0%})")
    return lines


def report(stats: dict[str, dict], errors: list[str], n: int) -> str:
    lines = [f"topic classification on {n} labelled articles", *_table(stats)]
    lines.append("confusions (what went wrong, on which article):")
    lines += [f"  {e}" for e in errors] or ["  none"]
    return "\n".join(lines)


def language_report(items: list[tuple[dict, str, str]]) -> str:
    """The per-topic table for each of LANGUAGES."""
    lines = []
    for language in LANGUAGES:
        subset = [i for i in items if i[0]["language"] == language]
        stats, _ = score(subset)
        lines += ["", f"{language}: {len(subset)} labelled articles", *_table(stats)]
    return "\n".join(lines)


def main() -> int:
    items = labelled_items()
    stats, errors = score(items)
    print(report(stats, errors, len(items)))
    print(language_report(items))
    if skipped := len(tomllib.loads(LABELS.read_text("utf-8"))["item"]) - len(items):
        missing = ", ".join(sorted(c for c in external.CORPORA if not _external_bodies(c)))
        print(f"\n{skipped} labelled articles of {missing} left out: the corpus is not in {external.data_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
