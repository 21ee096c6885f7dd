"""One loader of a product feed per store, not one per worker: the workers (two store objects on one SQLite
file) and the instances (two clients of a real redis-server) each run a ``FeedLoader``; the feed's lease
(``Store.take_lease``) lets one of them read the store's API per ``REFRESH_S``, a stopped holder gives it back
(the next reads at once), a dead holder's lease expires, a changed feed or mapping is read at once (going back
to a feed too, once across the loaders), a failed read is retried after a backoff, every loader's store shows
the reader's outcome (``feed_health``), and a store that cannot say skips the round only.

The feed is served by ``page_server`` (it records every request). SQLite counts lease time on the loaders'
clock (a fake one here); Redis on its own, so there the clock's steps are also waited for, short
(``REFRESH_S`` and the lease's length made a few seconds).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from page_server import Page

from slotwise.proxy.operations import feed_health, metrics
from slotwise.proxy.operations.feed_health import check_feed
from slotwise.proxy.personalization import catalog_feed
from slotwise.proxy.personalization.catalog_feed import FeedLoader, lease_s
from slotwise.proxy.personalization.feed_lease import lease_name
from slotwise.rules.testing import rules_from_text
from slotwise.store.base import StoreUnavailable

pytestmark = pytest.mark.anyio

NOW = 1_700_000_000.0
REFRESH_S = 3.0
RETRY_S = 0.6
JSON = (("content-type", "application/json"),)
MAPPED = """
catalog:
  product_pages: "/p/{product}/"
  feed:
    url: /api/products
    items: data.products
    page: {param: page, size_param: per_page, size: 2, max_pages: 5}
    fields: {id: handle, name: %s}
    sizes: {items: variants, id: id, size: option1, not_sizes: ["Default Title", "One size", "Standard", "OS"]}
slots: []
"""


@pytest.fixture(autouse=True)
def short_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    """Periods Redis's own clock can be waited through: a refresh due every 3 s, a lease of 2 s, a retry
    after 0.6 s, then 1.2 s."""
    monkeypatch.setattr(catalog_feed, "REFRESH_S", REFRESH_S)
    monkeypatch.setattr(catalog_feed, "RETRY_S", RETRY_S)
    monkeypatch.setattr(catalog_feed, "MAX_FEED_S", 1.5)
    monkeypatch.setattr(catalog_feed, "WRITE_MARGIN_S", 0.5)


class Clock:
    """The loaders' clock; on Redis a step is also waited for, as the lease expires on Redis's clock."""

    def __init__(self, backend: Any) -> None:
        self.now = NOW
        self.real = backend.name == "redis"

    def __call__(self) -> float:
        return self.now

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        if self.real:
            await asyncio.sleep(seconds)


def feed_page(*ids: str) -> Page:
    return Page(json.dumps([{"id": i, "name": f"Item {i}"} for i in ids]).encode(), 200, JSON)


def loaders(backend: Any, server: Any, clock: Clock) -> tuple[FeedLoader, FeedLoader]:
    """Two workers (or instances): each its own store object on the shared state, and its own loader."""
    return FeedLoader(backend.open(), server.url, clock), FeedLoader(backend.open(), server.url, clock)


async def test_one_of_two_loaders_reads_the_feed_per_period(backend: Any, store: Any, page_server: Any) -> None:
    server = page_server({"/feed.json": feed_page("p1", "p2")})
    clock = Clock(backend)
    a, b = loaders(backend, server, clock)
    assert await a.refresh("/feed.json") == 2
    assert await b.refresh("/feed.json") == 0  # within the period: the other worker's rows are the catalog
    assert [r.path for r in server.requests] == ["/feed.json"]
    assert set(await store.get_products(["p1", "p2"])) == {"p1", "p2"}
    await clock.advance(REFRESH_S / 2)
    assert (await a.refresh("/feed.json"), await b.refresh("/feed.json")) == (0, 0)  # nor the loader itself
    assert len(server.requests) == 1
    await clock.advance(REFRESH_S / 2 + 0.2)  # the period after the load is over: one of them reads it again
    assert await b.refresh("/feed.json") + await a.refresh("/feed.json") == 2
    assert len(server.requests) == 2


async def test_a_holder_stopped_mid_read_gives_the_lease_back_and_the_next_reads_at_once(
        backend: Any, store: Any, page_server: Any) -> None:
    """A deploy restarts the workers: the one reading the feed is cancelled there. The next process reads it
    at once, not after the lease's minutes (``lease_s``); and nothing of the stopped read counts as loaded."""
    slow = Page(json.dumps([{"id": "p1"}]).encode(), 200, JSON, trickle=0.05)
    server = page_server({"/feed.json": slow})
    clock = Clock(backend)
    a, b = loaders(backend, server, clock)
    stopped = asyncio.ensure_future(a.refresh("/feed.json"))
    while not server.requests:  # the holder is reading the feed...
        await asyncio.sleep(0.01)
    stopped.cancel()  # ...and its worker stops there
    with pytest.raises(asyncio.CancelledError):
        await stopped
    server.routes["/feed.json"] = feed_page("p1", "p2")
    assert await b.refresh("/feed.json") == 2 and len(server.requests) == 2
    assert (await store.feed_read(lease_name("/feed.json", None))).products == 2


