"""Shared fixtures: the repo's seeds, a temp config, the corpora bodies, one Prefect harness."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.reliability import pytest_addoption as reliability_options
from tests.reliability import (  # noqa: F401 - hooks of `make reliability`'s table, registered here
    pytest_collection_modifyitems,
    pytest_runtest_logreport,
    pytest_terminal_summary,
)

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

ROOT = Path(__file__).resolve().parents[1]


def pytest_addoption(parser) -> None:
    reliability_options(parser)
    parser.addoption(
        "--regen-golden", action="store_true", help="rewrite tests/golden/ from the current code (make golden)"
    )


SEEDS = ROOT / "seeds"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def corpora_pages() -> dict[str, dict]:
    return json.loads((FIXTURES / "corpora_bodies.json").read_text("utf-8"))["pages"]


def seeds_only_checkout(work: Path) -> Path:
    """``work`` laid out as `make run` finds a fresh clone offline: the seed articles and a config
    naming the warehouse (no feed list, so nothing reaches the network)."""
    (work / "seeds").mkdir()
    for seed in SEEDS.glob("*.txt"):
        (work / "seeds" / seed.name).write_bytes(seed.read_bytes())
    (work / "silkwatch.toml").write_text('[warehouse]\npath = "data/silkwatch.duckdb"\n', "utf-8")
    return work


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A folder laid out like a fresh checkout: silkwatch.toml and a copy of the seeds."""
    shutil.copytree(SEEDS, tmp_path / "seeds", ignore=shutil.ignore_patterns("*.toml"))
    (tmp_path / "silkwatch.toml").write_text(
        '[warehouse]\npath = "data/silkwatch.duckdb"\n[seeds]\ndir = "seeds"\n[digest]\ndir = "reports"\n',
        "utf-8",
    )
    return tmp_path


def zone_with_another_date() -> str:
    """A time zone whose date, right now, is not UTC's: what a developer in Almaty (UTC+5) sees
    between midnight and 05:00 UTC, at any hour. At least one of UTC+14 and UTC-12 differs."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    now = datetime.now(UTC)
    for zone in ("Etc/GMT-14", "Etc/GMT+12"):  # POSIX signs: Etc/GMT-14 is UTC+14
        if now.astimezone(ZoneInfo(zone)).date() != now.date():
            return zone
    raise AssertionError("unreachable: UTC+14 and UTC-12 are 26 hours apart")


@pytest.fixture
def local_date_not_utc(monkeypatch) -> str:
    """This process's local time zone set to one whose date is not UTC's (``TZ`` and ``time.tzset``),
    so code or a test that names a day by local time gets the wrong day and fails."""
    import time

    zone = zone_with_another_date()
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    yield zone
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="session")
def local_site():
    """The news site of ``tests/local_site.py``, for the tests that run silkwatch against it."""
    from tests.local_site import LocalSite

    site = LocalSite()
    yield site
    site.close()


@pytest.fixture(scope="session")
def reference_run(prefect_harness, local_site, tmp_path_factory) -> dict:
    """One uninterrupted `silkwatch run` of the local site: what every killed or stopped run, run
    again, must end with (``tests.local_site.rerun_heals``)."""
    from tests.local_site import reference_of

    return reference_of(tmp_path_factory.mktemp("reference"), local_site)


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    # up to 3 minutes: on a machine shared with other work (2 cores here) the server can take more than one
    with prefect_test_harness(server_startup_timeout=180):
        yield


@contextmanager
def warehouse_held_by_another_process(db: Path):
    """Another process with the warehouse open for writing (DuckDB's file lock), until the block ends."""
    code = "import duckdb,sys,time; c=duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(60)"
    holder = subprocess.Popen([sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        yield
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def process_alive(pid: int) -> bool:
    """Whether ``pid`` still runs (Linux: /proc); a zombie has exited, only its parent would reap it."""
    try:
        state = Path(f"/proc/{pid}/status").read_text().split("State:", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def group_members(pgid: int) -> list[int]:
    """The processes of process group ``pgid`` still running (Linux: /proc)."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def processes_exit(pids: list[int], within: float) -> bool:
    """Wait up to ``within`` seconds for every process of ``pids`` to exit; whether they all did."""
    import time

    deadline = time.monotonic() + within
    while any(process_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not any(process_alive(pid) for pid in pids)
