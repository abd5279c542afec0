"""Extraction quality: silkwatch's page extraction vs bare trafilatura, on pages with ground truth.

    python evaluation/extraction.py [CORPUS_DIR]     (default: ../shared/corpora/pages)

Scores are token precision, recall and F1 (multiset overlap of lower-cased word tokens) against
each page's reference body, averaged over pages, and micro-averaged over all tokens.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

import trafilatura

from parsers.extract import extract_page

_TOKEN = re.compile(r"\w+", re.UNICODE)


def tokens(text: str) -> Counter:
    return Counter(t.casefold() for t in _TOKEN.findall(text or ""))


def prf(got: Counter, want: Counter) -> tuple[float, float, float, int, int, int]:
    overlap = sum((got & want).values())
    g, w = sum(got.values()), sum(want.values())
    p = overlap / g if g else (1.0 if not w else 0.0)
    r = overlap / w if w else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f, overlap, g, w


def evaluate(corpus: Path) -> dict[str, dict]:
    truth = json.loads((corpus / "ground_truth.json").read_text("utf-8"))
    systems = {
        "silkwatch (trafilatura + cleaner)": lambda html, url: p.text if (p := extract_page(html, url)) else "",
        "bare trafilatura.extract": lambda html, url: trafilatura.extract(html, url=url) or "",
    }
    results = {}
    for name, system in systems.items():
        scores, totals, started = [], [0, 0, 0], time.perf_counter()
        for item in truth.values():
            html = (corpus / item["html_file"]).read_bytes()
            p, r, f, overlap, g, w = prf(tokens(system(html, item["url"])), tokens(item["articleBody"]))
            scores.append((p, r, f))
            totals = [totals[0] + overlap, totals[1] + g, totals[2] + w]
        n = len(scores)
        micro_p, micro_r = totals[0] / totals[1], totals[0] / totals[2]
        results[name] = {
            "pages": n,
            "precision": sum(s[0] for s in scores) / n,
            "recall": sum(s[1] for s in scores) / n,
            "f1": sum(s[2] for s in scores) / n,
            "micro_f1": 2 * micro_p * micro_r / (micro_p + micro_r),
            "seconds": time.perf_counter() - started,
        }
    return results


def main() -> int:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "../shared/corpora/pages"
    if not (corpus / "ground_truth.json").exists():
        print(f"{corpus}: no ground_truth.json here; pass the corpus folder", file=sys.stderr)
        return 2
    results = evaluate(corpus.resolve())
    print(f"extraction quality on {next(iter(results.values()))['pages']} pages of {corpus.resolve()}")
    print(f"{'system':<36}{'precision':>10}{'recall':>8}{'F1':>7}{'micro F1':>10}{'seconds':>9}")
    for name, r in results.items():
        print(
            f"{name:<36}{r['precision']:>10.3f}{r['recall']:>8.3f}{r['f1']:>7.3f}{r['micro_f1']:>10.3f}{r['seconds']:>9.1f}"
        )
    ours, bare = results.values()
    verdict = "not lower" if ours["f1"] >= bare["f1"] - 1e-9 else "LOWER"
    print(f"silkwatch F1 is {verdict} than bare trafilatura ({ours['f1']:.3f} vs {bare['f1']:.3f})")
    return 0 if verdict == "not lower" else 1


if __name__ == "__main__":
    sys.exit(main())
