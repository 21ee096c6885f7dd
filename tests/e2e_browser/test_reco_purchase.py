"""Issue 4, done-when 3: a recommendation's exposure and click, then a purchase, reach the golden record."""

from __future__ import annotations

from typing import Any

import pytest
from e2e_browser_helpers import flush, goto, visitor_id, wait_for

pytestmark = pytest.mark.browser

RECS = "section.sw-recommendations"


def test_recommendation_exposure_click_and_purchase_reach_the_profile(stack: Any, page: Any) -> None:
    goto(page, stack.url + "/p/701")  # a bag: the recommendations are other bags
    vid = visitor_id(page.context)
    recs = page.locator(RECS)
    assert recs.count() == 1, "the proxy did not insert the recommendations before section.related"
    decision = recs.get_attribute("data-sw-decision")
    assert decision and recs.get_attribute("data-sw-slot") == "product-recommendations"
    cards = recs.locator("article.product-card")
    assert 1 <= cards.count() <= 4
    ids = cards.evaluate_all("els => els.map(e => e.dataset.productId)")
    assert "701" not in ids  # never the page's own product
    logged = [r for r in stack.log() if r.kind == "decision" and r.key == decision]
    assert logged and logged[0].data["slot"] == "product-recommendations"

    recs.scroll_into_view_if_needed()
    flush(page)
    exposures = wait_for(lambda: [e for e in stack.events("exposure", vid) if e.data["props"]["decision_id"] == decision],
                         what="the exposure of the recommendations")
    assert exposures[0].data["props"].get("slot") == "product-recommendations"  # data-sw-slot

    target = ids[0]
    with page.expect_navigation():
        cards.first.locator("a").click()
    assert page.url.endswith(f"/p/{target}")
    clicks = wait_for(lambda: [e for e in stack.events("click", vid) if e.data["props"]["decision_id"] == decision],
                      what="the click on the recommendation card")
    assert clicks[0].data["props"].get("slot") == "product-recommendations"
    assert clicks[0].data["props"]["href"].endswith(f"/p/{target}")

    # buy the recommended product: add to cart, cart, checkout form, confirmation
    page.wait_for_function("window.slotwise && window.slotwise.v === 1")
    size = page.eval_on_selector("select#size", "s => [...s.options].find(o => o.value && !o.disabled).value")
    page.select_option("select#size", size)
    with page.expect_navigation():
        page.click("form.add-to-cart button[type=submit]")
    with page.expect_navigation():
        page.click("a[href='/checkout']")
    page.fill("form.checkout #name", "Rec Buyer")
    page.fill("form.checkout #email", "rec-buyer@example.com")
    with page.expect_navigation():
        page.click("form.checkout button[type=submit]")
    order_id = page.locator("section.order-confirmation").get_attribute("data-order-id")
    assert order_id and page.url.endswith(f"/order/{order_id}")

    profile = wait_for(lambda: (p := stack.profile(vid)) and p.purchases and p, what="the purchase in the profile")
    lines = [line for line in profile.purchases if line["order_id"] == order_id]
    assert [(line["product"], line["size"], line["qty"], line["channel"]) for line in lines] == [(target, size, 1, "online")]
    assert lines[0]["category"] == "bags" and lines[0]["price"] > 0
    assert profile.cart == []  # bought: the cart is empty again
    purchase = stack.events("purchase", vid)
    # read by the proxy from the store's confirmation page (the rules' capture), once per order
    assert len(purchase) == 1 and purchase[0].key == f"order:{order_id}" and purchase[0].data["source"] == "proxy"

    page.reload()  # a reload of the confirmation is not a second purchase
    page.wait_for_function("window.slotwise && window.slotwise.v === 1")
    flush(page)
    assert len(stack.events("purchase", vid)) == 1
    assert len([line for line in stack.profile(vid).purchases if line["order_id"] == order_id]) == 1

    exported = stack.admin(vid).json()  # the admin API shows the same record
    assert any(p["order_id"] == order_id for p in exported["profile"]["purchases"])
