"""A snapshot in another format (an older Slotwise, river models pickled by another river) is not
loaded: the learning loop replays the log and ends where the snapshot would have put it."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from slotwise.bandits.learner import SlotConfig
from slotwise.proxy.operations.learning import SNAPSHOT_NAME, LearningLoop
from slotwise.store import open_store
from slotwise.store.base import LogRecord

T0 = 1_800_000_000.0
SLOTS = {"hero": SlotConfig(arms=("a", "b"), goal="purchase", policy="river-model", window=60.0)}


def history(n: int = 300) -> list[LogRecord]:
    rng = random.Random(2)
    out = []
    for i in range(n):
        ts = T0 + 10.0 * i
        arm = rng.choice("ab")
        out.append(LogRecord("decision", f"d{i}", f"v{i}", ts, {
            "decision_id": f"d{i}", "ts": ts, "visitor_id": f"v{i}", "slot": "hero", "arm": arm,
            "propensity": 0.5, "policy": "river-model", "context": {"bias": 1.0, "device=mobile": 1.0}}))
        if rng.random() < (0.3 if arm == "a" else 0.05):
            out.append(LogRecord("event", f"e{i}", f"v{i}", ts + 5, {"type": "purchase", "props": {"total": 9.0},
                                                                      "received": ts + 5}))
    return out


def test_an_unreadable_snapshot_is_rebuilt_from_the_log(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = open_store("", str(tmp_path))
        try:
            await store.append(history())
            first = LearningLoop(store, clock=lambda: T0 + 10**5)
            await first.start(SLOTS)
            await first.stop()  # writes a snapshot
            found = await store.load_snapshot(SNAPSHOT_NAME)
            assert found is not None
            snapshot, seq = found
            learned = first.learner.policies["hero"].counts
            assert sum(learned.values()) > 250  # the last windows are still open
            snapshot["policies"]["hero"]["river"] = "0.0.1"  # pickled by another river version
            await store.save_snapshot(SNAPSHOT_NAME, snapshot, seq)
            second = LearningLoop(store, clock=lambda: T0 + 10**5)
            await second.start(SLOTS)
            await second.stop()
            assert second.learner.seq == first.learner.seq
            assert second.learner.policies["hero"].counts == learned  # rebuilt from the log
            probe = {"bias": 1.0, "device=mobile": 1.0}
            assert second.learner.policies["hero"].probabilities(["a", "b"], probe) == \
                first.learner.policies["hero"].probabilities(["a", "b"], probe)
            # /2: before the short memory's switch on the leaders' fall; /3: before its per-variant streams;
            # /4: before their level of the last hours; /5: before the values waiting out of the
            # calibration
            for old in ("slotwise.learner/2", "slotwise.learner/3", "slotwise.learner/4", "slotwise.learner/5"):
                await store.save_snapshot(SNAPSHOT_NAME, {**snapshot, "format": old}, seq)
                third = LearningLoop(store, clock=lambda: T0 + 10**5)
                await third.start(SLOTS)
                await third.stop()
                assert third.learner.policies["hero"].counts == learned
        finally:
            await store.close()

    asyncio.run(scenario())
