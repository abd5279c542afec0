"""Prefect in a one-shot command-line process: skip the costs that only a long-lived run needs.

Measured on the CLI in a fresh process (``python -m bench.ingest``, ``prefect_flow_s`` and the
rerun), where Prefect's fixed cost is most of an ingest with nothing new:

- With no ``PREFECT_API_URL``, Prefect starts a temporary server for the process (a uvicorn
  subprocess: ~3 s here, nearly all of it imports) when the first flow run asks for a client, and
  imports its server modules into this process first (~1.4 s). ``start_temporary_server`` starts the
  same server, the same way, as soon as the command knows it will run a flow, so that it comes up
  while the command imports the pipeline and takes the writer lock; the flow run then reports to it
  through ``PREFECT_API_URL`` (a temporary setting), and this process never imports Prefect's
  server. It is stopped at exit, and dies with this process even when it is killed (Linux).
- Flow run heartbeats (every 180 s, for a server to notice crashed runs) come from a thread that
  sleeps in 1-second steps; the end of every flow run waits for its current step, up to ~1 s. A run
  against the temporary server has no one to watch them: that server ends with the process. With a
  real server (``PREFECT_API_URL`` set by the user) they are kept. Prefect's settings cannot turn
  them off from the environment (``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` is an int >= 30), hence a
  temporary setting around the run.
- The interpreter's teardown after Prefect has run (freeing its server modules, ORM and pydantic
  models) takes ~1 s of C-level work. Once every exit handler has run (Prefect stops its server and
  flushes its events and logs; DuckDB is closed by then), the process leaves with ``os._exit``.
- A run that was asked to stop (``flows.stopping``) does not wait more than a moment for the
  threads still winding down (a fetch in the middle of a connect ends within its connect timeout).
- The server runs in a session of its own: Ctrl-C at the terminal reaches the whole foreground
  process group, and the server must outlive the run's last report to it.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from flows import stopping

PORT_IN_USE = 3  # uvicorn's exit status when it cannot bind its port
STOPPED_THREADS_WAIT = 2.0  # seconds a stopped run's exit waits for threads still winding down
# The server's process: ``python -m uvicorn ARGS``, as Prefect runs it, after asking Linux to end it
# (SIGTERM) when this process dies, even by SIGKILL (PR_SET_PDEATHSIG), which Prefect's does not.
_SERVER_MAIN = """
import ctypes, os, runpy, signal, sys
if sys.platform == "linux":
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))
    except (OSError, AttributeError):
        pass
if os.getppid() != int(sys.argv[1]):  # the command died before the request above: nobody to serve
    sys.exit(0)
sys.argv = ["uvicorn", *sys.argv[2:]]
runpy.run_module("uvicorn", run_name="__main__", alter_sys=True)
"""


class ServerStartError(RuntimeError):
    pass


class TemporaryServer:
    """Prefect's temporary API server for this process (what Prefect's own ephemeral mode starts:
    ``prefect.server.api.server.SubprocessASGIServer``), started without importing it."""

    def __init__(self):
        self.port = 0
        self.process: subprocess.Popen | None = None
        self._ready = False
        self._spawn()
        atexit.register(self.stop)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def _spawn(self) -> None:
        prefect_dir = importlib.util.find_spec("prefect").submodule_search_locations[0]  # not imported yet
        with socket.socket() as probe:  # a free port, as Prefect's own server would pick one
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = {
            **os.environ,
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
        }
        env.pop("PREFECT_API_URL", None)
        app = ["--app-dir", str(Path(prefect_dir).parent), "--factory", "prefect.server.api.server:create_app"]
        args = [*app, "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "error", "--lifespan", "on"]
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter)
            [sys.executable, "-c", _SERVER_MAIN, str(os.getpid()), *args], env=env, start_new_session=True
        )

    def wait_ready(self, timeout: float) -> None:
        """Block until the server answers its health check; ServerStartError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while not self._ready:
            if self.process is None:
                raise ServerStartError("Prefect's temporary server was stopped before it started")
            status = self.process.poll()
            if status == PORT_IN_USE:  # another process took the port meanwhile: another port
                self._spawn()
            elif status is not None:
                raise ServerStartError(f"Prefect's temporary server exited with status {status} while starting")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as answer:  # noqa: S310 (http://127.0.0.1)
                    self._ready = answer.status == 200
            except (OSError, urllib.error.URLError):
                pass
            if not self._ready:
                if time.monotonic() > deadline:
                    self.stop()
                    raise ServerStartError(f"Prefect's temporary server did not start within {timeout:.0f} s")
                time.sleep(0.05)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_temporary_server() -> TemporaryServer | None:
    """Start Prefect's temporary server now, in the background, if this process will need one:
    None when the user points Prefect at a server (``PREFECT_API_URL``) or disabled ephemeral mode.

    The server is started before Prefect's settings are read (importing them takes ~0.8 s) unless
    the environment names a server; a profile that names one stops it again at once."""
    if os.environ.get("PREFECT_API_URL"):
        return None
    server = TemporaryServer()
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        server.stop()
        return None
    return server


@contextlib.contextmanager
def one_shot_flow_run(server: TemporaryServer | None = None) -> Iterator[None]:
    """Flow runs inside report to ``server`` (once it is up) and do not heartbeat; with no
    ``server``, to the user's server (heartbeats kept), or to a temporary one that Prefect starts."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        get_current_settings,
        temporary_settings,
    )

    if server is not None:
        # what a flow run imports first (~0.3 s), imported while the server starts
        import prefect.flow_engine
        import prefect.utilities.visualization  # noqa: F401

        server.wait_ready(get_current_settings().server.ephemeral.startup_timeout_seconds)
        updates = {PREFECT_API_URL: server.api_url, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
    elif PREFECT_API_URL.value():
        updates = {}
    else:
        updates = {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
    with temporary_settings(updates=updates):
        yield


def _wait_for_threads(seconds: float) -> None:
    """Join the other non-daemon threads, for ``seconds`` at most in all."""
    deadline = time.monotonic() + seconds
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))


def run_then_exit(main: Callable[[], object]) -> None:
    """Run ``main``, then leave as Python would (same status, same exit handlers) minus the teardown."""
    try:
        main()
        code: object = 0
    except SystemExit as exit_:
        code = exit_.code
    except BaseException:  # the traceback and status 1, as Python prints them
        sys.excepthook(*sys.exc_info())
        code = 1
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    if stopping.stop_requested():
        _wait_for_threads(STOPPED_THREADS_WAIT)
    else:
        threading._shutdown()  # what Python does first at exit: join the non-daemon threads
    atexit._run_exitfuncs()  # then the exit handlers, last registered first
    with contextlib.suppress(OSError):  # a reader that went away (``| head``) loses nothing more
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)
