"""The catalog's merge rule is one on SQLite and on a real Redis, and no write changes a row's kind.

Arbitrary sequences of writes shaped as the two sources write them (a product page: its facts without
the ones it does not show, its sizes, its children; the feed: its facts, ``stock`` and ``consumable``
gone when an item lacks them, its aliases and sizes), each a batch of rows, go to both stores; the rows
read back must be the same on both, be what ``catalog_merge.merge_product`` makes of the writes in
order, and keep each id the kind (product or child) its first write gave it — but for a ``fold`` (an old
per-variant product row the feed or a page now lists as a variant), which makes it a child, and is never
stored. A price is kept per currency:
one written in a currency never overwrites another currency's.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from slotwise.rules.prices import price_in
from slotwise.store.catalog_merge import merge_product
from slotwise.store.redis import RedisStore
from slotwise.store.sqlite import SQLiteStore

IDS = ["a", "b", "c"]
NOW = 1_700_000_000.0

ids = st.sampled_from(IDS)
sizes = st.sampled_from(["S", "M", "L"])
shared = {"name": st.sampled_from(["Tee", "Cap"]), "price": st.sampled_from([10, 10.0, 12.5]),
          "category": st.sampled_from(["shoes", "hats"]), "in_stock": st.booleans(),
          "currency": st.sampled_from(["EUR", "GBP"])}
page_product = st.fixed_dictionaries({"id": ids}, optional={
    **shared, "brand": st.sampled_from(["Ridge", "Acme"]), "image": st.just("/img/x.jpg"),
    "sizes": st.lists(sizes, max_size=3, unique=True), "stock": st.integers(0, 9)})
feed_product = st.fixed_dictionaries({"id": ids, "stock": st.none() | st.integers(0, 9),
                                      "consumable": st.none() | st.booleans()}, optional=shared)
child = st.fixed_dictionaries({"id": ids, "parent": ids}, optional={
    "size": sizes, "offered": st.just(False), "fold": st.just(True)}).filter(
    lambda r: r["parent"] != r["id"])  # a size, or an alias (no size), of another product; one no longer offered
batch = st.lists(st.one_of(page_product, feed_product, child), min_size=1, max_size=4)


async def apply(store: Any, writes: list[list[dict[str, Any]]],
                own_currency: str | None = None) -> tuple[dict[str, Any], dict[str, list[str]]]:
    for n, rows in enumerate(writes):
        await store.upsert_products(rows, NOW + n, own_currency)
    listed = {cat: [p["id"] for p in await store.list_products(cat)] for cat in ("shoes", "hats")}
    got = await store.get_products(IDS)
    await store.close()
    return got, listed


@settings(max_examples=60, deadline=None)
@given(writes=st.lists(batch, min_size=1, max_size=6))
def test_both_stores_merge_any_writes_alike_and_keep_each_rows_kind(redis_server: Any,
                                                                   writes: list[list[dict[str, Any]]]) -> None:
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    with tempfile.TemporaryDirectory() as tmp:
        on_sqlite = asyncio.run(apply(SQLiteStore(Path(tmp) / "slotwise.db"), writes))
    on_redis = asyncio.run(apply(RedisStore(redis_server.url), writes))
    assert on_sqlite == on_redis

    expected: dict[str, dict[str, Any]] = {}
    child_kind: dict[str, bool] = {}
    for rows in writes:
        for row in rows:
            expected[row["id"]] = merge_product(expected.get(row["id"]), row)
            if row.get("fold") and "parent" in row:  # a product folded into another: a child from now on
                child_kind[row["id"]] = True
            child_kind.setdefault(row["id"], "parent" in row)  # else the first write decides
    assert on_sqlite[0] == expected
    for pid, product in on_sqlite[0].items():
        assert ("parent" in product) == child_kind[pid], (pid, product)
        assert ("size" not in product) or "parent" in product  # only a child has a size
        assert ("offered" not in product) or "parent" in product  # and is no longer offered
        assert "fold" not in product  # a write's word, not a fact


CURRENCIES = ["EUR", "GBP", "USD"]
priced = st.fixed_dictionaries({"id": ids, "price": st.sampled_from([10, 12.5, 85.0]),
                                "currency": st.sampled_from(CURRENCIES)})
unpriced = st.fixed_dictionaries({"id": ids, "name": st.sampled_from(["Tee", "Cap"])})  # a page showing no price


@pytest.mark.parametrize("own_currency", [None, "GBP"], ids=["no-store-currency", "store-currency-GBP"])
@settings(max_examples=60, deadline=None)
@given(writes=st.lists(st.lists(st.one_of(priced, unpriced), min_size=1, max_size=4), min_size=1, max_size=6))
def test_a_price_in_one_currency_never_overwrites_another_currencys(redis_server: Any, own_currency: str | None,
                                                                    writes: list[list[dict[str, Any]]]) -> None:
    """Each currency's price is the one last written in it; the row's own currency is the store's
    (``own_currency``, the rules' ``catalog.currency``) once it has a price in it, else the first it learned."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    with tempfile.TemporaryDirectory() as tmp:
        on_sqlite, _ = asyncio.run(apply(SQLiteStore(Path(tmp) / "slotwise.db"), writes, own_currency))
    on_redis, _ = asyncio.run(apply(RedisStore(redis_server.url), writes, own_currency))
    assert on_sqlite == on_redis

    last: dict[tuple[str, str], float] = {}  # (id, currency) -> the price last written in it
    first: dict[str, str] = {}  # id -> the currency it first learned a price in
    for rows in writes:
        for row in rows:
            if "price" in row:
                last[row["id"], row["currency"]] = row["price"]
                first.setdefault(row["id"], row["currency"])
    for pid, row in on_sqlite.items():
        for currency in CURRENCIES:
            assert price_in(row, currency) == last.get((pid, currency)), (pid, currency, row)
        own = own_currency if (pid, own_currency) in last else first.get(pid)
        assert row.get("currency") == own  # the store's currency once priced in it, else the first one learned
        assert row.get("currency") not in row.get("prices", {})  # kept once: as its price
