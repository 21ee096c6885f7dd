"""Shopify, tag-only, in headless Chromium: the shipped example personalizes Dawn's own pages.

Shopify serves the pages (here ``shopify_shop.py``, Dawn's markup and scripts, in a thread) with the
snippet first in ``<head>`` (what a theme app embed adds); the store's origin routes ``/_sw/`` to a
real ``slotwise serve --tag-only`` (a subprocess) through nginx, as docs/tag.md tells a store to
(``tests/tag_only``'s pieces). Slotwise reads the catalog from the store's ``/products.json`` on
``--public-url``. The example runs with one variant per slot and no holdout (``pinned_rules``).
One browser context is one visitor, walked through the store as a shopper would.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tag_only"))  # tag_only_helpers: the tag-only stack

from browser_fixtures import browser_fixture, leave_through_top, new_context_fixture  # noqa: E402,F401 (fixtures)
from pinned_rules import pinned_example  # noqa: E402
from real_parts import missing  # noqa: E402
from shopify_shop import PRODUCTS, ShopifyShop  # noqa: E402
from tag_only_helpers import (  # noqa: E402
    SW_LOCATION,
    Nginx,
    Requests,
    Stack,
    browse,
    flush,
    free_port,
    goto,
    nginx_binary,
    slotwise_process,
    visitor_id,
    wait_for,
)

from slotwise.profile import hash_email  # noqa: E402
from slotwise.store.sqlite import SQLiteStore  # noqa: E402
from slotwise.tag.assets import embed_snippet  # noqa: E402
from slotwise.tag.testing import sync  # noqa: E402

pytestmark = pytest.mark.browser

COMPANIONS = ("shopify-capture.yaml", "shopify-recommendations.html", "shopify-popup.html")
PINNED = {"home-collections": "interest", "size-preset": "preset", "product-recommendations": "mixed",
          "exit-coupon": "pct10"}
RAIN, DOWN, FLEECE, WAX = (PRODUCTS[h] for h in ("rain-jacket", "down-jacket", "fleece-jacket", "jacket-wax"))
FORM = "product-form form[action='/cart/add']"


@pytest.fixture(scope="module")
def shop() -> Iterator[ShopifyShop]:
    with ShopifyShop(embed_snippet(antiflicker_ms=2000)) as s:  # a 2 s window: tests of what is applied
        yield s


@pytest.fixture(scope="module")
def stack(shop: ShopifyShop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """nginx on the store's origin: ``/_sw/`` to Slotwise, every other path to the store."""
    if nginx_binary() is None:
        missing("nginx is not installed")
    tmp = tmp_path_factory.mktemp("shopify")
    data = tmp / "slotwise"
    data.mkdir()
    rules = pinned_example(tmp, "shopify.yaml", COMPANIONS, PINNED)
    sw_port = free_port()
    site_port = next(p for p in iter(free_port, None) if p != sw_port)
    site = f"http://127.0.0.1:{site_port}"
    with contextlib.ExitStack() as running:
        nginx = Nginx(tmp)
        nginx.add(site_port, tmp, pages=f"proxy_pass {shop.url}; proxy_set_header Host $http_host;",
                  sw=SW_LOCATION.format(port=sw_port))
        running.enter_context(nginx)
        slotwise = running.enter_context(slotwise_process(rules, data, sw_port, "--public-url", site))
        store = SQLiteStore(data / "slotwise.db")
        running.callback(lambda: sync(store.close()))
        s = Stack({"shop": site}, slotwise, store, tmp / "access.log")
        wait_for(lambda: s.product(FLEECE.handle), 15, "the store's /products.json in the catalog")
        yield s


def add_through_dawn(page: Any, size: str | None) -> None:
    """Dawn's product form: the size radio (if any), then Add to cart; its script posts the form's FormData
    to /cart/add and renders the cart drawer from the answer."""
    if size is not None:
        page.check(f"variant-selects input[type=radio][value='{size}']")
    lines = page.locator("cart-drawer tr.cart-item").count()
    page.click(f"{FORM} button[type=submit]")
    page.wait_for_function(f"document.querySelectorAll('cart-drawer tr.cart-item').length > {lines}")
    flush(page)


def applied(page: Any) -> None:
    """The page's decisions are on it: the recommendations (in every product page's decisions) are."""
    page.wait_for_selector(".sw-recommendations li.grid__item")


