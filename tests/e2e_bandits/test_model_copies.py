"""Copies of the learner's models: a follower builds them off its event loop, and both sides pace the copies
by what the last one cost (a river tree's models are megabytes: ``bench/learner_reload.py``)."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest

from slotwise.bandits.learner import Learner, SlotConfig
from slotwise.proxy.operations.learning import COPY_SHARE, POLICIES_NAME, LearningLoop
from slotwise.store import open_store
from slotwise.store import snapshot_text
from slotwise.store.snapshot_text import INLINE_CHARS, decoded_snapshot

SLOTS = {"hero": SlotConfig(arms=("a", "b"), goal="click")}


class Ticks:
    """A timer whose every reading is ``step`` seconds after the last: a copy of the models, timed by two
    readings, "costs" ``step``."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def learner_at(seq: int) -> Learner:
    learner = Learner(SLOTS)
    learner.seq = seq
    return learner


async def copy_gaps(now: list[float], step: Callable[[], Awaitable[None]], mark: Callable[[], object]) -> list[float]:
    """Seconds between copies of the models over 10 s of ``step`` every quarter second (``now[0]``: the clock);
    a copy is a ``step`` after which ``mark()`` changed. A copy made before the first step counts as the first."""
    copied = [now[0]]
    for _ in range(40):
        now[0] += 0.25
        before = mark()
        await step()
        if mark() != before:
            copied.append(now[0])
    return [b - a for a, b in zip(copied, copied[1:])]


def test_a_follower_builds_the_models_in_a_thread_not_on_its_event_loop(tmp_path: Path, monkeypatch) -> None:
    built_on: list[int] = []
    real = Learner.from_snapshot

    def spying(data: Any) -> Learner:
        built_on.append(threading.get_ident())
        return real(data)

    monkeypatch.setattr(Learner, "from_snapshot", staticmethod(spying))

    async def scenario() -> int:
        store = open_store("", str(tmp_path))
        try:
            await store.save_snapshot(POLICIES_NAME, learner_at(7).policies_snapshot(), 7)
            follower = LearningLoop(store, follower=True)
            follower.slots = dict(SLOTS)
            assert await follower.load_snapshot()
            assert follower._snapshot_seq == 7 and set(follower.learner.policies) == {"hero"}  # configured
            return threading.get_ident()
        finally:
            await store.close()

    loop_thread = asyncio.run(scenario())
    assert built_on and all(ident != loop_thread for ident in built_on)


def test_a_follower_waits_out_the_cost_of_its_last_load(tmp_path: Path) -> None:
    """A load that took 0.1 s: the next waits 0.1 / COPY_SHARE = 2 s, whatever is published meanwhile."""
    now = [1000.0]

    async def scenario() -> None:
        store = open_store("", str(tmp_path))
        try:
            follower = LearningLoop(store, follower=True, clock=lambda: now[0], timer=Ticks(0.1))  # each load costs 0.1 s
            follower.slots = dict(SLOTS)
            await store.save_snapshot(POLICIES_NAME, learner_at(1).policies_snapshot(), 1)
            assert await follower.load_snapshot()
            wait = 0.1 / COPY_SHARE
            await store.save_snapshot(POLICIES_NAME, learner_at(2).policies_snapshot(), 2)
            now[0] += wait - 0.5
            assert not await follower.load_snapshot() and follower._snapshot_seq == 1  # not yet
            now[0] += 0.6
            assert await follower.load_snapshot() and follower._snapshot_seq == 2
        finally:
            await store.close()

    asyncio.run(scenario())


def test_the_leader_publishes_large_models_less_often(tmp_path: Path) -> None:
    """Every second while the models change, unless a publish cost more than COPY_SHARE of that: then
    ``cost / COPY_SHARE`` apart."""
    now = [1000.0]

    async def scenario(cost: float) -> list[float]:
        store = open_store("", str(tmp_path / str(cost)))
        try:
            leader = LearningLoop(store, clock=lambda: now[0], timer=Ticks(cost),  # each publish costs `cost`
                                  snapshot_every_s=10**9)
            leader.learner = learner_at(1)
            leader.leading = True
            leader.lock = _HeldLock()  # type: ignore[assignment]  # held: followers share the file
            await leader.publish()

            async def step() -> None:
                leader.learner.seq += 1  # the models changing all the while
                await leader.step()

            return await copy_gaps(now, step, lambda: leader._published_seq)
        finally:
            await store.close()

    assert set(asyncio.run(scenario(0.01))) == {1.0}  # small models: every second
    gaps = asyncio.run(scenario(0.2))
    assert len(gaps) == 2 and all(gap == pytest.approx(0.2 / COPY_SHARE) for gap in gaps)  # 4 s apart


class _HeldLock:
    """The learner lock as the leader holds it: nobody else wants it."""

    def wanted_by(self) -> None:
        return None

    def release(self) -> None:
        pass


def test_a_large_snapshot_is_decoded_in_a_thread_and_a_small_one_inline(monkeypatch) -> None:
    decoded_on: list[int] = []
    real = json.loads

    def spying(text: Any) -> Any:
        decoded_on.append(threading.get_ident())
        return real(text)

    monkeypatch.setattr(snapshot_text.json, "loads", spying)
    small = json.dumps({"models": "x" * 100})
    large = json.dumps({"models": "x" * (INLINE_CHARS + 1)})

    async def scenario() -> int:
        assert await decoded_snapshot(small) == {"models": "x" * 100}
        assert await decoded_snapshot(large.encode()) == real(large)
        return threading.get_ident()

    loop_thread = asyncio.run(scenario())
    assert decoded_on[0] == loop_thread and decoded_on[1] != loop_thread


def test_the_stream_learner_saves_large_models_less_often(tmp_path: Path) -> None:
    """``slotwise learner`` (Redis) saves its snapshots every ``--snapshot-every`` (1 s), or ``cost / COPY_SHARE``
    apart when a save took longer than that share; 0 s still means after every batch."""
    from slotwise.proxy.operations.learner_process import StreamLearner

    now = [1000.0]

    async def saves(cost: float, every: float) -> list[float]:
        store = open_store("", str(tmp_path / f"{cost}-{every}"))
        try:
            learner = StreamLearner(store, slots=SLOTS, snapshot_every_s=every, clock=lambda: now[0],
                                    timer=Ticks(cost))
            learner.learner = learner_at(1)

            async def step() -> None:
                learner._dirty = True  # a batch learned
                await learner.flush()

            await step()  # the first snapshot
            return await copy_gaps(now, step, lambda: learner._last_snapshot)
        finally:
            await store.close()

    assert set(asyncio.run(saves(0.01, 1.0))) == {1.0}
    gaps = asyncio.run(saves(0.2, 1.0))
    assert len(gaps) == 2 and all(gap == pytest.approx(0.2 / COPY_SHARE) for gap in gaps)
    assert set(asyncio.run(saves(0.2, 0.0))) == {0.25}  # asked for after every batch
