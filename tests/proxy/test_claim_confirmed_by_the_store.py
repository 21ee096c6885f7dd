"""Behind the proxy, the store's page naming the logged-in customer confirms what the browser only claimed.

A browser can claim a customer id or an e-mail address before the store ever names it (the tag's unsigned
``identify``, a newsletter form): the alias is attached and marked claimed (docs/security.md). When the
store's own page then names that customer on that browser, the link is made by trust once, so the claim
mark goes and the person's other device, named by the store too, merges with it instead of taking the id
or the address from it. The real proxy in front of the store of ``test_capture_proxy`` (its
``/account/?id=`` prints the customer id, ``?email=`` the address), on SQLite and on a real redis-server.
"""

from __future__ import annotations

import json
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from real_parts import state_store
from test_capture_proxy import RULES, Clock, Stack, shop_app, vid

from slotwise.profile import Profile, hash_email, holds
from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.tag.imports import import_people_file
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


@dataclass(frozen=True)
class Name:
    """A customer id or an e-mail address: as the browser claims it, as the store's account page shows it."""

    kind: str  # "customer" or "email"
    value: str

    @classmethod
    def fresh(cls, kind: str) -> "Name":
        tag = uuid.uuid4().hex[:8]
        return cls(kind, f"c{tag}" if kind == "customer" else f"e{tag}@example.com")

    @property
    def alias(self) -> str:
        return f"customer:{self.value}" if self.kind == "customer" else f"email:{hash_email(self.value)}"

    @property
    def trusted_field(self) -> str:
        """The profile's mark that it holds the name by a trusted link."""
        return f"{self.kind}_trusted"

    def page(self, n: int = 0) -> str:
        """The store's account page naming them as logged in."""
        return f"/account/?{'id' if self.kind == 'customer' else 'email'}={self.value}&none=1&n={n}"

    def held(self, profile: Profile) -> bool:
        """The profile names them, by a claim or by trust."""
        return holds(profile, self.alias, by_trust=False)


def by_the_tag(device: httpx.Client, name: Name) -> None:
    """The tag's ``identify`` without a signature: the browser's word."""
    props = {"customerId": name.value} if name.kind == "customer" else {"email": name.value}
    said = {"type": "identify", "event_id": uuid.uuid4().hex, "props": props}
    assert device.post("/_sw/events", json={"events": [said]}).status_code == 200


def by_the_newsletter(device: httpx.Client, name: Name) -> None:
    """A newsletter form the store accepts for any address (held, confirmed by the next page's flash)."""
    device.post("/newsletter", data={"email": name.value})
    device.get("/?none=1")


CLAIMS = {  # id: (what is claimed, how)
    "customer-by-the-tag": ("customer", by_the_tag),
    "email-by-the-tag": ("email", by_the_tag),
    "email-by-a-newsletter-form": ("email", by_the_newsletter),
}


def owner(stack: Stack, name: Name) -> str:
    return sync(stack.store.resolve(name.alias))


def linked_by_the_store(stack: Stack, visitor: str) -> int:
    """The identifies the proxy recorded for the visitor from the store's page (each one a trusted link)."""
    return sum(1 for r in stack.log("identify", visitor) if r.data["source"] == "proxy")


@pytest.mark.parametrize("how", sorted(CLAIMS))
def test_a_claim_the_stores_page_confirms_merges_with_the_persons_other_device(stack: Stack, how: str) -> None:
    """Device A claims customer X (or address X), then X logs in on A (the store's page names X): A's claim
    becomes a trusted link. X logs in on B: A and B are one person, not B taking X from A."""
    kind, claim = CLAIMS[how]
    name = Name.fresh(kind)
    with stack.client() as phone, stack.client() as laptop:
        phone.get("/c/jackets-1/?none=1")
        claim(phone, name)
        assert owner(stack, name) == vid(phone) and name.held(stack.profile(vid(phone)))  # nobody held it: a claim
        phone.get(name.page())  # X logged in on the phone
        assert linked_by_the_store(stack, vid(phone)) == 1
        assert getattr(stack.profile(vid(phone)), name.trusted_field) is True

        laptop.get("/c/socks-9/?none=1")
        laptop.get(name.page())  # X logged in on the laptop
        merged = stack.profile(vid(laptop))
        assert merged.id == stack.profile(vid(phone)).id == owner(stack, name)
        assert name.held(merged) and getattr(merged, name.trusted_field) is True
        assert {"jackets", "socks"} <= set(merged.categories)  # both devices' history: one golden record
        assert {vid(phone), vid(laptop)} <= {merged.id, *merged.anonymous_ids}


@pytest.mark.parametrize("kind", ["customer", "email"])
def test_the_confirmation_is_one_write_and_the_next_pages_write_no_link(stack: Stack, kind: str) -> None:
    name = Name.fresh(kind)
    with stack.client() as phone:
        phone.get("/page?none=1")
        by_the_tag(phone, name)
        for n in range(3):
            phone.get(name.page(n))
        assert linked_by_the_store(stack, vid(phone)) == 1


