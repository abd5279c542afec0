"""Near-duplicate detection quality on pairs built from real articles.

    python -m evaluation.dedupe

Base articles: the 5 seeds (cleaned) and the 50 reference bodies of shared/corpora/pages (copied in
tests/fixtures/corpora_bodies.json). Positive pairs: each base with an edited copy of itself —
another outlet's header and footer, a paragraph dropped, paragraphs reordered, a new first line
(a rewritten lede), quotes and dashes re-typed, shortened to its first 60%, and all of these at
once. Negative pairs: every two different base articles (the seeds cover the same beat and events
close in time). Prints precision and recall per decision rule, and what LSH banding finds.
"""

from __future__ import annotations

import itertools
import json
import random
import sys
from pathlib import Path

from parsers import neardup
from parsers.clean import clean_text
from parsers.seeds import parse_seed

ROOT = Path(__file__).resolve().parents[1]

EDITS = ("outlet header/footer", "paragraph dropped", "paragraphs reordered", "lede rewritten",
         "quotes re-typed", "shortened to 60%", "all combined")  # fmt: skip


def base_articles() -> list[tuple[str, list[str]]]:
    bases = []
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        bases.append((path.name, parse_seed(path.name, path.read_text("utf-8")).text.split("\n\n")))
    pages = json.loads((ROOT / "tests/fixtures/corpora_bodies.json").read_text("utf-8"))["pages"]
    for page_id, page in sorted(pages.items()):
        paragraphs = clean_text(page["articleBody"]).paragraphs
        if len(" ".join(paragraphs).split()) >= 60:
            bases.append((page_id[:8], paragraphs))
    return bases


def edit(paragraphs: list[str], kind: str, rng: random.Random) -> list[str]:
    p = list(paragraphs)
    if kind in ("outlet header/footer", "all combined"):
        p = ["Breaking News Network", "By staff reporters", *p, "Follow our Telegram channel for more news",
             "© 2024 Breaking News Network"]  # fmt: skip
    if kind in ("paragraph dropped", "all combined") and len(p) > 3:
        del p[rng.randrange(1, len(p) - 1)]
    if kind == "paragraphs reordered" and len(p) > 3:
        i = rng.randrange(1, len(p) - 1)
        p[i], p[i + 1] = p[i + 1], p[i]
    if kind in ("lede rewritten", "all combined"):
        p.insert(0, "In a development closely watched across the region, officials confirmed the news on Monday.")
    if kind in ("quotes re-typed", "all combined"):
        p = [x.replace("“", '"').replace("”", '"').replace("’", "'").replace(" – ", " - ") for x in p]
    if kind == "shortened to 60%":
        p = p[: max(2, int(len(p) * 0.6))]
    return clean_text("\n\n".join(p)).paragraphs  # copies go through the same cleaner as everything


def main() -> int:
    rng = random.Random(5)
    bases = base_articles()
    sigs = {name: neardup.signature("\n".join(p)) for name, p in bases}
    positives = []
    for name, paragraphs in bases:
        for kind in EDITS:
            copy = neardup.signature("\n".join(edit(paragraphs, kind, rng)))
            positives.append((kind, sigs[name], copy))
    negatives = [(sigs[a], sigs[b]) for (a, _), (b, _) in itertools.combinations(bases, 2) if sigs[a] and sigs[b]]
    positives = [(k, a, b) for k, a, b in positives if a and b]

    def jac(a, b):
        return neardup.estimated_jaccard(a.values, b.values)

    print(f"near-duplicate detection: {len(bases)} base articles, {len(positives)} edited-copy pairs, "
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
