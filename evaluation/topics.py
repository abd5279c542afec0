"""Topic classification quality on the labelled set in tests/fixtures/topic_labels.toml.

    python -m evaluation.topics

Prints per-topic support, precision, recall and F1, and every error (false or missed label).
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

from parsers.classify import classify_topics
from parsers.model import TOPICS
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
        else:
            out.append((item, "", item["text"]))
    return out


def score(items: list[tuple[dict, str, str]]) -> tuple[dict[str, dict], list[str]]:
    stats = {t: {"tp": 0, "fp": 0, "fn": 0} for t in TOPICS}
    errors = []
    for item, title, text in items:
        got = {label.topic for label in classify_topics(title, text)}
        want = set(item["topics"])
        for topic in TOPICS:
            key = "tp" if topic in got and topic in want else "fp" if topic in got else "fn" if topic in want else None
            if key:
                stats[topic][key] += 1
            if key == "fp":
                errors.append(f"false {topic}: {item['id']}")
            elif key == "fn":
                errors.append(f"missed {topic}: {item['id']}")
    for s in stats.values():
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
        f"{t:<10}{s['support']:>8}{s['precision']:>11.2f}{s['recall']:>8.2f}{s['f1']:>7.2f}" for t, s in stats.items()
    ]
    lines += [f"  {e}" for e in errors] or ["  no errors"]
    return "\n".join(lines)


def main() -> int:
    items = labelled_items()
    stats, errors = score(items)
    print(report(stats, errors, len(items)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
