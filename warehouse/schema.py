"""The warehouse schema as numbered migrations, recorded in ``schema_migrations``.

Each migration is a named function applied once, in its own transaction (a fresh file's all in
one). ``ensure_db_shape`` is idempotent: it applies whatever a database has not seen yet and
nothing else. Never edit a released migration; add the next one. docs/schema.md documents the tables.

Referential integrity (every source and topic row points at an article) is kept by the loads, in
one transaction each, and checked by ``warehouse.db.check_integrity``: DuckDB's foreign keys would
forbid the in-place updates that merges need.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from silkwatch.warehouse.clock import utc_now
from silkwatch.warehouse.tx import transaction

# Migration 1's constraint, kept as released; migration 11 drops it (topics are the rules file's).
TOPIC_CHECK = "topic IN ('SCO', 'BRI', 'security', 'trade')"


def m001_initial(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE TABLE articles (
            article_id      VARCHAR PRIMARY KEY,       -- stable: from the first copy's content hash
            title           VARCHAR NOT NULL,
            text            VARCHAR NOT NULL,          -- clean body, paragraphs separated by blank lines
            summary         VARCHAR,                   -- first sentences of text, for digests
            source_name     VARCHAR,                   -- outlet; NULL when the copy does not name it
            url             VARCHAR NOT NULL,          -- canonical URL of the first copy, or seed:<file>
            published_at    TIMESTAMP,                 -- NULL when unknown; never invented
            published_from  VARCHAR,                   -- where published_at came from (text, feed, page)
            first_seen_at   TIMESTAMP NOT NULL,        -- UTC
            language        VARCHAR,                   -- ISO 639-1 guess, NULL when unsure
            content_hash    VARCHAR NOT NULL UNIQUE,   -- sha256 of the normalised clean text
            word_count      INTEGER NOT NULL
        )
        """
    )
    con.execute(
        """
        CREATE TABLE article_sources (
            url             VARCHAR PRIMARY KEY,       -- as fetched, or seed:<file name>
            article_id      VARCHAR NOT NULL,
            feed_url        VARCHAR,                   -- NULL for seeds
            seen_at         TIMESTAMP NOT NULL,        -- UTC, first time this copy was seen
            source_name     VARCHAR,
            title           VARCHAR,
            content_hash    VARCHAR NOT NULL,          -- of this copy's clean text
            removed_lines   STRUCT(line_no INTEGER, rule VARCHAR, text VARCHAR)[]  -- what the cleaner removed
        )
        """
    )
    con.execute(
        f"""
        CREATE TABLE article_topics (
            article_id      VARCHAR NOT NULL,
            topic           VARCHAR NOT NULL CHECK ({TOPIC_CHECK}),
            score           DOUBLE NOT NULL,
            evidence        VARCHAR[] NOT NULL,        -- distinct matched phrases, strongest first
            matches         STRUCT(phrase VARCHAR, field VARCHAR, "start" INTEGER, weight DOUBLE)[] NOT NULL,
            rules_version   VARCHAR NOT NULL,
            classified_at   TIMESTAMP NOT NULL,
            PRIMARY KEY (article_id, topic)
        )
        """
    )
    con.execute(
        """
        CREATE TABLE feeds (
            feed_url             VARCHAR PRIMARY KEY,
            name                 VARCHAR,
            language             VARCHAR,
            added_at             TIMESTAMP NOT NULL,
            last_checked_at      TIMESTAMP,
            last_success_at      TIMESTAMP,
            last_error           VARCHAR,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            etag                 VARCHAR,
            last_modified        VARCHAR,
            next_due_at          TIMESTAMP,
            items_last_seen      INTEGER
        )
        """
    )
    con.execute(
        """
        CREATE TABLE fetch_log (
            fetched_at   TIMESTAMP NOT NULL,
            run_id       VARCHAR,
            url          VARCHAR NOT NULL,
            kind         VARCHAR NOT NULL,             -- seed, feed, page
            status       VARCHAR NOT NULL,             -- ok, not_modified, error, skipped
            http_status  INTEGER,
            bytes        BIGINT,
            ms           DOUBLE,
            error        VARCHAR
        )
        """
    )
    con.execute(
        """
        CREATE TABLE runs (
            run_id          VARCHAR PRIMARY KEY,
            started_at      TIMESTAMP NOT NULL,
            finished_at     TIMESTAMP,
            status          VARCHAR NOT NULL,          -- running, ok, partial, failed
            seeds_read      INTEGER,
            seeds_failed    INTEGER,
            feeds_ok        INTEGER,
            feeds_failed    INTEGER,
            copies_seen     INTEGER,
            articles_new    INTEGER,
            sources_new     INTEGER,
            duplicates      INTEGER,
            digest_path     VARCHAR,
            error           VARCHAR
        )
        """
    )
    con.execute(
        """
        CREATE TABLE digests (
            digest_id       VARCHAR PRIMARY KEY,
            kind            VARCHAR NOT NULL,          -- day, week, all
            period_start    TIMESTAMP,
            period_end      TIMESTAMP NOT NULL,
            created_at      TIMESTAMP NOT NULL,
            path            VARCHAR NOT NULL,
            article_ids     VARCHAR[] NOT NULL,
            sent_at         TIMESTAMP,
            message_id      VARCHAR,
            status          VARCHAR NOT NULL,          -- written, sent, send_failed
            error           VARCHAR
        )
        """
    )
    con.execute("CREATE INDEX articles_first_seen ON articles (first_seen_at)")
    con.execute("CREATE INDEX sources_article ON article_sources (article_id)")


