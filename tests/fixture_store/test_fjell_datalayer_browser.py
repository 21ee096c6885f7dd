"""The GA4 dataLayer as the only source of add to basket and orders (``rules/fjell-datalayer.yaml``), in Chromium.

Fjell Outdoor pushes ``add_to_cart`` on the page after an add (and live after
a quick add) and ``purchase`` on every load of the confirmation page. With
``capture.datalayer`` and no request or page source for them, the tag reads
those pushes and the server turns them into events: they reach the profile
(cart, purchases, the size bought), an order reloaded is one order, and the
``add_to_cart``, ``purchase``, ``revenue`` and ``margin`` goals are rewarded.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest
from browser_fixtures import browser_fixture, new_context_fixture, new_page_fixture  # noqa: F401  (the fixtures)
from fjell_stack import (
    FJELL_DATALAYER, FjellStack, add_to_basket, checkout, flush, goto, links, open_fjell, selected_size, visitor_id,
    wait_for,
)

pytestmark = pytest.mark.browser

RIDGE = "/shop/product/1005-ridge-runner/"
SCREE = "/shop/product/1006-scree-grip/"
HYTTE = "/shop/product/1013-hytte-daypack-22/"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[FjellStack]:
    with open_fjell(tmp_path_factory.mktemp("fjell-datalayer"), FJELL_DATALAYER, uvicorn_runner) as s:
        yield s


def test_datalayer_pushes_fill_the_profile_and_reward_every_goal(stack: FjellStack, new_page: Callable[[], Any]) -> None:
    page = new_page()
    base = stack.url
    add_to_basket(page, base, RIDGE, size="42")  # a form post: the basket page pushes add_to_cart
    vid = visitor_id(page.context)
    flush(page)
    (add,) = wait_for(lambda: stack.events("add_to_cart", vid), what="the add_to_cart push as an event")
    assert add.data["source"] == "tag"
    assert {k: add.data["props"].get(k) for k in ("product", "size", "qty", "category", "price")} == {
        "product": "1005", "size": "42", "qty": 1, "category": "trail-shoes", "price": 119.0}

    goto(page, base + "/shop/category/backpacks-7/")  # a quick add: JSON to the store, the push after the tag loaded
    page.click(f'li.card:has(a[href="{HYTTE}"]) form.quick-add button[type=submit]')
    page.wait_for_function("document.querySelector('.quick-add-msg').textContent.includes('Added')")
    flush(page)
    wait_for(lambda: len(stack.events("add_to_cart", vid)) == 2, what="the quick add's push as an event")
    cart = stack.profile(vid).cart
    assert [(line["product"], line["size"]) for line in cart] == [("1005", "42"), ("1013", None)]

    goto(page, base + "/shop/product/1007-fjord-trail-lite/")
    goto(page, base + "/")
    assert links(page, "section.sw-cards li.card > a") == ["/shop/product/1007-fjord-trail-lite/"]
    assert page.locator("template[data-sw-popup]").count() == 1  # a cart, known from the pushes alone

    order = checkout(page, base, email="trail@example.com")
    flush(page)
    (purchase,) = wait_for(lambda: stack.events("purchase", vid), what="the purchase push as an event")
    page.reload()  # the confirmation page pushes the purchase on every load
    page.wait_for_function("window.slotwise && window.slotwise.v === 1")
    flush(page)
    assert len(stack.events("purchase", vid)) == 1  # deduplicated by transaction id
    assert purchase.data["source"] == "tag" and purchase.data["props"]["total"] == pytest.approx(202.9)
    profile = stack.profile(vid)
    assert [(p["order_id"], p["product"], p["size"], p["category"]) for p in profile.purchases] == [
        (order, "1005", "42", "trail-shoes"), (order, "1013", None, "backpacks")]
    assert profile.cart == [] and profile.preferred_sizes == {"trail-shoes": "42"}
    assert not [r for r in stack.log() if r.kind == "event" and r.data.get("source") == "proxy"
                and r.data.get("type") in ("add_to_cart", "purchase")]  # no request or page source for them

    add_to_basket(page, base, SCREE)  # 42 preselected from the dataLayer's item_variant
    flush(page)
    assert wait_for(lambda: [r for r in stack.events("add_to_cart", vid) if r.data["props"].get("size") == "42"
                             and r.data["props"]["product"] == "1006"], what="the add with the preset size")
    goto(page, base + SCREE)
    assert selected_size(page) == "42"

    rewards = stack.rewards(vid)
    assert rewards["size-prefill"] == 1.0  # add_to_cart
    assert rewards["also-bought"] == 1.0  # purchase
    assert rewards["home-picks"] == pytest.approx(202.9)  # revenue
    # margin: the GA4 purchase names no coupon, so the order redeemed none and nothing is charged
    assert purchase.data["props"]["coupon"] == ""
    assert rewards["exit-coupon"] == pytest.approx(202.9)
