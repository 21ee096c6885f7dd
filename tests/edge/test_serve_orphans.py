"""``kill -9`` of the ``slotwise serve`` master: its workers go too, and a new serve on the port works.

Real processes: ``slotwise serve --workers 2`` (granian) as a subprocess.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx

from polling import wait_for
from scale.scale_helpers import PYTHON, Proc, free_port

from tests.edge.processes import alive, children


def _serve(name: str, port: int, tmp_path: Path) -> Proc:
    return Proc(name, [
        PYTHON, "-m", "slotwise.cli", "serve", "--upstream", "http://127.0.0.1:9", "--workers", "2",
        "--server", "granian", "--port", str(port), "--data", str(tmp_path / "data"), "--log-level", "info",
    ], tmp_path, port)


def _health(port: int) -> dict:
    r = httpx.get(f"http://127.0.0.1:{port}/_sw/health", timeout=2)
    r.raise_for_status()
    return r.json()


def test_kill_9_of_the_master_takes_its_workers_and_a_new_serve_answers(tmp_path: Path) -> None:
    port = free_port()
    first = _serve("serve-1", port, tmp_path).start(wait=60)
    workers: list[int] = []
    second: Proc | None = None
    try:
        assert first.proc is not None
        master = first.proc.pid
        workers = wait_for(lambda: len(children(master)) >= 2 and children(master), 30, what="two workers")
        wait_for(lambda: _health(port)["pid"] in workers, 30, what="a worker answers")

        first.kill()  # kill -9 of the master
        wait_for(lambda: not any(alive(w) for w in workers), 3, what=f"workers {workers} gone after kill -9")

        second = _serve("serve-2", port, tmp_path).start(wait=60)
        assert second.proc is not None
        new_master = second.proc.pid
        # both workers: the first one up may not be the one that answers
        new_workers = wait_for(lambda: len(children(new_master)) >= 2 and children(new_master), 30, what="new workers")
        pid = wait_for(lambda: _health(port)["pid"], 30, what="the new serve answers")
        assert pid in new_workers, (pid, new_workers, second.tail())

        second.stop(timeout=10)  # and it still obeys SIGTERM
        assert second.proc.returncode is not None, second.tail()
    finally:
        for proc in (first, second):
            if proc is not None:
                proc.stop(timeout=5)
        for w in workers:  # whatever the outcome, leave no orphan behind
            if alive(w):
                os.kill(w, signal.SIGKILL)