def m002_feed_articles(con: duckdb.DuckDBPyConnection) -> None:
    """Columns for articles that come from feeds and pages."""
    con.execute("ALTER TABLE articles ADD COLUMN author VARCHAR")
    con.execute("ALTER TABLE articles ADD COLUMN date_note VARCHAR")  # why a stated date was not trusted
    con.execute("ALTER TABLE article_sources ADD COLUMN text_from VARCHAR")  # text, page, feed-summary
    con.execute("ALTER TABLE feeds ADD COLUMN title VARCHAR")  # the feed's own title
    con.execute("ALTER TABLE feeds ADD COLUMN last_bozo VARCHAR")  # why the last copy was malformed, if it was
    con.execute("ALTER TABLE feeds ADD COLUMN last_new_item_at TIMESTAMP")  # to see feeds that went quiet


def m003_near_duplicates(con: duckdb.DuckDBPyConnection) -> None:
    """MinHash signatures and LSH bands of every copy, kept in step with article_sources."""
    con.execute("ALTER TABLE articles ADD COLUMN text_source_url VARCHAR")  # the copy the text came from
    con.execute("ALTER TABLE articles ADD COLUMN date_source_url VARCHAR")  # the copy the date came from
    con.execute(
        "UPDATE articles SET text_source_url = url, date_source_url = CASE WHEN published_at IS NOT NULL THEN url END"
    )
    con.execute(
        """
        CREATE TABLE copy_signatures (
            url        VARCHAR PRIMARY KEY,     -- the copy (article_sources.url)
            article_id VARCHAR NOT NULL,
            minhash    UINTEGER[] NOT NULL,     -- parsers/neardup.py: NUM_PERM values
            shingles   INTEGER NOT NULL         -- distinct shingles, for containment
        )
        """
    )
    con.execute("CREATE TABLE lsh_bands (band_key BIGINT NOT NULL, article_id VARCHAR NOT NULL, url VARCHAR NOT NULL)")
    con.execute("CREATE INDEX lsh_bands_key ON lsh_bands (band_key)")
    con.execute(
        """
        CREATE VIEW article_copies AS
        SELECT a.article_id, a.title, s.source_name AS outlet, s.url, s.feed_url, s.seen_at, s.text_from,
               s.url = a.text_source_url AS text_from_this_copy, s.url = a.date_source_url AS date_from_this_copy
        FROM articles a JOIN article_sources s USING (article_id)
        """
    )


