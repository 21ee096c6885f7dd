"""A learning worker's last snapshot at its stop gets past another worker writing group after group.

With several workers over SQLite, a worker learns while the learner process is away (``learning``); at its stop
it saves the full state while the other worker writes its queued page views, one group right after the other.
SQLite's busy handler pauses up to 100 ms between its tries, and the other writer takes the lock back within
each pause: the snapshot waited its whole 10 s and failed ("database is locked"), longer than the stop's kill
leaves. Real processes on the real file: this one learns, a second one writes as that other worker does.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from slotwise.bandits.learner import Learner, SlotConfig
from slotwise.proxy.operations.learning import SNAPSHOT_NAME, LearningLoop
from slotwise.store import open_store

WITHIN_S = 3.0  # the worker's share of the stop timeout the test gives it

# a group of writes held 200 ms (a loaded machine), the next begun a millisecond after the commit, until killed
OTHER_WORKER = textwrap.dedent("""
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
    conn.execute("CREATE TABLE IF NOT EXISTS other_worker (k INTEGER PRIMARY KEY, v TEXT)")
    print("writing", flush=True)
    n = 0
    while True:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT OR REPLACE INTO other_worker VALUES (?, ?)", (n % 50, "x" * 2000))
        time.sleep(0.2)
        conn.execute("COMMIT")
        n += 1
        time.sleep(0.001)
""")


def _learned(n: int) -> Learner:
    learner = Learner({"hero": SlotConfig(arms=("a", "b"), goal="click")})
    for i in range(n):
        learner.on_decision({"decision_id": f"d{i}", "ts": 1e9 + i, "visitor_id": f"v{i}", "slot": "hero",
                             "arm": "a", "propensity": 0.5}, seq=i + 1)
    return learner


def test_the_last_snapshot_is_written_within_the_stop_while_another_worker_writes(tmp_path: Path) -> None:
    async def scenario() -> tuple[float, tuple[dict, int] | None]:
        store = open_store("", tmp_path)
        loop = LearningLoop(store, poll_s=3600.0)
        await loop.start({"hero": SlotConfig(arms=("a", "b"), goal="click")})
        assert loop.leading
        loop.learner = _learned(20)  # what it learned since its last snapshot (none)
        other = subprocess.Popen([sys.executable, "-c", OTHER_WORKER, str(tmp_path / "slotwise.db")],
                                 stdout=subprocess.PIPE, text=True)
        try:
            assert other.stdout is not None and other.stdout.readline().strip() == "writing"
            await asyncio.sleep(0.3)  # well into its groups
            started = time.monotonic()
            await loop.stop(within_s=WITHIN_S)
            took = time.monotonic() - started
        finally:
            other.kill()
            other.wait()
        try:
            return took, await store.load_snapshot(SNAPSHOT_NAME)
        finally:
            await store.close()

    took, saved = asyncio.run(scenario())
    assert saved is not None and saved[1] == 20, f"the last snapshot was lost (stop took {took:.1f} s)"
    assert took < WITHIN_S, took
