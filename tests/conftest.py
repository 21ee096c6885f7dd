"""Shared, generic fixtures: free ports and running real servers on 127.0.0.1 (redis-server: ``redis_fixtures``)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import hypothesis
import ports  # noqa: E402 (tests/ports.py)
import pytest
from polling import wait_for_port
from real_parts import on_ci
from redis_fixtures import own_redis_fixture, redis_server_fixture, redis_url_fixture  # noqa: F401 (the fixtures)

ROOT = Path(__file__).resolve().parents[1]

# Hypothesis on CI (``CI`` set, as tests/real_parts.py reads it): the same examples every run (derandomize: a red
# CI run is one anybody can reproduce, never a seed nobody has), the blob that replays a failure printed, no
# per-example deadline nor too-slow check (a shared 2-core machine under load is no measure of speed: bench/
# is). Per-test settings (max_examples above all) still win. Locally, Hypothesis' default: random seeds, to
# keep finding new bugs. Hypothesis has a built-in "ci" profile much like it, chosen by its own reading of CI;
# this one is ours, so an upgrade of Hypothesis cannot change what CI runs.
hypothesis.settings.register_profile(
    "slotwise-ci", derandomize=True, database=None, print_blob=True, deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.too_slow])
hypothesis.settings.load_profile("slotwise-ci" if on_ci() else "default")  # CI=0 is not CI: not Hypothesis' either


def pytest_sessionstart(session: pytest.Session) -> None:
    """On CI (``CI`` set), a missing real part fails the run at once, with the install hint."""
    from real_parts import check_session

    check_session()


@pytest.fixture
def free_port() -> int:
    return ports.free_port()  # outside the ephemeral range: see tests/ports.py


class ThreadedUvicorn:
    """An ASGI app served by uvicorn in a background thread (own event loop)."""

    def __init__(self, app: Any, **config: Any) -> None:
        import uvicorn

        self.port = ports.free_port()
        options = dict(host="127.0.0.1", port=self.port, log_level="warning", lifespan="auto",
                       server_header=False, date_header=False, access_log=False, proxy_headers=False)
        options.update(config)
        self.server = uvicorn.Server(uvicorn.Config(app, **options))
        self.server.config.setup_event_loop = lambda: None  # type: ignore[method-assign]
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "ThreadedUvicorn":
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        # graceful first, so lifespan shutdown closes the app's store and upstream client;
        # forced only if idle keep-alive connections hold it up
        self.server.should_exit = True
        self.thread.join(3)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(10)


class ServerProcess:
    """A server in a subprocess (``python -m MODULE`` or a command), stopped on exit.

    Its stderr goes to a file, not a pipe: a server that logs a lot (an aborted
    stream logs a traceback) must never block on a full pipe nobody reads. It
    runs in its own session, so that stopping it stops its workers too (granian
    forks them). Start-up may take a while on a loaded machine: 30 s.
    """

    START_TIMEOUT = 30.0

    def __init__(self, args: list[str], port: int, env: dict[str, str] | None = None) -> None:
        self.args, self.port = args, port
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.stderr: Any = None
        self._final_log = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "ServerProcess":
        import tempfile

        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.args, env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=self.stderr,
                                     start_new_session=True)
        try:
            wait_for_port(self.port, timeout=self.START_TIMEOUT, proc=self.proc)
        except Exception as exc:
            self.__exit__()
            raise RuntimeError(f"{exc}; its stderr:\n{self.log()[-3000:]}") from exc
        return self

    def log(self) -> str:
        """What the server wrote to stderr so far."""
        if self.stderr is None:
            return ""
        if self.stderr.closed:
            return self._final_log
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        try:  # workers left behind by a main process that died first
            os.killpg(self.proc.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        if self.stderr is not None and not self.stderr.closed:  # still readable through ``log()``
            self._final_log = self.log()
            self.stderr.close()


@pytest.fixture
def asgi_server() -> Iterator[Any]:
    """Factory: ``asgi_server(app, **uvicorn_config)`` → a started ``ThreadedUvicorn``; stopped after the test."""
    started: list[ThreadedUvicorn] = []

    def start(app: Any, **config: Any) -> ThreadedUvicorn:
        server = ThreadedUvicorn(app, **config).__enter__()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.__exit__()


@pytest.fixture
def page_server() -> Iterator[Any]:
    """Factory: ``page_server({path: Page | bytes})`` → a started ``PageServer`` (tests/page_server.py) that
    records every request it gets; stopped after the test."""
    from page_server import PageServer

    started: list[PageServer] = []

    def start(routes: Any) -> PageServer:
        server = PageServer(routes).__enter__()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.__exit__()


@pytest.fixture
def server_process() -> Iterator[Any]:
    """Factory: ``server_process(args, port, env)`` → a started ``ServerProcess``; stopped after the test."""
    started: list[ServerProcess] = []

    def start(args: list[str], port: int, env: dict[str, str] | None = None) -> ServerProcess:
        server = ServerProcess(args, port, env).__enter__()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.__exit__()


@pytest.fixture(scope="session")
def chromium_server() -> Iterator[Any]:
    """This worker's headless Chromium (tests/chromium_server.py), started on first use; browser test modules
    connect to it (``browser_fixtures.browser``)."""
    from chromium_server import ChromiumServer

    server = ChromiumServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def uvicorn_runner() -> type[ThreadedUvicorn]:
    """The runner class itself, for session-scoped servers: ``with uvicorn_runner(app) as server``."""
    return ThreadedUvicorn


@pytest.fixture(scope="session")
def port_factory() -> Any:
    """``port_factory()`` → a free port; session-scoped, for module-scoped servers."""
    return ports.free_port


@pytest.fixture(scope="session")
def process_runner() -> type[ServerProcess]:
    """The subprocess runner class itself: ``with process_runner(args, port, env) as server``."""
    return ServerProcess
