"""Imports over a real Redis: the batched path (chunks of people, one script each) comes to what the
row-by-row path does (and to SQLite's), and a store that fails mid-import costs nothing committed."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path
from typing import Any

import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis_server import RedisServer

from slotwise.profile import import_purchase_lines, record_view
from slotwise.store.redis import RedisStore
from slotwise.store.sqlite import SQLiteStore

NOW = 1_700_000_000.0
ALIASES = ["customer:C1", "customer:C2", "customer:C3", "email:e1", "email:e2"]
VISITORS = ["v1", "v2", "v3"]
PREFIXES = itertools.count()
ROOT = Path(__file__).resolve().parents[2]

# what is there before the import: browsing, trusted links (a login), a browser's claims, a profile
# kept under an alias's own id with no alias pointing at it (a webhook's)
SETUP = st.lists(st.one_of(
    st.tuples(st.just("view"), st.sampled_from(VISITORS + ALIASES), st.just("")),
    st.tuples(st.sampled_from(["trusted", "claim"]), st.sampled_from(VISITORS), st.sampled_from(ALIASES)),
), max_size=6)
LINE = st.tuples(st.sampled_from(["o1", "o2", "o3"]), st.sampled_from(["p1", "p2"]), st.sampled_from(["M", "L"]))
ROWS = st.lists(st.tuples(st.lists(st.sampled_from(ALIASES), min_size=1, max_size=3, unique=True),
                          st.lists(LINE, min_size=1, max_size=3)), min_size=1, max_size=8)


def purchases(lines: list[tuple[str, str, str]]) -> Any:
    def update(profile: Any) -> None:
        for order, product, size in lines:
            import_purchase_lines(profile, order, [{"product": product, "category": "shoes", "size": size,
                                                   "qty": 1, "price": 10.0, "ts": NOW}], NOW)
    return update


async def prepare(store: Any, setup: list[tuple[str, str, str]]) -> None:
    for step, (what, name, alias) in enumerate(setup):
        now = NOW + step
        if what == "view":
            await store.update_profile(name, lambda p, now=now: record_view(p, now, category="hats"), now)
        else:
            await store.link_identity(name, alias, now, merge=what == "trusted")


async def state(store: Any) -> dict[str, Any]:
    """Who each name resolves to and that profile, claims included (a released claim changes both)."""
    out = {}
    for name in VISITORS + ALIASES:
        profile = await store.get_profile(name)
        out[name] = (await store.resolve(name), profile.to_dict() if profile is not None else None)
    return out


async def imported(url: str, setup: list[Any], rows: list[Any], chunk: int, budget: int) -> list[Any]:
    """The state after the rows, imported by chunks of at most ``chunk`` people (fewer when they read more
    than ``budget`` bytes of profiles), row by row, and into SQLite; then the people the chunks and
    SQLite said they wrote."""
    n = next(PREFIXES)
    batched, rowwise = (RedisStore(f"{url}?prefix=t{n}{kind}:&timeout=5&connect_timeout=5") for kind in "br")
    batched.bulk_chunk, batched.bulk_bytes = chunk, budget
    with tempfile.TemporaryDirectory() as tmp:
        embedded = SQLiteStore(Path(tmp) / "slotwise.db")
        stores = (batched, rowwise, embedded)
        try:
            for store in stores:
                await prepare(store, setup)
            items = [(aliases, purchases(lines)) for aliases, lines in rows]
            written = [await batched.bulk_update(items, NOW + 100)]
            for aliases, update in items:
                await rowwise.update_by_aliases(aliases, update, NOW + 100)
            written.append(await embedded.bulk_update(items, NOW + 100))
            return [await state(store) for store in stores] + [written]
        finally:
            for store in stores:
                await store.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(setup=SETUP, rows=ROWS, chunk=st.integers(1, 4), budget=st.sampled_from([1, 500, 10**6]))
def test_chunks_come_to_what_rows_one_by_one_do(redis_server: RedisServer, setup: Any, rows: Any, chunk: int,
                                                budget: int) -> None:
    batched, rowwise, embedded, (written, written_embedded) = asyncio.run(
        imported(redis_server.url, setup, rows, chunk, budget))
    assert batched == rowwise
    assert batched == embedded
    assert written == written_embedded  # the people written, once each, whatever the chunks (docs/imports.md)


def pos_export(path: Path, customers: int, orders: int) -> Path:
    lines = ["order_id,customer_id,ts,product,category,size,qty,price"]
    for order in range(orders):
        for product in range(2):
            lines.append(f"o{order},c{order % customers},2024-03-01,p{product},Shoes,42,1,10")
    path.write_text("\n".join(lines) + "\n")
    return path


def import_cli(path: Path, url: str, *more: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "slotwise", "import", "purchases", str(path), "--store", url,
                           "--quiet", *more], capture_output=True, text=True, env=env, timeout=120)


def people(client: redis.Redis, prefix: str) -> dict[str, str]:
    """Each imported customer's profile JSON, found through their alias."""
    out = {}
    for key in client.scan_iter(f"{prefix}a:customer:*"):
        alias = key.decode()[len(prefix) + 2:]
        out[alias] = client.get(f"{prefix}p:{client.get(key).decode()}").decode()
    return out


