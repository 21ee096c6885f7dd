"""Issue 10 end to end: a store Slotwise has never seen, one rules file, no store code, in Chromium.

Fjell Outdoor (``outdoor_shop.py``) gives a proxy no help: no ``data-*``
hooks, no JSON-LD, ids only in URLs and option values, sizes as child
products, a multi-step checkout, the customer named only on the account page.
``rules/fjell.yaml`` says where everything is. Through the proxy, in a real
browser: the home categories re-order, the size is preset after an online
purchase and after an in-store one, recommendations link to in-stock products
at their real URLs, the exit popup appears only with something in the basket,
and the report rewards the ``add_to_cart``, ``purchase``, ``revenue`` and
``margin`` goals.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterator

import pytest
from browser_fixtures import browser_fixture, new_context_fixture, new_page_fixture  # noqa: F401  (the fixtures)
from fjell_stack import (
    FJELL, JANE, JANE_PASSWORD, FjellStack, add_to_basket, checkout, flush, goto, leave_through_top, links, login,
    open_fjell, selected_size, visitor_id, wait_for,
)
from outdoor_shop import CATEGORIES, PRODUCTS

from slotwise.profile import hash_email
from slotwise.tag.testing import sync

pytestmark = pytest.mark.browser

RIDGE = "/shop/product/1005-ridge-runner/"
SCREE = "/shop/product/1006-scree-grip/"
MENU, TILES = "nav.menu ul li a", ".cat-grid > a"
STORE_ORDER = [c.url for c in CATEGORIES]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[FjellStack]:
    with open_fjell(tmp_path_factory.mktemp("fjell"), FJELL, uvicorn_runner) as s:
        yield s


def test_the_home_categories_follow_what_was_browsed(stack: FjellStack, new_page: Callable[[], Any]) -> None:
    page = new_page()
    goto(page, stack.url + "/")
    assert links(page, MENU) == STORE_ORDER == links(page, TILES)  # nothing browsed yet: the store's order
    goto(page, stack.url + "/shop/category/backpacks-7/")
    goto(page, stack.url + "/shop/category/socks-9/")
    goto(page, stack.url + "/")
    expected = ["/shop/category/socks-9/", "/shop/category/backpacks-7/",
                *[u for u in STORE_ORDER if u not in ("/shop/category/socks-9/", "/shop/category/backpacks-7/")]]
    assert links(page, MENU) == expected  # the menu's items are links: keyed through category_pages
    assert links(page, TILES) == expected  # and so are the tiles
    assert page.locator("nav.menu ul[data-sw-decision]").count() == 1
    profile = stack.profile(visitor_id(page.context))
    assert profile.recent_categories[:2] == ["socks", "backpacks"]
    with page.expect_navigation():  # a click on the re-ordered menu is the slot's goal
        page.click("nav.menu ul li:first-child a")
    assert page.url.endswith("/shop/category/socks-9/")
    decision = wait_for(lambda: [r for r in stack.events("click", visitor_id(page.context))
                                 if r.data["props"].get("href", "").endswith("/shop/category/socks-9/")],
                        what="the click on the menu")[0].data["props"]["decision_id"]
    assert wait_for(lambda: stack.rewards(visitor_id(page.context)).get("home-categories") == 1.0,
                    what="the click rewarding home-categories")
    assert any(r.key == decision for r in stack.log() if r.kind == "decision")


def test_an_online_purchase_presets_the_size_and_rewards_every_goal(stack: FjellStack, new_page: Callable[[], Any]) -> None:
    page = new_page()
    base = stack.url
    goto(page, base + RIDGE)
    vid = visitor_id(page.context)
    assert selected_size(page) == ""  # nothing known yet
    add_to_basket(page, base, RIDGE, size="42")
    (add,) = stack.events("add_to_cart", vid)  # the form post the store accepted, read by the proxy
    assert add.data["props"]["product"] == "1005" and add.data["props"]["size"] == "42"  # child 2011 → 1005, 42
    assert [(line["product"], line["size"], line["qty"]) for line in stack.profile(vid).cart] == [("1005", "42", 1)]
    goto(page, base + "/shop/product/1007-fjord-trail-lite/")
    goto(page, base + "/")  # products viewed: the home page shows them again (not the one in the basket)
    assert links(page, "section.sw-cards li.card > a") == ["/shop/product/1007-fjord-trail-lite/"]

    order = checkout(page, base, email="hiker@example.com")
    assert re.fullmatch(r"FJ-\d{5}", order)
    page.reload()  # a reload of the confirmation page is not a second purchase
    page.wait_for_function("window.slotwise && window.slotwise.v === 1")
    purchases = stack.events("purchase", vid)
    assert [(r.key, r.data["source"]) for r in purchases] == [(f"order:{order}", "proxy")]
    assert purchases[0].data["props"]["total"] == 123.9  # 119,00 € + 4,90 € shipping, read from the page
    profile = stack.profile(vid)
    assert [(p["order_id"], p["product"], p["size"], p["category"], p["channel"]) for p in profile.purchases] == [
        (order, "1005", "42", "trail-shoes", "online")]
    assert profile.cart == [] and profile.preferred_sizes == {"trail-shoes": "42"}

    goto(page, base + SCREE)  # another shoe: size 42 is preselected
    assert selected_size(page) == "42"
    assert page.input_value("select#variant") == "2030"  # Scree Grip's own child id for 42
    with page.expect_navigation():  # the preselected size goes straight into the basket
        page.click("form.add-to-basket button[type=submit]")
    assert stack.profile(vid).cart[0]["size"] == "42"

    rewards = stack.rewards(vid)
    assert rewards["size-prefill"] == 1.0  # add_to_cart
    assert rewards["also-bought"] == 1.0  # purchase
    assert rewards["home-picks"] == pytest.approx(123.9)  # revenue: the order's value
    assert rewards["exit-coupon"] == pytest.approx(123.9 * 0.9)  # margin: minus the 10% coupon's cost
    report = stack.report()  # what `slotwise report --format json` shows the store owner
    for slot, goal in (("size-prefill", "add_to_cart"), ("also-bought", "purchase"), ("home-picks", "revenue"),
                       ("exit-coupon", "margin")):
        assert report[slot]["goal"] == goal
        (arm,) = report[slot]["arms"]
        assert arm["rewarded"] >= 1 and arm["mean"] > 0, (slot, arm)


def test_an_in_store_purchase_presets_the_size_once_the_customer_signs_in(stack: FjellStack,
                                                                         new_page: Callable[[], Any]) -> None:
    imported = stack.import_purchases(
        "order_id,email,ts,product,category,size,qty,price,channel\n"
        "POS-4711,Jane@Example.com,2026-11-20T15:30:00+01:00,1009,Base Layers,m,1,69.90,store\n")
    assert imported["loaded"] == 1
    page = new_page()
    base = stack.url
    leggings = "/shop/product/1011-merino-leggings/"
    goto(page, base + leggings)
    assert selected_size(page) == ""  # an anonymous visitor: nobody's sizes
    login(page, base, JANE, JANE_PASSWORD)  # the store accepted the login: the browser is Jane now
    assert page.text_content("dl.profile") and JANE in str(page.text_content("dl.profile"))
    goto(page, base + leggings)
    assert selected_size(page) == "M"  # bought in store, preset online
    profile = stack.profile(visitor_id(page.context))
    assert profile.email_hash == hash_email(JANE)
    assert [(p["order_id"], p["channel"], p["category"], p["size"]) for p in profile.purchases] == [
        ("POS-4711", "store", "base-layers", "M")]
    assert profile.id == stack.profile(f"email:{hash_email(JANE)}").id  # one golden record

    # Jane's tablet: the store knows her session, Slotwise has never seen the login. The account page
    # names her (the only page that does): the tablet joins her record and gets her size too.
    tablet = new_page()
    session = next(c for c in page.context.cookies() if c["name"] == "fjell_sid")
    tablet.context.add_cookies([session])
    goto(tablet, base + leggings)
    assert selected_size(tablet) == ""
    goto(tablet, base + "/account/")
    goto(tablet, base + leggings)
    assert selected_size(tablet) == "M"
    assert stack.profile(visitor_id(tablet.context)).id == profile.id
    assert visitor_id(tablet.context) in stack.profile(visitor_id(tablet.context)).anonymous_ids


def test_recommendations_link_to_in_stock_products_at_their_real_urls(stack: FjellStack,
                                                                     new_page: Callable[[], Any]) -> None:
    page = new_page()
    base = stack.url
    fonna = PRODUCTS[1002]  # sold out: the shop says so on its page
    for product in (fonna, PRODUCTS[1004], PRODUCTS[1003], PRODUCTS[1015], PRODUCTS[1013]):
        goto(page, base + product.url)
    known = stack.profile(visitor_id(page.context)).products
    assert str(fonna.id) in known and sync_product(stack, "1002")["in_stock"] is False
    goto(page, base + PRODUCTS[1001].url)
    cards = page.locator("section.sw-cards li.card")
    assert page.text_content("section.sw-cards h2") == "Picked for you"
    hrefs = links(page, "section.sw-cards li.card > a")
    assert 1 <= cards.count() <= 4 and len(hrefs) == cards.count()
    by_url = {p.url: p for p in PRODUCTS.values()}
    for href in hrefs:
        assert href in by_url, f"{href} is not a product's real URL"
        assert by_url[href].stock > 0, f"{href} is sold out"
    assert fonna.url not in hrefs and PRODUCTS[1015].url not in hrefs and PRODUCTS[1001].url not in hrefs
    first = by_url[hrefs[0]]
    price = page.text_content("section.sw-cards li.card:first-child .price")
    assert price and price.strip().endswith("€") and "," in price  # the store's own format: 79,90 €
    with page.expect_navigation():
        cards.first.locator("a").click()
    assert page.url == base + first.url and page.text_content(".buy-box h1") == first.name


def exit_and_wait(stack: FjellStack, page: Any) -> None:
    """An exit intent, and the tag's report of it: by then a popup that could show would be showing."""
    vid = visitor_id(page.context)
    before = len(stack.events("exit_intent", vid))
    leave_through_top(page)
    flush(page)
    wait_for(lambda: len(stack.events("exit_intent", vid)) > before, what="the tag's exit_intent event")


