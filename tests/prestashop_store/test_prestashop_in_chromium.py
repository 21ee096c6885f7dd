"""PrestaShop 8 (classic) behind the proxy, in headless Chromium: the shipped example personalizes its own pages.

The fixture store (``prestashop_shop.py``) serves the classic theme's markup and, in a few lines each, the
scripts that matter here, with their handlers set as jQuery 3's ``$(document).ready`` sets them (after
DOMContentLoaded, asynchronously): core.js's combination refresh (a change in ``.product-variants`` posts the
form to the product controller and replaces the variants, prices and add-to-cart blocks with its answer's,
then pushes the combination's URL), cart.js's add to cart and ps_shoppingcart.js's preview. In front of it
the real proxy (in-process) with ``prestashop.yaml`` pinned to one variant per slot, no holdout. The proxy
chooses the visitor's size in the HTML; the page's late script tells core.js once the page has loaded, so
PrestaShop's own refresh shows that size's combination, and a later add is that size.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e_browser"))  # e2e_browser_helpers

from browser_fixtures import browser_fixture, leave_through_top, new_context_fixture  # noqa: E402,F401 (fixtures)
from e2e_browser_helpers import flush, goto, visitor_id  # noqa: E402
from pinned_rules import pinned_example  # noqa: E402
from prestashop_shop import PRODUCTS, PrestaShopShop  # noqa: E402
from shop_stack import ShopStack, open_stack, wait_for  # noqa: E402

pytestmark = pytest.mark.browser

PINNED = {"home-categories": "recent", "size-preset": "preset", "product-recommendations": "mixed",
          "exit-coupon": "pct10"}
COMPANIONS = ("prestashop-capture.yaml", "prestashop-recommendations.html", "prestashop-popup.html")
TEE, SWEATER = PRODUCTS[1], PRODUCTS[2]
LABEL = ".product-variants .control-label"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[ShopStack]:
    data = tmp_path_factory.mktemp("prestashop-chromium")
    rules = pinned_example(data, "prestashop.yaml", COMPANIONS, PINNED)
    with PrestaShopShop() as shop, open_stack(shop, data, rules, uvicorn_runner) as s:
        yield s


def refreshed(page: Any, n: int) -> None:
    """core.js's combination refresh has answered ``n`` times on this page."""
    page.wait_for_function(f"(window.refreshed || 0) >= {n}")


def add_to_cart(page: Any) -> None:
    """cart.js: the button posts the form to /cart; ps_shoppingcart.js refreshes the preview."""
    before = page.evaluate("window.added || 0")
    page.click("[data-button-action=add-to-cart]")
    page.wait_for_function(f"(window.added || 0) > {before}")


