"""A SIGTERM while granian's workers are still starting stops ``slotwise serve``.

granian forks its workers with the master's signal handler, which only sets a
flag in the worker's copy of the master; a SIGTERM that arrived before the
worker installed its own handler was lost, the worker served on for ever and
the master hung waiting for it (about one stop in five right after a start).

Real processes: ``slotwise.proxy.server.run`` with granian and two workers;
only the app factory is slowed (it marks its start, then sleeps before
building the real app) so the signal lands inside that window every time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.edge.processes import alive, children

ROOT = Path(__file__).resolve().parents[2]

SLOW_FACTORY = textwrap.dedent("""
    import os, pathlib, time

    def create():
        pathlib.Path(os.environ["STARTED_DIR"], str(os.getpid())).touch()
        time.sleep(float(os.environ["SLOW_START_S"]))
        from slotwise.proxy.app import create_app_from_env
        return create_app_from_env()
""")

RUN = textwrap.dedent("""
    import sys
    from slotwise.proxy.config import Settings
    from slotwise.proxy.server import run
    run(Settings.from_env(upstream="http://127.0.0.1:9", port=int(sys.argv[1]), workers=2, server="granian",
                          data=sys.argv[2], log_level="warning"), factory="slow_factory:create")
""")


def _wait(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what}: not true after {timeout} s")


def test_sigterm_while_workers_start_stops_the_server(tmp_path: Path) -> None:
    from tests.scale.scale_helpers import free_port

    (tmp_path / "slow_factory.py").write_text(SLOW_FACTORY)
    started = tmp_path / "started"
    started.mkdir()
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}:{ROOT}", "STARTED_DIR": str(started), "SLOW_START_S": "30"}
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen([sys.executable, "-c", RUN, str(free_port()), str(tmp_path / "data")], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    workers: list[int] = []
    try:
        workers = _wait(lambda: len(list(started.iterdir())) == 2 and [int(p.name) for p in started.iterdir()], 30,
                        "both workers inside the app factory")
        assert sorted(workers) == sorted(children(proc.pid)), "the marks come from the master's workers"
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            raise AssertionError("slotwise serve still running 10 s after SIGTERM (a starting worker "
                                 "swallowed it): " + (tmp_path / "serve.log").read_text()) from None
        _wait(lambda: not any(alive(w) for w in workers), 5, f"workers {workers} gone")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for w in workers:
            if alive(w):
                os.kill(w, signal.SIGKILL)
        log.close()