def sync_product(stack: FjellStack, product_id: str) -> dict[str, Any]:
    return dict(sync(stack.store.get_products([product_id]))[product_id])


def test_the_exit_popup_appears_only_with_something_in_the_basket(stack: FjellStack,
                                                                  new_page: Callable[[], Any]) -> None:
    page = new_page()
    base = stack.url
    goto(page, base + "/")
    exit_and_wait(stack, page)
    assert page.locator(".sw-ov").count() == 0 and page.locator("template[data-sw-popup]").count() == 0

    add_to_basket(page, base, "/shop/product/1013-hytte-daypack-22/")
    goto(page, base + "/")
    assert page.text_content("#minicart .count") == "1"
    leave_through_top(page)
    popup = page.locator(".sw-ov .sw-popup")
    popup.wait_for(state="visible")
    assert "1 item in your basket" in str(popup.text_content()) and "10% off" in str(popup.text_content())
    page.click(".sw-popup [data-sw-close]")

    # the store forgets the basket (its session ends): the mini basket is the truth, the offer goes
    page.context.clear_cookies(name="fjell_sid")
    goto(page, base + "/")
    assert "empty" in str(page.text_content("#minicart"))
    assert page.locator("template[data-sw-popup]").count() == 0
    profile = stack.profile(visitor_id(page.context))
    assert profile.cart == [] and profile.cart_hint == 0
    exit_and_wait(stack, page)
    assert page.locator(".sw-ov").count() == 0
