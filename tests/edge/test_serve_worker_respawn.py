"""``kill -9`` of one ``slotwise serve`` worker (or the OOM killer): it is replaced, the server goes on.

granian's default was to stop the whole server when one worker died, cutting the other
worker's requests too. Real processes: ``slotwise serve --workers 2`` (granian) as a subprocess.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from polling import wait_for
from scale.scale_helpers import PYTHON, Proc, free_port

from tests.edge.processes import alive, children

ROOT = Path(__file__).resolve().parents[2]


def _live_pid(port: int) -> int:
    r = httpx.get(f"http://127.0.0.1:{port}/_sw/live", timeout=2)
    r.raise_for_status()
    return int(r.json()["pid"])


def test_a_killed_worker_is_replaced_and_the_server_keeps_serving(tmp_path: Path) -> None:
    port = free_port()
    serve = Proc("serve", [
        PYTHON, "-m", "slotwise.cli", "serve", "--upstream", "http://127.0.0.1:9", "--workers", "2",
        "--server", "granian", "--port", str(port), "--data", str(tmp_path / "data"), "--log-level", "info",
    ], tmp_path, port).start(wait=60)
    seen: set[int] = set()
    try:
        assert serve.proc is not None
        master = serve.proc.pid
        workers = wait_for(lambda: len(children(master)) >= 2 and children(master), 30, what="two workers")
        seen.update(workers)
        wait_for(lambda: _live_pid(port) in workers, 30, what="a worker answers")

        os.kill(workers[0], signal.SIGKILL)
        replaced = wait_for(
            lambda: len(now := children(master)) == 2 and workers[0] not in now and now, 30,
            what=f"worker {workers[0]} replaced:\n{serve.tail()}")
        seen.update(replaced)
        assert serve.alive(), serve.tail()
        answered = {wait_for(lambda: _live_pid(port), 10, what="the server answers") for _ in range(20)}
        assert answered <= set(replaced), (answered, replaced)

        serve.stop(timeout=15)  # and it still stops on SIGTERM
        assert serve.proc.returncode == 0, serve.tail()
    finally:
        serve.stop(timeout=5)
        for w in seen:  # whatever the outcome, leave no orphan behind
            if alive(w):
                os.kill(w, signal.SIGKILL)


def test_a_worker_that_cannot_start_stops_serve_with_status_1_instead_of_respawning(tmp_path: Path) -> None:
    """A fault only a worker meets (a directory where its signing key should be; ``--data`` naming a file is
    refused before the start, see below)."""
    (tmp_path / "data" / "secret").mkdir(parents=True)
    serve = Proc("serve", [
        PYTHON, "-m", "slotwise.cli", "serve", "--upstream", "http://127.0.0.1:9", "--workers", "2",
        "--server", "granian", "--port", str(free_port()), "--data", str(tmp_path / "data"),
        "--log-level", "info",
    ], tmp_path).spawn()
    assert serve.proc is not None
    try:
        assert serve.proc.wait(60) == 1, serve.tail()
        log = serve.tail(10**6)
        assert "could not start (IsADirectoryError" in log, log
        assert "Respawning" not in log, log
    finally:
        serve.stop(timeout=5)


@pytest.mark.parametrize("under", [False, True])
def test_serve_refuses_a_data_path_that_is_no_directory_before_it_starts(tmp_path: Path, under: bool) -> None:
    """``--data`` naming a file (or a path under one) started the server, whose every worker then failed with a
    NotADirectoryError and stopped it with status 1: a setting known wrong before the start is refused before
    it, with status 2 and the setting's name, as the others are."""
    (tmp_path / "notes.txt").write_text("")
    data = tmp_path / "notes.txt" / "data" if under else tmp_path / "notes.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLOTWISE_")}
    done = subprocess.run(
        [PYTHON, "-m", "slotwise.cli", "serve", "--upstream", "http://127.0.0.1:9", "--port", str(free_port()),
         "--workers", "2", "--data", str(data)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, env={**env, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 2, done.stderr
    where = f"{str(data)!r} is under {str(tmp_path / 'notes.txt')!r}, which" if under else repr(str(data))
    assert f"slotwise serve: SLOTWISE_DATA / --data: {where} is not a directory: give the directory" in done.stderr
    assert "could not start" not in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_serve_leaves_no_metrics_directory_behind(tmp_path: Path) -> None:
    """``--workers 2`` keeps the workers' metrics in a directory of its own; each start left one in /tmp."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    port = free_port()
    serve = Proc("serve", [
        PYTHON, "-m", "slotwise.cli", "serve", "--upstream", "http://127.0.0.1:9", "--workers", "2",
        "--server", "granian", "--port", str(port), "--data", str(tmp_path / "data"), "--log-level", "info",
    ], tmp_path, port)
    os.environ["TMPDIR"], before = str(tmp), os.environ.get("TMPDIR")
    try:
        serve.start(wait=60)
    finally:
        if before is None:
            del os.environ["TMPDIR"]
        else:
            os.environ["TMPDIR"] = before
    try:
        wait_for(lambda: _live_pid(port), 30, what="a worker answers")
        assert [p.name for p in tmp.glob("slotwise-metrics-*")], "the metrics directory is where TMPDIR says"
        serve.stop(timeout=15)
        assert serve.proc is not None and serve.proc.returncode == 0, serve.tail()
        assert not list(tmp.glob("slotwise-metrics-*"))
    finally:
        serve.stop(timeout=5)
