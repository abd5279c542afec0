"""Ingest speed: `silkwatch ingest` of N real-looking pages through local feeds, against bare trafilatura.

    python -m bench.ingest [N_PAGES]          (default 2000, in 40 feeds)

The workload is ``bench/site.py``'s: N pages built on the 50 corpora pages, ~10% syndicated
near-copies, served on 127.0.0.1 through RSS and Atom feeds (10 ms per response, ETag and
Last-Modified). Figures:

- ``bare_extract_s``: plain ``trafilatura.extract`` over the same N HTML documents, one process, no network;
- ``ingest_s``: wall time of the real CLI, ``silkwatch ingest`` in a fresh process (cold), with an
  empty seeds folder: fetch feeds and pages, extract, clean, dedupe, classify, tag, load, index;
- ``ingest_ratio`` = bare_extract_s / ingest_s, and ``pages_per_s`` = N / ingest_s;
- ``peak_rss_mib``: the peak of the summed RSS of the CLI's whole process tree (pool workers and
  Prefect's temporary server included), sampled from /proc every 50 ms;
- ``rerun_noop_s``: the same command again, nothing changed (feeds answer 304), and ``rerun_ratio``;
- ``prefect_flow_s``: a fresh process that runs an empty Prefect flow the way the CLI runs its flows
  (``flows/oneshot.py``): Prefect's fixed cost in any CLI run;
- ``rerun_warm_s``: the unchanged rerun in-process, with Prefect already started.

The stored warehouse is checked before any figure is printed: every page stored as a copy from its
page, one article per distinct generated article (the near-copies merged).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

N_FEEDS = 40
# run as the CLI runs its flows (flows/oneshot.py): what every command pays before doing its own work
EMPTY_FLOW = (
    "from flows.oneshot import one_shot_flow_run, run_then_exit\nfrom prefect import flow\n"
    "@flow(name='bench-empty')\ndef empty():\n    pass\n"
    "def main():\n    with one_shot_flow_run():\n        empty()\n"
    "run_then_exit(main)\n"
)


def _tree_rss_bytes(root: int) -> int:
    """Summed RSS of ``root`` and all its descendants (from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    stat = fh.read()
            except OSError:
                continue
            parents[int(entry)] = int(stat[stat.rindex(b")") + 2 :].split()[1])
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [p for p, parent in parents.items() if parent == pid and p not in tree]
        tree.update(children)
        frontier.extend(children)
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/statm") as fh:
                total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            continue
    return total


def run_measured(cmd: list[str], env: dict) -> tuple[float, int, subprocess.CompletedProcess]:
    """Run a command; its wall time, the peak RSS of its process tree, and its outcome."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, done = 0, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.05):
            peak = max(peak, _tree_rss_bytes(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, errors = proc.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return seconds, peak, subprocess.CompletedProcess(cmd, proc.returncode, out, errors)


def bare_extract_seconds(pages: list[bytes]) -> float:
    import trafilatura

    started = time.perf_counter()
    for page in pages:
        trafilatura.extract(page)
    return time.perf_counter() - started


def check_stored(db: Path, site, n: int) -> dict:
    """What the ingest stored, against the workload; raises SystemExit when it is wrong."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        counts = {
            "articles": con.execute("SELECT count(*) FROM articles").fetchone()[0],
            "copies": con.execute("SELECT count(*) FROM article_sources").fetchone()[0],
            "from_page": con.execute("SELECT count(*) FROM article_sources WHERE text_from = 'page'").fetchone()[0],
            "topics": con.execute("SELECT count(*) FROM article_topics").fetchone()[0],
            "entities": con.execute("SELECT count(*) FROM article_entities").fetchone()[0],
            "indexed": con.execute("SELECT count(*) FROM search_docs").fetchone()[0],
        }
    finally:
        con.close()
    expected = {"articles": site.distinct, "copies": n, "from_page": n, "indexed": site.distinct}
    wrong = {k: (counts[k], v) for k, v in expected.items() if counts[k] != v}
    if wrong:
        raise SystemExit(f"bench: the ingest stored the wrong things (got, expected): {wrong}; no figures")
    return counts