def m004_search_index(con: duckdb.DuckDBPyConnection) -> None:
    """Full-text search in plain tables (no extension): term frequencies and document lengths."""
    con.execute(
        """
        CREATE TABLE search_docs (
            article_id   VARCHAR PRIMARY KEY,
            content_hash VARCHAR NOT NULL,   -- the text indexed; differs from articles' when stale
            length       INTEGER NOT NULL    -- terms, title counted with its weight
        )
        """
    )
    con.execute("CREATE TABLE search_terms (term VARCHAR NOT NULL, article_id VARCHAR NOT NULL, tf INTEGER NOT NULL)")


def m005_article_entities(con: duckdb.DuckDBPyConnection) -> None:
    """Mentions of registered people, places and organisations (parsers/rules/entities.toml)."""
    con.execute(
        """
        CREATE TABLE article_entities (
            article_id VARCHAR NOT NULL,
            entity_id  VARCHAR NOT NULL,   -- e.g. emomali-rahmon, astana, sco
            mention    VARCHAR NOT NULL,   -- as written: Rakhmon, Рахмона, 拉赫蒙
            field      VARCHAR NOT NULL,   -- title or text
            "offset"   INTEGER NOT NULL    -- character offset in that field
        )
        """
    )
    con.execute("CREATE INDEX article_entities_entity ON article_entities (entity_id)")


def m006_stories(con: duckdb.DuckDBPyConnection) -> None:
    """Stories: articles about one event, across outlets and languages (parsers/stories.py)."""
    con.execute(
        """
        CREATE TABLE stories (
            story_id         VARCHAR PRIMARY KEY,   -- st-<id of the article that started it>
            label            VARCHAR NOT NULL,      -- the most central title (an English one first)
            label_article_id VARCHAR,
            first_seen_at    TIMESTAMP NOT NULL,    -- earliest member date (published, else first seen)
            last_seen_at     TIMESTAMP NOT NULL,    -- latest member date
            peak_day         DATE,                  -- the day with most member articles (earliest on a tie)
            article_count    INTEGER NOT NULL,
            outlet_count     INTEGER NOT NULL,      -- distinct outlets over every copy of every member
            language_count   INTEGER NOT NULL,
            outlets          VARCHAR[] NOT NULL,
            languages        VARCHAR[] NOT NULL,
            topics           VARCHAR[] NOT NULL,    -- the members' topics, most frequent first
            created_at       TIMESTAMP NOT NULL,    -- when silkwatch first stored the story
            updated_at       TIMESTAMP NOT NULL,    -- when it last gained an article
            rules_version    VARCHAR NOT NULL,      -- parsers/rules/events.toml version
            profile          VARCHAR NOT NULL       -- JSON: the features later articles are matched against
        )
        """
    )
    con.execute(
        """
        CREATE TABLE story_articles (
            article_id VARCHAR PRIMARY KEY,         -- an article is in exactly one story
            story_id   VARCHAR NOT NULL,
            added_at   TIMESTAMP NOT NULL
        )
        """
    )
    con.execute("CREATE INDEX story_articles_story ON story_articles (story_id)")
    con.execute("CREATE INDEX stories_last_seen ON stories (last_seen_at)")


def m007_drop_band_key_index(con: duckdb.DuckDBPyConnection) -> None:
    """No ART index on ``lsh_bands.band_key``: the near-duplicate lookup (``queries.lsh_candidates``)
    is a hash join that scans the table whatever indexes it has, while the index (about 30 keys a
    copy) made every batch's insert and checkpoint slower as the table grew: 3x slower saves and a
    3x larger file at 100,000 copies (README, "Speed")."""
    con.execute("DROP INDEX IF EXISTS lsh_bands_key")


def m008_copy_encodings(con: duckdb.DuckDBPyConnection) -> None:
    """The encoding each copy's bytes were read in, and why (parsers/decode.py)."""
    con.execute("ALTER TABLE article_sources ADD COLUMN encoding VARCHAR")  # utf-8, gb18030, windows-1251, ...
    con.execute("ALTER TABLE article_sources ADD COLUMN encoding_from VARCHAR")  # bom, http, meta, detected, ...


