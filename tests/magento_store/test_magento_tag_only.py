"""Magento 2 (Luma), tag-only, in headless Chromium: the mini cart's JSON answer, read by the tag.

Luma's mini cart is customer-data.js's ``cart`` section (``GET /customer/section/load/``, jQuery's XHR), never
in the HTML: ``capture.cart`` names that answer (magento-capture.yaml). Behind the proxy the proxy reads it as
it passes (test_magento_in_chromium.py); here no proxy sees it, so the tag loads its ``answer`` script (only for
rules with such a cart) and reads the answer in the browser — a copy of it, at most 64 KB, the page's own reading
untouched, no other answer read — and sends what the rule's key paths reach, which the server reads with the
same rule. The store (``magento_shop.py``, with the snippet first in ``<head>``) is served through nginx,
``/_sw/`` routed to a real ``slotwise serve --tag-only`` (``tests/tag_only``'s pieces), as docs/tag.md says.
Magento's add to cart is read from its answer's body too (``success: response.json ...``), which the tag does
not observe: in tag-only mode the cart here is the section's alone.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tag_only"))  # tag_only_helpers: the tag-only stack

from browser_fixtures import browser_fixture, leave_through_top, new_context_fixture  # noqa: E402,F401 (fixtures)
from magento_shop import PRODUCTS, SESSION, MagentoShop  # noqa: E402
from pinned_rules import pinned_example  # noqa: E402
from real_parts import missing  # noqa: E402
from tag_only_helpers import (  # noqa: E402
    SW_LOCATION,
    Nginx,
    Requests,
    Stack,
    flush,
    free_port,
    goto,
    nginx_binary,
    slotwise_process,
    visitor_id,
    wait_for,
)

from slotwise.rules import check_rules  # noqa: E402
from slotwise.store.sqlite import SQLiteStore  # noqa: E402
from slotwise.tag.assets import embed_snippet  # noqa: E402
from slotwise.tag.testing import sync  # noqa: E402

pytestmark = pytest.mark.browser

COMPANIONS = ("magento-capture.yaml", "magento-recommendations.html", "magento-popup.html")
PINNED = {"home-categories": "recent", "size-preset": "preset", "product-recommendations": "mixed",
          "exit-coupon": "pct10"}
HERO, BAG = PRODUCTS[1], PRODUCTS[5]
CLONES = """(() => {  // every Response the page's scripts (and the tag's) copy, by URL
  window.__clones = [];
  const clone = Response.prototype.clone;
  Response.prototype.clone = function () { window.__clones.push(this.url); return clone.apply(this, arguments); };
})()"""


@pytest.fixture(scope="module")
def shop() -> Iterator[MagentoShop]:
    with MagentoShop(snippet=embed_snippet(antiflicker_ms=2000)) as s:
        yield s


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pinned_example(tmp_path_factory.mktemp("magento-rules"), "magento.yaml", COMPANIONS, PINNED)


@pytest.fixture(scope="module")
def stack(shop: MagentoShop, rules: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """nginx on the store's origin: ``/_sw/`` to Slotwise (tag-only), every other path to the store."""
    if nginx_binary() is None:
        missing("nginx is not installed")
    tmp = tmp_path_factory.mktemp("magento-tag-only")
    data = tmp / "slotwise"
    data.mkdir()
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
        wait_for(lambda: s.product(HERO.url_key), 15, "the GraphQL feed in the catalog")
        yield s


def add_to_cart(page: Any) -> None:
    """Luma's Add to Cart: catalog-add-to-cart.js posts the form, then customer-data reloads the cart section."""
    before = page.evaluate("window.added || 0")
    page.click("#product-addtocart-button")
    page.wait_for_function(f"(window.added || 0) > {before}")


def answers_sent(requests: Requests) -> list[Any]:
    """The answers the tag sent (capture events with ``answer``)."""
    return [e["props"]["answer"] for e in requests.events() if e["type"] == "capture" and "answer" in e["props"]]