def test_a_shopper_gets_their_size_their_collections_and_recommendations(
        stack: Stack, shop: ShopifyShop, new_context: Any) -> None:
    page = new_context().new_page()
    site = stack.url("shop", "")
    browse(page, site + RAIN.url)  # jackets, twice
    browse(page, f"{site}/collections/jackets{DOWN.url}")
    vid = visitor_id(page.context)
    seen = wait_for(lambda: (p := stack.profile(vid)) and len(p.products) == 2 and p, what="both views")
    assert seen.categories["jackets"]["count"] == 2  # the feed's product_type: Dawn's pages name no category

    goto(page, site + FLEECE.url)
    add_through_dawn(page, "M")
    sent = shop.state.cart_adds[-1]  # what Dawn's script sent: the form's FormData, the drawer's sections asked
    assert (sent["id"], sent["quantity"], sent["sections"]) == ("44022", "1", "cart-drawer,cart-icon-bubble")
    added = wait_for(lambda: stack.events("add_to_cart", vid), what="the add to cart in the log")
    assert [(e.data["props"]["product"], e.data["props"].get("size"), e.data["props"]["qty"]) for e in added] \
        == [(FLEECE.handle, "M", 1)]  # the tag observed Dawn's own request, and Shopify's answer

    goto(page, f"{site}/collections/jackets{DOWN.url}")  # another jacket with sizes: M is preset
    applied(page)
    picker = page.locator("variant-selects fieldset[data-sw-slot='size-preset']")
    assert picker.count() == 1
    assert page.eval_on_selector("variant-selects input[type=radio]:checked", "e => e.value") == "M"
    assert page.input_value(f"{FORM} input[name=id]") == "44012"  # Dawn's variant-selects took the change
    cards = page.eval_on_selector_all(".sw-recommendations .card__heading a", "es => es.map(e => e.getAttribute('href'))")
    assert cards and DOWN.url not in cards and all(c.startswith("/products/") for c in cards), cards

    goto(page, f"{site}/collections/jackets{WAX.url}")  # only the Default Title variant: no picker, no preset
    applied(page)
    assert page.locator("[data-sw-slot='size-preset']").count() == 0
    assert page.input_value(f"{FORM} input[name=id]") == "44041"
    add_through_dawn(page, None)
    lines = wait_for(lambda: len((p := stack.profile(vid)).cart) == 2 and p.cart, what="both lines in the cart")
    assert sorted((line["product"], line["size"]) for line in lines) == [(FLEECE.handle, "M"), (WAX.handle, None)]

    goto(page, site + "/")  # the collections the visitor cares about first
    page.wait_for_selector("ul.collection-list[data-sw-slot='home-collections']")
    order = page.eval_on_selector_all("ul.collection-list .card__heading a", "es => es.map(e => e.getAttribute('href'))")
    assert order == ["/collections/jackets", "/collections/shirts", "/collections/accessories"]
    assert page.locator("template[data-sw-popup='exit-coupon']").count() == 1  # a cart: the coupon is armed
    leave_through_top(page)
    dialog = page.locator(".sw-dlg[role=dialog][aria-modal=true]")  # Dawn's cart drawer is a dialog too
    dialog.wait_for(state="visible")
    assert "take 10% off" in (dialog.text_content() or "")

    goto(page, site + "/account/login")  # a login, confirmed by the account page that follows
    page.fill("#CustomerEmail", "jane@example.com")
    page.fill("#CustomerPassword", "dawn-pass-1")
    with page.expect_navigation():
        page.click("form#customer_login button")
    page.wait_for_function("window.slotwise && window.slotwise.v === 1")
    flush(page)
    # the login form's address is the browser's claim: it names the person (identify), hashed; the account page
    # it leads to names the customer, signed (the first identify in the log, since the tag's /decide sent it)
    said = wait_for(lambda: [e.data["props"] for e in stack.events("identify", vid)
                             if "email_hash" in e.data["props"]], what="the login in the log")
    assert said[0]["email_hash"] == hash_email("jane@example.com"), said


# -- the theme app embed signs the logged-in customer's id: their devices become one person ----------------

BEANIE, SHIRT, TEE = (PRODUCTS[h] for h in ("wool-beanie", "linen-shirt", "trail-tee"))
JANE = "customer:7001"  # the fixture's customer id of jane@example.com


