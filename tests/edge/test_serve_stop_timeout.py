"""A worker that does not stop is killed ``--stop-timeout`` seconds after the stop, and ``slotwise serve`` ends.

Once, after Ctrl-C (SIGINT to the master and to each worker), a granian worker stayed in its shutdown and the
master waited on it for minutes: the service never stopped. uvicorn's supervisor of several workers joined
them with no timeout either.

Real processes: ``slotwise serve --workers 2`` as a subprocess. Only the workers' shutdown is made to hang, by a
``sitecustomize`` first on the subprocess's ``PYTHONPATH``: with ``HANG_ON_STOP_DIR`` set it marks there each
worker that started and each that began to stop, whose event loop it then blocks for good (a signal reaches
Python's handler, which only queues it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from polling import wait_for
from scale.scale_helpers import PYTHON, ROOT, Proc, free_port

from slotwise.proxy.config import ConfigError, Settings

from tests.edge.processes import alive, children

STOP_TIMEOUT = 2
MARGIN = 4.0  # the master's own exit after the kill, on a busy 2-core box

HANG_ON_STOP = textwrap.dedent('''
    import os

    if os.environ.get("HANG_ON_STOP_DIR"):
        import pathlib
        import time

        from slotwise.proxy import app

        marks = pathlib.Path(os.environ["HANG_ON_STOP_DIR"])
        started = app.ProxyApp.startup

        async def startup(self):
            await started(self)
            (marks / f"started-{os.getpid()}").touch()

        async def hang(self, *args, **kwargs):
            (marks / f"stopping-{os.getpid()}").touch()
            while True:  # the loop never runs again: a stop signal is queued, never handled
                time.sleep(0.1)

        app.ProxyApp.startup, app.ProxyApp.shutdown = startup, hang
''')


def _descendants(pid: int) -> list[int]:
    out = []
    for child in children(pid):
        out += [child, *_descendants(child)]
    return out


@pytest.mark.parametrize("server, workers", [("granian", 2), ("uvicorn", 2), ("uvicorn", 1)],
                         ids=["granian-2", "uvicorn-2", "uvicorn-1"])
def test_ctrl_c_with_workers_stuck_in_their_shutdown_ends_serve_after_the_stop_timeout(
        tmp_path: Path, server: str, workers: int) -> None:
    """``--workers 1`` with uvicorn too: its one worker ran in ``serve``'s own process, where nothing bounded it."""
    hook, marks = tmp_path / "hook", tmp_path / "marks"
    hook.mkdir()
    marks.mkdir()

    def marked(what: str) -> set[int]:
        return {int(p.name.split("-")[1]) for p in marks.glob(f"{what}-*")}

    (hook / "sitecustomize.py").write_text(HANG_ON_STOP)
    port = free_port()
    serve = Proc("serve", [
        PYTHON, "-m", "slotwise.cli", "serve", "--upstream", "http://127.0.0.1:9", "--workers", str(workers),
        "--server", server, "--port", str(port), "--data", str(tmp_path / "data"), "--log-level", "info",
        "--stop-timeout", str(STOP_TIMEOUT),
    ], tmp_path, port, env={"PYTHONPATH": f"{hook}:{ROOT}", "HANG_ON_STOP_DIR": str(marks)}).start(wait=60)
    processes: list[int] = []
    try:
        assert serve.proc is not None
        master = serve.proc.pid
        started = wait_for(lambda: len(ready := marked("started")) == workers and ready, 30,
                             what=f"{workers} worker(s) started")
        assert started <= {master, *children(master)}, (started, children(master))
        assert httpx.get(f"{serve.url}/_sw/live", timeout=2).status_code == 200
        processes = [master, *_descendants(master)]  # uvicorn's: its workers and multiprocessing's resource tracker

        for pid in processes:  # Ctrl-C in a terminal: every process of the group gets SIGINT
            os.kill(pid, signal.SIGINT)
        stopped = time.monotonic()
        wait_for(lambda: marked("stopping") == started, 10,
                   what=f"workers {started} hanging in their shutdown:\n{serve.tail()}")
        try:
            serve.proc.wait(STOP_TIMEOUT + MARGIN)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"slotwise serve still running {STOP_TIMEOUT + MARGIN} s after Ctrl-C, waiting "
                                 f"on its stuck workers:\n{serve.tail()}") from None
        took = time.monotonic() - stopped
        assert took >= STOP_TIMEOUT - 0.5, f"killed before the stop timeout ({took:.1f} s):\n{serve.tail()}"
        wait_for(lambda: not any(alive(p) for p in processes), 3, what=f"every process of serve {processes} gone")
        log = serve.tail(10**6)  # each worker killed, with a warning that says so (as the README quotes it)
        said = ("after it refused to gracefully stop" if server == "granian"
                else f"still running {STOP_TIMEOUT} s after the stop signal (--stop-timeout)")
        assert log.count(said) == workers and log.lower().count("killing worker") == workers, log
        assert serve.proc.returncode == 0, log  # stopped as asked: the kill is said in the log
    finally:
        serve.stop(timeout=5)
        for pid in processes:  # whatever the outcome, leave no orphan behind
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("bad", ["0", "-1", "nan", "inf"])
def test_a_stop_timeout_that_is_no_positive_number_of_seconds_is_refused_naming_the_setting(bad: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"SLOTWISE_STOP_TIMEOUT": bad})
    assert str(refused.value).startswith(
        f"SLOTWISE_STOP_TIMEOUT / --stop-timeout: {float(bad)!r} is not a positive number of seconds")
    with pytest.raises(ConfigError, match=r"^SLOTWISE_STOP_TIMEOUT / --stop-timeout: expected float, got 'soon'$"):
        Settings.from_env({"SLOTWISE_STOP_TIMEOUT": "soon"})


