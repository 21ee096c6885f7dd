"""The Store contract, run against SQLite and Redis alike (see conftest's ``backend``)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from slotwise.profile import Profile, merge, record_purchase, record_view, set_cart
from slotwise.store.base import LogRecord, OutboxState

pytestmark = pytest.mark.anyio

NOW = 1_700_000_000.0


def view(category: str, product: str | None = None, now: float = NOW) -> Any:
    return lambda p: record_view(p, now, category=category, product=product)


def ev(key: str, visitor: str, kind: str = "event", **data: Any) -> LogRecord:
    return LogRecord(kind=kind, key=key, visitor=visitor, ts=NOW + len(key) / 1000, data=data or {"k": key})


# -- profiles ---------------------------------------------------------------


async def test_unknown_visitor(store: Any) -> None:
    assert await store.get_profile("nobody") is None
    assert await store.resolve("nobody") == "nobody"
    assert await store.export_profile("nobody") is None
    assert await store.delete_profile("nobody") is False


async def test_update_creates_then_applies(store: Any) -> None:
    created = await store.update_profile("v1", view("shoes", "p1"), NOW)
    assert created.id == "v1" and created.anonymous_ids == ["v1"] and created.first_seen == NOW
    assert created.visits == 1 and created.categories["shoes"]["count"] == 1
    again = await store.update_profile("v1", view("shoes", "p2", NOW + 60), NOW + 60)
    assert again.categories["shoes"]["count"] == 2 and again.visits == 1
    stored = await store.get_profile("v1")
    assert stored is not None and stored.to_dict() == again.to_dict()


async def test_profile_round_trips_every_field(store: Any) -> None:
    def fill(p: Profile) -> None:
        record_view(p, NOW, category="shoes", product="p1")
        set_cart(p, [{"product": "p1", "category": "shoes", "size": "42", "qty": 2, "price": 9.5}])
        record_purchase(p, "o1", [{"product": "p2", "size": "M", "category": "shirts"}], NOW, "store")
        p.subscribed, p.consent, p.coupon = True, "granted", "WELCOME10"
        p.customer_id, p.email_hash = "C1", "e" * 64
        p.assignments = {"hero": {"arm": "b", "decision_id": "d1", "ts": NOW, "session_start": NOW}}

    written = await store.update_profile("v1", fill, NOW)
    assert (await store.get_profile("v1")).to_dict() == written.to_dict()


async def test_link_new_alias_attaches_it(store: Any) -> None:
    await store.update_profile("v1", view("shoes"), NOW)
    linked = await store.link_identity("v1", "customer:C1", NOW)
    assert linked.id == "v1"
    assert await store.resolve("customer:C1") == "v1"
    assert (await store.get_profile("customer:C1")).id == "v1"
    again = await store.link_identity("v1", "customer:C1", NOW)  # idempotent
    assert again.to_dict() == linked.to_dict()


async def test_untrusted_link_never_merges_into_another_profile(store: Any) -> None:
    await store.update_profile("owner", view("dresses"), NOW)
    await store.link_identity("owner", "email:abc", NOW)
    await store.update_profile("stranger", view("socks"), NOW)
    result = await store.link_identity("stranger", "email:abc", NOW, merge=False)
    assert result.id == "stranger" and set(result.categories) == {"socks"}
    assert await store.resolve("email:abc") == "owner"
    assert await store.resolve("stranger") == "stranger"
    assert set((await store.get_profile("owner")).categories) == {"dresses"}
    fresh = await store.link_identity("stranger", "email:new", NOW, merge=False)  # nobody holds it: attached
    assert fresh.id == "stranger" and await store.resolve("email:new") == "stranger"


async def test_link_known_alias_merges_every_field(store: Any) -> None:
    def known_fill(p: Profile) -> None:
        record_view(p, NOW, category="shoes", product="p1")
        record_view(p, NOW + 1, category="bags", product="p9")
        record_purchase(p, "o1", [{"product": "p1", "category": "shoes", "size": "42"}], NOW, "store")
        p.customer_id, p.consent = "C1", "granted"
        p.assignments = {"hero": {"arm": "a"}}

    def anon_fill(p: Profile) -> None:
        record_view(p, NOW + 5000, category="shoes", product="p1")
        record_view(p, NOW + 5001, category="shoes", product="p2")
        record_purchase(p, "o2", [{"product": "p2", "category": "shoes", "size": "43"}], NOW + 5002)
        set_cart(p, [{"product": "p3", "qty": 1, "price": 5}])
        p.subscribed, p.consent, p.email_hash = True, "denied", "h" * 64
        p.assignments = {"hero": {"arm": "b"}, "recs": {"arm": "x"}}

    known = await store.update_profile("v1", known_fill, NOW)
    await store.link_identity("v1", "customer:C1", NOW)
    anon = await store.update_profile("v2", anon_fill, NOW + 5002)
    expected = merge(known, anon)

    merged = await store.link_identity("v2", "customer:C1", NOW + 5003)
    assert merged.to_dict() == expected.to_dict()
    assert merged.id == "v1" and merged.anonymous_ids == ["v1", "v2"]
    assert merged.categories["shoes"]["count"] == 3 and merged.categories["bags"]["count"] == 1
    assert merged.products["p1"]["count"] == 2
    assert {(p["order_id"], p["channel"]) for p in merged.purchases} == {("o1", "store"), ("o2", "online")}
    assert merged.visits == known.visits + anon.visits
    assert merged.cart == anon.cart and merged.subscribed and merged.consent == "denied"
    assert merged.assignments == {"hero": {"arm": "a"}, "recs": {"arm": "x"}}
    assert merged.customer_id == "C1" and merged.email_hash == "h" * 64
    # the anonymous id now resolves to the golden record, and updates land there
    assert await store.resolve("v2") == "v1"
    assert (await store.get_profile("v2")).to_dict() == expected.to_dict()
    after = await store.update_profile("v2", view("bags", now=NOW + 5004), NOW + 5004)
    assert after.id == "v1" and after.categories["bags"]["count"] == 2


async def test_merge_repoints_the_merged_profiles_aliases(store: Any) -> None:
    await store.update_profile("v1", view("a"), NOW)
    await store.link_identity("v1", "customer:C1", NOW)
    await store.update_profile("v3", view("b"), NOW)
    await store.link_identity("v3", "email:h3", NOW)
    merged = await store.link_identity("v3", "customer:C1", NOW)  # v3 (with its e-mail) folds into v1
    assert merged.id == "v1"
    for alias in ("email:h3", "v3", "customer:C1"):
        assert await store.resolve(alias) == "v1"
    exported = await store.export_profile("email:h3")
    assert sorted(exported["aliases"]) == ["customer:C1", "email:h3", "v3"]


async def test_export_and_delete_cover_the_whole_person(store: Any) -> None:
    await store.update_profile("v1", view("shoes"), NOW)
    await store.link_identity("v1", "customer:C1", NOW)
    await store.update_profile("v2", view("bags"), NOW)
    await store.append([ev("e1", "v1"), ev("e2", "v2"), ev("e3", "someone-else"), ev("d1", "v2", kind="decision")])
    await store.link_identity("v2", "customer:C1", NOW)

    exported = await store.export_profile("customer:C1")
    assert exported["profile"]["id"] == "v1"
    assert sorted(exported["aliases"]) == ["customer:C1", "v2"]
    assert [(e["kind"], e["key"], e["visitor"]) for e in exported["log"]] == [
        ("event", "e1", "v1"), ("event", "e2", "v2"), ("decision", "d1", "v2")
    ]
    assert exported["log"][0]["data"] == {"k": "e1"} and exported["log"][0]["ts"] == pytest.approx(NOW + 0.002)
    assert exported == await store.export_profile("v2")

    assert await store.delete_profile("v2") is True
    assert await store.get_profile("v1") is None and await store.get_profile("customer:C1") is None
    assert await store.resolve("customer:C1") == "customer:C1" and await store.resolve("v2") == "v2"
    assert await store.export_profile("v1") is None
    assert [r.key for r in await store.read_log(0)] == ["e3"]
    assert await store.delete_profile("v2") is False  # idempotent
    # erased keys may be appended again: nothing of theirs is remembered
    assert await store.append([ev("e1", "v1")]) == [True]


# -- the log ----------------------------------------------------------------


async def test_append_is_idempotent_by_kind_and_key(store: Any) -> None:
    assert await store.append([ev("a", "v"), ev("b", "v"), ev("a", "v")]) == [True, True, False]
    assert await store.append([ev("a", "v"), ev("a", "v", kind="decision")]) == [False, True]
    assert await store.append([]) == []
    log = await store.read_log(0)
    assert [(r.kind, r.key) for r in log] == [("event", "a"), ("event", "b"), ("decision", "a")]
    assert [r.seq for r in log] == sorted({r.seq for r in log}) and log[0].seq > 0
    assert log[0] == LogRecord(kind="event", key="a", visitor="v", ts=NOW + 0.001, data={"k": "a"}, seq=log[0].seq)


async def test_read_log_pages_without_gaps_or_repeats(store: Any) -> None:
    await store.append([ev(f"k{i:03d}", f"v{i % 7}", n=i) for i in range(95)])
    seen: list[LogRecord] = []
    after = 0
    while page := await store.read_log(after, limit=10):
        assert len(page) <= 10
        seen += page
        after = page[-1].seq
    assert [r.data["n"] for r in seen] == list(range(95))
    assert await store.read_log(seen[-1].seq) == []
    assert [r.key for r in await store.read_log(seen[49].seq, limit=3)] == ["k050", "k051", "k052"]
    assert await store.read_log(0, limit=0) == []


async def test_appends_from_two_instances_get_distinct_increasing_seqs(backend: Any, store: Any) -> None:
    other = backend.open()
    await asyncio.gather(*(s.append([ev(f"{name}{i}", "v")]) for i in range(50) for name, s in (("a", store), ("b", other))))
    log = await store.read_log(0)
    assert len(log) == 100 and len({r.seq for r in log}) == 100
    assert [r.seq for r in log] == sorted(r.seq for r in log)
    assert await other.read_log(0) == log


# -- catalog ----------------------------------------------------------------

PRODUCTS = [
    {"id": "p1", "name": "Runner", "category": "shoes", "price": 80.0},
    {"id": "p2", "name": "Boot", "category": "shoes", "price": 120.0},
    {"id": "p3", "name": "Tote", "category": "bags", "price": 40.0},
    {"id": "p4", "name": "Gift card"},
]


async def test_catalog_upsert_get_list(store: Any) -> None:
    assert await store.upsert_products(PRODUCTS, NOW) == 4
    assert await store.upsert_products([], NOW) == 0
    got = await store.get_products(["p3", "p1", "missing", "p1"])
    assert got == {"p1": PRODUCTS[0], "p3": PRODUCTS[2]}
    assert await store.get_products([]) == {}
    assert [p["id"] for p in await store.list_products()] == ["p1", "p2", "p3", "p4"]
    assert [p["id"] for p in await store.list_products("shoes")] == ["p1", "p2"]
    assert [p["id"] for p in await store.list_products(limit=2)] == ["p1", "p2"]
    assert await store.list_products("none") == []
    # a product that changes category moves, keeping its views
    await store.record_product_view("p3", [])
    await store.upsert_products([{**PRODUCTS[2], "category": "shoes", "name": "Shoe bag"}], NOW + 1)
    assert (await store.get_products(["p3"]))["p3"]["name"] == "Shoe bag"
    assert [p["id"] for p in await store.list_products("shoes")] == ["p1", "p2", "p3"]
    assert await store.list_products("bags") == []
    assert await store.popular("shoes", 1) == ["p3"] and await store.popular("bags", 5) == []


async def test_products_written_by_another_instance_are_read_at_once(backend: Any, store: Any) -> None:
    """A store may keep what it read (SQLite keeps parsed rows per catalog version): never past a write."""
    other = backend.open()
    await store.upsert_products(PRODUCTS[:2], NOW)
    assert (await store.get_products(["p1", "p9"]))["p1"]["price"] == 80.0  # read (and kept)
    await other.upsert_products([{**PRODUCTS[0], "price": 70.0, "in_stock": False}], NOW + 1)
    got = await store.get_products(["p1", "p9"])
    assert got["p1"]["price"] == 70.0 and got["p1"]["in_stock"] is False and "p9" not in got
    await other.upsert_products([{"id": "p9", "name": "New"}], NOW + 2)  # was unknown when last asked
    assert (await store.get_products(["p9"]))["p9"]["name"] == "New"
    got["p1"]["price"] = 1.0  # a caller's copy
    got["p1"].pop("name")
    assert (await store.get_products(["p1"]))["p1"] == {**PRODUCTS[0], "price": 70.0, "in_stock": False}
    await other.record_product_view("p1", ["p2"])  # counts are not product data
    assert (await store.get_products(["p2", "p1"])).keys() == {"p1", "p2"}


async def test_popular_and_co_viewed(store: Any) -> None:
    await store.upsert_products(PRODUCTS, NOW)
    for _ in range(3):
        await store.record_product_view("p2", ["p1", "p3"])
    await store.record_product_view("p3", ["p2"])
    await store.record_product_view("p1", ["p1"])  # itself: no co-view
    await store.record_product_view("ghost", ["p1"])  # unknown product: no view, co-views still count
    assert await store.popular(None, 10) == ["p2", "p1", "p3", "p4"]  # p1 and p3 tie: by id
    assert await store.popular(None, 2) == ["p2", "p1"]
    assert await store.popular("shoes", 10) == ["p2", "p1"]
    assert await store.co_viewed("p2", 10) == ["p3", "p1"]  # p3: 4, p1: 3
    assert await store.co_viewed("p1", 10) == ["p2", "ghost"]
    assert await store.co_viewed("p1", 1) == ["p2"]
    assert await store.co_viewed("p4", 10) == []
    assert await store.popular(None, 0) == []


async def test_popular_breaks_ties_by_id(store: Any) -> None:
    await store.upsert_products([{"id": f"t{i}", "category": "c"} for i in (5, 3, 9, 1, 7)], NOW)
    await store.record_product_view("t9", [])
    await store.record_product_view("t3", [])
    assert await store.popular("c", 3) == ["t3", "t9", "t1"]
    assert await store.popular(None, 10) == ["t3", "t9", "t1", "t5", "t7"]
    for other in ("b", "a", "c"):
        await store.record_product_view("x", [other])
    assert await store.co_viewed("x", 2) == ["a", "b"]


# -- snapshots --------------------------------------------------------------


async def test_snapshots_round_trip(store: Any) -> None:
    assert await store.load_snapshot("bandits") is None
    await store.save_snapshot("bandits", {"hero": {"a": [1, 2.5]}, "n": 3}, 42)
    assert await store.load_snapshot("bandits") == ({"hero": {"a": [1, 2.5]}, "n": 3}, 42)
    await store.save_snapshot("bandits", {"n": 4}, 50)
    assert await store.load_snapshot("bandits") == ({"n": 4}, 50)
    assert await store.load_snapshot("other") is None


async def test_a_snapshots_seq_is_read_without_its_data(store: Any) -> None:
    """Followers check the seq every half second and load the data only when it moved."""
    assert await store.snapshot_seq("bandits.policies") is None
    await store.save_snapshot("bandits.policies", {"n": 1}, 7)
    await store.save_snapshot("bandits", {"n": 2}, 5)
    assert await store.snapshot_seq("bandits.policies") == 7
    assert await store.snapshot_seq("bandits") == 5


# -- coupons and outbox -------------------------------------------------------


async def test_coupons_claimed_once_per_person(store: Any) -> None:
    assert await store.add_coupons(["A1", "A2", "A1"], NOW) == 2
    assert await store.add_coupons(["A2", "A3"], NOW) == 1
    assert await store.claim_coupon("email:x", NOW, lambda: "GEN") == ("A1", True)
    assert await store.claim_coupon("email:x", NOW, lambda: "GEN") == ("A1", False)
    assert await store.claim_coupon("email:y", NOW, lambda: "GEN") == ("A2", True)
    assert await store.claim_coupon("email:z", NOW, lambda: "GEN") == ("A3", True)
    codes = iter(["A1", "G1"])  # a collision with a known code is retried
    assert await store.claim_coupon("email:w", NOW, lambda: next(codes)) == ("G1", True)
    assert await store.coupon_stats() == {"pool_free": 0, "pool_claimed": 3, "generated": 1}


async def test_outbox_lease_done_retry(store: Any) -> None:
    first = await store.outbox_put("signup", ["v1", "email:h"], {"email": "a@b.c"}, NOW)
    second = await store.outbox_put("signup", ["v2"], {"n": 2}, NOW)
    claimed = await store.outbox_claim(NOW, lease_s=30)
    assert [(i.id, i.topic, i.attempts) for i in claimed] == [(first, "signup", 1), (second, "signup", 1)]
    assert claimed[0].payload == {"email": "a@b.c"} and claimed[0].created == NOW
    assert await store.outbox_claim(NOW + 1, lease_s=30) == []  # leased
    await store.outbox_done(first)
    await store.outbox_retry(second, NOW + 5, "HTTP 500", NOW)
    assert await store.outbox_next_due() == NOW + 5
    again = await store.outbox_claim(NOW + 5, lease_s=30)
    assert [(i.id, i.attempts) for i in again] == [(second, 2)]
    assert await store.outbox_claim(NOW + 100, lease_s=30, limit=0) == []


async def test_outbox_state_says_what_waits_since_when_and_the_last_error(store: Any) -> None:
    """What ``/_sw/health``, the metrics and the admin page show: pending, the oldest's ``created``, how many
    failed at least once and the latest error among the messages still waiting."""
    assert await store.outbox_state() == OutboxState(0, None, 0)
    first = await store.outbox_put("webhook", ["v1"], {"n": 1}, NOW + 1)
    second = await store.outbox_put("webhook", ["v2"], {"n": 2}, NOW + 2)
    await store.outbox_put("webhook", ["v3"], {"n": 3}, NOW + 3)
    assert await store.outbox_state() == OutboxState(3, NOW + 1, 0)  # queued, none tried yet
    assert [i.id for i in await store.outbox_claim(NOW + 3, lease_s=30, limit=2)] == [first, second]
    assert await store.outbox_state() == OutboxState(3, NOW + 1, 0)  # in flight is not failing
    await store.outbox_retry(second, NOW + 60, "HTTP 503", NOW + 10)
    await store.outbox_retry(first, NOW + 60, "ConnectError: [Errno 111] Connection refused", NOW + 11)
    assert await store.outbox_state() == OutboxState(3, NOW + 1, 2, "ConnectError: [Errno 111] Connection refused",
                                                     NOW + 11)
    await store.outbox_done(first)  # the oldest and the latest error go with it
    assert await store.outbox_state() == OutboxState(2, NOW + 2, 1, "HTTP 503", NOW + 10)
    assert await store.delete_profile("v2") is False  # no profile, but its message is erased all the same
    assert await store.outbox_state() == OutboxState(1, NOW + 3, 0)


async def test_export_and_erase_cover_coupons_and_outbox(store: Any) -> None:
    await store.update_profile("v1", view("shoes"), NOW)
    await store.link_identity("v1", "email:h", NOW)
    await store.add_coupons(["C1"], NOW)
    await store.claim_coupon("email:h", NOW, lambda: "GEN")
    await store.outbox_put("signup", ["v1", "email:h"], {"email": "a@b.c"}, NOW)
    await store.outbox_put("signup", ["v9"], {"n": 9}, NOW)
    exported = await store.export_profile("v1")
    assert [c["code"] for c in exported["coupons"]] == ["C1"]
    assert [m["payload"] for m in exported["outbox"]] == [{"email": "a@b.c"}]
    assert await store.delete_profile("v1") is True
    assert [i.payload for i in await store.outbox_claim(NOW, 30)] == [{"n": 9}]
    # the code stays claimed: never handed out again, not even to the same address
    assert await store.claim_coupon("email:h", NOW, lambda: "NEW") == ("NEW", True)


# -- concurrency --------------------------------------------------------------


def _in_threads(backend: Any, work: Any, n: int = 2) -> None:
    """Runs ``work(store, index)`` in ``n`` threads, each with its own store object and event loop."""
    errors: list[BaseException] = []

    def run(index: int) -> None:
        async def main() -> None:
            store = backend.factory()
            try:
                await work(store, index)
            finally:
                await store.close()

        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors


def _bump(p: Profile) -> None:
    p.visits += 1


async def test_concurrent_updates_lose_nothing(backend: Any, store: Any) -> None:
    async def work(s: Any, index: int) -> None:
        await asyncio.gather(*(s.update_profile("hot", _bump, NOW) for _ in range(200)))

    _in_threads(backend, work)
    assert (await store.get_profile("hot")).visits == 400


async def test_concurrent_links_to_one_customer_merge_everything(backend: Any, store: Any) -> None:
    for i in range(20):
        await store.update_profile(f"anon{i}", view("shoes"), NOW + i)

    async def work(s: Any, index: int) -> None:
        mine = range(index, 20, 2)
        await asyncio.gather(
            *(s.link_identity(f"anon{i}", "customer:C1", NOW + 100) for i in mine),
            *(s.update_profile(f"anon{i}", view("bags"), NOW + 200) for i in mine),
        )

    _in_threads(backend, work)
    golden = await store.get_profile("customer:C1")
    assert golden.categories["shoes"]["count"] == 20 and golden.categories["bags"]["count"] == 20
    assert sorted(golden.anonymous_ids) == sorted(f"anon{i}" for i in range(20))
    assert {await store.resolve(f"anon{i}") for i in range(20)} == {golden.id}


# -- bulk imports ---------------------------------------------------------------


def _store_purchase(order: str, size: str) -> Any:
    line = {"product": "p1", "category": "shoes", "size": size}
    return lambda p: record_purchase(p, order, [line], NOW, "store")


async def test_bulk_update_creates_attaches_and_merges(store: Any) -> None:
    await store.update_profile("v1", view("shoes"), NOW)
    await store.link_identity("v1", "email:e1", NOW)
    written = await store.bulk_update(
        [
            (["customer:C1", "email:e1"], _store_purchase("o1", "42")),  # e-mail known: joins v1
            (["customer:C2"], _store_purchase("o2", "40")),  # nobody: a new profile under its alias
            (["customer:C2", "email:e2"], _store_purchase("o3", "40")),  # same person again, a new alias
            ([], _store_purchase("ignored", "1")),
        ],
        NOW,
    )
    assert written == 2
    one = await store.get_profile("customer:C1")
    assert one.id == "v1" and [p["order_id"] for p in one.purchases] == ["o1"] and one.categories["shoes"]["count"] == 1
    two = await store.get_profile("email:e2")
    assert two.id == "customer:C2" and [p["order_id"] for p in two.purchases] == ["o2", "o3"]
    assert await store.resolve("customer:C2") == "customer:C2"
    # a row whose aliases name two people merges them
    assert await store.bulk_update([(["customer:C1", "customer:C2"], _store_purchase("o4", "41"))], NOW) == 1
    merged = await store.get_profile("email:e2")
    assert merged.id == "v1" and {p["order_id"] for p in merged.purchases} == {"o1", "o2", "o3", "o4"}
    assert {await store.resolve(a) for a in ("customer:C1", "customer:C2", "email:e1", "email:e2")} == {"v1"}


async def test_export_and_erase_cover_a_code_owned_by_the_profile(store: Any) -> None:
    """A code given for an address someone else holds is owned by ``profile:<id>``: it is the person's too."""
    await store.update_profile("v9", view("hats"), NOW)
    code, _ = await store.claim_coupon("profile:v9", NOW, lambda: "SW-PROFILE-1")
    assert [c["code"] for c in (await store.export_profile("v9"))["coupons"]] == [code]
    assert await store.delete_profile("v9")
    again, fresh = await store.claim_coupon("profile:v9", NOW, lambda: "SW-PROFILE-2")
    assert fresh and again == "SW-PROFILE-2"  # the old code is nobody's now (and never handed out again)


async def test_log_head_and_start_say_where_the_log_begins_and_ends(store: Any) -> None:
    """Health measures the learner's lag against the head; reports count from the start."""
    assert await store.log_head() == 0 and await store.log_start() is None
    await store.append([ev("h1", "v"), ev("h2", "v")])
    assert await store.log_head() == 2
    start = await store.log_start()
    assert start is not None and start[0] == 1 and start[1] == (await store.read_log(0))[0].ts
