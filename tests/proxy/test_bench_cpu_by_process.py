"""``bench.proxy.run`` splits Slotwise's CPU by process: a real ``slotwise serve --workers 2 --rules``
(granian's workers and the learner process it keeps beside them) is told apart by ``process_role``."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: scale helpers

from scale.scale_helpers import PYTHON, Proc, free_port, wait_until  # noqa: E402

from bench.proxy.run import tree_ticks, process_role, ticks_by_role  # noqa: E402

RULES = Path(__file__).resolve().parents[2] / "bench" / "proxy" / "rules-4-slots.yaml"


def test_the_master_its_workers_and_the_learner_are_told_apart(tmp_path: Path) -> None:
    port = free_port()
    serve = Proc("serve", [
        PYTHON, "-m", "slotwise.cli", "serve", "--upstream", "http://127.0.0.1:9", "--workers", "2",
        "--server", "granian", "--port", str(port), "--data", str(tmp_path / "data"), "--rules", str(RULES),
        "--log-level", "warning",
    ], tmp_path, port).start(wait=60)
    try:
        assert serve.proc is not None
        master = serve.proc.pid

        def roles() -> dict[int, str] | None:
            found = {pid: process_role(pid, master) for pid in tree_ticks(master)}
            kinds = sorted(found.values())
            return found if kinds.count("worker") >= 2 and "learner" in kinds else None

        found = wait_until(roles, 30, what="two workers and the learner")
        assert list(found.values()).count("master") == 1 and found[master] == "master"
        assert list(found.values()).count("learner") == 1, found
        answering = httpx.get(f"http://127.0.0.1:{port}/_sw/health", timeout=5).json()["pid"]
        assert found[answering] == "worker"  # the process that serves pages
        assert set(ticks_by_role(master)) == {"master", "worker loop", "worker threads", "learner"}
    finally:
        serve.stop(timeout=10)
