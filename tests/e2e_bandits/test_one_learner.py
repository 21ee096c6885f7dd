"""One learner per SQLite store: the workers decide with its models and hold no pending decision.

Real processes: ``slotwise serve --workers 2`` (granian) starts a dedicated
learner beside its workers; a kill -9 of that learner loses no learning (a
worker takes over, then the restarted learner, each from the last full
snapshot and the log after it). And without ``serve``: a learning process
killed with -9 is taken over by another sharing the file.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest_paths import PYTHON
from polling import wait_for
from test_restart import AUTH, TOKEN, log_records, serve_setup, straight_run, traffic
from slotwise.proxy.operations.learner_lock import LearnerLock
from slotwise.proxy.operations.learning import POLICIES_NAME, SNAPSHOT_NAME, LearningLoop
from slotwise.proxy.personalization.choices import slot_configs
from slotwise.rules import load_rules
from slotwise.store import open_store


def lock_of(data: Path) -> LearnerLock:
    return LearnerLock(data / "slotwise.db.learner.lock")


def holder(data: Path) -> int | None:
    """The pid that holds the learner lock (it writes it there), or None while nobody does."""
    lock = lock_of(data)
    if not lock.path.exists():
        return None
    if lock.try_acquire():  # nobody holds it
        lock.release()
        return None
    try:
        return int(lock.path.read_text().strip())
    except ValueError:
        return None


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def statuses(url: str, n: int = 40) -> dict[int, dict[str, Any]]:
    """The admin status of each worker that answered ``n`` requests (the kernel spreads connections)."""
    seen: dict[int, dict[str, Any]] = {}
    for _ in range(n):
        with httpx.Client(timeout=5) as client:  # a new connection each time
            st = client.get(url + "/_sw/admin/api/status", headers=AUTH).json()
        seen[st["pid"]] = st
    return seen


def all_caught_up(url: str, data: Path) -> dict[int, dict[str, Any]] | None:
    last = max(r.seq for r in log_records(data))
    seen = statuses(url)
    return seen if len(seen) == 2 and all(st["learner_seq"] == last for st in seen.values()) else None


def assert_models_are_a_straight_run(seen: dict[int, dict[str, Any]], rules: Path, data: Path) -> None:
    expected = straight_run(rules, data)
    for st in seen.values():
        assert st["learner_seq"] == expected.seq
        assert st["learner"]["pending"] == expected.pending_count > 0  # counted by the learner, held there only
        for slot, policy in expected.policies.items():
            live = st["learner"]["slots"][slot]
            assert live["updates"] == policy.version, slot
            assert {a: [v["n"], round(v["reward_sum"], 6)] for a, v in live["arms"].items()} == {
                a: [s[0], round(s[1], 6)] for a, s in policy.arms.items()}, slot


def test_two_workers_decide_with_the_one_learners_models_and_a_kill_9_of_it_loses_nothing(
    upstream: Any, tmp_path: Path, process_runner: Any, port_factory: Any
) -> None:
    port = port_factory()
    rules, data, args = serve_setup(upstream, tmp_path, port, "--workers", "2", "--admin-token", TOKEN)
    sent: list[dict[str, Any]] = []
    with process_runner(args, port) as serve:
        learner = wait_for(lambda: holder(data), 30,
                           what="the learner process holds the lock")
        assert " learner " in cmdline(learner), cmdline(learner)
        traffic(serve.url, 6, sent, "a")
        seen = wait_for(lambda: all_caught_up(serve.url, data), 30,
                        what="both workers have the learner's models of the whole log")
        assert not any(st["learns"] for st in seen.values())  # neither worker learns
        assert learner not in seen
        assert_models_are_a_straight_run(seen, rules, data)
        assert holder(data) == learner  # exactly one learned all along

        os.kill(learner, signal.SIGKILL)
        traffic(serve.url, 4, sent, "b")  # meanwhile a worker takes over, or the restarted learner
        again = wait_for(lambda: (pid := holder(data)) not in (None, learner) and " learner " in cmdline(pid) and pid, 30,
                         what="a restarted learner holds the lock")
        seen = wait_for(lambda: all_caught_up(serve.url, data), 30,
                        what="both workers caught up again")
        assert not any(st["learns"] for st in seen.values())
        assert_models_are_a_straight_run(seen, rules, data)  # nothing lost, nothing counted twice
        assert holder(data) == again


LEARN_FOREVER = """
import asyncio, sys
from slotwise.proxy.operations.learning import LearningLoop
from slotwise.proxy.personalization.choices import slot_configs
from slotwise.rules import load_rules
from slotwise.store import open_store

