"""What only the Redis store has: retention, outage behaviour, the learner's stream API, snapshot pushes."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any, Awaitable, Callable

import pytest
from ports import free_port

from slotwise.profile import record_view
from slotwise.store import open_store
from slotwise.store.base import LogRecord, StoreUnavailable
from slotwise.store.redis import RedisStore
from slotwise.store.redis.options import RedisOptions, parse_duration, split_url

pytestmark = pytest.mark.anyio

NOW = 1_700_000_000.0


def ev(key: str, visitor: str = "v") -> LogRecord:
    return LogRecord(kind="event", key=key, visitor=visitor, ts=NOW, data={"k": key})


def view(p: Any) -> None:
    record_view(p, NOW, category="shoes")


# -- options ------------------------------------------------------------------


def test_url_options() -> None:
    url, opts = split_url("redis://h:1/2?anon_ttl=30d&timeout=0.25&connect_timeout=1&prefix=t1:&dedup_ttl=0&db=3&log_maxlen=500")
    assert url == "redis://h:1/2?db=3"
    assert opts == RedisOptions(anonymous_ttl_s=30 * 86400, timeout_s=0.25, connect_timeout_s=1.0, prefix="t1:",
                                dedup_ttl_s=None, log_maxlen=500)
    assert split_url("redis://h")[1] == RedisOptions()
    assert [parse_duration(x) for x in ("90", "15m", "12h", "2w", "1.5d", "off", None)] == [
        90, 900, 43200, 1209600, 129600, None, None
    ]
    with pytest.raises(ValueError):
        parse_duration("30 days")
    assert RedisStore("redis://h/0?anon_ttl=1h", anonymous_ttl_s="5m").options.anonymous_ttl_s == 3600  # URL wins
    assert RedisStore("redis://h/0", anonymous_ttl_s="5m").options.anonymous_ttl_s == 300
    assert isinstance(open_store("redis://127.0.0.1:1/0", "/nonexistent"), RedisStore)


# -- retention ----------------------------------------------------------------


async def test_anonymous_profiles_expire_identified_ones_never(redis_url: str) -> None:
    store = RedisStore(redis_url + "?anon_ttl=1d")
    raw = store.redis
    try:
        await store.update_profile("anon", view, NOW)
        await store.append([ev("e1", "anon")])
        assert 86000 < await raw.ttl("sw:p:anon") <= 86400
        assert 86000 < await raw.ttl("sw:lv:anon") <= 86400

        def identify(p: Any) -> None:
            p.customer_id = "C1"

        await store.update_profile("known", identify, NOW)
        assert await raw.ttl("sw:p:known") == -1
        await store.link_identity("anon", "email:h", NOW)  # an alias makes it a person we keep
        assert await raw.ttl("sw:p:anon") == -1 and await raw.ttl("sw:lv:anon") == -1
        assert await raw.ttl("sw:a:email:h") == -1
        await store.append([ev("e2", "anon")])
        assert await raw.ttl("sw:lv:anon") == -1
    finally:
        await store.close()


async def test_anonymous_profile_is_gone_after_its_ttl(redis_url: str) -> None:
    store = RedisStore(redis_url, anonymous_ttl_s=1)
    try:
        await store.update_profile("anon", view, NOW)
        assert await store.get_profile("anon") is not None
        await asyncio.sleep(1.3)
        assert await store.get_profile("anon") is None
    finally:
        await store.close()


async def test_no_ttl_by_default(redis_url: str) -> None:
    store = RedisStore(redis_url)
    try:
        await store.update_profile("anon", view, NOW)
        assert await store.redis.ttl("sw:p:anon") == -1
    finally:
        await store.close()


# -- outages --------------------------------------------------------------------


def every_method(store: RedisStore) -> dict[str, Callable[[], Awaitable[Any]]]:
    return {
        "resolve": lambda: store.resolve("v"),
        "get_profile": lambda: store.get_profile("v"),
        "update_profile": lambda: store.update_profile("v", view, NOW),
        "link_identity": lambda: store.link_identity("v", "customer:C", NOW),
        "delete_profile": lambda: store.delete_profile("v"),
        "export_profile": lambda: store.export_profile("v"),
        "append": lambda: store.append([ev("x")]),
        "read_log": lambda: store.read_log(0),
        "upsert_products": lambda: store.upsert_products([{"id": "p"}], NOW),
        "get_products": lambda: store.get_products(["p"]),
        "list_products": lambda: store.list_products(),
        "record_product_view": lambda: store.record_product_view("p", ["q"]),
        "popular": lambda: store.popular(None, 5),
        "co_viewed": lambda: store.co_viewed("p", 5),
        "add_coupons": lambda: store.add_coupons(["A"], NOW),
        "claim_coupon": lambda: store.claim_coupon("o", NOW, lambda: "G"),
        "coupon_stats": lambda: store.coupon_stats(),
        "outbox_put": lambda: store.outbox_put("t", ["v"], {}, NOW),
        "outbox_claim": lambda: store.outbox_claim(NOW, 30),
        "outbox_done": lambda: store.outbox_done(1),
        "outbox_retry": lambda: store.outbox_retry(1, NOW, "e", NOW),
        "outbox_state": lambda: store.outbox_state(),
        "outbox_next_due": lambda: store.outbox_next_due(),
        "save_snapshot": lambda: store.save_snapshot("s", {}, 1),
        "load_snapshot": lambda: store.load_snapshot("s"),
        "snapshot_seq": lambda: store.snapshot_seq("s"),
        "create_group": lambda: store.create_group("g"),
        "consume": lambda: store.consume("g", "c", 10, block_ms=100),
        "ack": lambda: store.ack("g", [1]),
        "reclaim": lambda: store.reclaim("g", "c", 0),
        "ping": lambda: store.ping(),
    }


async def assert_all_unavailable(store: RedisStore, within_s: float) -> None:
    for name, call in every_method(store).items():
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await call()
        assert time.monotonic() - started < within_s, name


async def test_nothing_listening_raises_unavailable_at_once() -> None:
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0")
    try:
        await assert_all_unavailable(store, within_s=0.5)
    finally:
        await store.close()


async def test_a_redis_that_never_answers_does_not_hang() -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # the kernel completes handshakes; nobody ever reads or writes
    store = RedisStore(f"redis://127.0.0.1:{silent.getsockname()[1]}/0?timeout=0.2&connect_timeout=0.2")
    try:
        started = time.monotonic()
        for call in ("get_profile", "update_profile", "append", "popular"):
            with pytest.raises(StoreUnavailable):
                await every_method(store)[call]()
        assert time.monotonic() - started < 4 * 0.2 + 1.0
    finally:
        await store.close()
        silent.close()


async def test_survives_a_crash_and_recovers_when_redis_returns(own_redis: Any) -> None:
    server = own_redis(appendonly=True)  # its own: killed and started again
    store = RedisStore(server.url)
    try:
        await store.update_profile("v", view, NOW)
        await store.append([ev("e1")])
        server.stop(kill=True)  # kill -9: only what the AOF has survives
        await assert_all_unavailable(store, within_s=1.0)
        server.start()
        assert (await store.get_profile("v")).categories["shoes"]["count"] == 1  # same store object, no restart
        assert [r.key for r in await store.read_log(0)] == ["e1"]
        assert await store.append([ev("e1"), ev("e2")]) == [False, True]  # idempotency marks survived too
        assert [r.seq for r in await store.read_log(0)] == [1, 2]
        updated = await store.update_profile("v", view, NOW + 1)
        assert updated.categories["shoes"]["count"] == 2
    finally:
        await store.close()


# -- the learner's stream API ---------------------------------------------------


async def test_consumer_group_consume_ack_reclaim(redis_url: str) -> None:
    store = RedisStore(redis_url)
    try:
        assert store.stream_name == "sw:log"
        await store.append([ev("a"), ev("b")])
        assert await store.create_group("learner") is True
        assert await store.create_group("learner") is False
        await store.append([ev("c")])
        got = await store.consume("learner", "worker-1", count=10)
        assert [r.key for r in got] == ["a", "b", "c"] and [r.seq for r in got] == [1, 2, 3]
        assert await store.consume("learner", "worker-1", count=10) == []
        assert await store.ack("learner", [got[0].seq]) == 1
        # worker-1 "crashes" holding b and c: another worker takes them over
        assert await store.reclaim("learner", "worker-2", min_idle_ms=60_000) == []
        taken = await store.reclaim("learner", "worker-2", min_idle_ms=0)
        assert [r.key for r in taken] == ["b", "c"]
        assert await store.ack("learner", [r.seq for r in taken]) == 2
        assert await store.reclaim("learner", "worker-2", min_idle_ms=0) == []
        # a late group starts where it is told to
        assert await store.create_group("late", after_seq=2)
        assert [r.key for r in await store.consume("late", "w", count=10)] == ["c"]
    finally:
        await store.close()


async def test_consume_blocks_until_an_append(redis_url: str) -> None:
    store, writer = RedisStore(redis_url), RedisStore(redis_url)
    try:
        await store.create_group("g")
        started = time.monotonic()
        assert await store.consume("g", "c", block_ms=300) == []
        assert 0.25 < time.monotonic() - started < 1.5
        waiting = asyncio.create_task(store.consume("g", "c", block_ms=5000))
        await asyncio.sleep(0.1)
        await writer.append([ev("late")])
        assert [r.key for r in await asyncio.wait_for(waiting, 2)] == ["late"]
        slow = await store.consume("g", "c", block_ms=900)  # a block longer than the socket timeout is fine
        assert slow == []
    finally:
        await store.close()
        await writer.close()


async def test_erased_entries_leave_the_pending_list(redis_url: str) -> None:
    store = RedisStore(redis_url)
    try:
        await store.create_group("g")
        await store.update_profile("v", view, NOW)
        await store.append([ev("a", "v"), ev("b", "other")])
        assert len(await store.consume("g", "c", count=10)) == 2
        await store.delete_profile("v")
        assert [r.key for r in await store.reclaim("g", "c2", min_idle_ms=0)] == ["b"]
    finally:
        await store.close()


async def test_seq_continues_if_its_counter_is_lost(redis_url: str) -> None:
    store = RedisStore(redis_url)
    try:
        await store.append([ev("a"), ev("b")])
        await store.redis.delete("sw:seq")
        await store.append([ev("c")])
        assert [r.seq for r in await store.read_log(0)] == [1, 2, 3]
    finally:
        await store.close()


async def test_log_maxlen_and_prefix(redis_url: str) -> None:
    capped = RedisStore(redis_url + "?log_maxlen=100&prefix=cap:")
    plain = RedisStore(redis_url)
    try:
        for i in range(10):
            await capped.append([ev(f"k{i}-{j}") for j in range(50)])
        assert 100 <= await capped.redis.xlen("cap:log") < 300
        assert await plain.read_log(0) == []  # another prefix, another tenant
        assert (await capped.read_log(0))[-1].key == "k9-49"
    finally:
        await capped.close()
        await plain.close()


# -- snapshots reach serving instances -------------------------------------------


async def test_watch_snapshots_is_pushed_a_new_one(redis_url: str) -> None:
    learner, server = RedisStore(redis_url), RedisStore(redis_url)
    seen: list[tuple[dict, int]] = []
    arrived = asyncio.Event()

    async def on_snapshot(data: dict, seq: int) -> None:
        seen.append((data, seq))
        arrived.set()

    try:
        await learner.save_snapshot("bandits", {"v": 1}, 10)
        watch = asyncio.create_task(server.watch_snapshots("bandits", on_snapshot, poll_s=30))
        await asyncio.wait_for(arrived.wait(), 2)  # the current one first
        arrived.clear()
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await learner.save_snapshot("bandits", {"v": 2}, 20)
        await asyncio.wait_for(arrived.wait(), 2)
        assert time.monotonic() - started < 1.0  # pushed, not waiting for the 30 s poll
        assert seen == [({"v": 1}, 10), ({"v": 2}, 20)]
        assert await server.snapshot_seq("bandits") == 20
        watch.cancel()
        with pytest.raises(asyncio.CancelledError):
            await watch
    finally:
        await learner.close()
        await server.close()


async def test_claim_marks_coupon_owners_and_outbox_messages_go_as_the_bounds_table_says(redis_url: str) -> None:
    """docs/store-redis.md's "bounded by" rows for ``sw:c:*``, ``sw:cp:*`` and ``sw:ob:*``, on a real Redis."""
    store = RedisStore(redis_url)
    raw = store.redis
    try:
        await store.link_identity("v1", "email:h", NOW, merge=False)  # a browser's claim
        assert await raw.exists("sw:c:email:h")
        await store.link_identity("v2", "email:h", NOW)  # a trusted link takes the alias
        assert not await raw.exists("sw:c:email:h")
        await store.link_identity("v3", "email:k", NOW, merge=False)
        assert await raw.exists("sw:c:email:k")
        await store.delete_profile("v3")
        assert not await raw.exists("sw:c:email:k")

        await store.add_coupons(["A1"], NOW)
        await store.update_profile("v4", view, NOW)
        assert await store.claim_coupon("v4", NOW, lambda: "GEN") == ("A1", True)
        assert await raw.get("sw:cp:o:v4") == "A1"
        await store.delete_profile("v4")
        assert not await raw.exists("sw:cp:o:v4")  # the owner goes; the code stays, claimed for good
        code = await raw.hgetall("sw:cp:c:A1")
        assert "owner" not in code and code["claimed"] == str(NOW)

        first = await store.outbox_put("webhook", ["v5", "email:m"], {"n": 1}, NOW)
        await store.outbox_put("webhook", ["v5"], {"n": 2}, NOW)
        await store.outbox_claim(NOW, lease_s=30)
        await store.outbox_done(first)
        assert not await raw.exists(f"sw:ob:m:{first}") and not await raw.exists("sw:ob:s:email:m")
        assert await raw.zcard("sw:ob:due") == 1
        await store.update_profile("v5", view, NOW)
        await store.delete_profile("v5")
        assert sorted(await raw.keys("sw:ob:*")) == ["sw:ob:seq"]
    finally:
        await store.close()
