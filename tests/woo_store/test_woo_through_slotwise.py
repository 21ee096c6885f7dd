"""WooCommerce, configured from rules alone: the shipped example in front of WooCommerce's own markup.

``slotwise/rules/examples/woocommerce.yaml`` (with its capture file and
templates) runs unchanged in the real proxy in front of ``woo_shop.py``, but
with one variant per slot and no holdout — a test asserts what a personalized
visitor sees, so no bandit may hand it a control. HTTP clients act as
visitors, sending what WooCommerce's own scripts send (``?wc-ajax=...``,
form-encoded); each assertion is on what the proxy served or recorded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from pinned_rules import pinned_example
from shop_stack import ShopStack, open_stack, page, shopper, vid, wait_for
from woo_shop import CATEGORIES, PRODUCTS, WooShop

from slotwise.profile import hash_email

PINNED = {"home-categories": "recent", "size-prefill": "prefill", "product-recommendations": "mixed",
          "exit-coupon": "pct10"}
LOGO, ZIPPER, POLO = PRODUCTS[21], PRODUCTS[22], PRODUCTS[25]
URLS = {p.url for p in PRODUCTS.values()}
ORDER_SECRET = "woo-webhook-secret"  # the webhook's Secret in WooCommerce, the proxy's --order-secret
WEBHOOK_ORDER = Path(__file__).parent / "webhook_order_created.json"  # a REST API v3 order, as order.created posts it
COMPANIONS = ("woocommerce-capture.yaml", "woocommerce-recommendations.html", "woocommerce-popup.html")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[ShopStack]:
    data = tmp_path_factory.mktemp("woo")
    rules = pinned_example(data, "woocommerce.yaml", COMPANIONS, PINNED)
    with WooShop() as shop, open_stack(shop, data, rules, uvicorn_runner, order_secret=ORDER_SECRET) as s:
        yield s


@pytest.fixture
def client(stack: ShopStack) -> Iterator[httpx.Client]:
    with shopper(stack) as c:
        yield c


def ajax_add(client: httpx.Client, stack: ShopStack, product_id: int, from_page: str) -> httpx.Response:
    """What add-to-cart.js posts: form-encoded ``product_id`` and ``quantity``, from the page it runs on."""
    return client.post("/?wc-ajax=add_to_cart", data={"product_id": str(product_id), "quantity": "1"},
                       headers={"referer": stack.url + from_page})


def place_order(client: httpx.Client) -> str:
    """checkout.js: ``?wc-ajax=checkout``, then the order-received URL it answers with; returns that path."""
    assert client.get("/checkout/").status_code == 200
    r = client.post("/?wc-ajax=checkout", data={"billing_first_name": "Kari", "billing_last_name": "Nordmann",
                                                "billing_email": "kari@example.com", "payment_method": "cod",
                                                "woocommerce_checkout_place_order": "Place order"})
    assert r.json()["result"] == "success", r.text
    target = urlsplit(r.json()["redirect"])
    return f"{target.path}?{target.query}"


def kinds(stack: ShopStack, visitor: str) -> list[str]:
    return [r.data["type"] for r in stack.log() if r.kind == "event" and r.visitor == visitor
            and r.data["type"] in ("add_to_cart", "purchase", "identify")]


def test_the_categories_widget_puts_the_last_browsed_first(stack: ShopStack, client: httpx.Client) -> None:
    widget = "ul.product-categories li.cat-item a"
    assert [a.attributes["href"] for a in page(client, "/").css(widget)] == [c.url for c in CATEGORIES]
    page(client, "/product-category/tshirts/")
    page(client, "/product-category/hoodies/")
    home = page(client, "/")
    assert [a.attributes["href"] for a in home.css(widget)] == [
        "/product-category/hoodies/", "/product-category/tshirts/", "/product-category/accessories/"]
    assert home.css_first("ul.product-categories").attributes.get("data-sw-decision")
    assert stack.profile(vid(client)).recent_categories[:2] == ["hoodies", "tshirts"]


def test_size_m_bought_by_ajax_is_preset_on_the_next_hoodie(stack: ShopStack, client: httpx.Client) -> None:
    page(client, LOGO.url)
    size_m = next(v for v in LOGO.variations if v.size == "m")
    size_xl = next(v for v in LOGO.variations if v.size == "xl")  # out of stock
    refused = ajax_add(client, stack, size_xl.id, LOGO.url)
    assert refused.status_code == 200 and refused.json()["error"] is True  # WooCommerce refuses with a 200
    page(client, urlsplit(refused.json()["product_url"]).path)  # add-to-cart.js opens it: .woocommerce-error
    r = ajax_add(client, stack, size_m.id, LOGO.url)
    assert r.status_code == 200 and "1 item" in r.json()["fragments"]["a.cart-contents"]
    assert stack.events("add_to_cart", vid(client)) == []  # until the next page shows no error
    page(client, LOGO.url)  # the mini cart says which size: the cart's truth
    (added,) = stack.events("add_to_cart", vid(client))
    # the variation's id: catalog.sizes read it from data-product_variations when the page was served
    assert (added.data["props"]["product"], added.data["props"]["size"]) == (LOGO.slug, "M")
    assert [(line["product"], line["size"], line["qty"]) for line in stack.profile(vid(client)).cart] == [
        (LOGO.slug, "M", 1)]
    received = place_order(client)
    order = stack.shop.state.orders[int(received.split("/")[3])]
    page(client, received)
    page(client, received)  # a reload shows the same order: one purchase
    (bought,) = stack.events("purchase", vid(client))
    props = bought.data["props"]
    assert props["order_id"] == str(order.id) and props["total"] == pytest.approx(59.90)
    assert [(line["product"], line["size"], line["qty"], line["category"]) for line in props["lines"]] == [
        (LOGO.slug, "M", 1, "hoodies")]
    assert stack.profile(vid(client)).preferred_sizes == {"hoodies": "M"}

    select = page(client, ZIPPER.url).css_first("form.variations_form select#pa_size")
    assert [o.attributes["value"] for o in select.css("option") if "selected" in o.attributes] == ["m"]
    assert select.attributes.get("data-sw-decision")
    other = page(client, POLO.url).css_first("select#pa_size")  # T-shirts: no size bought there
    assert [o for o in other.css("option") if "selected" in o.attributes] == []


def test_the_product_form_adds_what_the_store_accepted(stack: ShopStack, client: httpx.Client) -> None:
    page(client, "/")
    l_polo = next(v for v in POLO.variations if v.size == "l")
    posts = [  # (path, form) as the product pages' own forms send them
        ("/product/cap/", {"add-to-cart": "28", "quantity": "1"}),  # out of stock: refused
        (POLO.url, {"attribute_pa_size": "", "quantity": "1", "add-to-cart": "25", "product_id": "25",
                    "variation_id": "0"}),  # no size chosen: refused
        ("/product/beanie/", {"add-to-cart": "26", "quantity": "2"}),
        (POLO.url, {"attribute_pa_size": "l", "quantity": "1", "add-to-cart": "25", "product_id": "25",
                    "variation_id": str(l_polo.id)}),
    ]
    for path, form in posts:
        r = client.post(path, data=form)
        assert r.status_code == 302 and urlsplit(r.headers["location"]).path == path
        page(client, path)  # the notice: .woocommerce-error or .woocommerce-message
    added = [e.data["props"] for e in stack.events("add_to_cart", vid(client))]
    assert [(a["product"], a.get("size"), a["qty"]) for a in added] == [("beanie", None, 2), ("polo", "L", 1)]
    assert sorted((line["product"], line.get("size"), line["qty"]) for line in stack.profile(vid(client)).cart) == [
        ("beanie", None, 2), ("polo", "L", 1)]


def test_recommendations_are_the_stores_products(stack: ShopStack, client: httpx.Client) -> None:
    for product in (LOGO, ZIPPER, PRODUCTS[26], POLO):
        page(client, product.url)
    tree = page(client, PRODUCTS[23].url)
    block = tree.css_first("section.sw-recommendations")
    assert block is not None and block.attributes.get("data-sw-decision")
    assert tree.css("section.related.products:not(.sw-recommendations)") == []  # replaced, not added to
    links = [urlsplit(a.attributes["href"] or "").path for a in block.css("a.woocommerce-LoopProduct-link")]
    assert links and set(links) <= URLS - {PRODUCTS[23].url}
    assert all(".amount" and "€" in price.text() for price in block.css(".price"))


def test_the_exit_popup_is_there_only_with_a_full_cart(stack: ShopStack, client: httpx.Client) -> None:
    assert page(client, "/").css_first('template[data-sw-popup="exit-coupon"]') is None
    page(client, "/product/beanie/")  # the catalog learns its post id (div#product-26)
    page(client, "/product-category/accessories/")
    # the loop's "Add to cart" (ajax_add_to_cart) posts the simple product's post id
    assert ajax_add(client, stack, 26, "/product-category/accessories/").status_code == 200
    home = page(client, "/")
    popup = home.css_first('template[data-sw-popup="exit-coupon"]')
    assert popup is not None and popup.attributes["data-sw-trigger"] == "exit-intent"
    (added,) = stack.events("add_to_cart", vid(client))
    assert (added.data["props"]["product"], added.data["props"]["category"]) == ("beanie", "accessories")
    assert [(line["product"], line["qty"]) for line in stack.profile(vid(client)).cart] == [("beanie", 1)]


def test_a_product_nobody_viewed_is_added_by_its_number_as_its_slug(stack: ShopStack, client: httpx.Client) -> None:
    """The Store API feed (catalog.feed in WooCommerce's own shape) taught the catalog every post id and
    variation id before any product page was served: an AJAX add from a category page names the belt's
    post id (27) and the pocket hoodie's size M variation (40), and each is recorded as that product."""
    wait_for(lambda: stack.personalizer.feeds.count, what="the Store API feed")
    assert stack.personalizer.feeds.count == len(PRODUCTS) and stack.personalizer.feeds.error is None
    assert stack.shop.state.store_api_requests[0] == "page=1&per_page=100"  # one short page: the whole catalog
    pocket = PRODUCTS[23]
    size_m = next(v for v in pocket.variations if v.size == "m")
    page(client, "/product-category/accessories/")
    assert ajax_add(client, stack, 27, "/product-category/accessories/").status_code == 200
    page(client, "/product-category/hoodies/")
    assert ajax_add(client, stack, size_m.id, "/product-category/hoodies/").status_code == 200
    page(client, "/")
    added = [(e.data["props"]["product"], e.data["props"].get("size"), e.data["props"]["category"])
             for e in stack.events("add_to_cart", vid(client))]
    assert added == [("belt", None, "accessories"), (pocket.slug, "M", "hoodies")]
    assert sorted(line["product"] for line in stack.profile(vid(client)).cart) == ["belt", pocket.slug]


def test_a_login_links_the_customer_only_when_woocommerce_accepted_it(stack: ShopStack,
                                                                      client: httpx.Client) -> None:
    page(client, "/my-account/")
    r = client.post("/my-account/", data={"username": "jane@example.com", "password": "wrong", "login": "Log in"})
    assert r.status_code == 200 and "woocommerce-error" in r.text
    assert kinds(stack, vid(client)) == []
    r = client.post("/my-account/", data={"username": "jane@example.com", "password": "woo-pass-1",
                                          "login": "Log in"})
    assert r.status_code == 302
    assert stack.profile(vid(client)).email_hash == hash_email("jane@example.com")
    page(client, "/my-account/edit-account/")  # names the same customer: nothing new
    assert kinds(stack, vid(client)) == ["identify"]


def test_a_login_by_username_links_nobody(stack: ShopStack, client: httpx.Client) -> None:
    """WooCommerce takes a username or an e-mail; only an e-mail is an identity Slotwise can join."""
    page(client, "/my-account/")
    r = client.post("/my-account/", data={"username": "jane", "password": "woo-pass-1", "login": "Log in"})
    assert r.status_code == 302
    assert kinds(stack, vid(client)) == [] and stack.profile(vid(client)).email_hash is None
    page(client, "/my-account/edit-account/")  # the account details page names her: linked there
    assert stack.profile(vid(client)).email_hash == hash_email("jane@example.com")


def woo_webhook(stack: ShopStack, body: bytes, *, secret: str | None = ORDER_SECRET,
                content_type: str = "application/json") -> httpx.Response:
    """What ``WC_Webhook::deliver`` posts: the body, its ``X-WC-Webhook-*`` headers and, with a secret, the
    signature: base64 of the HMAC-SHA256 of the body (``WC_Webhook::generate_signature``)."""
    headers = {"content-type": content_type, "user-agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)",
               "x-wc-webhook-source": "https://shop.example/", "x-wc-webhook-topic": "order.created",
               "x-wc-webhook-resource": "order", "x-wc-webhook-event": "created", "x-wc-webhook-id": "3",
               "x-wc-webhook-delivery-id": "5f7f1d0e6b2a4c3e9d8f0a1b2c3d4e5f"}
    if secret is not None:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        headers["x-wc-webhook-signature"] = base64.b64encode(digest).decode()
    return httpx.post(stack.url + "/_sw/orders", content=body, headers=headers, timeout=10)


def woo_order(number: str, email: str) -> bytes:
    order = json.loads(WEBHOOK_ORDER.read_text(encoding="utf-8"))
    order["number"], order["billing"]["email"] = number, email
    return json.dumps(order).encode()


def test_an_order_created_webhook_is_the_customers_purchase_with_its_size(stack: ShopStack,
                                                                          client: httpx.Client) -> None:
    """WooCommerce's own order.created body, read by the example's capture.orders: the post ids through the
    catalog (the Store API feed's other_id), the size from the line's pa_size meta, on the person who logged in."""
    wait_for(lambda: stack.personalizer.feeds.count, what="the Store API feed")
    page(client, "/my-account/")
    r = client.post("/my-account/", data={"username": "jane@example.com", "password": "woo-pass-1",
                                          "login": "Log in"})
    assert r.status_code == 302
    r = woo_webhook(stack, woo_order("9001", "jane@example.com"))
    assert r.status_code == 200 and r.json() == {"order_id": "9001", "stored": True, "duplicate": False}, r.text
    bought = [p for p in stack.profile(vid(client)).purchases if p["order_id"] == "9001"]  # a row a line
    assert [(p["product"], p.get("size"), p["category"], p["qty"], p["price"]) for p in bought] == [
        (LOGO.slug, "M", "hoodies", 1, 59.9), ("beanie", None, "accessories", 1, 18.0)]
    assert {(p["channel"], p["ts"]) for p in bought} == {("online", 1796119200.0)}  # date_created_gmt, UTC
    assert stack.profile(vid(client)).preferred_sizes == {"hoodies": "M"}
    assert woo_webhook(stack, woo_order("9001", "jane@example.com")).json()["duplicate"] is True  # a redelivery


def test_the_ping_on_a_new_webhook_is_answered_200_and_stores_nothing(stack: ShopStack) -> None:
    """``WC_Webhook::deliver_ping``: ``webhook_id=<id>``, form-encoded, unsigned; a non-200 answer is an
    error in WooCommerce's webhook screen."""
    before = len(stack.log())
    r = woo_webhook(stack, b"webhook_id=3", secret=None, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 200 and r.json()["stored"] is False and "'number'" in r.json()["why"], r.text
    assert woo_webhook(stack, b"webhook_id=3", content_type="application/x-www-form-urlencoded").status_code == 200
    assert len(stack.log()) == before


def test_an_order_not_signed_with_the_webhooks_secret_is_refused(stack: ShopStack) -> None:
    body = woo_order("9002", "kari@example.com")
    assert woo_webhook(stack, body, secret="another-secret").status_code == 401
    assert woo_webhook(stack, body, secret=None).status_code == 401
    slotwise_signed = "sha256=" + hmac.new(ORDER_SECRET.encode(), body, hashlib.sha256).hexdigest()
    r = httpx.post(stack.url + "/_sw/orders", content=body, headers={"x-slotwise-signature": slotwise_signed})
    assert r.status_code == 401 and "X-WC-Webhook-Signature" in r.json()["error"]  # the rules name the header
    assert not [e for e in stack.events("purchase") if e.data["props"]["order_id"] == "9002"]


def test_a_guests_customer_id_0_names_nobody_and_no_coupon_lines_is_no_coupon(stack: ShopStack) -> None:
    """WooCommerce sends ``customer_id: 0`` for every guest (``none: [0]``): two guests' orders are two
    people, not one ``customer:0``; a customer's id links the order to them. ``coupon_lines: []`` is an
    order that redeemed no coupon (``""``), which the margin goal charges nothing."""
    for number, email in (("9101", "guest-a@example.com"), ("9102", "guest-b@example.com")):
        r = woo_webhook(stack, woo_order(number, email))  # the sample: a guest, customer_id 0, no coupon_lines
        assert r.json()["stored"] is True, r.text
    a, b = (stack.profile(f"email:{hash_email(e)}") for e in ("guest-a@example.com", "guest-b@example.com"))
    assert a.id != b.id and stack.profile("customer:0") is None
    (record,) = [e for e in stack.events("purchase") if e.data["props"]["order_id"] == "9101"]
    assert record.data["props"]["coupon"] == ""
    customer = json.loads(woo_order("9103", "kari@example.com"))
    customer["customer_id"] = 7
    assert woo_webhook(stack, json.dumps(customer).encode()).json()["stored"] is True
    assert stack.profile("customer:7").id == stack.profile(f"email:{hash_email('kari@example.com')}").id
