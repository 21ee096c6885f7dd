"""A SIGTERM while granian's workers are still starting, or just as they finish, stops ``slotwise serve``.

granian forks its workers with the master's signal handler, which only sets a
flag in the worker's copy of the master; a SIGTERM that arrived before the
worker installed its own handler was lost, the worker served on for ever and
the master hung waiting for it (about one stop in five right after a start).
One that arrived after the app's start-up, while granian set its server up
(its event loop not running), was lost too: the worker was killed at
``--stop-timeout`` (``worker_signals``).

Real processes: ``slotwise.proxy.server.run`` with granian and two workers;
only the app factory is slowed (it marks its start, then sleeps before
building the real app) so the signal lands inside that window every time;
or it holds each worker between its app's start-up and its serving until the
worker's handler has heard the signal (a fixed wait let a slow master's
SIGTERM come after the workers served, and the test pass without testing).
A worker whose handler lost the signal stays held until the master kills it
at ``--stop-timeout``, past the test's wait.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.edge.processes import alive, children

ROOT = Path(__file__).resolve().parents[2]
STOP_TIMEOUT = 10  # a worker that lost the signal is killed then: the test would wait that long

SLOW_FACTORY = textwrap.dedent("""
    import os, pathlib, time

    def create():
        pathlib.Path(os.environ["STARTED_DIR"], str(os.getpid())).touch()
        time.sleep(float(os.environ["SLOW_START_S"]))
        from slotwise.proxy.app import create_app_from_env
        return create_app_from_env()

    def create_then_hold_before_serving():
        # the real app; granian's worker, once the app started, waits until its stop handler ran before it serves
        import granian.server.mp as mp
        from slotwise.proxy.app import create_app_from_env
        from slotwise.proxy.operations.worker_signals import stopping

        scheduler, marks = mp._new_cbscheduler, pathlib.Path(os.environ["STARTED_DIR"])

        def held(*args, **kwargs):  # called between the app's start-up and the server's start
            (marks / str(os.getpid())).touch()
            while not stopping():  # a signal the handler lost holds the worker until the master's kill
                time.sleep(0.05)
            return scheduler(*args, **kwargs)

        mp._new_cbscheduler = held
        return create_app_from_env()
""")

RUN = textwrap.dedent("""
    import sys
    from slotwise.proxy.config import Settings
    from slotwise.proxy.server import run
    run(Settings.from_env(upstream="http://127.0.0.1:9", port=int(sys.argv[1]), workers=2, server="granian",
                          data=sys.argv[2], log_level="warning", stop_timeout=float(sys.argv[4])),
        factory="slow_factory:" + sys.argv[3])
""")


def _wait(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what}: not true after {timeout} s")


@pytest.mark.parametrize("factory", ["create", "create_then_hold_before_serving"],
                         ids=["in-the-app-factory", "between-start-up-and-serving"])
def test_sigterm_while_workers_start_stops_the_server(tmp_path: Path, factory: str) -> None:
    from tests.scale.scale_helpers import free_port

    (tmp_path / "slow_factory.py").write_text(SLOW_FACTORY)
    started = tmp_path / "started"
    started.mkdir()
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}:{ROOT}", "STARTED_DIR": str(started), "SLOW_START_S": "30"}
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen([sys.executable, "-c", RUN, str(free_port()), str(tmp_path / "data"), factory,
                             str(STOP_TIMEOUT)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    workers: list[int] = []
    try:
        workers = _wait(lambda: len(list(started.iterdir())) == 2 and [int(p.name) for p in started.iterdir()], 60,
                        "both workers inside the app factory, or held before serving")
        assert sorted(workers) == sorted(children(proc.pid)), "the marks come from the master's workers"
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT - 3)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"slotwise serve still running {STOP_TIMEOUT - 3} s after SIGTERM (a starting "
                                 "worker swallowed it): " + (tmp_path / "serve.log").read_text()) from None
        assert "refused to gracefully stop" not in (tmp_path / "serve.log").read_text()
        _wait(lambda: not any(alive(w) for w in workers), 5, f"workers {workers} gone")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for w in workers:
            if alive(w):
                os.kill(w, signal.SIGKILL)
        log.close()