async def main():
    # one full snapshot at its first step, then none: what it learns later is only in the log and its models
    loop = LearningLoop(open_store("", sys.argv[1]), poll_s=0.05, snapshot_every_s=3600.0)
    await loop.start(slot_configs(load_rules(sys.argv[2])))
    assert loop.leading
    print("leading", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def test_a_process_sharing_the_file_takes_over_a_learner_killed_with_9(
    upstream: Any, tmp_path: Path, process_runner: Any, port_factory: Any
) -> None:
    port = port_factory()
    rules, data, args = serve_setup(upstream, tmp_path, port, "--server", "uvicorn")
    sent: list[dict[str, Any]] = []
    with process_runner(args, port) as serve:  # one worker, no learner process: the worker learns
        traffic(serve.url, 3, sent, "a")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    learner = subprocess.Popen([PYTHON, "-c", LEARN_FOREVER, str(data), str(rules)], env=env, stdout=subprocess.PIPE)
    loop = asyncio.new_event_loop()
    run = loop.run_until_complete
    store = open_store("", str(data))
    follower = LearningLoop(store, poll_s=3600)
    try:
        assert learner.stdout is not None and learner.stdout.readline().strip() == b"leading"
        run(follower.start(slot_configs(load_rules(rules))))
        assert not follower.leading and follower.learner.pending_count > 0
        assert len(follower.learner._pending) == 0  # it holds none of them
        with process_runner(args, port) as serve:  # a worker that follows: learned by the subprocess
            traffic(serve.url, 3, sent, "b")
        last = max(r.seq for r in log_records(data))
        wait_for(lambda: (run(store.snapshot_seq(POLICIES_NAME)) or 0) >= last, 20,
                 what="the learner published models of the whole log")
        full = run(store.snapshot_seq(SNAPSHOT_NAME))
        assert full is not None and full < last  # the newest records are only in the log
        learner.send_signal(signal.SIGKILL)
        learner.wait(10)
        run(follower.step())  # the lock is free: this process takes over
        assert follower.leading
        expected = straight_run(rules, data)
        assert follower.learner.seq == expected.seq
        assert follower.learner.pending_count == expected.pending_count
        for slot, policy in expected.policies.items():
            assert follower.learner.policies[slot].state() == policy.state(), slot
    finally:
        if learner.poll() is None:
            learner.kill()
            learner.wait()
        run(follower.stop())
        run(store.close())
        loop.close()


WANT_THE_LOCK = """
import sys, time
from pathlib import Path
from slotwise.proxy.operations.learner_lock import LearnerLock
LearnerLock(Path(sys.argv[1])).want()
print("wanting", flush=True)
time.sleep(120)
"""


def test_a_worker_that_learns_hands_over_to_the_learner_process_that_wants_to(
    upstream: Any, tmp_path: Path, process_runner: Any, port_factory: Any
) -> None:
    port = port_factory()
    rules, data, args = serve_setup(upstream, tmp_path, port, "--server", "uvicorn")
    with process_runner(args, port) as serve:
        traffic(serve.url, 3, [], "a")
    loop = asyncio.new_event_loop()
    run = loop.run_until_complete
    store = open_store("", str(data))
    worker, other = LearningLoop(store, poll_s=3600), LearningLoop(store, poll_s=3600)
    wanter: subprocess.Popen[bytes] | None = None
    try:
        slots = slot_configs(load_rules(rules))
        run(worker.start(slots))
        run(other.start(slots))
        assert worker.leading and not other.leading and len(worker.learner._pending) > 0
        held = worker.learner.pending_count
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        wanter = subprocess.Popen([PYTHON, "-c", WANT_THE_LOCK, str(lock_of(data).path)], env=env,
                                  stdout=subprocess.PIPE)
        assert wanter.stdout is not None and wanter.stdout.readline().strip() == b"wanting"
        run(worker.step())  # the learner process wants it: saved, released, and only the models kept
        assert not worker.leading and holder(data) is None
        assert len(worker.learner._pending) == 0 and worker.learner.pending_count == held
        run(other.step())  # a worker does not take what the learner process wants
        assert not other.leading
        wanter.kill()
        wanter.wait(10)
        run(other.step())  # it died wanting: a stale wish, the lock is taken
        assert other.leading and other.learner.pending_count == held
        expected = straight_run(rules, data)
        for slot, policy in expected.policies.items():
            assert other.learner.policies[slot].state() == policy.state() == worker.learner.policies[slot].state()
    finally:
        if wanter is not None and wanter.poll() is None:
            wanter.kill()
            wanter.wait()
        run(worker.stop())
        run(other.stop())
        run(store.close())
        loop.close()


def test_a_follower_loads_the_models_not_the_full_snapshot_unless_they_stay_behind(tmp_path: Path) -> None:
    """The full snapshot (every pending decision: megabytes) is saved just before the models at the same seq;
    a follower polling in between must not load it. Only models that stay behind (a learner of an older
    version, which saves the full one alone) make it fall back to the full one, stripped."""
    from slotwise.bandits.learner import Learner, SlotConfig
    from slotwise.proxy.operations.learning import STALE_MODELS_POLLS

    slots = {"hero": SlotConfig(arms=("a", "b"), goal="click")}
    learner = Learner(slots)
    for i in range(20):
        learner.on_decision({"decision_id": f"d{i}", "ts": 1e9 + i, "visitor_id": f"v{i}", "slot": "hero",
                             "arm": "a", "propensity": 0.5}, seq=i + 1)

    async def scenario() -> None:
        store = open_store("", str(tmp_path))
        try:
            await store.save_snapshot(POLICIES_NAME, learner.policies_snapshot(), 19)
            await store.save_snapshot(SNAPSHOT_NAME, learner.snapshot(), 20)
            # its clock moves a day per reading: every poll is due (loads are paced by their cost)
            follower = LearningLoop(store, follower=True, clock=itertools.count(0, 86400).__next__)
            follower.slots = dict(slots)
            for _ in range(STALE_MODELS_POLLS - 1):
                await follower.load_snapshot()
                assert follower._snapshot_seq == 19  # the models, though the full one is newer
            assert await follower.load_snapshot()  # behind for too long: the full one, without its decisions
            assert follower._snapshot_seq == 20 and len(follower.learner._pending) == 0
            assert follower.learner.pending_count == 20
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_learner_that_cannot_start_is_restarted_with_growing_pauses(tmp_path: Path) -> None:
    """The supervisor backs off (1, 2, 4 … s, at most a minute) instead of starting a failing learner every second."""
    from slotwise.proxy.config import Settings
    from slotwise.proxy.operations.learner_supervisor import LearnerSupervisor, restart_delay

    assert [restart_delay(n) for n in (1, 2, 3, 4, 8, 20)] == [1.0, 2.0, 4.0, 8.0, 60.0, 60.0]
    starts = tmp_path / "starts"
    supervisor = LearnerSupervisor(Settings(data=str(tmp_path)))
    supervisor.command = [PYTHON, "-c", f"open({str(starts)!r}, 'a').write('x'); raise SystemExit(3)"]
    supervisor.base_delay = 0.2  # then 0.4, 0.8: without a back-off it would start five or six times in 1.2 s
    supervisor.start()
    try:
        time.sleep(1.2)
        count = len(starts.read_text()) if starts.exists() else 0
    finally:
        supervisor.stop()
    assert 2 <= count <= 3, count  # starts at ~0, ~0.2 and ~0.6 s (the next at ~1.4 s)


WORKER = """
import asyncio, sys
from slotwise.proxy.config import Settings
from slotwise.proxy.operations.worker_signals import _set_loop_signals_once, when_told_to_stop
from slotwise.proxy.personalization.personalize import build_personalizer

async def main():
    # a granian worker: its stop handler (ours) installed before its app starts; a stop signal only sets it
    _set_loop_signals_once(asyncio.get_running_loop())
    when_told_to_stop(lambda: print("told to stop", flush=True))
    personalizer = build_personalizer(Settings.from_mapping({"upstream": "http://127.0.0.1:9", "data": sys.argv[1]}))
    personalizer.learning.poll_s = 0.05
    await personalizer.startup()
    print("leading" if personalizer.learning.leading else "following", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # its lifespan shutdown, when the test says
    await personalizer.shutdown()
    print("stopped", flush=True)

asyncio.run(main())
"""


def _worker(data: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen([PYTHON, "-c", WORKER, str(data)], env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def _said(worker: subprocess.Popen[str]) -> str:
    assert worker.stdout is not None
    return worker.stdout.readline().strip()


def _shut_down(worker: subprocess.Popen[str]) -> None:
    assert worker.stdin is not None
    worker.stdin.write("stop\n")
    worker.stdin.flush()
    assert _said(worker) == "stopped"
    assert worker.wait(10) == 0


@pytest.mark.parametrize("told_to_stop", [False, True], ids=["running", "told-to-stop"])
def test_a_worker_told_to_stop_does_not_take_over_the_learning_another_releases(
    tmp_path: Path, told_to_stop: bool
) -> None:
    """granian signals its workers at once and waits for them in turn: the first to shut down released the
    lock, and the other, stopping too but still running its app, took the learning over only to replay, save
    and release it again within its own stop, once past --stop-timeout. Two real processes with the workers'
    stop handler: one told to stop never takes the lock; one that goes on serving takes over, as before."""
    data = tmp_path / "data"
    data.mkdir()
    leader = _worker(data)
    other: subprocess.Popen[str] | None = None
    try:
        assert _said(leader) == "leading"
        other = _worker(data)
        assert _said(other) == "following"
        if told_to_stop:
            other.send_signal(signal.SIGTERM)  # it goes on running, as a granian worker draining its connections
            assert _said(other) == "told to stop"
        _shut_down(leader)  # saves, then releases the lock
        if told_to_stop:
            time.sleep(1.0)  # twenty of its polls
            assert holder(data) is None
        else:
            wait_for(lambda: holder(data) == other.pid, 10,
                     what="the running worker takes the learning over")
        _shut_down(other)
        assert holder(data) is None
    finally:
        for worker in (leader, other):
            if worker is not None and worker.poll() is None:
                worker.kill()
                worker.wait()


def test_a_worker_whose_shutdown_began_does_not_take_over_the_learning(tmp_path: Path) -> None:
    """Without a stop signal (uvicorn's workers, whose own handler has no listener): from the first moment of its
    lifespan shutdown, before the waits that precede the learning's stop, the lock another releases stays free."""
    from slotwise.proxy.config import Settings
    from slotwise.proxy.personalization.personalize import build_personalizer

    (tmp_path / "data").mkdir()
    learner = lock_of(tmp_path / "data")
    assert learner.try_acquire()  # another process learns
    personalizer = build_personalizer(Settings.from_mapping({"upstream": "http://127.0.0.1:9",
                                                             "data": str(tmp_path / "data")}))

    async def scenario() -> None:
        await personalizer.startup()
        assert not personalizer.learning.leading
        shutdown = asyncio.get_running_loop().create_task(personalizer.shutdown())
        await asyncio.sleep(0)  # it began
        learner.release()
        await personalizer.learning.step()
        assert not personalizer.learning.leading and holder(tmp_path / "data") is None
        await shutdown

    try:
        asyncio.run(scenario())
    finally:
        learner.release()