def m009_date_provenance(con: duckdb.DuckDBPyConnection) -> None:
    """Each copy's dates, chosen or not, and where each was found: a feed can stamp the time it
    listed an item and a page can show an update, so both are kept (parsers/dates.reconcile_dates)."""
    con.execute("ALTER TABLE article_sources ADD COLUMN feed_published_at TIMESTAMP")  # UTC, as the feed states it
    con.execute("ALTER TABLE article_sources ADD COLUMN feed_date_found VARCHAR")  # e.g. published 'Tue, 3 Jan ...'
    con.execute("ALTER TABLE article_sources ADD COLUMN page_published_at TIMESTAMP")  # UTC, the page's stated date
    con.execute("ALTER TABLE article_sources ADD COLUMN page_date_found VARCHAR")  # where, as written, which zone
    con.execute("ALTER TABLE article_sources ADD COLUMN date_note VARCHAR")  # disagreement or distrust, per copy


def m010_pending_entries(con: duckdb.DuckDBPyConnection) -> None:
    """Feed entries read but not yet done with (their copy stored, or failed for good), from the
    moment their feed's answer is recorded, with its ETag and Last-Modified, in one transaction,
    until the save of their copy deletes them: an entry that a stopped run had read is fetched by
    the next run even when its feed then answers 304. Validators stored before this table existed
    could hide such entries behind a 304, so they are forgotten once (one full fetch of each feed)."""
    con.execute(
        """
        CREATE TABLE pending_entries (
            entry_key   VARCHAR PRIMARY KEY,   -- the entry's identity: canonical link, else guid, else a hash
            feed_url    VARCHAR NOT NULL,      -- the feed that listed it
            link        VARCHAR,               -- its page (NULL: the entry has none; its summary is the copy)
            entry       VARCHAR NOT NULL,      -- the entry as read (JSON: title, summary, author, date, ...)
            read_at     TIMESTAMP NOT NULL,    -- UTC, when its feed's answer was recorded
            read_order  BIGINT NOT NULL,       -- the order entries were read in (feed after feed, as listed)
            run_id      VARCHAR,               -- the run that read it
            retry_after TIMESTAMP              -- its page failed transiently: not fetched again before (backoff)
        )
        """
    )
    con.execute("UPDATE feeds SET etag = NULL, last_modified = NULL")


def m011_topics_from_rules(con: duckdb.DuckDBPyConnection) -> None:
    """``article_topics`` without migration 1's CHECK on the four built-in topics: the topics are the
    rules file's (a team adds its own), so any name the rules define may be stored. DuckDB cannot
    drop a CHECK in place: the table is rebuilt, with its primary key, and its rows copied across."""
    con.execute(
        """
        CREATE TABLE article_topics_new (
            article_id      VARCHAR NOT NULL,
            topic           VARCHAR NOT NULL,          -- a [topics.NAME] of the topic rules
            score           DOUBLE NOT NULL,
            evidence        VARCHAR[] NOT NULL,        -- distinct matched phrases, strongest first
            matches         STRUCT(phrase VARCHAR, field VARCHAR, "start" INTEGER, weight DOUBLE)[] NOT NULL,
            rules_version   VARCHAR NOT NULL,
            classified_at   TIMESTAMP NOT NULL,
            PRIMARY KEY (article_id, topic)
        )
        """
    )
    # in arrival order, as loads append them: zone maps on classified_at keep skipping old row groups
    con.execute("INSERT INTO article_topics_new SELECT * FROM article_topics ORDER BY classified_at, article_id, topic")
    con.execute("DROP TABLE article_topics")
    con.execute("ALTER TABLE article_topics_new RENAME TO article_topics")


