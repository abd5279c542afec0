"""Search quality: MRR and recall@5 of the judged queries in tests/fixtures/search_judgements.toml.

    python -m evaluation.search

The documents (seeds, corpora bodies, Russian feed entries, written items) are loaded into a
temporary warehouse through the same load as ingest, so this measures the real index and ranking.
"""

from __future__ import annotations

import json
import sys
import tempfile
import tomllib
from datetime import datetime
from pathlib import Path

from silkwatch.flows.ingest import save_rows
from silkwatch.parsers.classify import classify_topics
from silkwatch.parsers.dedupe import content_hash
from silkwatch.parsers.feeds import parse_feed
from silkwatch.parsers.model import ArticleCopy
from silkwatch.parsers.rows import copy_to_row
from silkwatch.parsers.seeds import parse_seed
from silkwatch.parsers.text import detect_language
from silkwatch.warehouse.db import open_warehouse
from silkwatch.warehouse.search import run_search

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


def documents() -> dict[str, ArticleCopy]:
    docs: dict[str, ArticleCopy] = {}

    def add(key: str, title: str, text: str) -> None:
        docs[key] = ArticleCopy(
            url=f"eval:{key}",
            title=title,
            text=text,
            source_name=None,
            published_at=None,
            published_from=None,
            language=detect_language(text),
            content_hash=content_hash(text),
        )

    for path in sorted((ROOT / "seeds").glob("*.txt")):
        seed = parse_seed(path.name, path.read_text("utf-8"))
        add(f"seed-{path.name[:3]}", seed.title, seed.text)
    for page_id, page in json.loads((FIXTURES / "corpora_bodies.json").read_text("utf-8"))["pages"].items():
        add(f"page-{page_id[:8]}", "", page["articleBody"])
    feed = parse_feed((FIXTURES / "feeds" / "newsru_com_rss20_cp1251.xml").read_bytes())
    for n, entry in enumerate(feed.entries):
        add(f"newsru-{n}", entry.title, entry.summary)
    for item in tomllib.loads((FIXTURES / "topic_labels.toml").read_text("utf-8"))["item"]:
        if "text" in item:
            add(item["id"], "", item["text"])
    for copy in docs.values():
        copy.topics = classify_topics(copy.title, copy.text)
    return docs


def evaluate() -> tuple[list[dict], int]:
    docs = documents()
    queries = tomllib.loads((FIXTURES / "search_judgements.toml").read_text("utf-8"))["query"]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "eval.duckdb"
        save_rows(db, [copy_to_row(c) for c in docs.values()], [], "eval", datetime(2026, 1, 1))
        with open_warehouse(db, read_only=True) as con:
            ids = dict(con.execute("SELECT url, article_id FROM article_sources").fetchall())
            key_of = {ids[f"eval:{k}"]: k for k in docs}
            results = []
            for q in queries:
                ranked = [key_of[h["article_id"]] for h in run_search(con, q["q"], limit=10)]
                relevant = set(q["relevant"])
                first = next((i for i, k in enumerate(ranked, 1) if k in relevant), None)
                recall5 = len(relevant & set(ranked[:5])) / len(relevant)
                results.append({"q": q["q"], "rr": 1 / first if first else 0.0, "first": first, "recall5": recall5})
    return results, len(docs)


def main() -> int:
    results, n_docs = evaluate()
    print(f"search quality: {len(results)} judged queries over {n_docs} documents")
    print(f"{'query':<46}{'first relevant':>15}{'recall@5':>10}")
    for r in results:
        print(f"{r['q'][:45]:<46}{r['first'] or '-':>15}{r['recall5']:>10.2f}")
    mrr = sum(r["rr"] for r in results) / len(results)
    recall5 = sum(r["recall5"] for r in results) / len(results)
    print(f"MRR {mrr:.3f}   recall@5 {recall5:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