def log_in(page: Any, site: str, then: str | None = None) -> None:
    """Dawn's login form; the account page it leads to (or the form's ``return_url``, ``then``) prints the signed
    customer id (``base.html``)."""
    goto(page, site + "/account/login" + (f"?return_url={then}" if then else ""))
    page.fill("#CustomerEmail", "jane@example.com")
    page.fill("#CustomerPassword", "dawn-pass-1")
    with page.expect_navigation():
        page.click("form#customer_login button")
    page.wait_for_function("window.slotwise && window.slotwise.v === 1")
    flush(page)


def resolve(stack: Stack, name: str) -> str:
    return sync(stack.store.resolve(name))


def forging(customer: str, signature: str) -> Any:
    """A route handler that serves the store's page with ``customer`` and ``signature`` where the theme prints
    them: what anyone can make their own browser show."""
    def handle(route: Any) -> None:
        served = route.fetch()
        forged = f'<meta name="slotwise-customer" content="{customer}" data-signature="{signature}">'
        route.fulfill(response=served, body=served.text().replace("<head>", "<head>" + forged, 1))
    return handle


def test_one_customer_on_two_devices_is_one_person_and_a_forged_signature_merges_nothing(
        stack: Stack, new_context: Any) -> None:
    site = stack.url("shop", "")
    phone, laptop = new_context().new_page(), new_context().new_page()
    browse(phone, site + BEANIE.url)  # before logging in: two devices, two visitors
    browse(laptop, site + SHIRT.url)
    on_phone, on_laptop = visitor_id(phone.context), visitor_id(laptop.context)
    assert resolve(stack, on_phone) != resolve(stack, on_laptop)
    log_in(phone, site)
    log_in(laptop, site)
    jane = wait_for(lambda: (p := resolve(stack, JANE)) == resolve(stack, on_phone) == resolve(stack, on_laptop) and p,
                    what="both devices in the signed customer's profile")
    merged = stack.profile(on_laptop)
    assert merged.customer_id == "7001" and {BEANIE.handle, SHIRT.handle} <= set(merged.products)  # one history
    assert merged.email_hash == hash_email("jane@example.com")  # the login form's claim of the address came along
    exported = sync(stack.store.export_profile(JANE))
    assert exported is not None and JANE in exported["aliases"]
    assert {on_phone, on_laptop} <= {r["visitor"] for r in exported["log"]}  # one export holds both devices' events
    said = stack.events("identify")
    assert said and not any("signature" in e.data["props"] for e in said)  # vouches for jane forever: never stored

    thief = new_context().new_page()  # jane's id on the page, with a made-up signature, and through the tag's API
    thief.route(f"**{TEE.url}", forging("7001", "0" * 64))
    browse(thief, site + TEE.url)
    assert thief.get_attribute("meta[name=slotwise-customer]", "data-signature") == "0" * 64
    thief.evaluate("slotwise.identify({customerId: 7001, signature: 'ab'.repeat(32)})")
    flush(thief)
    stolen = visitor_id(thief.context)
    wait_for(lambda: stack.events("page_view", stolen), what="the thief's page view")
    assert resolve(stack, JANE) == jane and resolve(stack, stolen) != jane
    assert TEE.handle not in stack.profile(on_phone).products and stack.profile(stolen).customer_id is None


def test_the_first_page_after_login_is_decided_on_the_customer(stack: Stack, new_context: Any) -> None:
    """docs/tag.md, "The page right after login": Jane leaves a fleece in L in her cart on her phone; on her
    laptop she logs in from a form that returns her to a jacket's page. The snippet's ``GET /decide`` decides
    that page in full before the page is read, on the laptop's own profile; the tag, finding a signed customer it
    has not sent ``/decide`` yet, asks again with the page's extract, which links the laptop to Jane first: her
    size is preset on that very page. The next page names no one new: the snippet's answer is applied."""
    site = stack.url("shop", "")
    phone, laptop = new_context().new_page(), new_context().new_page()
    log_in(phone, site)
    goto(phone, site + FLEECE.url)
    add_through_dawn(phone, "L")
    wait_for(lambda: ("fleece-jacket", "L") in {(x["product"], x["size"]) for x in stack.profile(JANE).cart},
             what="the phone's L in Jane's cart")
    asked: list[str] = []
    laptop.on("request", lambda r: asked.append(r.method) if "/_sw/decide" in r.url else None)
    log_in(laptop, site, then=RAIN.url)
    assert laptop.url.startswith(site + RAIN.url)  # Dawn adds the chosen ?variant= to it
    applied(laptop)
    assert laptop.eval_on_selector("variant-selects input[type=radio]:checked", "e => e.value") == "L"
    assert resolve(stack, visitor_id(laptop.context)) == resolve(stack, JANE)
    assert asked[-2:] == ["GET", "POST"]  # the snippet's, then the tag's with the signed customer
    asked.clear()
    browse(laptop, f"{site}/collections/jackets{DOWN.url}")
    applied(laptop)
    assert asked == ["GET"]