def m012_watches_and_alerts(con: duckdb.DuckDBPyConnection) -> None:
    """Watch hits, breaking stories and the alerts sent for them (an outbox: each alert is stored
    with its text before it is sent, and marked sent after), and which articles were checked."""
    con.execute(
        """
        CREATE TABLE watch_hits (
            watch       VARCHAR NOT NULL,       -- the [[watch]] name
            article_id  VARCHAR NOT NULL,
            matched_at  TIMESTAMP NOT NULL,
            run_id      VARCHAR,
            why         VARCHAR NOT NULL,       -- what matched, as the alert says it
            PRIMARY KEY (watch, article_id)
        )
        """
    )
    con.execute(
        """
        CREATE TABLE breaking_stories (
            story_id    VARCHAR PRIMARY KEY,
            reached_at  TIMESTAMP NOT NULL,     -- the run that saw it reach the threshold
            run_id      VARCHAR,
            articles    INTEGER NOT NULL,       -- within the [breaking] hours then
            outlets     INTEGER NOT NULL,
            languages   INTEGER NOT NULL
        )
        """
    )
    con.execute(
        """
        CREATE TABLE alerts (
            alert_id        VARCHAR PRIMARY KEY,  -- <kind>:<watch or story>:<run>:<target hash>
            kind            VARCHAR NOT NULL,     -- watch, breaking
            subject         VARCHAR NOT NULL,     -- the watch's name, or the story id
            target          VARCHAR NOT NULL,     -- the notify entry as configured ("email", or an Apprise URL)
            article_ids     VARCHAR[] NOT NULL,
            title           VARCHAR NOT NULL,
            body            VARCHAR NOT NULL,     -- the message as built: a retry sends exactly this
            created_at      TIMESTAMP NOT NULL,
            run_id          VARCHAR,
            status          VARCHAR NOT NULL,     -- pending, sending, sent, failed
            attempts        INTEGER NOT NULL,
            last_attempt_at TIMESTAMP,
            sent_at         TIMESTAMP,
            error           VARCHAR
        )
        """
    )
    con.execute("CREATE INDEX alerts_status ON alerts (status)")
    con.execute("CREATE TABLE alert_checked (article_id VARCHAR PRIMARY KEY, checked_at TIMESTAMP NOT NULL)")
    # the archive stored before alerts existed is not alerted: watches look at articles from now on
    con.execute("INSERT INTO alert_checked SELECT article_id, ? FROM articles", [utc_now()])


def m014_sources(con: duckdb.DuckDBPyConnection) -> None:
    """Backfills (sitemaps, WARC files) and their work lists; each feed's polling interval and why."""
    con.execute(
        """
        CREATE TABLE backfills (
            backfill_id  VARCHAR PRIMARY KEY,   -- <started, UTC>-<random>
            source       VARCHAR NOT NULL,      -- the sitemap URL, or warc:<file names>
            since        TIMESTAMP,             -- --since: older URLs are not listed
            max_pages    INTEGER,               -- --limit: at most this many pages listed
            started_at   TIMESTAMP NOT NULL,
            finished_at  TIMESTAMP              -- NULL: not finished; the next backfill of the source resumes it
        )
        """
    )
    con.execute(
        """
        CREATE TABLE backfill_urls (
            backfill_id  VARCHAR NOT NULL,
            url          VARCHAR NOT NULL,
            kind         VARCHAR NOT NULL,      -- sitemap, page
            position     BIGINT NOT NULL,       -- the order it was listed in
            listed_at    TIMESTAMP NOT NULL,    -- done once fetch_log has a row for it since then
            lastmod      TIMESTAMP,             -- <lastmod> or <news:publication_date>, UTC
            title        VARCHAR,               -- <news:title>
            language     VARCHAR,               -- <news:language>
            publication  VARCHAR,               -- <news:name>
            PRIMARY KEY (backfill_id, url)
        )
        """
    )
    con.execute("ALTER TABLE feeds ADD COLUMN poll_minutes INTEGER")  # the interval chosen at the last check
    con.execute("ALTER TABLE feeds ADD COLUMN poll_reason VARCHAR")  # why (a rate, the interval set, ...)


