"""A news site on 127.0.0.1 for whole-run reliability tests, and the helpers around it.

Two RSS feeds (ETag-aware, as real servers are) with the 8 fixture pages and one more URL that
carries the same page as the first (a duplicate copy): 9 pages, so small page batches
(``SILKWATCH_PAGE_BATCH_SIZE``) make several save batches. Any path can be held: the server
answers it only when the test releases it, so a test can act while a run waits on the network.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import duckdb
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from silkwatch.warehouse.db import check_integrity, open_warehouse
from silkwatch.warehouse.lock import writer_lock
from tests.conftest import FIXTURES, SEEDS

SILKWATCH = str(Path(sys.executable).parent / "silkwatch")
PAGES = sorted((FIXTURES / "pages").glob("*.html"))
HOLD_TIMEOUT = 60  # seconds a held response waits for its release before answering anyway

# Per table, the columns that depend on when and in which run a row was written.
RUN_DEPENDENT = {
    "articles": ["first_seen_at"],
    "article_sources": ["seen_at"],
    "article_topics": ["classified_at"],
    "article_entities": [],
    "copy_signatures": [],
    "lsh_bands": [],
    "search_docs": ["doc"],  # the article's number in search_postings: the order it was indexed in
}
# Tables read through a query: a posting's article by its id, not its number (``doc``).
READ_AS = {
    "search_postings": "SELECT p.term_hash, d.article_id, p.tf FROM search_postings p JOIN search_docs d USING (doc)"
}


class LocalSite:
    def __init__(self) -> None:
        self.requests: list[str] = []
        self._held: dict[str, threading.Event] = {}
        self.arrived: dict[str, threading.Event] = {}
        self.server = HTTPServer(host="127.0.0.1", port=0, threaded=True)  # a held request holds up no other
        self.server.expect_request(re.compile("^/")).respond_with_handler(self._answer)
        self.server.start()
        self.base = self.server.url_for("").rstrip("/")
        self.pages = {f"/news/{i}": path for i, path in enumerate(PAGES)}
        self.pages[f"/news/{len(PAGES)}-copy"] = PAGES[0]  # the same story at a second URL

    def _answer(self, request: Request) -> Response:
        self.requests.append(request.path)
        if request.path in self._held:
            self.arrived[request.path].set()
            self._held[request.path].wait(HOLD_TIMEOUT)
        status, body, headers = self.respond(request.path, request.headers.get("If-None-Match"))
        return Response(body, status=status, headers=headers)

    def feed(self, paths: list[str]) -> bytes:
        day = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
        items = "".join(
            f"<item><link>{escape(self.base + p)}</link><title>Story {escape(p)}</title>"
            f"<description>A summary of story {escape(p)}.</description>"
            f"<pubDate>{format_datetime(day + timedelta(hours=i))}</pubDate></item>"
            for i, p in enumerate(paths)
        )
        head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Local news</title>'
        return f"{head}{items}</channel></rss>".encode()

    def respond(self, path: str, etag: str | None) -> tuple[int, bytes, dict]:
        paths = list(self.pages)
        # the copy in its original's feed: which of the two is stored first does not depend on
        # which feed answers first (pages are fetched as their feeds answer)
        feeds = {"/feed-a.xml": paths[:4] + paths[-1:], "/feed-b.xml": paths[4:-1]}
        if path in feeds:
            if etag == '"v1"':
                return 304, b"", {"ETag": '"v1"'}
            return 200, self.feed(feeds[path]), {"Content-Type": "application/rss+xml", "ETag": '"v1"'}
        if path in self.pages:
            return 200, self.pages[path].read_bytes(), {"Content-Type": "text/html; charset=utf-8"}
        return 404, b"not found", {"Content-Type": "text/plain"}

    def hold(self, path: str) -> None:
        self._held[path] = threading.Event()
        self.arrived[path] = threading.Event()

    def release_all(self) -> None:
        for gate in self._held.values():
            gate.set()
        self._held.clear()

    def close(self) -> None:
        self.release_all()
        self.server.clear()
        self.server.stop()


def make_workdir(root: Path, site: LocalSite) -> Path:
    """A folder with the seeds, the site's two feeds, and a config allowing 127.0.0.1."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(SEEDS, root / "seeds", ignore=shutil.ignore_patterns("*.toml"))
    (root / "feeds.toml").write_text(
        f'[[feed]]\nurl = "{site.base}/feed-a.xml"\nname = "Local A"\n'
        f'[[feed]]\nurl = "{site.base}/feed-b.xml"\nname = "Local B"\n',
        "utf-8",
    )
    (root / "silkwatch.toml").write_text(
        '[warehouse]\npath = "data/silkwatch.duckdb"\n[seeds]\ndir = "seeds"\n[feeds]\nfile = "feeds.toml"\n'
        '[digest]\ndir = "reports"\n[fetch]\nallow_private_networks = true\nper_host_delay = 0\n'
        "retries = 0\nread_timeout = 60.0\ntotal_timeout = 90.0\n",
        "utf-8",
    )
    return root


