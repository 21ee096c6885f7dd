"""Order webhooks in the platform's own shape (``capture.orders``): Shopify's ``orders/create``, read as it is.

The rules are the docs' own: docs/rules.md's Shopify ``catalog.feed`` mapping (over the
sample ``products.json`` in tests/rules/feeds) and docs/capture.md's Shopify ``capture.orders``.
The body (``shopify_orders_create.json``, beside this file) is Shopify's order as its webhook posts
it, signed as Shopify signs: ``X-Shopify-Hmac-Sha256``, base64 of the HMAC-SHA256 of the raw body.
Everything goes through the running proxy over HTTP. WooCommerce's shape runs in
tests/woo_store (the shipped example in front of WooCommerce's markup).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest
import yaml
from agents import DESKTOP_UA
from shop_stack import ShopStack, open_stack, wait_for
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from slotwise.profile import hash_email

ROOT = Path(__file__).resolve().parents[2]
SECRET = "shopify-app-secret"
ORDER = json.loads((Path(__file__).parent / "shopify_orders_create.json").read_text(encoding="utf-8"))
FEED = ROOT / "tests" / "rules" / "feeds" / "shopify_products.json"


def _trail_tee() -> dict[str, Any]:
    """A product with two options, Color then Size, as ``products.json`` lists it (the runner tee's shape)."""
    tee = copy.deepcopy(json.loads(FEED.read_text(encoding="utf-8"))["products"][0])
    tee.update(id=7982300528884, title="Ridge Trail Tee", handle="ridge-trail-tee",
               options=[{"name": "Color", "position": 1, "values": ["Blue", "Red"]},
                        {"name": "Size", "position": 2, "values": ["S", "M"]}])
    first = tee["variants"][0]
    tee["variants"] = [{**first, "id": 43890031 + i, "title": f"{colour} / {size}", "option1": colour, "option2": size,
                        "sku": f"RT-{colour[0]}-{size}", "available": True, "position": i + 1, "product_id": tee["id"]}
                       for i, (colour, size) in enumerate((c, s) for c in ("Blue", "Red") for s in ("S", "M"))]
    return tee


TRAIL = _trail_tee()


def doc_block(name: str, after: str, containing: str = "") -> str:
    """The first YAML block after the heading ``after`` in docs/``name`` that holds ``containing`` (a section
    may show several stores' blocks, in an order the docs are free to change)."""
    text = (ROOT / "docs" / name).read_text(encoding="utf-8").split(after, 1)[1]
    return next(block.split("```", 1)[0] for block in text.split("```yaml\n")[1:] if containing in block)


def rules() -> dict[str, Any]:
    """docs/rules.md's Shopify feed mapping and docs/capture.md's Shopify capture.orders, one rules file."""
    catalog = yaml.safe_load('catalog:\n  product_pages: "/products/{product}"\n'
                             + doc_block("rules.md", "#### `catalog.feed` in the store's own shape",
                                       "url: /products.json"))
    orders = yaml.safe_load(doc_block("capture.md", "#### In the store's own shape: `capture.orders`"))
    catalog["catalog"]["feed"]["url"] = FEED.name  # the sample, as a file beside the rules
    assert orders["catalog"]["not_sizes"] == catalog["catalog"]["not_sizes"]
    return {**catalog, "revenue": {"currency": "EUR", "rates": {"GBP": 1.17}},
            "capture": {"customer": {"pages": "/account/", "email": ".email"}, **orders["capture"]},
            "slots": [{"id": "hero", "pages": "/", "selector": "h1", "action": "set-attribute",
                       "attributes": {"class": "sw"}, "goal": "purchase"}]}


async def home(request: Request) -> Response:
    return HTMLResponse("<!doctype html><html><body><h1>Ridge</h1><p>" + "x " * 50 + "</p></body></html>")


async def account(request: Request) -> Response:
    email = request.query_params.get("email", "")
    return HTMLResponse(f'<!doctype html><html><body><h1>Account</h1><p class="email">{email}</p></body></html>')


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[ShopStack]:
    data = tmp_path_factory.mktemp("order-shapes")
    products = json.loads(FEED.read_text(encoding="utf-8"))["products"] + [TRAIL]
    (data / FEED.name).write_text(json.dumps({"products": products}), encoding="utf-8")
    (data / "rules.yaml").write_text(yaml.safe_dump(rules(), sort_keys=False), encoding="utf-8")
    with uvicorn_runner(Starlette(routes=[Route("/", home), Route("/account/", account)])) as shop, \
            open_stack(shop, data, data / "rules.yaml", uvicorn_runner, order_secret=SECRET) as s:
        wait_for(lambda: s.personalizer.feeds.count, what="the products.json sample")
        yield s


def shopify_order(**changes: Any) -> dict[str, Any]:
    """The sample order with a fresh id (and ``changes``)."""
    return {**copy.deepcopy(ORDER), "id": uuid.uuid4().int % 10**13, **changes}


def post(stack: ShopStack, order: Any, *, secret: str | None = SECRET,
         sign: Callable[[bytes], str] | None = None) -> httpx.Response:
    """What Shopify posts: the order's JSON, its X-Shopify-* headers, base64 HMAC-SHA256 of the body."""
    body = order if isinstance(order, bytes) else json.dumps(order).encode()
    headers = {"content-type": "application/json", "x-shopify-topic": "orders/create",
               "x-shopify-shop-domain": "ridge.myshopify.com", "x-shopify-api-version": "2025-01",
               "x-shopify-webhook-id": str(uuid.uuid4())}
    if sign is not None:
        headers["x-shopify-hmac-sha256"] = sign(body)
    elif secret is not None:
        headers["x-shopify-hmac-sha256"] = base64.b64encode(
            hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return httpx.post(stack.url + "/_sw/orders", content=body, headers=headers, timeout=10)


def test_a_shopify_order_is_the_persons_purchase_in_its_size_and_rewards_their_decisions(stack: ShopStack) -> None:
    email = f"kari-{uuid.uuid4().hex[:6]}@example.com"
    browsers = [httpx.Client(base_url=stack.url, headers={"user-agent": DESKTOP_UA}, timeout=10) for _ in range(3)]
    with closing(browsers[0]) as phone, closing(browsers[1]) as laptop, closing(browsers[2]) as stranger:
        for device in (phone, laptop, stranger):
            assert 'class="sw"' in device.get("/").text  # the hero slot decides (goal: purchase)
        for device in (phone, laptop):  # the store's account page names the customer on both: one person
            device.get(f"/account/?email={email}")
        order = shopify_order(email=email, customer={**ORDER["customer"], "email": email})
        r = post(stack, order)
        assert r.status_code == 200 and r.json() == {"order_id": str(order["id"]), "stored": True,
                                                     "duplicate": False}, r.text
        person = stack.profile(f"email:{hash_email(email)}")
        assert {vid(phone), vid(laptop)} <= set(person.anonymous_ids)
        assert stack.profile(f"customer:{ORDER['customer']['id']}").id == person.id  # customer.id: linked too
        # variant ids through the feed's sizes: the runner tee's in M; the pocket tee's Default Title, no size
        assert [(p["product"], p.get("size"), p["category"], p["price"], p["ts"]) for p in person.purchases] == [
            ("ridge-runner-tee", "M", "t-shirts", 18.0, 1796119200.0), ("ridge-pocket-tee", None, "t-shirts", 15.0,
                                                                         1796119200.0)]
        (record,) = [e for e in stack.events("purchase") if e.key == f"order:{order['id']}"]
        assert {k: record.data["props"][k] for k in ("total", "currency", "coupon", "discount")} == {
            "total": 33.7, "currency": "EUR", "coupon": "SW-10", "discount": 3.3}
        rewards = {device: stack.rewards(vid(device)).get("hero") for device in (phone, laptop, stranger)}
        assert (rewards[phone], rewards[laptop], rewards[stranger]) == (1.0, 1.0, None)
        assert post(stack, order).json()["duplicate"] is True  # Shopify retries until it gets a 200


def vid(client: httpx.Client) -> str:
    return str(client.cookies["sw_vid"]).split(".")[0]


def _without_buyer(order: dict[str, Any]) -> None:
    order.pop("email"), order.pop("customer")


def _no_quantity(order: dict[str, Any]) -> None:
    order["line_items"][1]["quantity"] = 0


def _no_lines(order: dict[str, Any]) -> None:
    order.pop("line_items")


def _no_products(order: dict[str, Any]) -> None:
    for line in order["line_items"]:
        line["product_id"] = line["variant_id"] = None  # custom items (a tip): no product


def _bad_time(order: dict[str, Any]) -> None:
    order["created_at"] = "yesterday"


def _bad_email(order: dict[str, Any]) -> None:
    order["email"] = "kari at example.com"


def _bad_currency(order: dict[str, Any]) -> None:
    order["currency"] = "Euros"  # read as an event's currency: a code or its symbol


@pytest.mark.parametrize(("change", "field", "path"), [
    (_without_buyer, "customer_id or email", "customer.id or email"),
    (_no_quantity, "lines.1.qty", "line_items.1.quantity"),
    (_no_lines, "lines", "line_items"),
    (_no_products, "lines", "line_items[].variant_id"),
    (_bad_time, "ts", "created_at"),
    (_bad_email, "email", "email"),
    (_bad_currency, "currency", "currency"),
], ids=["no-buyer", "zero-quantity", "no-line-items", "no-product", "bad-created-at", "bad-email", "bad-currency"])
def test_an_order_the_mapping_cannot_read_is_422_naming_the_field_and_its_key_path(
        stack: ShopStack, change: Callable[[dict[str, Any]], None], field: str, path: str) -> None:
    order = shopify_order()
    change(order)
    r = post(stack, order)
    assert r.status_code == 422, r.text
    assert [(d["field"], d["path"]) for d in r.json()["detail"]] == [(field, path)], r.json()
    assert not [e for e in stack.events("purchase") if e.key == f"order:{order['id']}"]


def test_a_body_without_an_order_id_is_answered_200_and_stores_nothing(stack: ShopStack) -> None:
    before = len(stack.log())
    for body in ({"webhook_id": 12}, {**shopify_order(), "id": None}):
        r = post(stack, body)
        assert r.status_code == 200 and r.json()["stored"] is False and "'id'" in r.json()["why"], r.text
    assert post(stack, {"webhook_id": 12}, secret=None).status_code == 200  # a ping stores nothing: unsigned too
    assert len(stack.log()) == before


def test_an_order_not_signed_the_platforms_way_is_401(stack: ShopStack) -> None:
    order = shopify_order()
    hex_signed = post(stack, order, sign=lambda body: hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest())
    assert hex_signed.status_code == 401 and "X-Shopify-Hmac-Sha256" in hex_signed.json()["error"]
    assert post(stack, order, secret="another-shops-secret").status_code == 401
    assert post(stack, order, secret=None).status_code == 401  # an unsigned order is no ping
    signed = post(stack, order, sign=lambda body: "").request.headers  # an empty header: refused too
    assert signed["x-shopify-hmac-sha256"] == ""
    assert post(stack, order, sign=lambda body: "").status_code == 401
    assert not [e for e in stack.events("purchase") if e.key == f"order:{order['id']}"]


def purchase(stack: ShopStack, order: dict[str, Any]) -> Any:
    (record,) = [e for e in stack.events("purchase") if e.key == f"order:{order['id']}"]
    return record


def test_a_shopify_order_paid_in_another_currency_counts_its_shop_currency_total(stack: ShopStack) -> None:
    """capture.md's mapping reads the shop's currency and total (what the store books), not the customer's
    presentment ones: with the rules' revenue.currency the shop's, the order needs no rate."""
    order = shopify_order(presentment_currency="GBP", total_price_set={
        "shop_money": {"amount": "33.70", "currency_code": "EUR"},
        "presentment_money": {"amount": "28.80", "currency_code": "GBP"}})
    assert post(stack, order).status_code == 200
    record = purchase(stack, order)
    assert (record.data["props"]["total"], record.data["props"]["currency"]) == (33.7, "EUR")
    assert record.data["revenue"] == {"currency": "EUR", "amount": 33.7, "discount": 3.3}


def test_a_line_of_a_product_with_two_options_is_bought_in_its_size(stack: ShopStack) -> None:
    """Red / M of a product whose options are Color, then Size: the size is M (the option named Size in the
    feed), not "Red / M" (the line's variant_title) nor Red (option1)."""
    email = f"ola-{uuid.uuid4().hex[:6]}@example.com"
    red_m = TRAIL["variants"][3]
    line = {**copy.deepcopy(ORDER["line_items"][0]), "product_id": TRAIL["id"], "variant_id": red_m["id"],
            "variant_title": red_m["title"], "title": TRAIL["title"], "name": f"{TRAIL['title']} - {red_m['title']}",
            "sku": red_m["sku"]}
    assert red_m["title"] == "Red / M"
    order = shopify_order(email=email, customer=None, line_items=[line], total_price="18.00")
    assert post(stack, order).json()["stored"] is True
    person = stack.profile(f"email:{hash_email(email)}")
    assert [(p["product"], p.get("size")) for p in person.purchases] == [("ridge-trail-tee", "M")]


def test_shopifys_test_notification_is_answered_200_and_stores_nothing(stack: ShopStack) -> None:
    """"Send test notification" posts a sample order with ``"test": true``: ``skip: {test: true}``."""
    before = len(stack.log())
    order = shopify_order(test=True)
    r = post(stack, order)
    assert r.status_code == 200 and r.json() == {"stored": False, "why": "skipped: test is true"}, r.text
    assert len(stack.log()) == before
    assert not [e for e in stack.events("purchase") if e.key == f"order:{order['id']}"]
    assert post(stack, shopify_order(test=False)).json()["stored"] is True  # a real order, as the sample is


def test_an_order_with_no_discount_code_redeemed_none(stack: ShopStack) -> None:
    """An empty ``discount_codes`` says the order redeemed no coupon (``""``: the margin goal charges none);
    an order without the list says nothing of coupons."""
    no_code = shopify_order(discount_codes=[], discount_applications=[], total_discounts="0.00")
    assert post(stack, no_code).json()["stored"] is True
    assert purchase(stack, no_code).data["props"]["coupon"] == ""
    assert "discount" not in purchase(stack, no_code).data["props"]
    unsaid = shopify_order()
    unsaid.pop("discount_codes")
    assert post(stack, unsaid).json()["stored"] is True
    assert "coupon" not in purchase(stack, unsaid).data["props"]