def test_a_login_to_a_page_no_slot_applies_to_sends_the_customer_with_the_next_decided_page(
        stack: Stack, new_context: Any) -> None:
    """The login form leads to the account page, where no slot applies: the snippet's ``GET /decide`` says so
    (``login: false``) and the tag sends no ``POST`` with the signed customer there (it would be decided the same:
    on nothing). The next page a slot applies to is the first it sends the customer with."""
    site = stack.url("shop", "")
    laptop = new_context().new_page()
    asked: list[str] = []
    laptop.on("request", lambda r: asked.append(r.method) if "/_sw/decide" in r.url else None)
    log_in(laptop, site)
    assert laptop.url == site + "/account" and laptop.locator("meta[name=slotwise-customer]").count() == 1
    laptop.wait_for_function("!document.getElementById('sw-af')")  # the account page's decisions are done
    assert "POST" not in asked, asked
    browse(laptop, site + FLEECE.url)
    applied(laptop)
    assert asked[-2:] == ["GET", "POST"]


def test_a_new_visitor_sees_the_store_as_it_is(stack: Stack, new_context: Any) -> None:
    page = new_context().new_page()
    goto(page, stack.url("shop"))
    page.wait_for_function("!document.getElementById('sw-af')")  # shown
    order = page.eval_on_selector_all("ul.collection-list .card__heading a", "es => es.map(e => e.getAttribute('href'))")
    assert order == ["/collections/shirts", "/collections/accessories", "/collections/jackets"]
    assert page.locator("template[data-sw-popup]").count() == 0


# -- the store's own requests, observed by the tag (the rules' `request` source on /cart/add*) ------------

SECRETS = ("hunter2-secret", "tok-secret", "xhr-secret")  # body keys the rules do not read: never sent


def lines_added(stack: Stack, vid: str, n: int) -> list[tuple[str, str | None, int]]:
    added = wait_for(lambda: len(e := stack.events("add_to_cart", vid)) >= n and e, what=f"{n} adds to cart in the log")
    return [(e.data["props"]["product"], e.data["props"].get("size"), e.data["props"]["qty"]) for e in added]


def observed(requests: Requests) -> list[dict[str, Any]]:
    """What the tag sent of the page's own requests."""
    return [e["props"]["request"] for e in requests.events() if e["type"] == "capture" and "request" in e["props"]]


def nothing_secret_sent(requests: Requests) -> None:
    """No body key the rules do not read left the browser for Slotwise (Dawn's ``sections`` neither)."""
    bodies = " ".join(r.post_data or "" for r in requests.seen) + " ".join(r.url for r in requests.seen)
    assert not any(secret in bodies for secret in SECRETS)
    assert not any(key in str(observed(requests)) for key in ("password", "token", "sections", "form_type"))


def test_an_add_shopify_refuses_is_not_counted(stack: Stack, shop: ShopifyShop, new_context: Any) -> None:
    """The variant sold out after the page was shown: Shopify answers 422 and adds nothing; Dawn shows the
    message. A submit capture cannot tell; the observed request's answer can."""
    page = new_context().new_page()
    requests = Requests(page.context)
    goto(page, f"{stack.url('shop', '')}{DOWN.url}")
    vid = visitor_id(page.context)
    shop.state.sold_out.add(44012)  # M, sold out since
    try:
        page.check("variant-selects input[type=radio][value='M']")
        page.click(f"{FORM} button[type=submit]")
        page.wait_for_selector(".product-form__error-message-wrapper:not([hidden])")
        assert "already sold out" in (page.text_content(".product-form__error-message") or "")
    finally:
        shop.state.sold_out.discard(44012)
    add_through_dawn(page, "S")  # then one Shopify takes
    assert lines_added(stack, vid, 1) == [(DOWN.handle, "S", 1)]
    flush(page)
    assert [(o["status"], o["form"]) for o in observed(requests)] == [
        (422, {"id": "44012", "quantity": "1"}), (200, {"id": "44011", "quantity": "1"})]  # only what the rules read
    assert stack.events("add_to_cart", vid) and len(stack.events("add_to_cart", vid)) == 1
    nothing_secret_sent(requests)