def silkwatch_env(**extra: str) -> dict:
    """The CLI's environment: no Prefect server named, as in a user's shell (the command runs its
    flow without Prefect: flows/steps.py; ``PREFECT_API_URL=harness_api_url()`` makes it a Prefect
    flow run), small page batches, no inherited config or warehouse override."""
    env = {**os.environ, "COLUMNS": "200", "SILKWATCH_PAGE_BATCH_SIZE": "3", **extra}
    for name in ("SILKWATCH_CONFIG", "SILKWATCH_DB", "SILKWATCH_FAULT", "SILKWATCH_FAULT_MARK", "PREFECT_API_URL"):
        if name not in extra:
            env.pop(name, None)
    return env


def harness_api_url() -> str:
    """The test session's Prefect server (``prefect_harness``), for a command that reports to it."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


def start(*args: str, cwd: Path, new_session: bool = False, **env: str) -> subprocess.Popen:
    """The CLI, running; ``new_session``: in a process group of its own, as a terminal starts a
    command (Ctrl-C is then ``os.killpg(proc.pid, SIGINT)``)."""
    return subprocess.Popen(
        [SILKWATCH, *args], cwd=cwd, env=silkwatch_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=new_session,
    )  # fmt: skip


def run(*args: str, cwd: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SILKWATCH, *args], cwd=cwd, env=silkwatch_env(**env), capture_output=True, text=True, timeout=timeout
    )


def snapshot(db: Path) -> dict[str, set[tuple]]:
    """Every stored row of the content tables, without the columns that depend on the run."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for table, skip in RUN_DEPENDENT.items():
            exclude = f" EXCLUDE ({', '.join(skip)})" if skip else ""
            rows = con.execute(f"SELECT *{exclude} FROM {table}").fetchall()
            out[table] = {tuple(repr(v) for v in row) for row in rows}
        for table, sql in READ_AS.items():
            out[table] = {tuple(repr(v) for v in row) for row in con.execute(sql).fetchall()}
        return out
    finally:
        con.close()


def rows_missing(expected: dict[str, set[tuple]], actual: dict[str, set[tuple]]) -> int:
    """Rows of ``expected`` that ``actual`` does not hold (lost, or altered)."""
    return sum(len(rows - actual.get(table, set())) for table, rows in expected.items())


DB = Path("data/silkwatch.duckdb")


def reference_of(root: Path, site: LocalSite) -> dict:
    """An uninterrupted `silkwatch run` of ``site`` in ``root``: its content tables and its digest."""
    work = make_workdir(root, site)
    done = run("run", cwd=work)
    assert done.returncode == 0, done.stderr
    with open_warehouse(work / DB, read_only=True) as con:
        assert check_integrity(con, indexed=True, idle=True) == []
        assert con.execute("SELECT count(*) FROM article_sources").fetchone()[0] == 5 + 9
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 5 + 8  # one page is a copy
        assert con.execute("SELECT count(*) FROM pending_entries").fetchone()[0] == 0
        digest_ids = con.execute("SELECT article_ids FROM digests").fetchone()[0]
    return {"snapshot": snapshot(work / DB), "digest_ids": sorted(digest_ids)}


def digest_files_whole(reports: Path) -> list[str]:
    """Digest files that are not complete (a reader must never see half a digest)."""
    broken = []
    for path in reports.glob("digest-*"):
        text = path.read_text("utf-8")
        whole = text.rstrip().endswith("</html>") if path.suffix == ".html" else "Built by silkwatch at" in text
        if path.suffix in (".md", ".html") and not whole:
            broken.append(path.name)
    return broken


def rerun_heals(work: Path, reference: dict, record_property) -> None:
    """The run after a kill or a stop: it leaves exactly what one uninterrupted run leaves, nothing
    of the stopped run's lost, and the stopped run reads ``interrupted``."""
    from silkwatch.flows.config import load_config
    from silkwatch.flows.pipeline import run_flow

    db = work / DB
    before = snapshot(db)
    with writer_lock(db):  # the next run, in process (as `silkwatch run` does it, minus the start-up)
        again = run_flow(load_config(work / "silkwatch.toml"))
    assert again.status == "ok", again.failures
    healed = snapshot(db)
    lost = rows_missing(reference["snapshot"], healed) + rows_missing(before, healed)
    record_property("data_lost", lost)
    assert lost == 0, {t: sorted(rows - healed[t])[:3] for t, rows in reference["snapshot"].items() if rows - healed[t]}
    assert healed == reference["snapshot"]  # nothing missing, nothing extra
    with open_warehouse(db, read_only=True) as con:
        assert check_integrity(con, indexed=True, idle=True) == []
        statuses = [r[0] for r in con.execute("SELECT status FROM runs ORDER BY started_at").fetchall()]
        assert statuses == ["interrupted", "ok"]
        assert sorted(con.execute("SELECT article_ids FROM digests").fetchone()[0]) == reference["digest_ids"]
        assert con.execute("SELECT count(*) FROM pending_entries").fetchone()[0] == 0
    assert digest_files_whole(work / "reports") == []
    assert {p.suffix for p in (work / "reports").glob("digest-*")} >= {".md", ".html"}