def orders_of(profiles: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    import json

    return {alias: sorted((p["order_id"], p["product"]) for p in json.loads(data)["purchases"])
            for alias, data in profiles.items()}


def test_a_store_failing_mid_import_exits_3_with_one_line_and_keeps_what_it_committed(
        own_redis: Any, tmp_path: Path) -> None:
    """Redis refuses writes (maxmemory) after some batches: the command says so in one line and exits 3;
    every person written before is whole (their batch's lines, their alias), and importing the file
    again once Redis has room gives what one clean import gives."""
    pos = pos_export(tmp_path / "pos.csv", customers=2000, orders=10000)  # 20,000 rows, 10 per customer
    server = own_redis()  # its own: the test fills it up (maxmemory)
    with closing(redis.Redis.from_url(server.url)) as client:
        assert import_cli(pos, f"{server.url}?prefix=ref:").returncode == 0
        reference = orders_of(people(client, "ref:"))
        assert len(reference) == 2000
        used = client.info("memory")["used_memory"]
        client.flushall()
        base = client.info("memory")["used_memory"]
        client.config_set("maxmemory", base + (used - base) // 2)  # room for about half of it

        failed = import_cli(pos, f"{server.url}?prefix=sw:", "--batch", "2000")
        assert failed.returncode == 3 and failed.stdout == ""
        [line] = failed.stderr.splitlines()  # the command's own line; not the server's outage log as well
        assert line.startswith(f"slotwise import purchases: {pos}: the store failed (redis error: OutOfMemoryError")
        assert line.endswith("the batches written before it stay, the rest is not imported: import the file again "
                             "once the store is back (nothing is counted twice)")
        kept = orders_of(people(client, "sw:"))
        assert 0 < len(kept) and sum(map(len, kept.values())) < 20000  # some batches went in, not all
        for alias, lines in kept.items():  # whole people: every line of theirs a committed batch held
            assert set(lines) <= set(reference[alias]) and len(lines) % 2 == 0

        client.config_set("maxmemory", 0)
        again = import_cli(pos, f"{server.url}?prefix=sw:")
        assert again.returncode == 0, again.stderr
        assert orders_of(people(client, "sw:")) == reference


def test_profiles_written_counts_each_person_once_on_both_stores(redis_server: RedisServer, tmp_path: Path) -> None:
    """docs/imports.md: ``profiles_written`` counts the profiles written. Redis writes a batch in chunks
    (the first of 50 people): a customer named by id in one row and by id and e-mail 60 rows on is two
    groups of the batch, in two chunks, and was counted twice there, once on SQLite."""
    import json

    rows = ["order_id,customer_id,email,ts,product,category,size,qty,price",
            "o0,c0,,2024-03-01,p1,Shoes,42,1,10",
            *(f"o{i},c{i},,2024-03-01,p1,Shoes,42,1,10" for i in range(1, 60)),
            "o60,c0,ann@example.com,2024-03-01,p2,Shoes,42,1,10"]
    pos = tmp_path / "pos.csv"
    pos.write_text("\n".join(rows) + "\n")
    for store in (f"{redis_server.url}?prefix=pw{next(PREFIXES)}:", f"sqlite:{tmp_path / 'slotwise.db'}"):
        written = []
        for _ in range(2):  # the import, then the same file again
            done = import_cli(pos, store)
            assert done.returncode == 0, done.stderr
            written.append(json.loads(done.stdout)["profiles_written"])
        assert written == [60, 0], store
