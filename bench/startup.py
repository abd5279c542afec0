"""Start-up: what a one-off command costs before and besides its own work.

    python -m bench.startup [RUNS]          (default 5)

In a fresh folder holding the seeds and an empty feed list (no network), after one ingest has
stored the seeds: ``noop_ingest_s``, the wall time of `silkwatch ingest` with nothing new (the
whole command: interpreter, imports, the flow's body without Prefect, the warehouse opened, the
seeds read and found stored, exit), and ``query_select1_s``, of `silkwatch query "select 1"`.
Each is the median of RUNS runs of the installed CLI in a fresh process, with no Prefect server
named (PREFECT_API_URL unset), as a user's shell runs it. ``noop_ingest_cpu_s`` and
``query_select1_cpu_s``: the median CPU time (user + system) of the same runs, which moves much less
than wall time with the load of a shared machine.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wall_seconds(command: list[str], cwd: Path, env: dict, check: str) -> tuple[float, float]:
    """The command's wall time and CPU time (user + system, its children included)."""
    cpu, started = _children_cpu(), time.perf_counter()
    done = subprocess.run(command, check=False, cwd=cwd, env=env, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - started, _children_cpu() - cpu
    if done.returncode != 0 or check not in done.stdout or done.stderr:
        raise SystemExit(f"bench: {' '.join(command[1:])} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, cpu


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    cli = str(Path(sys.executable).with_name("silkwatch"))
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "SILKWATCH_CONFIG", "SILKWATCH_DB")}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "seeds").mkdir()
        for seed in SEEDS.glob("*.txt"):
            shutil.copy(seed, work / "seeds")
        (work / "feeds.toml").write_text("", "utf-8")
        (work / "silkwatch.toml").write_text(
            '[warehouse]\npath = "silkwatch.duckdb"\n[seeds]\ndir = "seeds"\n[feeds]\nfile = "feeds.toml"\n', "utf-8"
        )
        seeds = len(list((work / "seeds").glob("*.txt")))
        wall_seconds([cli, "ingest"], work, env, "new articles")  # stores the seeds
        stored = f"already stored (unchanged)   │ {seeds}"
        ingest = [wall_seconds([cli, "ingest"], work, env, stored) for _ in range(runs)]
        query = [wall_seconds([cli, "query", "select 1"], work, env, "1 row") for _ in range(runs)]
    noop, select1 = statistics.median(w for w, _ in ingest), statistics.median(w for w, _ in query)
    noop_cpu, select1_cpu = statistics.median(c for _, c in ingest), statistics.median(c for _, c in query)
    print(f"one-off commands, no Prefect server named; median of {runs} runs, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    rows = [
        (f"silkwatch ingest, nothing new ({seeds} seeds)", noop, noop_cpu, 1.5),
        ('silkwatch query "select 1"', select1, select1_cpu, 0.5),
    ]
    for name, seconds, cpu, target in rows:
        print(f"{name:<44}{seconds:>8.2f} s   target <= {target}   (CPU {cpu:.2f} s)")
    print(f"noop_ingest_s={noop:.2f} query_select1_s={select1:.2f} noop_ingest_cpu_s={noop_cpu:.2f} "
          f"query_select1_cpu_s={select1_cpu:.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
