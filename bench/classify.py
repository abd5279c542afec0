"""Classification and entity tagging speed over N articles (default 10,000).

    python -m bench.classify [N]

Articles are 8-16 real sentences each (corpora bodies and seeds). Times classify_topics and
tag_entities together, as ingest and `silkwatch reclassify` run them.
"""

from __future__ import annotations

import random
import sys
import time

from bench.dedupe import sentence_pool
from silkwatch.parsers.classify import classify_topics
from silkwatch.parsers.entities import tag_entities


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    pool, rng = sentence_pool(), random.Random(n)
    docs = [" ".join(rng.sample(pool, rng.randint(8, 16))) for _ in range(n)]
    started = time.perf_counter()
    labels = mentions = 0
    for text in docs:
        labels += len(classify_topics("", text))
        mentions += len(tag_entities("", text))
    seconds = time.perf_counter() - started
    print(f"classify + tag entities: {n} articles in {seconds:.1f} s ({n / seconds:,.0f}/s); "
          f"{labels} topic labels, {mentions} entity mentions")  # fmt: skip
    print(f"classify_{n // 1000}k_s={seconds:.1f} classify_per_s={n / seconds:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