def test_the_size_bought_is_chosen_and_prestashop_refreshes_to_it(stack: ShopStack, new_context: Any) -> None:
    page = new_context().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    for path in ("/4-men", PRODUCTS[3].url(), TEE.url()):
        goto(page, stack.url + path)
    page.wait_for_function("window.psReady")
    assert page.text_content(LABEL).strip() == "Size: S"  # nothing bought yet: the default combination
    page.wait_for_timeout(300)
    assert page.evaluate("window.refreshed || 0") == 0  # and nothing told core.js
    page.select_option(".product-variants select", label="M")  # the shopper picks M: core.js refreshes
    refreshed(page, 1)
    assert page.text_content(LABEL).strip() == "Size: M"
    assert page.evaluate("location.pathname + location.hash") == "/men/1-2-hummingbird-printed-t-shirt.html#/2-size-m"
    add_to_cart(page)
    vid = visitor_id(page.context)
    added = wait_for(lambda: stack.events("add_to_cart", vid), what="the add to cart")
    assert [(e.data["props"]["product"], e.data["props"]["size"], e.data["props"]["category"]) for e in added] == [
        ("1", "M", "men")]
    assert [(line["product"], line["size"], line["qty"], line["price"]) for line in stack.profile(vid).cart] == [
        ("1", "M", 1, 23.9)]

    goto(page, stack.url + "/order")  # the wire payment's validation redirects to the confirmation
    with page.expect_navigation(url="**/index.php?controller=order-confirmation*"):
        page.click("#payment-confirmation button")
    bought = wait_for(lambda: stack.events("purchase", vid), what="the purchase")
    assert [(line["product"], line["size"]) for line in bought[0].data["props"]["lines"]] == [("1", "M")]

    flush(page)
    clicks = len(stack.events("click", vid))
    goto(page, stack.url + SWEATER.url())  # the proxy chose M in the HTML; once loaded, core.js hears it
    assert page.evaluate("document.querySelector('.product-variants select option[selected]').title") == "M"
    refreshed(page, 1)
    assert page.text_content(LABEL).strip() == "Size: M"  # PrestaShop's own refresh, to the preset size
    assert page.evaluate("location.pathname") == "/men/2-6-hummingbird-printed-sweater.html"
    assert page.input_value(".product-variants select") == "2"
    page.wait_for_timeout(300)
    assert page.evaluate("window.refreshed") == 1  # told once: the refreshed block is not chosen again
    flush(page)
    assert len(stack.events("click", vid)) == clicks  # the tag's own change is no shopper's click
    add_to_cart(page)  # the shopper adds at once: the preset size is what PrestaShop gets
    assert wait_for(lambda: len(e := stack.events("add_to_cart", vid)) >= 2 and e, what="the second add")[1].data[
        "props"]["size"] == "M"
    cards = page.eval_on_selector_all(".sw-recommendations h2.product-title a", "es => es.map(e => e.getAttribute('href'))")
    assert cards and SWEATER.url() not in cards

    goto(page, stack.url + "/")  # the category browsed last first; a full cart arms the coupon
    menu = page.eval_on_selector_all("#top-menu > li > a", "es => es.map(e => e.getAttribute('href'))")
    assert menu[0] == "/4-men"
    leave_through_top(page)
    dialog = page.locator(".sw-dlg[role=dialog][aria-modal=true]")
    dialog.wait_for(state="visible")
    assert "take 10% off" in (dialog.text_content() or "")
    assert not errors


def test_the_customer_s_script_field_reads_the_same_in_the_browser_as_behind_the_proxy(
        stack: ShopStack, new_context: Any) -> None:
    """The example's ``capture.customer`` reads ``prestashop.customer.email``: in tag-only mode the tag reads the
    live ``window.prestashop`` (core.js has made it an event bus by then: more, the same customer), behind the
    proxy the page's ``var prestashop = {...}`` as PrestaShop prints it. The same page, the same e-mail; a guest's
    ``null`` names no one in either."""
    import re

    import httpx
    from prestashop_shop import SESSION

    from slotwise.rules.extract import read_groups
    from slotwise.rules.loader import load_rules
    from slotwise.tag import assets

    rules = load_rules(Path(__file__).resolve().parents[2] / "slotwise" / "rules" / "examples" / "prestashop.yaml")
    groups = rules.capture.page_groups("/")
    assert set(groups) >= {"customer"}
    code = assets.bundle({"v": 1, "scripts": 1}).source.decode()
    reader = re.search(r"function find\(scope, c\) \{.*?\nfunction group\(g\) \{.*?\n\}\n", code, re.DOTALL)
    assert reader and "function walk(" in reader.group(0)
    context = new_context()
    page = context.new_page()

    def both() -> tuple[Any, Any]:
        page.goto(stack.shop.url + "/4-men")
        page.wait_for_function("window.psReady")  # the store's scripts ran
        raw = page.evaluate("(g) => { var w = window, d = document, A = Array.prototype, BOOL = {}; "
                            f"function each(list, f) {{ A.forEach.call(list || [], f); }} {reader.group(0)} "
                            "return group(g); }", groups["customer"].to_json())
        cookies = {c["name"]: c["value"] for c in context.cookies()}
        html = httpx.get(stack.shop.url + "/4-men", cookies={SESSION: cookies[SESSION]}).content
        return groups["customer"].clean(raw)["fields"], read_groups(html, groups)["customer"]["fields"]

    assert both() == ({"email": None}, {"email": None})
    page.goto(stack.shop.url + "/login")
    page.fill("#login-form input[name=email]", "pub@prestashop.com")
    page.fill("#login-form input[name=password]", "123456789")
    page.click("#submit-login")
    page.wait_for_url("**/my-account")
    assert page.evaluate("typeof prestashop.on") == "function"  # the live object is more than the literal
    assert both() == ({"email": "pub@prestashop.com"}, {"email": "pub@prestashop.com"})