def forget(stack: Stack, profile_id: str, field: str) -> None:
    """The profile's stored JSON as written before ``field`` existed: without it (a write of the store's own
    kind, so every reader sees the row changed)."""
    store = stack.personalizer.store
    if not stack.personalizer.settings.store:
        from slotwise.store.sqlite.profiles import write_profile

        with store.inner.db.transaction() as cur:
            (data,) = cur.execute("SELECT data FROM profiles WHERE id = ?", (profile_id,)).fetchone()
            stored = json.loads(data)
            del stored[field]
            write_profile(cur, profile_id, json.dumps(stored), time.time())
        return
    import redis

    with redis.Redis.from_url(stack.personalizer.settings.store) as client:
        key = store.key("p", profile_id)
        stored = json.loads(client.get(key))
        del stored[field]
        client.set(key, json.dumps(stored))


@pytest.mark.parametrize("kind", ["customer", "email"])
def test_a_profile_stored_before_its_trusted_mark_existed_is_confirmed_once(stack: Stack, kind: str) -> None:
    """A customer (an address) the store named before ``customer_trusted`` (``email_trusted``) was kept: the
    first page confirms the link once (one write), and the pages after it write none, as for any profile held
    by trust."""
    name = Name.fresh(kind)
    with stack.client() as phone:
        phone.get(name.page())
        profile = stack.profile(vid(phone))
        assert name.held(profile) and linked_by_the_store(stack, vid(phone)) == 1
        forget(stack, profile.id, name.trusted_field)
        assert getattr(stack.profile(vid(phone)), name.trusted_field) is False  # absent: read as no trust
        for n in range(3):
            phone.get(name.page(n))
        assert linked_by_the_store(stack, vid(phone)) == 2  # one confirming write, not one per page
        assert getattr(stack.profile(vid(phone)), name.trusted_field) is True and owner(stack, name) == profile.id


def import_people(stack: Stack, path: Path, kind: str) -> None:
    """``slotwise import customers|purchases`` into the proxy's store (on Redis, a client of the test's own per
    call)."""
    report = sync(import_people_file(stack.store, path, kind, time.time()))
    assert report.loaded == 1 and report.rejected_count == 0


def imported(stack: Stack, tmp_path: Path, kind: str) -> tuple[Name, Name]:
    """A customer id and address, in a ``customers`` row or a ``purchases`` row, imported."""
    customer, email = Name.fresh("customer"), Name.fresh("email")
    (tmp_path / f"{kind}.csv").write_text(
        f"customer_id,email\n{customer.value},{email.value}\n" if kind == "customers" else
        f"order_id,ts,product,qty,price,customer_id,email\no-1,2024-01-01,p1,1,20,{customer.value},{email.value}\n",
        encoding="utf-8")
    import_people(stack, tmp_path / f"{kind}.csv", kind)
    return customer, email


@pytest.mark.parametrize("kind", ["customers", "purchases"])
def test_an_imported_customer_is_held_by_trust_and_the_stores_pages_write_no_link(stack: Stack, tmp_path: Path,
                                                                                  kind: str) -> None:
    """An import is the store's own data, a purchases row naming its buyer as a customers row does: a browser
    that joins the imported customer (a login with their address) holds their customer id by trust too, so the
    account page naming it writes nothing."""
    customer, email = imported(stack, tmp_path, kind)
    with stack.client() as phone:
        phone.get("/page?none=1")
        assert phone.post("/login", data={"email": email.value, "password": "right"}).status_code == 303
        joined = stack.profile(vid(phone))
        assert joined.id == owner(stack, customer) == owner(stack, email) and customer.held(joined)
        for n in range(2):
            phone.get(customer.page(n))
        named = [r for r in stack.log("identify", vid(phone)) if r.data["props"].get("customer_id")]
        assert named == []  # held by trust since the import: no confirming write
        assert stack.profile(vid(phone)).customer_trusted is True


@pytest.mark.parametrize("kind", ["customers", "purchases"])
def test_another_customer_on_an_imported_customers_browser_is_told_from_them(stack: Stack, tmp_path: Path,
                                                                             kind: str) -> None:
    """A shared computer: the browser joined the imported customer by a login with their address; the store's
    page then names another customer id. The profile holds the imported id (a purchases row's too), so that is
    another person: the browser becomes theirs, and neither customer gets the other's history."""
    customer, email = imported(stack, tmp_path, kind)
    other = Name.fresh("customer")
    with stack.client() as shared:
        shared.get("/c/jackets-1/?none=1")
        assert shared.post("/login", data={"email": email.value, "password": "right"}).status_code == 303
        first = vid(shared)
        assert stack.profile(first).id == owner(stack, customer)
        shared.get(other.page())
        shared.get("/c/hats-3/?none=1")
        assert vid(shared) != first and owner(stack, other) == stack.profile(vid(shared)).id != owner(stack, customer)
        assert "jackets" not in stack.profile(vid(shared)).categories
        assert "hats" not in sync(stack.store.get_profile(customer.alias)).categories
