"""Ingest speed: `silkwatch ingest` of N real-looking pages through local feeds, against bare trafilatura.

    python -m bench.ingest [N_PAGES]          (default 2000, in 40 feeds)

The workload is ``bench/site.py``'s: N pages built on the 50 corpora pages, ~10% syndicated
near-copies, served on 127.0.0.1 through RSS and Atom feeds (10 ms per response, ETag and
Last-Modified). Every ingest is the real CLI in a fresh process, with an empty seeds folder: fetch
feeds and pages, extract, clean, dedupe, classify, tag, load, index, cluster. Two ways to run it:

- scheduled: as `silkwatch serve` runs its deployments, and as any run with ``PREFECT_API_URL``
  set: a fresh process reporting to a Prefect server that is already up (here, one started by this
  benchmark on 127.0.0.1). The headline figures are these:
  ``ingest_s``, ``ingest_ratio`` = bare_extract_s / ingest_s, ``pages_per_s`` = N / ingest_s,
  ``rerun_noop_s`` (the same command again, nothing changed: feeds answer 304) and
  ``rerun_ratio`` = rerun_noop_s / ingest_s;
- one-off: the same command with no Prefect server anywhere, so that it runs the flow's body
  without Prefect (``flows/steps.py``): ``ingest_cli_s``, ``ingest_cli_ratio``,
  ``rerun_cli_s``, ``rerun_cli_ratio`` (into a second, fresh warehouse);

and ``bare_extract_s``: plain ``trafilatura.extract`` over the same N HTML documents, one process,
no network; ``peak_rss_mib``: the peak of the summed RSS of the one-off CLI's whole process tree
(pool workers included), sampled from /proc every 50 ms;
``prefect_flow_s``: a fresh process that runs an empty Prefect flow with no server configured
(Prefect starts its temporary one): what ``--prefect`` adds to a one-off command.

The machine is shared, so wall times move with other jobs' load; CPU times move much less, and
say where a difference between the two ways comes from: ``ingest_cpu_s`` and ``ingest_cli_cpu_s``
(user + system time of the command's whole process tree, extraction workers included),
``ingest_main_cpu_s`` and ``ingest_cli_main_cpu_s`` (of the command's own process: the flow,
fetches, saves, and under Prefect its client), and ``prefect_server_cpu_s`` (of the Prefect server
while the scheduled ingest ran).

The stored warehouse is checked before any figure is printed: every page stored as a copy from its
page, one article per distinct generated article (the near-copies merged); an unchanged rerun must
fetch no page and change nothing.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

N_FEEDS = 40
# what `silkwatch ingest --prefect` pays with no PREFECT_API_URL before doing its own work
EMPTY_FLOW = "from prefect import flow\n@flow(name='bench-empty')\ndef empty():\n    pass\nempty()\n"


def _tree_pids(root: int) -> set[int]:
    """``root`` and all its descendants."""
    try:
        return {root} | {child.pid for child in psutil.Process(root).children(recursive=True)}
    except psutil.NoSuchProcess:
        return {root}


def _tree_rss_bytes(root: int) -> int:
    """Summed RSS of ``root`` and all its descendants (from /proc)."""
    total = 0
    for pid in _tree_pids(root):
        try:
            with open(f"/proc/{pid}/statm") as fh:
                total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            continue
    return total


def _cpu_seconds(pid: int, children: bool = False) -> float:
    """User + system CPU seconds of ``pid`` (and of its children it waited for), from /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(b")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of ``root``'s whole process tree, as it is now."""
    return sum(_cpu_seconds(pid, children=True) for pid in _tree_pids(root))


@dataclass
class Measured:
    seconds: float  # wall
    peak_rss: int  # bytes, the process tree's summed RSS at its peak
    cpu: float  # user + system seconds of the whole tree (extraction workers included)
    main_cpu: float  # of the command's own process
    done: subprocess.CompletedProcess
    beside_cpu: float = 0.0  # of the process tree ``run_measured`` was asked to watch beside it


def run_measured(cmd: list[str], env: dict, beside: int | None = None) -> Measured:
    """Run a command; its wall time, the peak RSS of its process tree, its CPU time, and its outcome;
    and the CPU time the process tree of ``beside`` (a server it talks to) spent meanwhile."""
    beside_before = tree_cpu_seconds(beside) if beside else 0.0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, main_cpu, done = 0, 0.0, threading.Event()

    def sample() -> None:
        nonlocal peak, main_cpu
        while not done.wait(0.05):
            peak = max(peak, _tree_rss_bytes(proc.pid))
            main_cpu = max(main_cpu, _cpu_seconds(proc.pid))  # the last reading before it exits

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, errors = proc.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    beside_cpu = tree_cpu_seconds(beside) - beside_before if beside else 0.0
    done_ = subprocess.CompletedProcess(cmd, proc.returncode, out, errors)
    return Measured(seconds, peak, cpu, main_cpu, done_, beside_cpu)


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


def _workspace(root: Path, feed_urls: list[str], warehouse: str) -> Path:
    (root / "seeds").mkdir(exist_ok=True)
    (root / "feeds.toml").write_text("".join(f'[[feed]]\nurl = "{u}"\n' for u in feed_urls), "utf-8")
    config = root / f"{warehouse}.toml"
    config.write_text(
        f'[warehouse]\npath = "{warehouse}.duckdb"\n[seeds]\ndir = "seeds"\n[feeds]\nfile = "feeds.toml"\n'
        "[fetch]\nallow_private_networks = true\nper_host_delay = 0.0\nper_host_concurrency = 8\n"
        "max_concurrency = 8\n",
        "utf-8",
    )
    return config


def ingest_twice(
    cli: str, config: Path, env: dict, site, server, n: int, beside: int | None = None
) -> tuple[Measured, float, dict]:
    """A first ingest and an unchanged rerun of ``config``: the first measured (and ``beside``
    meanwhile: ``run_measured``), the rerun's seconds, what was stored."""
    command = [cli, "ingest", "--config", str(config)]
    db = config.with_suffix(".duckdb")
    first = run_measured(command, env, beside)
    if first.done.returncode != 0:
        raise SystemExit(f"bench: silkwatch ingest failed ({first.done.returncode}): {first.done.stderr[-2000:]}")
    counts = check_stored(db, site, n)
    pages_served = server.requests["page"]
    second = run_measured(command, env)
    if second.done.returncode != 0:
        raise SystemExit(f"bench: the rerun failed ({second.done.returncode}): {second.done.stderr[-2000:]}")
    if check_stored(db, site, n) != counts or server.requests["page"] != pages_served:
        raise SystemExit("bench: the unchanged rerun fetched pages or changed the warehouse; no figures")
    return first, second.seconds, counts


def main() -> int:
    from prefect.server.api.server import SubprocessASGIServer

    from bench.dedupe import sentence_pool
    from bench.site import SiteServer, add_feeds, build_site

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    site = build_site(n, N_FEEDS, sentence_pool())
    pages = [site.pages[p] for p in site.paths]
    bare_s = bare_extract_seconds(pages)
    cli = str(Path(sys.executable).with_name("silkwatch"))
    one_off_env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"} | {"SILKWATCH_DEBUG": ""}
    with tempfile.TemporaryDirectory() as tmp, SiteServer(site) as server:
        root = Path(tmp)
        feed_urls = add_feeds(site, server.base, N_FEEDS)
        prefect_server = SubprocessASGIServer()  # the Prefect server that scheduled runs report to
        prefect_server.start(timeout=60)
        scheduled_env = one_off_env | {"PREFECT_API_URL": prefect_server.api_url}
        scheduled, rerun_s, counts = ingest_twice(
            cli, _workspace(root, feed_urls, "scheduled"), scheduled_env, site, server, n,
            beside=prefect_server.server_process.pid,
        )  # fmt: skip
        prefect_server.stop()
        one_off, rerun_cli_s, _ = ingest_twice(
            cli, _workspace(root, feed_urls, "one-off"), one_off_env, site, server, n
        )
        (root / "empty_flow.py").write_text(EMPTY_FLOW, "utf-8")
        # on a loaded machine Prefect's temporary server takes longer than its 20 s to answer
        patient = one_off_env | {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180"}
        empty = run_measured([sys.executable, str(root / "empty_flow.py")], patient)
        if empty.done.returncode != 0:
            raise SystemExit(f"bench: an empty Prefect flow failed: {empty.done.stderr[-2000:]}")
    ingest_s, cli_s, flow_s, peak = scheduled.seconds, one_off.seconds, empty.seconds, one_off.peak_rss
    ratio, rerun_ratio = bare_s / ingest_s, rerun_s / ingest_s
    cli_ratio, rerun_cli_ratio = bare_s / cli_s, rerun_cli_s / cli_s
    print(f"ingest of {n} pages ({site.distinct} distinct articles, {n - site.distinct} syndicated copies) "
          f"through {N_FEEDS} local feeds; {os.cpu_count()} cores")  # fmt: skip
    rows = [
        ("bare trafilatura.extract, one process", f"{bare_s:.1f} s", ""),
        ("scheduled: Prefect server already up", "", ""),
        ("  silkwatch ingest", f"{ingest_s:.1f} s", f"{n / ingest_s:.0f} pages/s"),
        ("  ingest ratio (bare / ingest)", f"{ratio:.2f}", "target >= 1.5"),
        ("  rerun, nothing changed", f"{rerun_s:.1f} s", f"{rerun_ratio:.1%} of the first; target < 10%"),
        ("  CPU: whole tree / its own process", f"{scheduled.cpu:.1f} s", f"{scheduled.main_cpu:.1f} s its own"),
        ("  CPU of the Prefect server meanwhile", f"{scheduled.beside_cpu:.1f} s", ""),
        ("one-off: no Prefect", "", ""),
        ("  silkwatch ingest", f"{cli_s:.1f} s", f"{n / cli_s:.0f} pages/s"),
        ("  ingest ratio (bare / ingest)", f"{cli_ratio:.2f}", ""),
        ("  rerun, nothing changed", f"{rerun_cli_s:.1f} s", f"{rerun_cli_ratio:.1%} of the first"),
        ("  CPU: whole tree / its own process", f"{one_off.cpu:.1f} s", f"{one_off.main_cpu:.1f} s its own"),
        ("  empty Prefect flow", f"{flow_s:.1f} s", "what --prefect adds, no server configured"),
        ("peak RSS, whole process tree (one-off)", f"{peak / 2**20:.0f} MiB", "target < 1536"),
        ("stored", f"{counts['articles']} articles", f"{counts['copies']} copies, {counts['topics']} topic rows"),
    ]
    for name, value, note in rows:
        print(f"{name:<40}{value:>16}   {note}")
    print(f"ingest_pages={n} bare_extract_s={bare_s:.1f} ingest_s={ingest_s:.1f} ingest_ratio={ratio:.2f} "
          f"pages_per_s={n / ingest_s:.0f} rerun_noop_s={rerun_s:.1f} rerun_ratio={rerun_ratio:.3f} "
          f"ingest_cli_s={cli_s:.1f} ingest_cli_ratio={cli_ratio:.2f} rerun_cli_s={rerun_cli_s:.1f} "
          f"rerun_cli_ratio={rerun_cli_ratio:.3f} prefect_flow_s={flow_s:.1f} "
          f"peak_rss_mib={peak / 2**20:.0f} ingest_cpu_s={scheduled.cpu:.1f} "
          f"ingest_main_cpu_s={scheduled.main_cpu:.1f} "
          f"prefect_server_cpu_s={scheduled.beside_cpu:.1f} ingest_cli_cpu_s={one_off.cpu:.1f} "
          f"ingest_cli_main_cpu_s={one_off.main_cpu:.1f} load_average={os.getloadavg()[0]:.1f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
