"""What the browser and the store's server tell Slotwise: tag captures, GA4 pushes, identity claims, order webhooks.

The tag reads click and submit triggers and ``dataLayer`` pushes and posts
them to ``/_sw/events`` as ``capture`` events; the server expands them with
the rules (``Capture.expand``) into the events they name. Those are claims: a
browser can send anything, so they never merge identities and never set one
they could not link. The store's server posts orders to ``/_sw/orders``,
signed: trusted like an import, idempotent by order id, and rewarding what the
person saw on any of their devices. Everything here goes through the running
proxy over HTTP, as a browser and a store server would.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from contextlib import closing
from typing import Any, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from slotwise.profile import hash_email
from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.operations.learning import learner_record
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.proxy.operations.reporting import build_decision_log, read_all
from slotwise.store.base import LogRecord
from slotwise.tag.testing import sync
from agents import DESKTOP_UA  # noqa: E402

UA = {"user-agent": DESKTOP_UA}
SECRET = "order-secret-for-tests"

RULES = r"""
catalog:
  product_pages: "/p/{product}/"
  category_pages: "/c/{category}-{id:int}/"
  currency: EUR
capture:
  customer:
    pages: "/account/"
    email: ".email"
  datalayer: true
  events:
    - id: quick-add
      event: add_to_cart
      click: "button.quick-add"
      fields:
        product: "@data-sku"
        size: {css: ".size", match: 'Size: (\S+)'}
        qty: {value: "1"}
    - id: footer-newsletter
      event: newsletter
      submit: "form.footer-newsletter"
      fields: {email: form.email}
    - id: login-form
      event: login
      submit: "form.login"
      fields: {email: form.username}
    - id: thanks-page
      event: purchase
      page: "/thanks/"
      fields: {order_id: ".ref"}
      lines: {items: "tr", product: "a @href", size: ".size"}
slots:
  - id: hero
    pages: "/"
    selector: "h1"
    action: set-attribute
    attributes: {class: "sw"}
    goal: purchase
"""


async def home(request: Request) -> Response:
    return HTMLResponse("<!doctype html><html><body><h1>Fjell</h1><p>" + "x " * 50 + "</p></body></html>")


async def account(request: Request) -> Response:
    email = request.query_params.get("email", "")
    return HTMLResponse(f'<!doctype html><html><body><h1>Account</h1><p class="email">{email}</p></body></html>')


class Stack:
    def __init__(self, proxy: Any, personalizer: SlotwisePersonalizer) -> None:
        self.proxy, self.personalizer = proxy, personalizer

    @property
    def store(self) -> Any:
        """The server's store, for ``sync``; on Redis, one of the test's own per call (a Redis client belongs to
        one event loop, and ``sync`` runs each call in a new one)."""
        url = self.personalizer.settings.store
        return OwnRedisStore(url) if url else self.personalizer.store

    def browser(self) -> httpx.Client:
        client = httpx.Client(base_url=self.proxy.url, headers=UA, timeout=10)
        client.get("/")  # the visitor cookie, as a first page view gives it
        return client

    def log(self, type_: str | None = None, visitor: str | None = None) -> list[LogRecord]:
        return [r for r in sync(self.store.read_log(0, 100_000)) if r.kind == "event"
                and (type_ is None or r.data.get("type") == type_) and (visitor is None or r.visitor == visitor)]

    def profile(self, visitor: str) -> Any:
        return sync(self.store.get_profile(visitor))


class OwnRedisStore:
    """A Redis store's methods, each called on a store object opened for the call (in the caller's loop)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __getattr__(self, name: str) -> Any:
        from slotwise.store.redis import RedisStore

        async def call(*args: Any, **kwargs: Any) -> Any:
            store = RedisStore(self.url)
            try:
                return await getattr(store, name)(*args, **kwargs)
            finally:
                await store.close()

        return call


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("capture-tag")
    (data / "rules.yaml").write_text(RULES, encoding="utf-8")
    shop = Starlette(routes=[Route("/", home), Route("/account/", account)])
    with uvicorn_runner(shop) as upstream:
        settings = Settings(upstream=upstream.url, rules=str(data / "rules.yaml"), data=str(data / "edge"),
                            personalize_budget_ms=5000, order_secret=SECRET)
        personalizer = SlotwisePersonalizer(settings)
        with uvicorn_runner(create_app(settings, personalizer)) as proxy:
            yield Stack(proxy, personalizer)


