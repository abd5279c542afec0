"""Near-duplicate detection at scale: 10k, 30k and 100k articles, time and memory.

    python -m bench.dedupe [SIZES...]          (default: 10000 30000 100000)

Articles are built from real text: each distinct article is 8-16 sentences drawn from the ~2,000
sentences of the corpora reference bodies and the seeds; one in five is instead an edited copy of
an earlier article (a sentence dropped, two swapped, a new lede, quotes re-typed, another outlet's
footer). Every article is signed and looked up in the LSH index, then added: what ingest does per
copy. Prints the time per size, its growth, what was found against the truth, and peak memory.
"""

from __future__ import annotations

import json
import random
import resource
import sys
import time
from pathlib import Path

from silkwatch.parsers import neardup
from silkwatch.parsers.text import split_sentences

ROOT = Path(__file__).resolve().parents[1]


def sentence_pool() -> list[str]:
    pages = json.loads((ROOT / "tests/fixtures/corpora_bodies.json").read_text("utf-8"))["pages"]
    texts = [p["articleBody"] for p in pages.values()]
    texts += [p.read_text("utf-8") for p in sorted((ROOT / "seeds").glob("*.txt"))]
    return [s for t in texts for s in split_sentences(t) if len(s.split()) >= 6]


def build(n: int, pool: list[str], rng: random.Random) -> tuple[list[str], list[int | None]]:
    docs, truth = [], []  # truth[i]: the index of the article doc i copies, or None
    for i in range(n):
        if i and rng.random() < 0.2:
            j = rng.randrange(i)
            while truth[j] is not None:
                j = truth[j]
            sentences = docs[j].split("\n")
            if len(sentences) > 4:
                del sentences[rng.randrange(1, len(sentences))]
                k = rng.randrange(1, len(sentences) - 1)
                sentences[k], sentences[k + 1] = sentences[k + 1], sentences[k]
            sentences.insert(0, f"Officials confirmed the report on day {rng.randrange(365)}.")
            sentences.append("This story first appeared on Regional Wire.")
            docs.append("\n".join(sentences).replace("“", '"').replace("”", '"'))
            truth.append(j)
        else:
            docs.append("\n".join(rng.sample(pool, rng.randint(8, 16))))
            truth.append(None)
    return docs, truth


def run(n: int, pool: list[str]) -> dict:
    docs, truth = build(n, pool, random.Random(n))
    started = time.perf_counter()
    index = neardup.NearDupIndex()
    found: list[int | None] = []
    for i, text in enumerate(docs):
        sig = neardup.signature(text)
        match = index.find(sig) if sig is not None else None
        found.append(match)
        if sig is not None:
            index.add(i if match is None else match, sig)
    seconds = time.perf_counter() - started
    pairs = sum(t is not None for t in truth)
    hits = sum(t is not None and f == t for t, f in zip(truth, found, strict=True))
    false = sum(f is not None and f != t for t, f in zip(truth, found, strict=True))
    return {"n": n, "seconds": seconds, "copies": pairs, "recall": hits / pairs if pairs else 1.0, "false": false}


def main() -> int:
    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 30_000, 100_000]
    pool = sentence_pool()
    print(f"near-duplicate detection over synthetic articles from {len(pool)} real sentences (20% edited copies)")
    print(f"{'articles':>10}{'seconds':>9}{'us/article':>12}{'copies':>8}{'recall':>8}{'false merges':>14}")
    results = [run(n, pool) for n in sizes]
    for r in results:
        print(f"{r['n']:>10}{r['seconds']:>9.1f}{r['seconds'] / r['n'] * 1e6:>12.0f}{r['copies']:>8}"
              f"{r['recall']:>8.3f}{r['false']:>14}")  # fmt: skip
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    first, last = results[0], results[-1]
    growth = (last["seconds"] / first["seconds"]) / (last["n"] / first["n"])
    print(f"time growth from {first['n']} to {last['n']}: {growth:.2f}x of linear; peak RSS {peak_mib:.0f} MiB")
    print(" ".join(f"dedupe_{r['n'] // 1000}k_s={r['seconds']:.1f}" for r in results)
          + f" linearity={growth:.2f} peak_rss_mib={peak_mib:.0f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
