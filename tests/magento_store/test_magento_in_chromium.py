"""Magento 2 (Luma) behind the proxy, in headless Chromium: the shipped example personalizes Luma's own pages.

The fixture store (``magento_shop.py``) serves Luma's markup and, in a few lines each, the scripts that
matter here: swatch-renderer.js builds the size swatches 300 ms after load, catalog-add-to-cart.js posts
the form by AJAX, customer-data.js loads the sections, the checkout places the order by REST. In front of
it the real proxy (in-process) with ``magento.yaml`` pinned to one variant per slot, no holdout. One
browser context is one shopper: what the proxy cannot do in the HTML (the swatches are not there) the tag
does when they appear — it clicks the shopper's size, so Magento's own script puts it in the form.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e_browser"))  # e2e_browser_helpers

from browser_fixtures import browser_fixture, leave_through_top, new_context_fixture  # noqa: E402,F401 (fixtures)
from e2e_browser_helpers import flush, goto, visitor_id  # noqa: E402
from late_swatches import size_chosen_before_paint  # noqa: E402
from magento_shop import PRODUCTS, SIZE_ATTRIBUTE, SIZE_OPTIONS, MagentoShop  # noqa: E402
from pinned_rules import pinned_example  # noqa: E402
from shop_stack import ShopStack, open_stack, wait_for  # noqa: E402

pytestmark = pytest.mark.browser

PINNED = {"home-categories": "recent", "size-preset": "preset", "product-recommendations": "mixed",
          "exit-coupon": "pct10"}
COMPANIONS = ("magento-capture.yaml", "magento-recommendations.html", "magento-popup.html")
HERO, MARS = PRODUCTS[1], PRODUCTS[2]
SIZE_INPUT = f"#product_addtocart_form input[name='super_attribute[{SIZE_ATTRIBUTE}]']"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[ShopStack]:
    data = tmp_path_factory.mktemp("magento-chromium")
    rules = pinned_example(data, "magento.yaml", COMPANIONS, PINNED)
    with MagentoShop() as shop, open_stack(shop, data, rules, uvicorn_runner) as s:
        wait_for(lambda: s.personalizer.feeds.count, what="the GraphQL feed")
        yield s


def add_to_cart(page: Any) -> None:
    """Luma's Add to Cart: catalog-add-to-cart.js posts the form by AJAX, then reloads the cart section."""
    before = page.evaluate("window.added || 0")
    page.click("#product-addtocart-button")
    page.wait_for_function(f"(window.added || 0) > {before}")


def added(stack: ShopStack, vid: str, n: int) -> list[tuple[str, str | None, str]]:
    events = wait_for(lambda: len(e := stack.events("add_to_cart", vid)) >= n and e, what=f"{n} adds to cart")
    return [(e.data["props"]["product"], e.data["props"].get("size"), e.data["props"]["category"]) for e in events]


def test_a_shopper_gets_their_size_clicked_their_categories_and_the_coupon(
        stack: ShopStack, new_context: Any) -> None:
    page = new_context().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    for path in ("/men/tops-men.html", PRODUCTS[3].url, PRODUCTS[5].url, HERO.url):
        goto(page, stack.url + path)
    page.wait_for_selector(".swatch-option[data-option-label=M]")
    assert page.locator(".swatch-option[aria-checked=true]").count() == 0  # nothing bought yet: no preset
    page.click(".swatch-option[data-option-label=M]")  # the shopper picks M, then adds
    add_to_cart(page)
    vid = visitor_id(page.context)
    assert added(stack, vid, 1) == [(HERO.url_key, "M", "tops-men")]
    # the cart section the script loaded after the add, read by the proxy as it passed: the cart with its price
    cart = wait_for(lambda: [line for line in (stack.profile(vid).cart) if line.get("price")], what="the cart section")
    assert [(line["product"], line["size"], line["qty"], line["price"]) for line in cart] == [(HERO.url_key, "M", 1, 54.0)]

    goto(page, stack.url + "/checkout/")  # the guest checkout places the order; the success page follows
    page.fill("#customer-email", "kari@example.com")
    with page.expect_navigation(url="**/checkout/onepage/success/"):
        page.click(".action.primary.checkout")
    page.wait_for_function("window.slotwise && window.slotwise.v === 1")
    bought = wait_for(lambda: stack.events("purchase", vid), what="the purchase")
    assert [(line["product"], line["size"]) for line in bought[0].data["props"]["lines"]] == [(HERO.url_key, "M")]

    flush(page)
    clicks = len(stack.events("click", vid))
    goto(page, stack.url + MARS.url)  # another top: the tag clicks M on the swatches the script builds
    size_chosen_before_paint(page, "M")
    m = next(c for c in MARS.children if c.size == "M")
    assert page.input_value(SIZE_INPUT) == str(SIZE_OPTIONS["M"])  # Magento's own script took the click
    assert page.input_value("#product_addtocart_form input[name=selected_configurable_option]") == str(m.id)
    flush(page)
    assert len(stack.events("click", vid)) == clicks  # the tag's own click is no shopper's: no reward for it
    add_to_cart(page)  # the shopper adds at once: the preset size is what Magento gets
    assert added(stack, vid, 2)[1] == (MARS.url_key, "M", "tops-men")
    cards = page.eval_on_selector_all(".sw-recommendations a.product-item-link", "es => es.map(e => e.getAttribute('href'))")
    assert cards and MARS.url not in cards

    goto(page, stack.url + "/")  # the category browsed first; a full cart arms the coupon
    tiles = page.eval_on_selector_all("div.blocks-promo > a", "es => es.map(e => e.getAttribute('href'))")
    assert tiles[0] == "/men/tops-men.html"
    assert page.locator("template[data-sw-popup='exit-coupon']").count() == 1
    leave_through_top(page)
    dialog = page.locator(".sw-dlg[role=dialog][aria-modal=true]")
    dialog.wait_for(state="visible")
    assert "take 10% off" in (dialog.text_content() or "")
    assert not errors