def m015_compact_search_index(con: duckdb.DuckDBPyConnection) -> None:
    """The search index as integers (``warehouse.search``): ``search_postings`` (term_hash BIGINT,
    doc INTEGER, tf USMALLINT) replaces ``search_terms`` (term, article_id, tf strings), less to
    insert and no strings to compress at each load's checkpoint; ``search_docs`` numbers its
    articles (``doc``). The stored terms are hashed in bulk by the same function as articles and
    queries (``parsers.tokenize.term_hashes``). The terms of an article missing from
    ``search_docs`` (which ``check_integrity`` reports) are dropped: the next load indexes it."""
    import pyarrow as pa

    from silkwatch.parsers.tokenize import term_hashes
    from silkwatch.warehouse.tx import registered

    con.execute(
        """
        CREATE TABLE search_docs_new (
            article_id   VARCHAR PRIMARY KEY,
            doc          INTEGER NOT NULL UNIQUE,  -- the article's number in search_postings
            content_hash VARCHAR NOT NULL,         -- the text indexed; differs from articles' when stale
            length       INTEGER NOT NULL          -- terms, title counted with its weight
        )
        """
    )
    con.execute(
        "INSERT INTO search_docs_new SELECT article_id, row_number() OVER (ORDER BY article_id), content_hash, length "
        "FROM search_docs"
    )
    words = [row[0] for row in con.execute("SELECT DISTINCT term FROM search_terms").fetchall()]
    keys = pa.table({"term": pa.array(words, pa.string()), "term_hash": term_hashes(words)})
    con.execute("CREATE TABLE search_postings (term_hash BIGINT NOT NULL, doc INTEGER NOT NULL, tf USMALLINT NOT NULL)")
    with registered(con, _keys=keys):
        con.execute(
            """
            INSERT INTO search_postings
            SELECT k.term_hash, d.doc, least(t.tf, 65535)  -- parsers.rows.TF_MAX
            FROM search_terms t JOIN _keys k USING (term) JOIN search_docs_new d USING (article_id)
            ORDER BY k.term_hash, d.doc
            """
        )
    con.execute("DROP TABLE search_terms")
    con.execute("DROP TABLE search_docs")
    con.execute("ALTER TABLE search_docs_new RENAME TO search_docs")


Migration = tuple[int, str, Callable[[duckdb.DuckDBPyConnection], None]]
MIGRATIONS: tuple[Migration, ...] = (
    (1, "initial", m001_initial),
    (2, "feed_articles", m002_feed_articles),
    (3, "near_duplicates", m003_near_duplicates),
    (4, "search_index", m004_search_index),
    (5, "article_entities", m005_article_entities),
    (6, "stories", m006_stories),
    (7, "drop_band_key_index", m007_drop_band_key_index),
    (8, "copy_encodings", m008_copy_encodings),
    (9, "date_provenance", m009_date_provenance),
    (10, "pending_entries", m010_pending_entries),
    (11, "topics_from_rules", m011_topics_from_rules),
    (12, "watches_and_alerts", m012_watches_and_alerts),
    (14, "sources", m014_sources),  # 13 is another branch's
    (15, "compact_search_index", m015_compact_search_index),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


def applied_versions(con: duckdb.DuckDBPyConnection) -> set[int]:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    return {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}


def ensure_db_shape(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply pending migrations, each atomically (a fresh file's all at once); return the names
    applied (empty when current)."""
    done = applied_versions(con)
    newer = [v for v in done if v > SCHEMA_VERSION]
    if newer:
        raise RuntimeError(
            f"the warehouse has schema version {max(newer)}, newer than this silkwatch knows "
            f"({SCHEMA_VERSION}); upgrade silkwatch"
        )
    pending = [migration for migration in MIGRATIONS if migration[0] not in done]
    # A fresh file takes its whole schema in one transaction (a commit each costs a file sync, and
    # it has nothing to keep should one fail); an existing one each migration in a transaction of
    # its own, so a failing migration keeps the ones before it.
    for group in [pending] if not done else [[migration] for migration in pending]:
        with transaction(con):
            for version, name, migrate in group:
                migrate(con)
                con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, name, utc_now()])
    return [f"{version:03d}_{name}" for version, name, _ in pending]
