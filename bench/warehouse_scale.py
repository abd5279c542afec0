"""A warehouse of a million articles: the weekly digest, the per-topic per-day count, the Parquet export.

    python -m bench.warehouse_scale [N]          (default 1000000)

The warehouse is built in a temp folder through the real schema (``open_warehouse`` runs the
migrations), in bulk SQL over a pool of real sentences (the corpora bodies and the seeds):

- articles: 4-8 sentences of text (~0.9 kB), a sentence as title, the first two as summary, one of
  the outlets of ``seeds/feeds.toml``; first seen over three years in arrival order (~6,400 a
  week), published 0-36 hours before (8% with no date); mostly English, some Russian and Chinese;
- article_topics: 60% of articles have a topic, a third of those a second one, with a score,
  evidence phrases and matches; article_entities: half of the articles name one or two entities;
- article_sources: 1-3 copies per article from different outlets, seen within hours;
- stories: 60% of articles in events of ~5 articles over about two days, the rest alone, with the
  per-story counts the digest's "Top stories" lead reads;
- feeds (the configured list, two failing), runs and fetch_log (a feed check every two hours),
  and the weekly digests of every earlier week (with their article ids).

No search index or near-duplicate signatures: neither the digest nor the counts read them.
Then it measures, warm (imports paid once, as in a long-running ``silkwatch serve``):
``digest_1m_ms`` the weekly digest ending at the newest article (``write_digest``: queries,
markdown, HTML, chart, digests row), median of 5 and the first call; ``query_topic_counts_1m_ms``
the per-topic per-day count over the whole warehouse (``warehouse.queries.daily_topic_counts``),
median of 5; and ``export_1m_s``, ``silkwatch export --parquet`` of the whole warehouse.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa

from bench.dedupe import sentence_pool
from silkwatch.warehouse.db import open_warehouse

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 23, 7, 0)  # a Monday 07:00: when the weekly digest runs
SPAN = timedelta(days=3 * 365)
RUNS = 5
EVIDENCE = {  # phrases topics.toml matches, strongest first
    "SCO": ["Shanghai Cooperation Organisation", "SCO", "Regional Anti-Terrorist Structure", "ШОС"],
    "BRI": ["Belt and Road", "BRI", "China-Europe railway", "New Silk Road"],
    "security": ["terrorism", "military exercises", "border security", "extremism"],
    "trade": ["bilateral trade", "exports", "customs", "trade turnover"],
}


def _seconds(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def build(db: Path, n: int) -> None:
    """The warehouse of ``n`` articles, in a handful of bulk statements."""
    pool = sentence_pool()
    feeds = tomllib.loads((ROOT / "seeds/feeds.toml").read_text("utf-8"))["feed"]
    entities = tomllib.loads((ROOT / "parsers/rules/entities.toml").read_text("utf-8"))["entity"]
    evidence = pa.table({"topic": list(EVIDENCE), "phrases": list(EVIDENCE.values())})
    params = {"n": n, "start": NOW - SPAN, "span_us": int(SPAN.total_seconds() * 1e6)}
    with open_warehouse(db) as con:
        con.execute("SET enable_progress_bar = false")
        con.register("_pool", pa.table({"s": pool}))
        con.register("_feeds", pa.table({"url": [f["url"] for f in feeds], "name": [f["name"] for f in feeds]}))
        names = {"id": [e["id"] for e in entities], "name": [e["names"][0] for e in entities]}
        con.register("_entities", pa.table(names))
        con.register("_evidence", evidence)
        # rnd(key, salt, m): a deterministic pseudo-random integer in [0, m)
        con.execute("CREATE TEMP MACRO rnd(k, salt, m) AS (hash(k, salt) % m)::BIGINT")
        con.execute("CREATE TEMP TABLE p AS SELECT list(s) AS s, count(*)::BIGINT AS ps FROM _pool")
        con.execute(
            "CREATE TEMP TABLE o AS SELECT list(name) AS names, list(url) AS feeds, count(*)::BIGINT AS os FROM _feeds"
        )
        con.execute(
            """
            CREATE TEMP TABLE base AS
            SELECT i, md5(i::VARCHAR)[:16] AS article_id,
                   $start + to_microseconds(i * ($span_us // $n) + rnd(i, 'j', 60_000_000)) AS seen,
                   1 + rnd(i, 'o', os) AS outlet,
                   list_transform(range(4 + rnd(i, 'k', 5)), lambda k: s[1 + rnd(i, k, ps)]) AS sentences
            FROM range($n) r(i), p, o
            """,
            params,
        )
        con.execute(
            """
            INSERT INTO articles (article_id, title, text, summary, source_name, url, published_at, published_from,
                                  first_seen_at, language, content_hash, word_count, text_source_url, date_source_url)
            SELECT article_id, left(sentences[1], 110), array_to_string(sentences, chr(10) || chr(10)),
                   sentences[2] || ' ' || sentences[3], names[outlet], u,
                   CASE WHEN rnd(i, 'd', 100) >= 8 THEN seen - to_minutes(rnd(i, 'p', 2160)) END,
                   CASE WHEN rnd(i, 'd', 100) >= 8 THEN 'feed' END, seen,
                   CASE WHEN rnd(i, 'l', 10) < 8 THEN 'en' WHEN rnd(i, 'l', 10) = 8 THEN 'ru' ELSE 'zh' END,
                   sha256(article_id), len(string_split(array_to_string(sentences, ' '), ' ')), u, u
            FROM (SELECT *, regexp_extract(feeds[outlet], '^https?://[^/]+') || strftime(seen, '/%Y/%m/%d/')
                            || article_id AS u FROM base, o)
            ORDER BY i
            """
        )
        con.execute(
            """
            INSERT INTO article_sources (url, article_id, feed_url, seen_at, source_name, title, content_hash,
                                         removed_lines, text_from)
            SELECT CASE WHEN c = 0 THEN a.url
                        ELSE regexp_extract(feeds[o2], '^https?://[^/]+') || '/world/' || a.article_id END,
                   a.article_id,
                   feeds[o2], a.first_seen_at + to_minutes(c * rnd(b.i, c, 240)), names[o2], a.title,
                   CASE WHEN c = 0 THEN a.content_hash ELSE sha256(a.article_id || c) END, [], 'page'
            FROM base b JOIN articles a USING (article_id), o,
                 unnest(range(CASE WHEN rnd(b.i, 'c', 100) < 50 THEN 1 WHEN rnd(b.i, 'c', 100) < 85 THEN 2
                                   ELSE 3 END)) u(c),
                 LATERAL (SELECT 1 + (b.outlet - 1 + c * 7) % os AS o2)
            ORDER BY b.i, c
            """
        )
        con.execute(
            """
            INSERT INTO article_topics
            SELECT b.article_id, e.topic, 2.5 + rnd(b.i, t, 60) / 10, e.phrases[:1 + rnd(b.i, t + 10, 4)],
                   list_transform(e.phrases[:1 + rnd(b.i, t + 10, 4)],
                                  lambda ph: {'phrase': ph, 'field': 'text', 'start': rnd(b.i, ph, 900)::INTEGER,
                                              'weight': 2.0}),
                   '2026.11.23-2', b.seen
            FROM base b, unnest(CASE WHEN rnd(b.i, 't', 100) >= 60 THEN []
                                     WHEN rnd(b.i, 't', 100) < 20 THEN [rnd(b.i, 'a', 4), (rnd(b.i, 'a', 4) + 1) % 4]
                                     ELSE [rnd(b.i, 'a', 4)] END) u(t),
                 (SELECT list(topic) AS topics FROM _evidence) tl
            JOIN _evidence e ON e.topic = tl.topics[1 + t]
            ORDER BY b.i
            """
        )
        con.execute(
            """
            INSERT INTO article_entities
            SELECT b.article_id, ids[1 + rnd(b.i, k, es)], names[1 + rnd(b.i, k, es)], 'text',
                   rnd(b.i, k + 10, 800)::INTEGER
            FROM base b, unnest(range(CASE WHEN rnd(b.i, 'n', 2) = 0 THEN 1 + rnd(b.i, 'm', 2) ELSE 0 END)) u(k),
                 (SELECT list(id) AS ids, list(name) AS names, count(*)::BIGINT AS es FROM _entities)
            ORDER BY b.i
            """
        )
        con.execute(
            """
            INSERT INTO feeds (feed_url, name, language, added_at, last_checked_at, last_success_at, last_error,
                               consecutive_failures, next_due_at, items_last_seen, last_new_item_at)
            SELECT url, name, 'en', $start, $now - INTERVAL 1 HOUR,
                   CASE WHEN row_number() OVER () > 2 THEN $now - INTERVAL 1 HOUR ELSE $now - INTERVAL 9 DAY END,
                   CASE WHEN row_number() OVER () <= 2 THEN 'HTTP 503 Service Unavailable' END,
                   CASE WHEN row_number() OVER () <= 2 THEN 40 ELSE 0 END, $now + INTERVAL 30 MINUTE, 20, $now
            FROM _feeds
            """,
            {"start": params["start"], "now": NOW},
        )
        con.execute(
            """
            INSERT INTO runs (run_id, started_at, finished_at, status, seeds_read, seeds_failed, feeds_ok,
                              feeds_failed, copies_seen, articles_new, sources_new, duplicates)
            SELECT strftime(t, '%Y%m%dT%H%M%S') || '-bench', t, t + INTERVAL 40 SECOND, 'ok', 0, 0, 21, 0, 0, 0, 0, 0
            FROM generate_series($start, $now - INTERVAL 2 HOUR, INTERVAL 2 HOUR) g(t)
            """,
            {"start": params["start"], "now": NOW},
        )
        con.execute(
            """
            INSERT INTO fetch_log
            SELECT r.started_at + INTERVAL 1 SECOND, r.run_id, f.url, 'feed', 'ok', 200,
                   40000 + rnd(r.run_id, f.url, 90000), 100 + rnd(f.url, r.run_id, 900), NULL
            FROM runs r, _feeds f ORDER BY r.started_at, f.url
            """
        )
        con.execute(
            """
            INSERT INTO digests
            SELECT 'week:digest-week-' || strftime(week_end, '%Y-%m-%d') || '.md', 'week', week_end - INTERVAL 7 DAY,
                   week_end, week_end, 'reports/digest-week-' || strftime(week_end, '%Y-%m-%d') || '.md',
                   list(article_id ORDER BY first_seen_at), week_end + INTERVAL 1 MINUTE, NULL, 'sent', NULL
            FROM (SELECT article_id, first_seen_at,
                         $now - INTERVAL 7 DAY * (1 + floor(epoch($now - INTERVAL 7 DAY - first_seen_at)
                                                            / (7 * 86400))::INTEGER) AS week_end
                  FROM articles WHERE first_seen_at < $now - INTERVAL 7 DAY)
            GROUP BY week_end
            """,
            {"now": NOW},
        )
        # Stories: 60% of articles belong to an event covered by ~5 articles over about two days,
        # the rest are stories of one article, as clustering leaves them.
        con.execute(
            """
            INSERT INTO story_articles
            SELECT article_id,
                   'st-' || CASE WHEN rnd(i, 'q', 100) < 60 THEN (i // 2000)::VARCHAR || '-' || rnd(i, 's', 240)
                                 ELSE article_id END,
                   seen
            FROM base ORDER BY i
            """
        )
        con.execute(
            """
            INSERT INTO stories
            SELECT story_id, min(a.title), min(a.article_id), min(coalesce(a.published_at, a.first_seen_at)),
                   max(coalesce(a.published_at, a.first_seen_at)), mode(a.first_seen_at::DATE), count(*),
                   count(DISTINCT a.source_name), count(DISTINCT a.language), list(DISTINCT a.source_name),
                   list(DISTINCT a.language), [], min(a.first_seen_at), max(a.first_seen_at), '2026.11.23-1', '{}'
            FROM story_articles sa JOIN articles a USING (article_id)
            GROUP BY story_id ORDER BY min(a.first_seen_at)
            """
        )
        for name in ("_pool", "_feeds", "_entities", "_evidence"):
            con.unregister(name)
        con.execute("CHECKPOINT")


def measure(db: Path, reports: Path, export_dir: Path | None) -> dict:
    from silkwatch.flows.digest import write_digest
    from silkwatch.warehouse.queries import daily_topic_counts

    first = _seconds(lambda: write_digest(db, reports, "week", NOW))
    digest = [_seconds(lambda: write_digest(db, reports, "week", NOW)) for _ in range(RUNS)]
    shown = write_digest(db, reports, "week", NOW)
    md = shown.path.read_text("utf-8")
    with open_warehouse(db, read_only=True) as con:
        whole = [_seconds(lambda: daily_topic_counts(con, None, NOW)) for _ in range(RUNS)]
        days = len(daily_topic_counts(con, None, NOW))
    figures = {
        "digest_first_ms": first * 1000,
        "digest_ms": statistics.median(digest) * 1000,
        "digest_articles": len(shown.article_ids),
        "digest_kib": len(md.encode()) / 1024,
        "digest_html_kib": shown.html_path.stat().st_size / 1024,
        "counts_ms": statistics.median(whole) * 1000,
        "counts_rows": days,
    }
    if export_dir is not None:
        from silkwatch.warehouse.export import export_parquet

        figures["export_s"] = _seconds(lambda: export_parquet(db, export_dir))
        figures["export_mib"] = sum(f.stat().st_size for f in export_dir.rglob("*") if f.is_file()) / 2**20
    return figures


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        build_s = _seconds(lambda: build(db, n))
        db_mib = db.stat().st_size / 2**20
        with open_warehouse(db, read_only=True) as con:
            counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                      for t in ("articles", "article_sources", "article_topics", "article_entities", "stories",
                                "digests", "fetch_log")}  # fmt: skip
            text_mb = con.execute("SELECT sum(strlen(text)) / 1e6 FROM articles").fetchone()[0]
        try:
            from silkwatch.warehouse import export  # noqa: F401 - the export is measured when this silkwatch has it

            export_dir: Path | None = Path(tmp) / "parquet"
        except ImportError:
            export_dir = None
        f = measure(db, Path(tmp) / "reports", export_dir)
    k = f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}m"
    print(f"warehouse of {n:,} articles: " + ", ".join(f"{v:,} {t}" for t, v in counts.items()))
    print(f"built in {build_s:.1f} s; {text_mb:,.0f} MB of article text; file {db_mib:,.0f} MiB")
    print(f"{'measure':<44}{'value':>12}")
    print(f"{'weekly digest, median of ' + str(RUNS) + ' (warm)':<44}{f['digest_ms']:>9.0f} ms")
    print(f"{'weekly digest, first call':<44}{f['digest_first_ms']:>9.0f} ms")
    print(f"{'  articles covered':<44}{f['digest_articles']:>12,}")
    print(f"{'  markdown / HTML size':<44}{f['digest_kib']:>7.0f} / {f['digest_html_kib']:.0f} KiB")
    print(f"{'per-topic per-day count, whole warehouse':<44}{f['counts_ms']:>9.0f} ms  ({f['counts_rows']:,} rows)")
    last = (f"digest_{k}_ms={f['digest_ms']:.0f} digest_first_{k}_ms={f['digest_first_ms']:.0f} "
            f"query_topic_counts_{k}_ms={f['counts_ms']:.0f} build_s={build_s:.1f} db_mib={db_mib:.0f}")  # fmt: skip
    if "export_s" in f:
        print(
            f"{'Parquet export (silkwatch export --parquet)':<44}{f['export_s']:>10.1f} s  ({f['export_mib']:,.0f} MiB)"
        )
        last += f" export_{k}_s={f['export_s']:.1f} export_mib={f['export_mib']:.0f}"
    print(last)
    return 0


if __name__ == "__main__":
    sys.exit(main())
