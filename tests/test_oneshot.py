"""A one-off command and Prefect (flows/steps.py): with no Prefect server named it runs the flow's
body without Prefect (no server, no port, no Prefect import, nothing on stderr); with
PREFECT_API_URL it is a Prefect flow run reporting to that server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import SEEDS
from tests.local_site import SILKWATCH, harness_api_url, silkwatch_env


def _seeds_workdir(root: Path) -> Path:
    """The seeds, no feeds: an ingest that touches no network."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(SEEDS, root / "seeds", ignore=shutil.ignore_patterns("*.toml"))
    (root / "feeds.toml").write_text("", "utf-8")
    (root / "silkwatch.toml").write_text(
        '[warehouse]\npath = "data/silkwatch.duckdb"\n[seeds]\ndir = "seeds"\n[feeds]\nfile = "feeds.toml"\n', "utf-8"
    )
    return root


def _descendants(root: int) -> set[int]:
    try:
        return {child.pid for child in psutil.Process(root).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def _listening_inodes() -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as fh:
            for line in fh.readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A":  # LISTEN
                    inodes.add(fields[9])
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    except OSError:  # the process ended meanwhile
        pass
    return inodes


def _run_watched(args: list[str], cwd: Path, env: dict) -> tuple[subprocess.CompletedProcess, set[int], set[str]]:
    """The command, and every process it started and every port it listened on while it ran."""
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    children: set[int] = set()
    listening: set[str] = set()
    while proc.poll() is None:
        tree = {proc.pid} | _descendants(proc.pid)
        children |= tree - {proc.pid}
        listening |= set().union(*(_socket_inodes(pid) for pid in tree)) & _listening_inodes()
        time.sleep(0.02)
    out, err = proc.communicate()
    return subprocess.CompletedProcess(args, proc.returncode, out, err), children, listening


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_one_off_command_starts_no_prefect_server(tmp_path) -> None:
    work = _seeds_workdir(tmp_path / "work")
    prefect_home = tmp_path / "prefect-home"
    env = silkwatch_env(PREFECT_HOME=str(prefect_home))
    assert "PREFECT_API_URL" not in env
    first = subprocess.run([SILKWATCH, "ingest"], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    for args, says in ((["ingest"], "already stored (unchanged)   │ 5"), (["run"], "digest"), (["digest"], "wrote")):
        done, children, listening = _run_watched([SILKWATCH, *args], work, env)
        assert done.returncode == 0, done.stderr
        assert says in done.stdout
        assert done.stderr == ""  # no "Crash detected!", no telemetry or log lines, no exit noise
        assert children == set()  # no server process (nor any other: seeds need no extraction workers)
        assert listening == set()  # no port opened
    assert not (prefect_home / "prefect.db").exists()  # no Prefect database either
    assert not (prefect_home / "profiles.toml").exists()


def test_a_one_off_command_does_not_import_prefect(tmp_path) -> None:
    work = _seeds_workdir(tmp_path / "work")
    code = (
        "import sys\nfrom silkwatch.flows.cli import main\nsys.argv = ['silkwatch', *sys.argv[1:]]\n"
        "try:\n    main()\nfinally:\n"
        "    print('imported:', sorted({m.split('.')[0] for m in sys.modules} & {'prefect', 'trafilatura', 'httpx', "
        "'apprise', 'jinja2', 'pyarrow', 'feedparser'}), file=sys.stderr)\n"
    )
    env = silkwatch_env(PREFECT_HOME=str(tmp_path / "prefect-home"))
    ingest = subprocess.run([sys.executable, "-c", code, "ingest"], cwd=work, env=env, capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    assert ingest.returncode == 0, ingest.stderr
    assert "prefect" not in ingest.stderr.split("imported:")[1]
    query = subprocess.run([sys.executable, "-c", code, "query", "select 1"], cwd=work, env=env, capture_output=True,
                           text=True, timeout=120)  # fmt: skip
    assert query.returncode == 0, query.stderr
    assert query.stderr.strip() == "imported: []"  # reading the warehouse needs none of them


# What a one-off command that fetches, extracts, renders and sends nothing must not load: each
# costs a tenth of a second or more of start-up (the no-op ingest's budget is 1.5 s in all).
HEAVY = {"prefect", "trafilatura", "lxml", "httpx", "httpcore", "feedparser", "apprise", "jinja2", "matplotlib",
         "distributed", "dask"}  # fmt: skip


def _packages_imported(args: list[str], cwd: Path, env: dict) -> tuple[subprocess.CompletedProcess, set[str]]:
    """The command run in this interpreter, and the top-level packages it had imported at its end."""
    code = (
        "import sys\nfrom silkwatch.flows.cli import main\nsys.argv = ['silkwatch', *sys.argv[1:]]\n"
        "try:\n    main()\nfinally:\n    print('imported:', ' '.join(sorted({m.split('.')[0] for m in sys.modules})), "
        "file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    return done, set(done.stderr.rpartition("imported:")[2].split())


def test_a_no_op_ingest_loads_nothing_it_does_not_use(tmp_path) -> None:
    """Seeds all stored, no feeds: no fetcher, feed parser, extractor, templates or Prefect."""
    work = _seeds_workdir(tmp_path / "work")
    env = silkwatch_env(PREFECT_HOME=str(tmp_path / "prefect-home"))
    first = subprocess.run([SILKWATCH, "ingest"], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    noop, imported = _packages_imported(["ingest"], work, env)
    assert noop.returncode == 0, noop.stderr
    assert "already stored (unchanged)   │ 5" in noop.stdout
    assert "silkwatch" in imported
    assert imported & HEAVY == set()
    query, imported = _packages_imported(["query", "select 1"], work, env)
    assert query.returncode == 0, query.stderr
    assert imported & (HEAVY | {"pyarrow", "numpy"}) == set()


def _flow_runs(name: str) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[name])), sort=FlowRunSort.ID_DESC, limit=200
        )


def test_with_prefect_api_url_a_command_is_a_prefect_flow_run(prefect_harness, tmp_path) -> None:
    work = _seeds_workdir(tmp_path / "work")
    before = {r.id for r in _flow_runs("silkwatch-run")}
    done = subprocess.run([SILKWATCH, "ingest"], cwd=work, env=silkwatch_env(PREFECT_API_URL=harness_api_url()),
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "new articles" in done.stdout
    new = [r for r in _flow_runs("silkwatch-run") if r.id not in before]
    assert len(new) == 1
    assert new[0].state.is_completed()
    assert new[0].parameters["write_report"] is False


def test_prefect_only_when_asked_or_a_server_is_named(monkeypatch) -> None:
    from silkwatch.flows.cli import _uses_prefect

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert not _uses_prefect(False)
    assert _uses_prefect(True)
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert _uses_prefect(False)