async def test_a_holder_stopped_while_saving_the_reads_outcome_gives_the_lease_back(
        redis_url: str, page_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stop comes as the outcome (``FeedRead``) is saved, after the catalog was written: the lease is given
    back all the same, and the next process reads at once (it would wait for the lease's minutes). On Redis,
    whose save is a round trip a stop can land in (SQLite's has no await): Redis holds every write for half a
    second (``CLIENT PAUSE ... WRITE``) from the save on, and the worker stops while it waits."""
    import redis.asyncio

    from slotwise.store.redis import RedisStore

    monkeypatch.setattr(catalog_feed, "MAX_FEED_S", 30.0)  # a lease that outlives the test unless given back
    server = page_server({"/feed.json": feed_page("p1")})
    admin = redis.asyncio.Redis.from_url(redis_url)
    a_store, b_store = (RedisStore(f"{redis_url}?timeout=5") for _ in "ab")  # calls may wait out the pause
    a, b = FeedLoader(a_store, server.url, lambda: NOW), FeedLoader(b_store, server.url, lambda: NOW)
    saving, save = asyncio.Event(), a_store.save_feed_read

    async def paused_save(name: str, read: Any) -> None:
        await admin.execute_command("CLIENT", "PAUSE", 500, "WRITE")
        saving.set()
        await save(name, read)

    a_store.save_feed_read = paused_save  # type: ignore[method-assign]
    try:
        stopped = asyncio.ensure_future(a.refresh("/feed.json"))
        await saving.wait()
        await asyncio.sleep(0.05)
        stopped.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stopped
        assert "p1" in await b_store.get_products(["p1"])  # written before the stop
        server.routes["/feed.json"] = feed_page("p1", "p2")
        assert await b.refresh("/feed.json") == 2 and len(server.requests) == 2
    finally:
        await admin.aclose()
        await a_store.close()
        await b_store.close()


async def test_a_holder_gives_back_only_its_own_lease(backend: Any, store: Any) -> None:
    """Compare and delete: a holder whose time ran out (and whose lease another took since) frees nothing."""
    clock = Clock(backend)
    other = backend.open()
    assert await store.take_lease("feed:x", "old", clock(), 0.5)
    await clock.advance(0.7)
    assert await other.take_lease("feed:x", "new", clock(), 5.0)
    assert not await store.release_lease("feed:x", "old", clock())
    assert not await store.take_lease("feed:x", "third", clock(), 5.0)  # still the new holder's
    assert await other.release_lease("feed:x", "new", clock())
    assert await store.take_lease("feed:x", "third", clock(), 5.0)


async def test_a_holder_that_died_mid_read_is_replaced_once_its_lease_expires(
        backend: Any, store: Any, page_server: Any) -> None:
    """A process killed mid-read (no code of its own runs) gives nothing back: its lease ends with its time."""
    server = page_server({"/feed.json": feed_page("p1")})
    clock = Clock(backend)
    a, b = loaders(backend, server, clock)
    assert await a.refresh("/feed.json") == 1  # the lease's group knows the feed: b's first round is no switch
    await clock.advance(REFRESH_S + 0.2)
    assert await store.take_lease(lease_name("/feed.json", None), "gone-host:1:dead", clock(), lease_s())
    assert await b.refresh("/feed.json") == 0 and len(server.requests) == 1  # held: nobody reads it twice
    await clock.advance(lease_s() + 0.2)  # the lease outlives any refresh (MAX_FEED_S and a margin), then ends
    assert await b.refresh("/feed.json") == 1 and len(server.requests) == 2


async def test_back_to_a_feed_read_a_moment_ago_reads_it_again_at_once_and_once(
        backend: Any, store: Any, page_server: Any) -> None:
    """A marketer changes the feed (A to B) and reverts it (B to A) within the period: A's catalog is read again
    at once, not when A's old period ends; by one of the two workers that both see each change, and not by a
    third whose rules never changed."""
    server = page_server({"/a.json": feed_page("a1"), "/b.json": feed_page("b1")})
    clock = Clock(backend)
    a, b = loaders(backend, server, clock)
    steady = FeedLoader(backend.open(), server.url, clock)
    assert await a.refresh("/a.json") + await b.refresh("/a.json") + await steady.refresh("/a.json") == 1
    await clock.advance(0.2)
    assert await b.refresh("/b.json") + await a.refresh("/b.json") == 1
    await clock.advance(0.2)
    assert await a.refresh("/a.json") == 1  # A's period after its first read is not over: read all the same
    assert await b.refresh("/a.json") == 0 and await steady.refresh("/a.json") == 0
    assert [r.path for r in server.requests] == ["/a.json", "/b.json", "/a.json"]
    await clock.advance(REFRESH_S / 2)
    assert await b.refresh("/a.json") + await a.refresh("/a.json") == 0  # and then held a period, as ever
    assert len(server.requests) == 3


async def test_a_feed_dropped_from_the_rules_and_brought_back_is_read_at_once_and_once(
        backend: Any, store: Any, page_server: Any) -> None:
    """Rules without ``catalog.feed`` for a moment, then with the same feed again: a switch, read at once (not
    when the old period ends) by one of the workers that saw both changes; and so by a process that started
    while the rules had no feed (a deploy of them), whose rules then name it again."""
    server = page_server({"/a.json": feed_page("a1")})
    clock = Clock(backend)
    a, b = loaders(backend, server, clock)
    assert await a.refresh("/a.json") + await b.refresh("/a.json") == 1
    await clock.advance(0.2)
    assert await b.refresh(None) + await a.refresh(None) == 0
    await clock.advance(0.2)
    assert await b.refresh("/a.json") + await a.refresh("/a.json") == 1  # within A's period: read all the same
    assert [r.path for r in server.requests] == ["/a.json", "/a.json"]
    await clock.advance(0.2)
    started = FeedLoader(backend.open(), server.url, clock)  # a process started with rules without a feed
    assert await started.refresh(None) == 0
    await clock.advance(0.2)
    assert await started.refresh("/a.json") == 1 and await a.refresh("/a.json") == 0
    assert len(server.requests) == 3


async def test_a_changed_feed_or_mapping_is_read_at_once(backend: Any, store: Any, page_server: Any,
                                                         tmp_path: Path) -> None:
    server = page_server({"/feed.json": feed_page("p1"), "/other.json": feed_page("q1"),
                          "/api/products?page=1&per_page=2": Page(json.dumps({"data": {"products": [
                              {"handle": "m1", "title": "Title", "label": "Label"}]}}).encode(), 200, JSON)})
    clock = Clock(backend)
    a, b = loaders(backend, server, clock)
    assert await a.refresh("/feed.json") == 1
    assert await b.refresh("/other.json") == 1  # the rules now name another feed: not held back by the first
    by_title = rules_from_text(tmp_path, MAPPED % "title").catalog
    by_label = rules_from_text(tmp_path, MAPPED % "label").catalog
    assert await a.refresh(by_title.feed, by_title.feed_mapping) == 1
    assert await b.refresh(by_label.feed, by_label.feed_mapping) == 1  # the same URL, another mapping
    assert await a.refresh(by_label.feed, by_label.feed_mapping) == 0
    mapped = "/api/products?page=1&per_page=2"
    assert [r.path for r in server.requests] == ["/feed.json", "/other.json", mapped, mapped]
    assert (await store.get_products(["m1"]))["m1"]["name"] == "Label"


async def test_a_failed_read_is_tried_and_logged_once_then_again_soon_with_a_backoff(
        backend: Any, store: Any, page_server: Any, caplog: pytest.LogCaptureFixture) -> None:
    """A failure is no load: tried and logged once across the loaders, then again after ``RETRY_S`` doubling
    with each failure in a row (not a whole period later: a blip of the store's API is over soon); the
    outcome is saved for every process: the error, the failures in a row, the last load kept."""
    server = page_server({"/feed.json": feed_page("p1")})
    clock = Clock(backend)
    a, b = loaders(backend, server, clock)
    lease = lease_name("/feed.json", None)
    assert await a.refresh("/feed.json") == 1
    loaded_at = clock()
    await clock.advance(REFRESH_S + 0.2)
    server.routes["/feed.json"] = Page(b"down", 503, JSON)
    with caplog.at_level(logging.WARNING, "slotwise.catalog"):
        assert (await a.refresh("/feed.json"), await b.refresh("/feed.json")) == (0, 0)
    assert a.error == f"/feed.json: HTTP 503 (on the storefront {server.url})" and len(server.requests) == 2
    assert len([r for r in caplog.records if "not loaded" in r.getMessage()]) == 1
    read = await b.store.feed_read(lease)
    assert (read.error, read.failures, read.products, read.loaded_at) == (f"HTTP 503 (on the storefront {server.url})", 1, 1, loaded_at)
    await clock.advance(RETRY_S + 0.2)  # the first retry: after RETRY_S
    assert await b.refresh("/feed.json") + await a.refresh("/feed.json") == 0 and len(server.requests) == 3
    assert (await a.store.feed_read(lease)).failures == 2
    await clock.advance(RETRY_S + 0.2)  # the second: after twice that
    assert await b.refresh("/feed.json") + await a.refresh("/feed.json") == 0 and len(server.requests) == 3
    server.routes["/feed.json"] = feed_page("p1", "p2")
    await clock.advance(RETRY_S)
    assert await b.refresh("/feed.json") + await a.refresh("/feed.json") == 2 and len(server.requests) == 4
    read = await a.store.feed_read(lease)
    assert (read.error, read.failures, read.products, read.loaded_at) == (None, 0, 2, clock())
    assert catalog_feed.retry_s(1) == RETRY_S and catalog_feed.retry_s(10 ** 6) == REFRESH_S


async def test_another_workers_health_and_metrics_show_the_readers_failure(
        backend: Any, store: Any, page_server: Any, tmp_path: Path) -> None:
    """The reader's failed read, as a worker that did not read it shows it (``feed_health`` on its own store
    object): failing, the failures in a row, the error with the page's URL cut to its origin (the public
    ``/_sw/health``), the gauges; the admin's body keeps the error as it was."""
    server = page_server({})  # every page a 404
    clock = Clock(backend)
    a, b = loaders(backend, server, clock)
    feed = rules_from_text(tmp_path, MAPPED % "title").catalog
    assert await a.refresh(feed.feed, feed.feed_mapping) == 0 and len(server.requests) == 1
    lease = lease_name(feed.feed, feed.feed_mapping)
    health = await check_feed(b.store, lease, clock())
    assert {k: health[k] for k in ("configured", "status", "failures", "products")} == {
        "configured": True, "status": "failing", "failures": 1, "products": 0}
    assert health["error"] == f"page 1 (/…): HTTP 404 (on the storefront {server.url})" and "loaded" not in health
    assert feed_health.public(f"page 2 ({server.url}/api?key=k): HTTP 503") == f"page 2 ({server.url}): HTTP 503"
    metrics.flush()
    assert (metrics.REGISTRY.get_sample_value("slotwise_feed_failures"),
            metrics.REGISTRY.get_sample_value("slotwise_feed_last_success_timestamp_seconds")) == (1, 0)
    private = feed_health.body(await b.store.feed_read(lease), lease, clock(), private=True)
    assert private["error"] == f"page 1 (/api/products?page=1&per_page=2): HTTP 404 (on the storefront {server.url})"
    assert private["feed"] == "/api/products" and private["reader"] == str(a.holder)
    line, warn = feed_health.feed_line(await b.store.feed_read(lease), clock())
    assert warn and line.startswith("Product feed: the last read failed (page 1 (/api/products?page=1&per_page=2): "
                                    f"HTTP 404 (on the storefront {server.url})), once, last at ")
    assert line.endswith("; retried soon, the catalog keeps what it has: never loaded.")
    assert (await check_feed(b.store, lease_name("/never.json", None), clock()))["status"] == "pending"


async def test_a_store_that_cannot_say_skips_the_round_and_the_next_one_reads(
        own_redis: Any, page_server: Any) -> None:
    """Fail open: the lease unreadable (Redis stopped), the round raises for the loop to log as an outage and
    reads nothing (its rows would go to that same store); Redis back, the next round reads the feed."""
    from slotwise.store.redis import RedisStore

    server = page_server({"/feed.json": feed_page("p1")})
    redis = own_redis()  # its own: stopped and started again
    store = RedisStore(redis.url)
    loader = FeedLoader(store, server.url, lambda: NOW)
    try:
        redis.stop()
        with pytest.raises(StoreUnavailable):
            await loader.refresh("/feed.json")
        assert server.requests == [] and loader.feed is None
        redis.start()
        assert await loader.refresh("/feed.json") == 1
        assert len(server.requests) == 1
    finally:
        await store.close()


def test_a_feed_and_mapping_name_one_lease_in_every_process(tmp_path: Path) -> None:
    """The mapping's ``not_sizes`` is a set, whose order follows the process's hash seed: the lease's name
    must not, or two workers would each hold their own."""
    rules_from_text(tmp_path, MAPPED % "title")
    code = ("import sys; from pathlib import Path; from slotwise.rules.testing import load_rules; "
            "from slotwise.proxy.personalization.feed_lease import lease_name; "
            "c = load_rules(Path(sys.argv[1])).catalog; print(lease_name(c.feed, c.feed_mapping))")
    names = {subprocess.run([sys.executable, "-c", code, str(tmp_path / "rules.yaml")], check=True, text=True,
                            capture_output=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip()
             for seed in ("1", "2", "3", "4")}
    assert len(names) == 1 and names.pop().startswith("feed:")
    assert lease_name("/feed.json", None) != lease_name(Path("/feed.json"), None)
