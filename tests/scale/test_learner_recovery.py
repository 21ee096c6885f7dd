"""The separate learner when Redis comes back empty (no persistence) or is away at start/stop."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from slotwise.proxy.operations.learner_process import StreamLearner
from slotwise.proxy.operations.learning import SNAPSHOT_NAME
from slotwise.proxy.personalization.choices import slot_configs
from slotwise.rules import load_rules
from slotwise.store.base import LogRecord
from slotwise.store.redis import RedisStore

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.redis,
    pytest.mark.timeout(60),
]

RULES = Path(__file__).with_name("rules.yaml")


def decision_and_click(visitor: str) -> list[LogRecord]:
    now = time.time()
    decision_id = uuid.uuid4().hex
    decision = {"decision_id": decision_id, "ts": now, "visitor_id": visitor, "slot": "home-categories",
                "arm": "recent", "propensity": 1.0, "policy": "thompson", "model_version": "1.0", "context": {}}
    click = {"type": "click", "props": {"decision_id": decision_id}}
    return [LogRecord("decision", decision_id, visitor, now, decision),
            LogRecord("event", uuid.uuid4().hex, visitor, now + 0.1, click)]


async def until(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = await check()
        except Exception:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(str(check))
        await asyncio.sleep(0.05)


def clicks_learned(snapshot: tuple[dict[str, Any], int] | None) -> float:
    if snapshot is None:
        return 0
    return sum(st[0] for st in snapshot[0]["policies"]["home-categories"]["arms"].values())


async def test_learner_recreates_its_group_when_redis_comes_back_empty(own_redis: Any) -> None:
    server = own_redis()  # no AOF: a restart loses everything
    store = RedisStore(server.url)
    learner = StreamLearner(store, consumer="t", slots=slot_configs(load_rules(RULES)),
                            snapshot_every_s=0.0, block_ms=100)
    stop = asyncio.Event()
    task = asyncio.create_task(learner.run(stop))
    try:
        await store.append(decision_and_click("v1"))
        await until(lambda: _loaded(store, lambda s: clicks_learned(s) == 1))
        seq_before = learner.learner.seq
        assert seq_before == 2

        server.stop(kill=True)
        server.start()  # empty: no stream, no group, no snapshot, seq counter back to 0
        await until(lambda: _group_exists(store))  # the learner noticed and recreated its group
        assert int(await store.redis.get(store.key("seq"))) >= seq_before  # new seqs follow the learned ones
        # republished with no new record (saved right after the group: a loaded machine shows the gap)
        snap = await until(lambda: _loaded(store, lambda s: s is not None))
        assert clicks_learned(snap) == 1  # the models survived

        await store.append(decision_and_click("v2"))
        found = await until(lambda: _loaded(store, lambda s: clicks_learned(s) == 2))
        assert found[1] > seq_before
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await store.close()


async def test_learner_waits_for_redis_at_start_and_stops_cleanly_without_it(
        own_redis: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    server = own_redis(start=False)
    store = RedisStore(server.url)  # nothing listening yet
    learner = StreamLearner(store, consumer="t", slots=slot_configs(load_rules(RULES)),
                            snapshot_every_s=0.0, block_ms=100)
    stop = asyncio.Event()
    task = asyncio.create_task(learner.run(stop))
    try:
        await asyncio.sleep(1.5)
        assert not task.done()  # waiting, not crashed
        # the outage said once, by the store; not a traceback a second (docs/scale-out.md: Redis down)
        assert sum("store unavailable" in r.getMessage() for r in caplog.records) <= 1, caplog.text
        assert not [r for r in caplog.records if r.exc_info], caplog.text
        server.start()
        await store.append(decision_and_click("v1"))
        await until(lambda: _loaded(store, lambda s: clicks_learned(s) == 1))
        await store.append(decision_and_click("v2"))
        server.stop(kill=True)
        stop.set()
        await asyncio.wait_for(task, 10)  # the final snapshot fails: logged, not raised
        assert task.exception() is None
    finally:
        stop.set()
        await store.close()


async def _loaded(store: RedisStore, ok: Any) -> tuple[dict[str, Any], int] | None:
    snap = await store.load_snapshot(SNAPSHOT_NAME)
    return snap if ok(snap) else None


async def _group_exists(store: RedisStore) -> bool:
    groups = await store.redis.xinfo_groups(store.stream_name)
    return any(g["name"] == "learner" for g in groups)
