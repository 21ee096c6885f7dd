"""The separate learner: what it says when instances serve other rules than its own, and its bound.

An instance serving other rules than the learner's: the learner says once what it does not learn.

Decisions for a variant or slot the learner's rules lack were dropped without a word, so an
instance rolled out with a new variant (and a learner left on the old file) explored it for ever.
Real parts: redis-server, the Redis store, the stream learner.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from pathlib import Path

import pytest
from scale_helpers import PYTHON, Proc

from slotwise.proxy.operations.learner_process import StreamLearner
from slotwise.proxy.personalization.choices import slot_configs
from slotwise.rules import load_rules
from slotwise.store.base import LogRecord
from slotwise.store.redis import RedisStore

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.redis,
    pytest.mark.timeout(60),
]

RULES = Path(__file__).with_name("rules.yaml")  # hero: moving, sale


def decision(slot: str, arm: str) -> LogRecord:
    now, decision_id, visitor = time.time(), uuid.uuid4().hex, uuid.uuid4().hex
    return LogRecord("decision", decision_id, visitor, now, {
        "decision_id": decision_id, "ts": now, "visitor_id": visitor, "slot": slot, "arm": arm,
        "propensity": 0.5, "policy": "thompson", "model_version": "1.0", "context": {}})


async def test_decisions_for_variants_and_slots_the_learner_lacks_are_named_once(
        redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    store = RedisStore(redis_url)
    learner = StreamLearner(store, consumer="t", slots=slot_configs(load_rules(RULES)),
                            snapshot_every_s=0.0, block_ms=100)
    try:
        await learner.start()
        await store.append([decision("hero", "moving"), decision("hero", "new-one"), decision("hero", "new-one"),
                            decision("banner", "big"), decision("banner", "big")])
        with caplog.at_level(logging.WARNING, logger="slotwise.learner"):
            for _ in range(3):
                await learner.step()
        said = [r.getMessage() for r in caplog.records if "are not learned" in r.getMessage()]
        assert len(said) == 2, said
        assert "slot 'hero' variant 'new-one'" in said[0] and "no such variant" in said[0]
        assert "slot 'banner' variant 'big'" in said[1] and "no such slot" in said[1]
        assert learner.learner.slots["hero"].arms  # the known decision was learned as before
    finally:
        await store.close()


async def test_the_learner_command_takes_learner_max_pending(tmp_path: Path, redis_url: str) -> None:
    """The docs bound the separate learner with ``--learner-max-pending``; the command refused the flag."""
    store = RedisStore(redis_url)
    learner = Proc("learner", [PYTHON, "-m", "slotwise.cli", "learner", "--store", redis_url, "--rules", str(RULES),
                               "--consumer", "t", "--snapshot-every", "0.1", "--learner-max-pending", "2"],
                   tmp_path).spawn()
    try:
        await store.append([decision("hero", "moving") for _ in range(3)])

        async def not_held() -> int:
            found = await store.load_snapshot("bandits")
            return int(found[0].get("not_held") or 0) if found else 0
        deadline = time.monotonic() + 30
        while await not_held() != 1:
            assert learner.alive(), learner.tail()
            assert time.monotonic() < deadline, learner.tail()
            await asyncio.sleep(0.1)
    finally:
        learner.stop()
        await store.close()