@pytest.fixture
def browser(stack: Stack) -> Iterator[httpx.Client]:
    with closing(stack.browser()) as client:
        yield client


def vid(client: httpx.Client) -> str:
    return str(client.cookies["sw_vid"]).split(".")[0]


def capture(source: str, *, values: dict[str, Any] | None = None, push: Any = None,
            event_id: str | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {"source": source}
    if values is not None:
        props["values"] = values
    if push is not None:
        props["push"] = push
    return {"type": "capture", "event_id": event_id or uuid.uuid4().hex, "ts": time.time(),
            "url": "http://shop.test/", "props": props}


def send(client: httpx.Client, *events: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/_sw/events", content=json.dumps({"events": list(events)}),
                    headers={"content-type": "text/plain;charset=UTF-8"})
    assert r.status_code in (200, 207, 422), r.text
    return r.json()


# -- click and submit triggers ----------------------------------------------------------------------------


def test_a_click_trigger_becomes_an_add_to_cart(stack: Stack, browser: httpx.Client) -> None:
    result = send(browser, capture("quick-add", values={"product": "1005", "size": "Size: 42", "qty": "7"}))
    assert result["stored"] == 1
    (event,) = stack.log("add_to_cart", vid(browser))
    assert event.data["props"] == {"product": "1005", "size": "42", "qty": 1}  # qty is the rules' constant
    assert event.data["source"] == "tag" and event.data["url"] == "http://shop.test/"
    assert [(line["product"], line["size"]) for line in stack.profile(vid(browser)).cart] == [("1005", "42")]


def test_a_submit_trigger_becomes_a_newsletter_sign_up(stack: Stack, browser: httpx.Client) -> None:
    send(browser, capture("footer-newsletter", values={"email": "news@example.com"}))
    (event,) = stack.log("signup", vid(browser))
    assert event.data["props"] == {"email_hash": hash_email("news@example.com"), "source": "newsletter"}
    assert stack.profile(vid(browser)).subscribed is True


@pytest.mark.parametrize("event, reason", [
    (capture("quick-add", values={"qty": "1"}), "no product"),
    (capture("no-such-trigger", values={"product": "1"}), "the rules do not have"),
    (capture("footer-newsletter", values={"email": "nobody"}), "e-mail"),
    (capture("datalayer", push={"event": "add_to_cart", "ecommerce": {"items": [{"item_id": "1", "quantity": 50_000}]}}),
     "qty"),
])
def test_a_malformed_or_forged_capture_records_nothing_and_is_logged_once(
        stack: Stack, browser: httpx.Client, caplog: pytest.LogCaptureFixture, event: dict[str, Any], reason: str) -> None:
    caplog.set_level(logging.WARNING, "slotwise.capture")
    before = len(stack.log())
    for _ in range(3):
        result = send(browser, {**event, "event_id": uuid.uuid4().hex})
        assert result["stored"] == 0
    assert len(stack.log()) == before
    said = [r.getMessage() for r in caplog.records if r.name == "slotwise.capture"]
    assert len(said) == 1 and reason in said[0], said  # once per source and reason, however often it comes


# -- identity claims from the browser ----------------------------------------------------------------------


def test_a_browser_claim_never_merges_into_someone_else(stack: Stack, browser: httpx.Client) -> None:
    owner = "known-person-" + uuid.uuid4().hex[:8]
    sync(stack.store.link_identity(owner, f"email:{hash_email('owner@example.com')}", time.time()))
    sync(stack.store.update_profile(owner, lambda p: p.purchases.append(
        {"order_id": "pos-1", "channel": "store", "product": "1005", "category": "trail-shoes", "size": "42",
         "qty": 1, "price": 119.0, "ts": time.time()}), time.time()))
    send(browser, capture("login-form", values={"email": "owner@example.com"}),
         {"type": "identify", "event_id": uuid.uuid4().hex, "props": {"email": "owner@example.com"}})
    mine = stack.profile(vid(browser))
    assert mine.id != owner and mine.email_hash is None  # nothing of it reaches this profile
    assert mine.purchases == [] and vid(browser) not in stack.profile(owner).anonymous_ids
    assert sync(stack.store.resolve(f"email:{hash_email('owner@example.com')}")) == owner


@pytest.mark.parametrize("claim", ["login", "identify"])
def test_a_repeated_claim_of_someone_elses_address_is_logged_once(stack: Stack, browser: httpx.Client,
                                                                  claim: str) -> None:
    """docs/tag.md, "Identity trust": behind the proxy, the tag's login capture (or a script's ``identify``) that
    names an address another profile holds attaches nothing; the first is logged, the same claim on the next
    pages costs no store call naming the address. The store's own page naming it still merges, as before."""
    from store_calls import calls_naming

    email = f"owner-{uuid.uuid4().hex[:6]}@example.com"
    alias, owner = f"email:{hash_email(email)}", "known-person-" + uuid.uuid4().hex[:8]
    sync(stack.store.link_identity(owner, alias, time.time()))

    def sent() -> dict[str, Any]:
        if claim == "login":
            return capture("login-form", values={"email": email})
        return {"type": "identify", "event_id": uuid.uuid4().hex, "props": {"email": email}}

    send(browser, sent())
    assert len(stack.log("identify", vid(browser))) == 1
    for _ in range(2):
        with calls_naming(stack, alias) as calls:
            send(browser, sent())
        assert calls == [], calls
    assert len(stack.log("identify", vid(browser))) == 1 and stack.profile(vid(browser)).email_hash is None
    assert sync(stack.store.resolve(alias)) == owner
    browser.get("/account/", params={"email": email})  # the store's own page: trusted, merges
    assert sync(stack.store.resolve(vid(browser))) == owner


def test_a_browser_claim_attaches_an_alias_nobody_holds(stack: Stack, browser: httpx.Client) -> None:
    email = f"fresh-{uuid.uuid4().hex[:6]}@example.com"
    send(browser, capture("login-form", values={"email": email}))
    assert stack.profile(vid(browser)).email_hash == hash_email(email)
    assert sync(stack.store.resolve(f"email:{hash_email(email)}")) == stack.profile(vid(browser)).id


# -- the GA4 dataLayer -----------------------------------------------------------------------------------

ITEM = {"item_id": "1005", "item_name": "Ridge Runner", "item_category": "Trail Shoes", "item_variant": "42",
        "price": 119.0, "quantity": 1}


def ga4(event: str, **ecommerce: Any) -> dict[str, Any]:
    return {"event": event, "ecommerce": ecommerce}


def test_ga4_add_and_remove_reach_the_cart(stack: Stack, browser: httpx.Client) -> None:
    send(browser, capture("datalayer", push=ga4("add_to_cart", currency="EUR", value=238.0, items=[{**ITEM, "quantity": 2}])))
    (line,) = stack.profile(vid(browser)).cart
    assert (line["product"], line["size"], line["qty"], line["category"], line["price"]) == ("1005", "42", 2, "trail-shoes", 119.0)
    send(browser, capture("datalayer", push=ga4("remove_from_cart", items=[ITEM])))
    assert stack.profile(vid(browser)).cart == []
    assert [r.data["type"] for r in stack.log(visitor=vid(browser)) if r.data["type"] != "page_view"] == [
        "add_to_cart", "remove_from_cart"]


def test_a_purchase_pushed_on_every_reload_is_one_order(stack: Stack, browser: httpx.Client) -> None:
    order = "FJ-" + uuid.uuid4().hex[:6]
    push = ga4("purchase", transaction_id=order, value=123.9, currency="EUR", shipping=4.9, items=[ITEM])
    for _ in range(3):  # each reload: a new tag event id, the same transaction
        send(browser, capture("datalayer", push=push))
    purchases = stack.log("purchase", vid(browser))
    assert len(purchases) == 1 and purchases[0].data["props"]["total"] == 123.9
    profile = stack.profile(vid(browser))
    assert [(p["order_id"], p["size"], p["category"], p["channel"]) for p in profile.purchases] == [
        (order, "42", "trail-shoes", "online")]
    assert profile.preferred_sizes == {"trail-shoes": "42"}


def test_a_made_up_purchase_cannot_keep_the_real_buyer_from_being_recorded(stack: Stack) -> None:
    """Log keys are unique across visitors: a claim of the next order number must not take the buyer's key."""
    order = "FJ-" + uuid.uuid4().hex[:6]
    push = ga4("purchase", transaction_id=order, value=10.0, items=[ITEM])
    with closing(stack.browser()) as attacker, closing(stack.browser()) as buyer:
        send(attacker, capture("datalayer", push=push))
        send(buyer, capture("datalayer", push=push))
        assert len(stack.log("purchase", vid(buyer))) == 1
        assert [p["order_id"] for p in stack.profile(vid(buyer)).purchases] == [order]


def test_gtag_and_universal_analytics_pushes(stack: Stack, browser: httpx.Client) -> None:
    # gtag('event', 'add_to_cart', {...}) as the tag normalises it; then UA's enhanced ecommerce shapes
    send(browser, capture("datalayer", push={"event": "add_to_cart", "ecommerce": {"items": [{**ITEM, "item_id": "1013", "item_variant": None}]}}))
    ua_product = {"id": "1014", "name": "Fjellsekk 38", "category": "Backpacks", "price": "149.00", "quantity": 1}
    send(browser, capture("datalayer", push={"event": "addToCart", "ecommerce": {"add": {"products": [ua_product]}}}))
    assert [line["product"] for line in stack.profile(vid(browser)).cart] == ["1013", "1014"]
    order = "UA-" + uuid.uuid4().hex[:6]
    send(browser, capture("datalayer", push={"ecommerce": {"currencyCode": "EUR", "purchase": {
        "actionField": {"id": order, "revenue": "149.00"}, "products": [ua_product]}}}))
    assert [p["order_id"] for p in stack.profile(vid(browser)).purchases] == [order]


def test_a_malformed_push_is_logged_and_records_nothing(stack: Stack, browser: httpx.Client,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "slotwise.capture")
    send(browser, capture("datalayer", push=ga4("add_to_cart", items=[{"item_name": "no id, quantity 2"}])))
    assert stack.log("add_to_cart", vid(browser)) == []
    assert any("dataLayer add_to_cart" in r.getMessage() and "no product" in r.getMessage() for r in caplog.records)


# -- the order webhook ------------------------------------------------------------------------------------


def post_order(stack: Stack, order: Any, *, secret: str | None = SECRET, signature: str | None = None) -> httpx.Response:
    body = json.dumps(order).encode() if not isinstance(order, bytes) else order
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["x-slotwise-signature"] = signature
    elif secret is not None:
        headers["x-slotwise-signature"] = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return httpx.post(stack.proxy.url + "/_sw/orders", content=body, headers=headers, timeout=10)


def an_order(**fields: Any) -> dict[str, Any]:
    return {"order_id": "W-" + uuid.uuid4().hex[:8], "email": "webhook@example.com",
            "lines": [{"product": "1006", "size": "Size: 43", "qty": 1, "price": 139.0, "category": "Trail Shoes"}],
            "total": 143.9, "currency": "EUR", **fields}


def test_the_signature_is_required(stack: Stack) -> None:
    order = an_order()
    assert post_order(stack, order, secret=None).status_code == 401
    assert post_order(stack, order, secret="wrong").status_code == 401
    assert post_order(stack, order, signature="sha256=").status_code == 401
    assert post_order(stack, order).status_code == 200
    assert not [r for r in stack.log("purchase") if r.key.endswith(order["order_id"]) and r.data["source"] != "webhook"]


def test_orders_are_idempotent_by_order_id(stack: Stack) -> None:
    order = an_order()
    first, again = post_order(stack, order).json(), post_order(stack, order).json()
    assert (first["stored"], again["stored"], again["duplicate"]) == (True, False, True)
    assert len([r for r in stack.log("purchase") if r.key == f"order:{order['order_id']}"]) == 1


@pytest.mark.parametrize("order, field", [
    ({"order_id": "x", "email": "a@b.co"}, "lines"),
    ({"order_id": "x", "email": "a@b.co", "lines": []}, "lines"),
    ({"order_id": "x", "email": "not-mail", "lines": [{"product": "1"}]}, "email"),
    ({"order_id": "x", "lines": [{"product": "1"}]}, "customer_id"),
    ({"email": "a@b.co", "lines": [{"product": "1"}]}, "order_id"),
    ({"order_id": "x", "email": "a@b.co", "lines": [{"product": "1", "qty": 0}]}, "lines.0.qty"),
    ({"order_id": "x", "email": "a@b.co", "lines": [{"product": "1"}], "channel": "phone"}, "channel"),
    ({"order_id": "x", "email": "a@b.co", "lines": [{"product": "1"}], "ts": "2999-01-01T00:00:00Z"}, "ts"),
    ({"order_id": "x", "email": "a@b.co", "lines": [{"product": "1"}], "ts": "yesterday"}, "ts"),
    (["not", "an", "object"], "body"),
])
def test_a_bad_order_is_422_naming_the_field(stack: Stack, order: Any, field: str) -> None:
    r = post_order(stack, order)
    assert r.status_code == 422, r.text
    fields = [d["field"] for d in r.json()["detail"]]
    assert any(f == field or f.startswith(field) for f in fields), r.json()


def test_malformed_json_is_422(stack: Stack) -> None:
    r = post_order(stack, b"{not json")
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body"


def test_an_order_by_customer_id_or_email_lands_on_the_person(stack: Stack) -> None:
    cid = "c-" + uuid.uuid4().hex[:6]
    in_store = an_order(customer_id=cid, email=None, channel="store", ts="2026-01-10T10:00:00+01:00")
    in_store.pop("email")
    assert post_order(stack, in_store).json()["stored"] is True
    person = stack.profile(f"customer:{cid}")
    assert [(p["channel"], p["product"], p["size"], p["category"]) for p in person.purchases] == [
        ("store", "1006", "43", "trail-shoes")]
    assert person.purchases[0]["ts"] == pytest.approx(1768035600.0)
    email = f"buyer-{uuid.uuid4().hex[:6]}@example.com"
    post_order(stack, an_order(email=email.upper()))
    assert stack.profile(f"email:{hash_email(email)}").purchases[0]["channel"] == "online"
    record = [r for r in stack.log("purchase") if r.visitor == f"email:{hash_email(email)}"][0]
    assert email not in json.dumps(record.data) and email.upper() not in json.dumps(record.data)


def test_an_order_rewards_the_decisions_of_all_the_persons_devices(stack: Stack) -> None:
    email = f"kari-{uuid.uuid4().hex[:6]}@example.com"
    with closing(stack.browser()) as phone, closing(stack.browser()) as laptop, closing(stack.browser()) as stranger:
        for device in (phone, laptop):  # the store's account page names the customer: trusted, merged
            device.get(f"/account/?email={email}")
        person = stack.profile(vid(phone))
        assert person.id == stack.profile(vid(laptop)).id and {vid(phone), vid(laptop)} <= set(person.anonymous_ids)
        for device in (phone, laptop, stranger):
            device.get("/")  # the hero slot decides (goal: purchase)
        order = an_order(email=email, total=200.0)
        assert post_order(stack, order).json()["stored"] is True
        record = next(r for r in stack.log("purchase") if r.key == f"order:{order['order_id']}")
        assert {vid(phone), vid(laptop)} <= set(learner_record(record)["also"] + [record.visitor])
        log = build_decision_log(sync(read_all(stack.store)))
        rewards = {row.visitor: row.reward for row in log.rows if row.slot == "hero"
                   and row.visitor in (vid(phone), vid(laptop), vid(stranger))}
        assert rewards[vid(phone)] == 1.0 and rewards[vid(laptop)] == 1.0
        assert rewards[vid(stranger)] is None  # the stranger bought nothing (still open)


def test_the_webhook_is_off_without_a_secret(tmp_path: Any) -> None:
    from slotwise.tag.orders import OrderWebhook
    from slotwise.tag.recorder import EventRecorder
    from slotwise.store import open_store
    from slotwise.tag.testing import asgi_client

    store = open_store("", str(tmp_path))
    hook = OrderWebhook(store, EventRecorder(store), lambda: "")
    client = asgi_client(Starlette(routes=[Route("/orders", hook, methods=["POST"])]))
    try:
        assert client.post("/orders", content=b"{}").status_code == 404
    finally:
        client.close()
        sync(store.close())


def a_known_person(stack: Stack, email: str) -> str:
    owner = "known-person-" + uuid.uuid4().hex[:8]
    sync(stack.store.link_identity(owner, f"email:{hash_email(email)}", time.time()))
    return owner


def test_a_sign_up_claim_with_someone_elses_address_subscribes_but_sets_no_identity(stack: Stack,
                                                                                    browser: httpx.Client) -> None:
    email = f"taken-{uuid.uuid4().hex[:6]}@example.com"
    owner = a_known_person(stack, email)
    send(browser, capture("footer-newsletter", values={"email": email}))
    mine = stack.profile(vid(browser))
    assert mine.subscribed is True
    assert mine.email_hash is None and mine.id != owner  # an address it could not claim is not its identity


def test_the_popup_sign_up_sets_no_identity_it_could_not_link(stack: Stack, browser: httpx.Client) -> None:
    email = f"popup-{uuid.uuid4().hex[:6]}@example.com"
    owner = a_known_person(stack, email)
    r = browser.post("/_sw/signup", json={"email": email})
    assert r.status_code == 200 and r.json()["coupon"]
    mine = stack.profile(vid(browser))
    assert mine.id != owner and mine.subscribed is True
    assert mine.email_hash is None


def test_a_tag_only_page_view_is_read_like_a_page_but_as_claims(stack: Stack, browser: httpx.Client) -> None:
    """In tag-only mode the tag sends what the page says; the server reads it as the proxy would, untrusted."""
    order = "TO-" + uuid.uuid4().hex[:6]
    owner = a_known_person(stack, "owner-to@example.com")
    extract = {"doc": '<meta property="og:type" content="product">', "values": {
        "ev:thanks-page": {"present": True, "fields": {"order_id": order},
                            "lines": [{"product": "/p/1005/", "size": "Size: 42"}]},
        "customer": {"present": True, "fields": {"email": "owner-to@example.com"}},
    }}
    view = {"type": "page_view", "event_id": uuid.uuid4().hex, "ts": time.time(),
            "props": {"url": "http://shop.test/thanks/", "extract": extract}}
    for _ in range(2):  # a reload
        send(browser, {**view, "event_id": uuid.uuid4().hex})
    (purchase,) = stack.log("purchase", vid(browser))
    assert purchase.data["source"] == "tag" and not purchase.key.startswith("order:")  # a claim's key
    assert [(p["product"], p["size"]) for p in stack.profile(vid(browser)).purchases] == [("1005", "42")]
    mine = stack.profile(vid(browser))
    assert mine.id != owner and mine.email_hash is None  # the page's customer, as a claim, merged nothing
    assert len(stack.log("page_view", vid(browser))) >= 2


def test_a_tag_only_product_page_that_names_no_category_takes_the_catalogs(stack: Stack, browser: httpx.Client) -> None:
    """A product page whose markup, URL and breadcrumb name no category (Shopify's) takes the one the catalog
    holds (a feed's): what tag-only ``/decide`` reads for the same page, so the view counts for it."""
    sync(stack.store.upsert_products([{"id": "2001", "name": "Rain Jacket", "category": "Jackets"}], time.time()))
    ld = '<script type="application/ld+json">{"@type": "Product", "name": "Rain Jacket", "sku": "RJ"}</script>'
    view = {"type": "page_view", "event_id": uuid.uuid4().hex, "ts": time.time(),
            "props": {"url": "http://shop.test/p/2001/", "extract": {"doc": ld}}}
    send(browser, view)
    (seen,) = stack.log("page_view", vid(browser))[-1:]
    assert (seen.data["props"]["product"], seen.data["props"]["category"]) == ("2001", "jackets")
    profile = stack.profile(vid(browser))
    assert profile.categories["jackets"]["count"] == 1 and profile.products["2001"]["category"] == "jackets"