def test_a_worker_keeps_part_of_the_stop_timeout_for_its_last_requests_and_its_exit() -> None:
    """What a worker's own waits get (the queued page views): less than the kill's deadline, so a worker that
    cannot write in time says so instead of being killed mid-write."""
    assert Settings().stop_timeout == 30.0 and Settings().worker_stop_budget == 25.0
    assert Settings.from_env({"SLOTWISE_STOP_TIMEOUT": "2"}).worker_stop_budget == 1.0


def test_the_readme_and_the_compose_file_agree_with_the_code() -> None:
    """Docs are tested claims: the default and the margin the README quotes are the code's, and the compose
    file's grace period outlasts the stop timeout (docker's kill would come first, without a word)."""
    import yaml

    from slotwise.proxy.config import STOP_MARGIN_S

    readme = " ".join((ROOT / "README.md").read_text().split())
    default = Settings().stop_timeout
    assert f"`--stop-timeout` seconds after the signal ({default:g} s, `SLOTWISE_STOP_TIMEOUT`" in readme
    assert f"get `--stop-timeout` less {STOP_MARGIN_S:g} s (at least half of it;" in readme
    assert f"still running {default:g} s after the stop signal`" in readme
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    grace = compose["x-slotwise"]["stop_grace_period"]
    assert grace.endswith("s") and float(grace[:-1]) > default, grace
    assert compose["services"]["proxy-a"]["stop_grace_period"] == grace  # the instances inherit it


LEARNER_HANGS_ON_STOP = textwrap.dedent('''
    import os
    import sys

    if os.environ.get("HANG_ON_STOP_DIR") and "learner" in sys.argv:  # the learner process only, not the workers
        import pathlib
        import time

        from slotwise.proxy.operations import learning

        marks = pathlib.Path(os.environ["HANG_ON_STOP_DIR"])
        started = learning.LearningLoop.start

        async def start(self, slots):
            await started(self, slots)
            (marks / f"learning-{os.getpid()}").touch()

        async def hang(self, *args, **kwargs):
            (marks / f"stopping-{os.getpid()}").touch()
            while True:  # its loop never runs again: a second signal is queued, never handled
                time.sleep(0.1)

        learning.LearningLoop.start, learning.LearningLoop.stop = start, hang
''')


def test_a_learner_process_stuck_in_its_stop_is_killed_after_the_stop_timeout_too(tmp_path: Path) -> None:
    """The learner ``serve`` starts beside its workers (SQLite, several workers) is stopped after them: it
    had a fixed 30 s whatever ``--stop-timeout`` said, so a stop could take the stop timeout and 30 s more."""
    hook, marks = tmp_path / "hook", tmp_path / "marks"
    hook.mkdir()
    marks.mkdir()
    (hook / "sitecustomize.py").write_text(LEARNER_HANGS_ON_STOP)
    port = free_port()
    serve = Proc("serve", [
        PYTHON, "-m", "slotwise.cli", "serve", "--upstream", "http://127.0.0.1:9", "--workers", "2",
        "--rules", str(ROOT / "slotwise" / "rules" / "examples" / "demo.yaml"), "--port", str(port),
        "--data", str(tmp_path / "data"), "--stop-timeout", str(STOP_TIMEOUT),
    ], tmp_path, port, env={"PYTHONPATH": f"{hook}:{ROOT}", "HANG_ON_STOP_DIR": str(marks)}).start(wait=60)
    processes: list[int] = []
    try:
        assert serve.proc is not None
        learner = wait_for(lambda: [int(p.name.split("-")[1]) for p in marks.glob("learning-*")], 30,
                             what=f"the learner process learning:\n{serve.tail()}")[0]
        processes = [serve.proc.pid, *_descendants(serve.proc.pid)]
        assert learner in processes
        serve.proc.send_signal(signal.SIGTERM)  # docker stop, systemd: the master alone
        stopped = time.monotonic()
        try:
            serve.proc.wait(STOP_TIMEOUT + MARGIN)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"slotwise serve still running {STOP_TIMEOUT + MARGIN} s after SIGTERM, waiting "
                                 f"on its stuck learner:\n{serve.tail()}") from None
        assert (marks / f"stopping-{learner}").exists(), "the learner was never asked to stop"
        took = time.monotonic() - stopped
        assert took >= STOP_TIMEOUT - 0.5, f"the learner killed before the stop timeout ({took:.1f} s)"
        wait_for(lambda: not any(alive(p) for p in processes), 3, what=f"every process of serve {processes} gone")
        assert "the learner process did not stop" in serve.tail(10**6)
    finally:
        serve.stop(timeout=5)
        for pid in processes:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
