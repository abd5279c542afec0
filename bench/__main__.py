"""`make bench`: run every benchmark part, then summarise every figure against its target.

    python -m bench                 every part in PARTS
    python -m bench ingest load     only these parts (`make bench BENCH="ingest load"`)

Each part is a module ``bench/<name>.py`` run as ``python -m bench.<name>`` in its own process;
its output is shown as it comes, and its last stdout line is space-separated ``name=value``
pairs. The summary table lists each figure of TARGETS (met, missed, or not measured), and the
very last line holds every pair of every part.
"""

from __future__ import annotations

import operator
import os
import subprocess
import sys
import time

# (module under bench/, extra arguments): the order they run in
PARTS: list[tuple[str, list[str]]] = [
    ("startup", []),
    ("worker", []),
    ("ingest", []),
    ("load", []),
    ("load_floor", []),
    ("dedupe", []),
    ("classify", []),
    ("search", [os.environ["SEARCH_N"]] if os.environ.get("SEARCH_N") else []),  # make bench SEARCH_N=1000000
    ("stories", []),
    ("warehouse_scale", []),
    ("feeds_overhead", []),
    ("backfill", []),
]

# figure -> (comparison, bound, unit, what it is)
TARGETS: dict[str, tuple[str, float, str, str]] = {
    "noop_ingest_s": ("<=", 1.5, "s", "one-off silkwatch ingest of the stored seeds, nothing new, wall"),
    "query_select1_s": ("<=", 0.5, "s", 'one-off silkwatch query "select 1", wall'),
    "worker_cpu_ratio": ("<=", 1.3, "", "extraction worker CPU per page / bare trafilatura.extract, same pages"),
    "ingest_ratio": (">=", 1.5, "", "bare trafilatura / silkwatch ingest, 2,000 pages, Prefect server up"),
    "pages_per_s": ("", 0, "pages/s", "silkwatch ingest, fetch to load, Prefect server up"),
    "peak_rss_mib": ("<", 1536, "MiB", "peak RSS of the one-off ingest's process tree"),
    "rerun_noop_s": ("", 0, "s", "second ingest, nothing changed, Prefect server up"),
    "rerun_ratio": ("<", 0.10, "", "rerun / first ingest, Prefect server up"),
    "ingest_cli_ratio": ("", 0, "", "the same, one-off command (no Prefect)"),
    "rerun_cli_s": ("", 0, "s", "unchanged rerun, one-off command"),
    "rerun_cli_ratio": ("", 0, "", "rerun / first ingest, one-off command"),
    "prefect_flow_s": ("", 0, "s", "an empty Prefect flow in a fresh process: what --prefect adds"),
    "load_rows_per_s": (
        ">=",
        20_000,
        "rows/s",
        "save_rows, 5,000 a batch (backfills), file opened per batch; dedupe, copies, index, log",
    ),
    "load_seed_rows_per_s": ("", 0, "rows/s", "the same in seed batches of 500"),
    "load_floor_rows_per_s": ("", 0, "rows/s", "storing a 5,000-row batch's final rows alone: the most a load can do"),
    "load_pages_rows_per_s": ("", 0, "rows/s", "the same in page batches of 200"),
    "save_copies_rows_per_s": ("", 0, "rows/s", "save_copies alone, batches of 5,000, file opened per batch"),
    "dedupe_10k_s": ("", 0, "s", "near-duplicate detection, 10,000 articles"),
    "dedupe_30k_s": ("", 0, "s", "near-duplicate detection, 30,000 articles"),
    "dedupe_100k_s": ("<", 60, "s", "near-duplicate detection, 100,000 articles"),
    "linearity": ("<", 1.5, "", "dedupe time growth 10k -> 100k, 1.0 = linear"),
    "digest_1m_ms": ("<", 1000, "ms", "weekly digest over 1,000,000 articles"),
    "query_topic_counts_1m_ms": ("<", 200, "ms", "per-topic per-day counts over 1,000,000 articles"),
    "stories_100k_s": ("<", 60, "s", "story clustering, 100,000 articles"),
    "export_1m_s": ("", 0, "s", "silkwatch export --parquet, 1,000,000 articles"),
    "classify_per_s": ("", 0, "articles/s", "topics and entities"),
    "query_median_ms": ("", 0, "ms", "search query median, 100,000 articles"),
    "overhead_s": ("", 0, "s", "orchestration overhead, 50 feeds"),
    "backfill_pages_per_s": ("", 0, "pages/s", "silkwatch backfill --sitemap, 2,000 pages, whole one-off command"),
    "backfill_fetch_pages_per_s": ("", 0, "pages/s", "the same, pages fetched to saved (the rate it reports)"),
}
COMPARE = {">=": operator.ge, "<": operator.lt, "<=": operator.le}


def last_pairs(output: str) -> dict[str, str]:
    """The ``name=value`` pairs of a part's last non-empty stdout line."""
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines:
        return {}
    return dict(pair.split("=", 1) for pair in lines[-1].split() if "=" in pair)


def run_part(name: str, args: list[str]) -> tuple[dict[str, str], float, int]:
    print(f"\n== bench.{name} ==", flush=True)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", f"bench.{name}", *args], stdout=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    code = proc.wait()
    seconds = time.perf_counter() - started
    print(f"(bench.{name}: {seconds:.0f} s{'' if code == 0 else f', FAILED with exit status {code}'})")
    return (last_pairs("".join(lines)) if code == 0 else {}), seconds, code


def verdict(name: str, value: str | None) -> str:
    if value is None:
        return "not measured"
    op, bound, _, _ = TARGETS[name]
    if not op:
        return ""
    return "met" if COMPARE[op](float(value), bound) else "MISSED"


def summary_table(figures: dict[str, str]) -> list[str]:
    lines = [f"{'figure':<26}{'value':>12} {'unit':<10} {'target':<12}{'':<14}what", "-" * 110]
    for name, (op, bound, unit, what) in TARGETS.items():
        value = figures.get(name)
        target = f"{op} {bound:g}" if op else ""
        shown = "-" if value is None else value
        lines.append(f"{name:<26}{shown:>12} {unit:<10} {target:<12}{verdict(name, value):<14}{what}")
    return lines


def main() -> int:
    wanted = sys.argv[1:]
    known = [name for name, _ in PARTS]
    unknown = [w for w in wanted if w not in known]
    if unknown:
        print(f"bench: unknown part(s) {', '.join(unknown)} (known: {', '.join(known)})", file=sys.stderr)
        return 2
    started = time.perf_counter()
    figures: dict[str, str] = {}
    failed = []
    for name, args in PARTS:
        if wanted and name not in wanted:
            continue
        pairs, _, code = run_part(name, args)
        if code != 0:
            failed.append(name)
        for figure, value in pairs.items():  # a name an earlier part used (peak_rss_mib) gets the part's prefix
            figures[f"{name}_{figure}" if figure in figures else figure] = value
    print(f"\n== summary ({time.perf_counter() - started:.0f} s) ==")
    print("\n".join(summary_table(figures)))
    if failed:
        print(f"failed parts (their figures are not measured): {', '.join(failed)}")
    print(" ".join(f"{k}={v}" for k, v in figures.items()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
