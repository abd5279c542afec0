"""Story clustering quality on the labelled set in tests/fixtures/story_labels.toml.

    python -m evaluation.stories

Each item is tagged (entities, topics) and described exactly as a load does, then all are
clustered in (date, id) order. Prints B-cubed and pairwise precision/recall/F1, overall and for the
cross-language pairs, each story with the clusters its items landed in, and every wrong merge.
"""

from __future__ import annotations

import sys
import tomllib
from collections import Counter
from datetime import datetime
from itertools import combinations
from pathlib import Path

from silkwatch.parsers.classify import classify_topics
from silkwatch.parsers.entities import tag_entities
from silkwatch.parsers.feeds import parse_feed
from silkwatch.parsers.seeds import parse_seed
from silkwatch.parsers.stories import ArticleFeatures, article_features, cluster

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "tests" / "fixtures" / "story_labels.toml"
TARGET_PRECISION, TARGET_RECALL = 0.9, 0.8


def labelled_items() -> list[dict]:
    """Every labelled item with its title and text."""
    out = []
    for item in tomllib.loads(LABELS.read_text("utf-8"))["item"]:
        source = item["source"]
        if source.startswith("seeds/"):
            article = parse_seed(source.removeprefix("seeds/"), (ROOT / source).read_text("utf-8"))
            title, text = article.title, article.text
        elif source.startswith("tests/fixtures/feeds/"):
            path, number = source.split(" ", 1)[0].split("#")
            entry = parse_feed((ROOT / path).read_bytes()).entries[int(number)]
            title, text = entry.title, entry.summary
        else:
            title, text = item["title"], item["text"]
        out.append({**item, "title": title, "text": text})
    return out


def features(item: dict) -> ArticleFeatures:
    topics = {label.topic for label in classify_topics(item["title"], item["text"])}
    mentions = tag_entities(item["title"], item["text"])
    when = datetime.fromisoformat(item["date"])
    return article_features(item["id"], when, item["language"], item["title"], item["text"], mentions, topics)


def bcubed(truth: dict[str, str], got: dict[str, str]) -> tuple[float, float]:
    by_truth, by_got = Counter(truth.values()), Counter(got.values())
    both = Counter((truth[i], got[i]) for i in truth)
    precision = sum(both[(truth[i], got[i])] / by_got[got[i]] for i in truth) / len(truth)
    recall = sum(both[(truth[i], got[i])] / by_truth[truth[i]] for i in truth) / len(truth)
    return precision, recall


def pairwise(truth: dict[str, str], got: dict[str, str], keep=lambda a, b: True) -> tuple[int, int, int]:
    """(true positive, false positive, false negative) pairs, over the pairs ``keep`` accepts."""
    tp = fp = fn = 0
    for a, b in combinations(sorted(truth), 2):
        if not keep(a, b):
            continue
        same_truth, same_got = truth[a] == truth[b], got[a] == got[b]
        tp += same_truth and same_got
        fp += same_got and not same_truth
        fn += same_truth and not same_got
    return tp, fp, fn


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def _ratio(a: int, b: int) -> float:
    return a / b if b else 1.0


def evaluate(items: list[dict]) -> dict:
    truth = {i["id"]: i["story"] for i in items}
    got = cluster([features(i) for i in items])
    language = {i["id"]: i["language"] for i in items}
    rows = {}
    p, r = bcubed(truth, got)
    rows["B-cubed"] = (p, r)
    for name, keep in (
        ("pairwise, all pairs", lambda a, b: True),
        ("pairwise, same language", lambda a, b: language[a] == language[b]),
        ("pairwise, cross-language", lambda a, b: language[a] != language[b]),
    ):
        tp, fp, fn = pairwise(truth, got, keep)
        rows[name] = (_ratio(tp, tp + fp), _ratio(tp, tp + fn))
    return {"rows": rows, "truth": truth, "got": got}


def main() -> int:
    items = labelled_items()
    result = evaluate(items)
    truth, got = result["truth"], result["got"]
    stories = sorted(set(truth.values()))
    multi = [s for s in stories if sum(v == s for v in truth.values()) > 1]
    languages = Counter(i["language"] for i in items)
    mix = ", ".join(f"{n} {k}" for k, n in sorted(languages.items()))
    print(f"Story clustering on {len(items)} labelled items ({mix}):")
    unrelated, found = len(stories) - len(multi), len(set(got.values()))
    print(f"{len(multi)} stories of several items, {unrelated} unrelated items; {found} clusters found\n")
    print("| measure | precision | recall | F1 |")
    print("|---|---:|---:|---:|")
    for name, (p, r) in result["rows"].items():
        print(f"| {name} | {p:.3f} | {r:.3f} | {_f1(p, r):.3f} |")
    print("\nper story: the clusters its items landed in (item ids)")
    for story in multi:
        members = sorted(i for i in truth if truth[i] == story)
        clusters = Counter(got[i] for i in members)
        mark = "ok " if len(clusters) == 1 else "split"
        print(f"  {mark} {story}: {len(members)} items in {len(clusters)} cluster(s)")
        if len(clusters) > 1:
            for cluster_id in sorted(clusters):
                print(f"        {cluster_id}: {', '.join(i for i in members if got[i] == cluster_id)}")
    wrong = sorted({got[a] for a in truth for b in truth if a < b and got[a] == got[b] and truth[a] != truth[b]})
    for cluster_id in wrong:
        members = sorted(i for i in got if got[i] == cluster_id)
        print(f"  merged different stories in {cluster_id}: " + ", ".join(f"{i} ({truth[i]})" for i in members))
    p, r = result["rows"]["B-cubed"]
    met = p >= TARGET_PRECISION and r >= TARGET_RECALL
    verdict = "met" if met else "NOT MET"
    print(f"\ntargets: precision >= {TARGET_PRECISION}, recall >= {TARGET_RECALL} (B-cubed): {verdict}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