def main() -> int:
    from bench.dedupe import sentence_pool
    from bench.site import SiteServer, add_feeds, build_site

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    site = build_site(n, N_FEEDS, sentence_pool())
    pages = [site.pages[p] for p in site.paths]
    bare_s = bare_extract_seconds(pages)
    cli = str(Path(sys.executable).with_name("silkwatch"))
    env = {**os.environ, "SILKWATCH_DEBUG": ""}
    with tempfile.TemporaryDirectory() as tmp, SiteServer(site) as server:
        root = Path(tmp)
        (root / "seeds").mkdir()
        feed_urls = add_feeds(site, server.base, N_FEEDS)
        (root / "feeds.toml").write_text("".join(f'[[feed]]\nurl = "{u}"\n' for u in feed_urls), "utf-8")
        (root / "silkwatch.toml").write_text(
            '[warehouse]\npath = "bench.duckdb"\n[seeds]\ndir = "seeds"\n[feeds]\nfile = "feeds.toml"\n'
            "[fetch]\nallow_private_networks = true\nper_host_delay = 0.0\nper_host_concurrency = 8\n"
            "max_concurrency = 8\n",
            "utf-8",
        )
        command = [cli, "ingest", "--config", str(root / "silkwatch.toml")]
        ingest_s, peak, first = run_measured(command, env)
        if first.returncode != 0:
            raise SystemExit(f"bench: silkwatch ingest failed ({first.returncode}): {first.stderr[-2000:]}")
        counts = check_stored(root / "bench.duckdb", site, n)
        pages_served = server.requests["page"]
        rerun_s, _, second = run_measured(command, env)
        if second.returncode != 0:
            raise SystemExit(f"bench: the rerun failed ({second.returncode}): {second.stderr[-2000:]}")
        if check_stored(root / "bench.duckdb", site, n) != counts or server.requests["page"] != pages_served:
            raise SystemExit("bench: the unchanged rerun fetched pages or changed the warehouse; no figures")
        (root / "empty_flow.py").write_text(EMPTY_FLOW, "utf-8")
        flow_s, _, empty = run_measured([sys.executable, str(root / "empty_flow.py")], env)
        if empty.returncode != 0:
            raise SystemExit(f"bench: an empty Prefect flow failed: {empty.stderr[-2000:]}")
        warm_s = warm_rerun_seconds(root / "silkwatch.toml")
    ratio, rerun_ratio = bare_s / ingest_s, rerun_s / ingest_s
    print(f"ingest of {n} pages ({site.distinct} distinct articles, {n - site.distinct} syndicated copies) "
          f"through {N_FEEDS} local feeds; {os.cpu_count()} cores")  # fmt: skip
    rows = [
        ("bare trafilatura.extract, one process", f"{bare_s:.1f} s", ""),
        ("silkwatch ingest (CLI, cold)", f"{ingest_s:.1f} s", f"{n / ingest_s:.0f} pages/s"),
        ("ingest ratio (bare / ingest)", f"{ratio:.2f}", "target >= 1.5"),
        ("peak RSS, whole process tree", f"{peak / 2**20:.0f} MiB", "target < 1536"),
        ("rerun, nothing changed (CLI)", f"{rerun_s:.1f} s", f"{rerun_ratio:.1%} of the first; target < 10%"),
        ("  of which: empty Prefect flow (CLI)", f"{flow_s:.1f} s", "Prefect's fixed cost per process"),
        ("rerun in-process, Prefect warm", f"{warm_s:.2f} s", f"{warm_s / ingest_s:.1%} of the first"),
        ("stored", f"{counts['articles']} articles", f"{counts['copies']} copies, {counts['topics']} topic rows"),
    ]
    for name, value, note in rows:
        print(f"{name:<40}{value:>16}   {note}")
    print(f"ingest_pages={n} bare_extract_s={bare_s:.1f} ingest_s={ingest_s:.1f} ingest_ratio={ratio:.2f} "
          f"pages_per_s={n / ingest_s:.0f} peak_rss_mib={peak / 2**20:.0f} rerun_noop_s={rerun_s:.1f} "
          f"rerun_ratio={rerun_ratio:.3f} prefect_flow_s={flow_s:.1f} rerun_warm_s={warm_s:.2f}")  # fmt: skip
    return 0


def warm_rerun_seconds(config_path: Path) -> float:
    """The unchanged rerun in this process, once Prefect is up (a first run starts it)."""
    from flows.config import load_config
    from flows.pipeline import run_flow
    from flows.quiet import silence_stderr_at_exit

    silence_stderr_at_exit()
    config = load_config(config_path)
    run_flow(config, write_report=False)
    started = time.perf_counter()
    run_flow(config, write_report=False)
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
