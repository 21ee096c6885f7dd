"""The learner trims the Redis log behind its snapshot: bounded stream and per-visitor index.

Real redis-server; the learner is ``StreamLearner`` with a ``LogTrimmer``, as
``slotwise learner --log-retention`` builds it.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from slotwise.proxy.operations.learner_process import StreamLearner
from slotwise.proxy.operations.learning import SNAPSHOT_NAME
from slotwise.proxy.operations.log_retention import LogTrimmer, parse_retention
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
DAY = 86400.0


def page_view(visitor: str, ts: float) -> LogRecord:
    return LogRecord("event", uuid.uuid4().hex, visitor, ts, {"type": "page_view", "props": {"url": "/"}})


def learner_for(store: RedisStore, retention: str) -> StreamLearner:
    return StreamLearner(store, consumer="t", slots=slot_configs(load_rules(RULES)), snapshot_every_s=0.0,
                         block_ms=50, trimmer=LogTrimmer(store, parse_retention(retention), every_s=0.0))


async def _drain(learner: StreamLearner) -> None:
    while await learner.step():
        pass


async def test_entries_older_than_the_retention_go_with_their_visitor_index(redis_url: str) -> None:
    store = RedisStore(redis_url)
    try:
        now = time.time()
        await store.append([page_view("old", now - 40 * DAY + i) for i in range(3)])
        await store.append([page_view("new", now - 1 * DAY + i) for i in range(2)])
        learner = learner_for(store, "30d")
        await learner.start()
        await _drain(learner)

        assert await store.redis.xlen(store.stream_name) == 2
        assert not await store.redis.exists(store.key("lv", "old"))  # the index went with the entries
        assert await store.redis.scard(store.key("lv", "new")) == 2
        start = await store.log_start()
        assert start is not None and start[0] == 4  # where reports now start counting
        exported = await store.export_profile("new")
        assert exported is None or len(exported["log"]) == 2
    finally:
        await store.close()


async def test_nothing_past_the_saved_snapshot_is_trimmed_even_with_no_retention(redis_url: str) -> None:
    store = RedisStore(redis_url)
    try:
        now = time.time()
        await store.append([page_view(f"v{i}", now - 10 * DAY) for i in range(5)])
        learner = learner_for(store, "0")
        await learner.start()
        await _drain(learner)
        assert (await store.load_snapshot(SNAPSHOT_NAME))[1] == 5  # type: ignore[index]
        assert await store.redis.xlen(store.stream_name) == 0
        assert not await store.redis.keys(store.key("lv", "*"))

        await store.append([page_view("late", now - 10 * DAY) for _ in range(2)])  # not learned yet
        assert await store.trim_log(5) == 0  # the snapshot is at 5: seqs 6 and 7 stay
        assert await store.redis.xlen(store.stream_name) == 2
        assert await store.redis.scard(store.key("lv", "late")) == 2

        await _drain(learner)  # learned and snapshotted: now they go
        assert await store.redis.xlen(store.stream_name) == 0
        assert await store.log_start() is None
        await store.append([page_view("after", now)])  # seqs go on after a trim to empty
        assert (await store.read_log(7))[0].seq == 8
    finally:
        await store.close()


async def test_off_keeps_everything_and_bad_values_are_refused(redis_url: str) -> None:
    assert parse_retention("off") is None and parse_retention("12h") == 12 * 3600 and parse_retention("0") == 0
    with pytest.raises(ValueError, match="not a retention"):
        parse_retention("thirty days")
    store = RedisStore(redis_url)
    try:
        await store.append([page_view("v", time.time() - 400 * DAY) for _ in range(3)])
        learner = learner_for(store, "off")
        await learner.start()
        await _drain(learner)
        assert await store.redis.xlen(store.stream_name) == 3
    finally:
        await store.close()


def test_the_learner_cli_refuses_a_bad_retention() -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "slotwise.cli", "learner", "--store", "redis://127.0.0.1:1/0",
                          "--log-retention", "soon"], capture_output=True, text=True, timeout=30,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 2 and "--log-retention" in out.stderr, out.stderr




async def test_at_maxmemory_the_learner_frees_what_its_last_snapshot_has_and_saves_again(own_redis: Any) -> None:
    store = RedisStore(own_redis().url)  # its own: the test fills it up (maxmemory)
    try:
        now = time.time()
        await store.append([page_view(f"v{i % 50}", now - 60) for i in range(3000)])
        learner = learner_for(store, "30d")  # retention: nothing would normally go
        await learner.start()
        await _drain(learner)
        assert await store.redis.xlen(store.stream_name) == 3000

        await store.append([page_view("late", now) for _ in range(5)])
        used = int((await store.redis.info("memory"))["used_memory"])
        await store.redis.config_set("maxmemory-policy", "noeviction")
        await store.redis.config_set("maxmemory", used - 1000)  # full: every write refused
        with pytest.raises(Exception):
            await store.append([page_view("refused", now)])

        with pytest.raises(Exception):
            await learner.step()  # the save is refused; the learned 3,000 entries go
        assert await store.redis.xlen(store.stream_name) == 5
        await _drain(learner)  # and the next save works
        assert (await store.load_snapshot(SNAPSHOT_NAME))[1] == 3005  # type: ignore[index]
        assert await store.append([page_view("accepted again", now)]) == [True]
    finally:
        await store.close()
