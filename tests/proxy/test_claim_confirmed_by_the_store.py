"""Behind the proxy, the store's page naming the logged-in customer confirms what the browser only claimed.

A browser can claim a customer id before the store ever names it (the tag's unsigned ``identify``): the
alias is attached and marked claimed (docs/security.md). When the store's own page then names that customer
on that browser, the link is made by trust once, so the claim mark goes and the person's other device,
named by the store too, merges with it instead of taking the id from it. The real proxy in front of the
store of ``test_capture_proxy`` (its ``/account/?id=`` prints the customer id), on SQLite and on a real
redis-server.
"""

from __future__ import annotations

import json
import time
import uuid
from contextlib import ExitStack
from typing import Any, Iterator

import httpx
import pytest
from real_parts import state_store
from test_capture_proxy import RULES, Clock, Stack, shop_app, vid

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.tag.testing import sync


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("claim-confirmed")
    (data / "rules.yaml").write_text(RULES, encoding="utf-8")
    clock = Clock()
    with ExitStack() as running:
        store = state_store(request.param, running)
        shop = running.enter_context(uvicorn_runner(shop_app()))
        settings = Settings(upstream=shop.url, rules=str(data / "rules.yaml"), data=str(data / "edge"), store=store,
                            personalize_budget_ms=5000)
        personalizer = SlotwisePersonalizer(settings, clock=clock)
        proxy = running.enter_context(uvicorn_runner(create_app(settings, personalizer)))
        yield Stack(proxy, personalizer, clock)


def claim(device: httpx.Client, customer: str) -> None:
    """The tag's ``identify`` without a signature: the browser's word."""
    said = {"type": "identify", "event_id": uuid.uuid4().hex, "props": {"customerId": customer}}
    assert device.post("/_sw/events", json={"events": [said]}).status_code == 200


def owner(stack: Stack, customer: str) -> str:
    return sync(stack.store.resolve(f"customer:{customer}"))


def linked_by_the_store(stack: Stack, visitor: str) -> int:
    """The identifies the proxy recorded for the visitor from the store's page (each one a trusted link)."""
    return sum(1 for r in stack.log("identify", visitor) if r.data["source"] == "proxy")


def test_a_claim_the_stores_page_confirms_merges_with_the_persons_other_device(stack: Stack) -> None:
    """Device A claims customer X, then X logs in on A (the store's page names X): A's claim becomes a
    trusted link. X logs in on B: A and B are one person, not B taking X from A."""
    customer = f"c{uuid.uuid4().hex[:8]}"
    with stack.client() as phone, stack.client() as laptop:
        phone.get("/c/jackets-1/?none=1")
        claim(phone, customer)
        assert owner(stack, customer) == vid(phone)  # nobody held it: attached, as a claim
        phone.get(f"/account/?id={customer}&none=1")  # X logged in on the phone
        assert linked_by_the_store(stack, vid(phone)) == 1 and stack.profile(vid(phone)).customer_trusted is True

        laptop.get("/c/socks-9/?none=1")
        laptop.get(f"/account/?id={customer}&none=1")  # X logged in on the laptop
        merged = stack.profile(vid(laptop))
        assert merged.id == stack.profile(vid(phone)).id == owner(stack, customer)
        assert merged.customer_id == customer and merged.customer_trusted is True
        assert {"jackets", "socks"} <= set(merged.categories)  # both devices' history: one golden record
        assert {vid(phone), vid(laptop)} <= {merged.id, *merged.anonymous_ids}


def test_the_confirmation_is_one_write_and_the_next_pages_write_no_link(stack: Stack) -> None:
    customer = f"c{uuid.uuid4().hex[:8]}"
    with stack.client() as phone:
        phone.get("/page?none=1")
        claim(phone, customer)
        for n in range(3):
            phone.get(f"/account/?id={customer}&none=1&n={n}")
        assert linked_by_the_store(stack, vid(phone)) == 1


def forget_customer_trusted(stack: Stack, profile_id: str) -> None:
    """The profile's stored JSON as written before ``Profile.customer_trusted`` existed: without the field
    (a write of the store's own kind, so every reader sees the row changed)."""
    store = stack.personalizer.store
    if not stack.personalizer.settings.store:
        from slotwise.store.sqlite.profiles import write_profile

        with store.inner.db.transaction() as cur:
            (data,) = cur.execute("SELECT data FROM profiles WHERE id = ?", (profile_id,)).fetchone()
            stored = json.loads(data)
            del stored["customer_trusted"]
            write_profile(cur, profile_id, json.dumps(stored), time.time())
        return
    import redis

    with redis.Redis.from_url(stack.personalizer.settings.store) as client:
        key = store.key("p", profile_id)
        stored = json.loads(client.get(key))
        del stored["customer_trusted"]
        client.set(key, json.dumps(stored))


def test_a_profile_stored_before_customer_trusted_existed_is_confirmed_once(stack: Stack) -> None:
    """A customer the store named before ``customer_trusted`` was kept: the first page confirms the link once
    (one write), and the pages after it write none, as for any profile held by trust."""
    customer = f"c{uuid.uuid4().hex[:8]}"
    with stack.client() as phone:
        phone.get(f"/account/?id={customer}&none=1")
        profile = stack.profile(vid(phone))
        assert profile.customer_id == customer and linked_by_the_store(stack, vid(phone)) == 1
        forget_customer_trusted(stack, profile.id)
        assert stack.profile(vid(phone)).customer_trusted is False  # absent: read as no trust
        for n in range(3):
            phone.get(f"/account/?id={customer}&none=1&n={n}")
        assert linked_by_the_store(stack, vid(phone)) == 2  # one confirming write, not one per page
        assert stack.profile(vid(phone)).customer_trusted is True and owner(stack, customer) == profile.id