PAGE_OWN_FETCH = """async () => {
  const out = {};
  const r = await fetch('/cart/add.js', {method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({items: [{id: 44002, quantity: 2}], password: 'hunter2-secret', token: 'tok-secret'})});
  out.isResponse = r instanceof Response && !r.bodyUsed && r.ok && r.status === 200;
  const reader = r.body.getReader(), chunks = [];  // the body streams to the page untouched
  for (let c = await reader.read(); !c.done; c = await reader.read()) chunks.push(...c.value);
  out.body = JSON.parse(new TextDecoder().decode(new Uint8Array(chunks)));
  const f = window.fetch;  // called without `this`, as pages do
  out.cart = (await (await f('/cart.js')).json()).item_count;
  try { await fetch('/cart/add', {method: 'POST', body: 'id=1', headers: {'bad header': 'x'}}); out.header = 'no error'; }
  catch (e) { out.header = e instanceof TypeError; }
  const abort = new AbortController(); abort.abort();
  try { await fetch('/cart/add', {method: 'POST', body: 'id=1', signal: abort.signal}); out.abort = 'no error'; }
  catch (e) { out.abort = e.name; }
  const refused = await fetch('/cart/add.js', {method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({id: 44013, quantity: 1})});
  out.refused = [refused.status, await refused.json()];
  return out;
}"""


def test_the_page_own_fetch_is_observed_and_answered_as_before(stack: Stack, new_context: Any) -> None:
    """A theme's JSON ``fetch`` to /cart/add.js: recorded, with only the keys the rules read sent; the page's
    code gets the very answer it got before (the Response, its streaming body, its errors)."""
    page = new_context().new_page()
    requests = Requests(page.context)
    goto(page, stack.url("shop"))
    vid = visitor_id(page.context)
    out = page.evaluate(PAGE_OWN_FETCH)
    assert out["isResponse"] is True and out["body"]["items"][0]["variant_id"] == 44002 and out["cart"] == 2
    assert out["header"] is True and out["abort"] == "AbortError"  # errors reach the page as they were
    assert out["refused"] == [422, {"status": 422, "message": "Cart Error",
                                    "description": "The product 'Down Jacket - L' is already sold out."}]
    assert lines_added(stack, vid, 1) == [(RAIN.handle, "M", 2)]
    flush(page)
    sent = observed(requests)
    assert [o["json"] for o in sent] == [{"items": [{"id": 44002, "quantity": 2}]}, {"id": 44013, "quantity": 1}]
    assert [o["status"] for o in sent] == [200, 422]
    assert len(stack.events("add_to_cart", vid)) == 1
    nothing_secret_sent(requests)


PAGE_OWN_XHR = """() => new Promise((done) => {
  const x = new XMLHttpRequest();
  x.open('POST', '/cart/add');
  x.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
  x.setRequestHeader('Accept', 'application/javascript');
  x.onload = function () { done([this === x, x.status, JSON.parse(x.responseText).variant_id]); };
  x.send('id=44031&quantity=3&password=xhr-secret');
})"""


def test_an_xhr_add_is_observed(stack: Stack, new_context: Any) -> None:
    page = new_context().new_page()
    requests = Requests(page.context)
    goto(page, stack.url("shop"))
    vid = visitor_id(page.context)
    assert page.evaluate(PAGE_OWN_XHR) == [True, 200, 44031]
    assert lines_added(stack, vid, 1) == [(PRODUCTS["linen-shirt"].handle, "S", 3)]
    flush(page)
    assert [o["form"] for o in observed(requests)] == [{"id": "44031", "quantity": "3"}]
    nothing_secret_sent(requests)
