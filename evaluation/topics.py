"""Topic classification quality on the labelled set in tests/fixtures/topic_labels.toml.

    python -m evaluation.topics

Prints per-topic support, precision, recall and F1, and every error (false or missed label).
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

from parsers.classify import classify_topics, default_ruleset
from parsers.feeds import parse_feed
from parsers.seeds import parse_seed

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "tests" / "fixtures" / "topic_labels.toml"
BODIES = ROOT / "tests" / "fixtures" / "corpora_bodies.json"


def labelled_items() -> list[tuple[dict, str, str]]:
    """(item, title, text) for every labelled article."""
    items = tomllib.loads(LABELS.read_text("utf-8"))["item"]
    pages = json.loads(BODIES.read_text("utf-8"))["pages"]
    out = []
    for item in items:
        source = item["source"]
        if source.startswith("seeds/"):
            article = parse_seed(source.removeprefix("seeds/"), (ROOT / source).read_text("utf-8"))
            out.append((item, article.title, article.text))
        elif "corpora_bodies.json#" in source:
            page_id = source.split("#", 1)[1].split(" ", 1)[0]
            out.append((item, "", pages[page_id]["articleBody"]))
        elif source.startswith("tests/fixtures/feeds/"):
            path, number = source.split(" ", 1)[0].split("#")
            entry = parse_feed((ROOT / path).read_bytes()).entries[int(number)]
            out.append((item, entry.title, entry.summary))
        else:
            out.append((item, "", item["text"]))
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


def report(stats: dict[str, dict], errors: list[str], n: int) -> str:
    lines = [f"topic classification on {n} labelled articles",
             f"{'topic':<10}{'support':>8}{'precision':>11}{'recall':>8}{'F1':>7}"]  # fmt: skip
    lines += [
        f"{t:<10}{s['support']:>8}{s['precision']:>11.2f}{s['recall']:>8.2f}{s['f1']:>7.2f}"
        for t, s in stats.items()
        if t != "_negatives"
    ]
    neg = stats["_negatives"]
    lines.append(f"articles labelled with no topic: {neg['n']}; given no topic: {neg['clean']} ({neg['rate']:.0%})")
    lines.append("confusions (what went wrong, on which article):")
    lines += [f"  {e}" for e in errors] or ["  none"]
    return "\n".join(lines)


def main() -> int:
    items = labelled_items()
    stats, errors = score(items)
    print(report(stats, errors, len(items)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
