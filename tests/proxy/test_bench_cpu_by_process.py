"""``bench.proxy.run`` splits Slotwise's CPU by process: a real ``slotwise serve --workers 2 --rules``
(granian's workers and the learner process it keeps beside them) is told apart by ``process_role``; and it
counts the keep-alive connections each worker holds (``connections_per_worker``), which move the p99."""

from __future__ import annotations

from pathlib import Path

import httpx

from polling import wait_for
from scale.scale_helpers import PYTHON, Proc, free_port

from bench.proxy.run import connections_per_worker, process_role, split_of, ticks_by_role, tree_ticks

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

        found = wait_for(roles, 30, what="two workers and the learner")
        assert list(found.values()).count("master") == 1 and found[master] == "master"
        assert list(found.values()).count("learner") == 1, found
        answering = httpx.get(f"http://127.0.0.1:{port}/_sw/health", timeout=5).json()["pid"]
        assert found[answering] == "worker"  # the process that serves pages
        assert set(ticks_by_role(master)) == {"master", "worker loop", "worker threads", "learner"}
        workers = [pid for pid, role in found.items() if role == "worker"]
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) for _ in range(6)]
        try:
            for client in clients:
                assert client.get("/_sw/health").status_code == 200  # and the connection stays open
            spread = connections_per_worker(port, workers)
            assert sum(spread.values()) == 6 and set(spread) == set(workers), (spread, found)
        finally:
            for client in clients:
                client.close()
    finally:
        serve.stop(timeout=10)


def test_the_split_reads_most_first_and_counts_a_worker_without_connections() -> None:
    assert split_of({11: 13, 12: 19}, 2) == "19/13"
    assert split_of({11: 32}, 2) == "32/0"  # the other worker held none (ss does not list it)
