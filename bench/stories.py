"""Story clustering speed: N articles (default 100,000) clustered incrementally, in ingest batches.

    python -m bench.stories [N]

Synthetic events over two years, each reported by 1-30 articles in English, Russian and Chinese (a
summit, a visit, ... in a place, with people and organisations: the registry grown to 200 places and
1,000 actors), plus one article in three about nothing else (its own story). An article's features
are drawn from its event (entities with noise and other mentions, anchor and other event types,
topics) and its key terms from the words of real sentences (corpora bodies and seeds). Articles
arrive in batches of 500 in date order, 5% of them up to three days late. Feature extraction from
text is timed apart, on real texts (seeds and corpora sentences). Prints a table; the last line is
name=value pairs.
"""

from __future__ import annotations

import random
import resource
import sys
import time
from datetime import datetime, timedelta

from bench.dedupe import sentence_pool
from evaluation.stories import bcubed
from silkwatch.parsers.classify import default_ruleset
from silkwatch.parsers.entities import default_registry, tag_entities
from silkwatch.parsers.stories import ArticleFeatures, StoryIndex, article_features, default_rules
from silkwatch.parsers.tokenize import terms

BATCH = 500
LANGUAGES = ("en", "ru", "zh")


def synthetic_kinds() -> dict[str, str]:
    """The registry, grown to the size a mature beat's would have (200 places, 1,000 actors)."""
    kinds = dict(default_registry().kinds)
    kinds.update({f"place-{i}": "place" for i in range(200)})
    kinds.update({f"actor-{i}": ("person", "organisation")[i % 2] for i in range(1_000)})
    return kinds


def synthetic_articles(n: int, rng: random.Random) -> tuple[list[ArticleFeatures], dict[str, str]]:
    kinds = synthetic_kinds()
    places = sorted(e for e, k in kinds.items() if k == "place")
    actors = sorted(e for e, k in kinds.items() if k in ("person", "organisation", "initiative"))
    countries = sorted(e for e, k in kinds.items() if k in ("country", "region"))
    anchors = sorted(e.event_id for e in default_rules().events if e.anchor)
    others = sorted(e.event_id for e in default_rules().events if not e.anchor)
    vocabulary = sorted({t for s in sentence_pool() for t in terms(s) if len(t) >= 4})
    start = datetime(2024, 1, 1)
    out, truth = [], {}
    event_no = 0
    while len(out) < n:
        event_no += 1
        day = start + timedelta(minutes=rng.randrange(730 * 24 * 60))
        solo = rng.random() < 0.33
        size = 1 if solo else min(30, int(rng.expovariate(1 / 6)) + 2)
        place, anchor = rng.choice(places), rng.choice(anchors)
        cast = [rng.choice(actors[:40]), *rng.sample(actors, 2)]  # a few actors are in everything
        words = {lang: rng.sample(vocabulary, 25) for lang in LANGUAGES}
        topics = set(rng.sample(default_ruleset().names, rng.randint(0, 2)))
        for k in range(min(size, n - len(out))):
            lang = rng.choice(LANGUAGES)
            entities = {place: 3.0 + rng.randint(0, 3), cast[0]: 2.0 + rng.randint(0, 4)}
            for e in cast[1:] + rng.sample(countries, 2) + rng.sample(actors, 1):
                if rng.random() < 0.6:
                    entities[e] = entities.get(e, 0.0) + rng.randint(1, 3)
            events = {anchor: 3.0 + rng.random() * 2, rng.choice(others): rng.random() * 2}
            key = frozenset(rng.sample(words[lang], 10) + rng.sample(vocabulary, 5))
            when = day + timedelta(hours=rng.uniform(-48, 72))
            article_id = f"{event_no:07d}-{k:02d}"
            out.append(ArticleFeatures(article_id, when, lang, f"title {article_id}", entities, events,
                                       frozenset(topics), key))  # fmt: skip
            truth[article_id] = str(event_no)
    return out, truth


def arrival_batches(articles: list[ArticleFeatures], rng: random.Random) -> list[list[ArticleFeatures]]:
    """Date order, 5% up to three days late; each batch clustered in (date, id) order, as ingest does."""
    arrival = sorted(articles, key=lambda a: a.when + timedelta(hours=rng.uniform(0, 72) if rng.random() < 0.05 else 0))
    batches = [arrival[i : i + BATCH] for i in range(0, len(arrival), BATCH)]
    return [sorted(b, key=lambda a: (a.when, a.article_id)) for b in batches]


def extraction_rate(rng: random.Random, n: int = 5_000) -> float:
    """Articles per second for article_features on real sentences (the entity mentions are read from
    article_entities, tagged at load: not timed here)."""
    pool = sentence_pool()
    docs = [" ".join(rng.sample(pool, rng.randint(8, 16))) for _ in range(n)]
    mentions = [tag_entities(text[:80], text) for text in docs]
    started = time.perf_counter()
    for i, text in enumerate(docs):
        article_features(str(i), datetime(2024, 1, 1), "en", text[:80], text, mentions[i], set())
    return n / (time.perf_counter() - started)


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = random.Random(n)
    articles, truth = synthetic_articles(n, rng)
    batches = arrival_batches(articles, rng)
    index = StoryIndex(kinds=synthetic_kinds())
    got: dict[str, str] = {}
    started = time.perf_counter()
    marks = {}
    for b, batch in enumerate(batches, 1):
        for art in batch:
            got[art.article_id] = index.add(art)
        done = b * BATCH
        if done in (10_000, 30_000) or b == len(batches):
            marks[min(done, n)] = (time.perf_counter() - started, len(index.stories))
    seconds = time.perf_counter() - started
    p, r = bcubed(truth, got)
    per_s = extraction_rate(rng)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("| articles | seconds | articles/s | stories |")
    print("|---:|---:|---:|---:|")
    for count, (secs, stories) in marks.items():
        print(f"| {count:,} | {secs:.1f} | {count / secs:,.0f} | {stories:,} |")
    print(f"\nagainst the synthetic events: B-cubed precision {p:.3f}, recall {r:.3f}; "
          f"{len(set(truth.values())):,} events")  # fmt: skip
    print(f"features from real text (events, key terms; article_features): {per_s:,.0f} articles/s")
    print(f"stories_{n // 1000}k_s={seconds:.1f} stories_per_s={n / seconds:.0f} peak_rss_mib={peak:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