def lines_of(cart: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((line["product"], line.get("size"), line["qty"], line.get("price")) for line in cart)


def test_the_cart_section_read_tag_only_arms_the_coupon(stack: Stack, shop: MagentoShop, rules: Path,
                                                       new_context: Any) -> None:
    context = new_context()
    context.add_init_script(CLONES)
    requests = Requests(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    site = stack.url("shop", "")
    goto(page, site + HERO.url)
    page.wait_for_selector(".swatch-option[data-option-label=M]")
    page.click(".swatch-option[data-option-label=M]")
    add_to_cart(page)  # then customer-data's XHR reloads the cart section: the tag reads that answer
    vid = visitor_id(context)
    cart = wait_for(lambda: (p := stack.profile(vid)) and p.cart, what="the cart section's lines in the profile")
    assert lines_of(cart) == [(HERO.url_key, "M", 1, 54.0)]
    assert page.text_content(".minicart-wrapper .counter-number") == "1"  # the page read its own answer as ever

    goto(page, site + BAG.url)  # a second item, simple (no options); the page's own fetch of the section this time
    add_to_cart(page)
    answer = page.evaluate("fetch('/customer/section/load/?sections=cart').then(r => r.json())")
    assert answer["cart"]["summary_count"] == 2  # read whole by the page: the tag read a copy
    cart = wait_for(lambda: len(c := stack.profile(vid).cart) == 2 and c, what="both lines in the profile")
    # one reading for both modes: the lines the proxy's reading gives of the whole answer (test_magento_in_chromium)
    ruleset, issues = check_rules(rules)
    assert ruleset is not None and ruleset.capture.answer_cart is not None, issues
    read, count = ruleset.capture.answer_cart.read(answer, ruleset.catalog)
    assert count == 2 and lines_of(cart) == lines_of(read or []) == sorted(
        [(HERO.url_key, "M", 1, 54.0), (BAG.url_key, None, 1, BAG.price / 100)])
    sent = answers_sent(requests)
    assert sent and set(sent[-1]["cart"]) == {"items", "summary_count"}  # only what the rule's key paths reach
    assert set(sent[-1]["cart"]["items"][0]) <= {"product_url", "options", "product_name", "qty", "product_price_value"}
    # no other answer is read: the add to cart's answer (a request source's) is not copied
    assert page.evaluate("window.__clones") and all("/customer/section/load/" in u for u in page.evaluate("window.__clones"))

    flush(page)
    carts, before = len(stack.events("cart", vid)), len(answers_sent(requests))
    goto(page, site + "/")  # the section loads again, unchanged: nothing sent; a full cart arms the coupon
    page.wait_for_function("window.sectionsLoaded >= 1")
    assert page.locator("template[data-sw-popup='exit-coupon']").count() == 1
    leave_through_top(page)
    dialog = page.locator(".sw-dlg[role=dialog][aria-modal=true]")
    dialog.wait_for(state="visible")
    assert "take 10% off" in (dialog.text_content() or "")
    flush(page)
    assert len(answers_sent(requests)) == before and len(stack.events("cart", vid)) == carts

    # an answer past 64 KB (a message the size of a page) is not read, whatever it says: the cart stays
    session = shop.state.sessions[next(c["value"] for c in context.cookies() if c["name"] == SESSION)]
    session.cart.clear()
    session.messages.append({"type": "notice", "text": "x" * 70_000})
    page.evaluate("new Promise(done => customerData.reload(['cart', 'messages'], done))")
    assert page.text_content(".minicart-wrapper .counter-number") == ""  # the page read it: an empty cart
    page.wait_for_timeout(300)
    flush(page)
    assert len(answers_sent(requests)) == before and len(stack.profile(vid).cart) == 2
    page.evaluate("new Promise(done => customerData.reload(['cart', 'messages'], done))")  # the same, small again
    wait_for(lambda: stack.profile(vid).cart == [], what="the empty cart read")
    flush(page)  # (Playwright hands this thread the requests it saw when it is called)
    assert not errors, errors
    assert json.dumps(answers_sent(requests)[-1]) == '{"cart": {"summary_count": 0, "items": []}}'
