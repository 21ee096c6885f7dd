"""Issue 4, done-when 1 and 2: the exit-intent popup on the demo store, through the proxy."""

from __future__ import annotations

from typing import Any

import pytest
from e2e_browser_helpers import (
    add_to_cart,
    flush,
    goto,
    leave_through_top,
    visitor_id,
    wait_for,
)

pytestmark = pytest.mark.browser

DIALOG = "[role=dialog][aria-modal=true]"


def popup_injected(page: Any) -> bool:
    return page.locator("template[data-sw-popup]").count() == 1


def cart_known(stack: Any, vid: str) -> Any:
    return wait_for(lambda: (p := stack.profile(vid)) is not None and p.cart and p, what="the cart in the profile")


def test_cart_then_exit_intent_shows_an_accessible_popup_escape_closes_it(stack: Any, page: Any) -> None:
    goto(page, stack.url + "/")
    assert not popup_injected(page)  # an empty cart: the slot's `when` is false
    add_to_cart(page, stack.url, "302", "M")
    assert page.locator(".cart-count").text_content() == "1"  # the demo itself has the line
    vid = visitor_id(page.context)
    profile = cart_known(stack, vid)  # the tag's add_to_cart auto-capture reached /_sw/events
    assert [(line["product"], line["size"], line["qty"]) for line in profile.cart] == [("302", "M", 1)]
    assert profile.cart[0]["category"] == "t-shirts"

    goto(page, stack.url + "/c/t-shirts")
    assert popup_injected(page), "the proxy did not inject the popup for a visitor with a cart"
    assert page.locator(DIALOG).count() == 0  # armed, not shown
    leave_through_top(page)
    dialog = page.locator(DIALOG)
    dialog.wait_for(state="visible")
    assert dialog.count() == 1, "exactly one dialog (the fragment must not nest a second one)"
    title_id = dialog.get_attribute("aria-labelledby")
    assert title_id and page.locator(f"#{title_id}").text_content() == "Wait — take 10% off"
    assert page.evaluate("document.querySelector('[role=dialog]').contains(document.activeElement)")
    assert page.evaluate("document.activeElement.type") == "email"
    for _ in range(5):  # Tab stays inside
        page.keyboard.press("Tab")
        assert page.evaluate("document.querySelector('[role=dialog]').contains(document.activeElement)")
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")
    flush(page)
    closed = wait_for(lambda: stack.events("popup_closed", vid), what="popup_closed in the log")
    assert closed[0].data["props"]["how"] == "escape" and closed[0].data["props"]["slot"] == "exit-coupon"
    assert stack.events("popup_shown", vid) and stack.events("exit_intent", vid)
    decision = page.locator("template[data-sw-popup]").get_attribute("data-sw-decision")
    assert closed[0].data["props"]["decision_id"] == decision
    assert any(r.kind == "decision" and r.key == decision and r.data["slot"] == "exit-coupon" for r in stack.log())
    assert wait_for(lambda: stack.profile(vid).popups.get("exit-coupon"), what="popup counts in the profile")

    leave_through_top(page)  # at most once per session
    page.wait_for_timeout(200)
    assert page.locator(DIALOG).count() == 0


def test_the_popups_own_close_button_closes_it(stack: Any, page: Any) -> None:
    add_to_cart(page, stack.url, "201", "42")
    cart_known(stack, visitor_id(page.context))
    goto(page, stack.url + "/")
    assert popup_injected(page)
    leave_through_top(page)
    page.locator(DIALOG).wait_for(state="visible")
    buttons = page.locator(f"{DIALOG} button[aria-label=Close]")
    assert buttons.count() == 1, "one close button, not the tag's and the template's"
    buttons.click()
    page.locator(DIALOG).wait_for(state="detached")


ARM_A_POPUP = """() => {
  const t = document.createElement('template');
  t.dataset.swPopup = 'exit-coupon'; t.dataset.swDecision = 'd-manual';
  t.innerHTML = '<h2>Offer</h2><form data-sw-signup><input type="email" name="email"></form>';
  document.body.appendChild(t); slotwise.showPopup();
  return document.querySelectorAll('[role=dialog]').length;
}"""


def test_signup_in_the_popup_gives_a_coupon_and_the_popup_never_returns(stack: Any, page: Any, new_context: Any) -> None:
    add_to_cart(page, stack.url, "101", "42")
    vid = visitor_id(page.context)
    cart_known(stack, vid)
    goto(page, stack.url + "/p/102")
    assert popup_injected(page)
    leave_through_top(page)
    page.locator(f"{DIALOG} input[type=email]").fill("popup-buyer@example.com")
    page.keyboard.press("Enter")
    code = page.locator(f"{DIALOG} .sw-code")
    code.wait_for(state="visible")
    coupon = code.text_content()
    assert coupon and coupon.startswith("SW-")
    assert page.locator(f"{DIALOG} form[data-sw-signup]").is_hidden()
    assert page.url.endswith("/p/102"), "the form must not be submitted to the store's /newsletter"

    profile = wait_for(lambda: (p := stack.profile(vid)) and p.subscribed and p, what="a subscribed profile")
    assert profile.coupon == coupon and profile.email_hash
    exported = stack.admin(vid)
    assert exported.status_code == 200
    assert exported.json()["profile"]["subscribed"] is True and exported.json()["profile"]["coupon"] == coupon
    flush(page)
    converted = wait_for(lambda: stack.events("popup_converted", vid), what="popup_converted")
    decision = page.locator("template[data-sw-popup]").get_attribute("data-sw-decision")
    assert converted[0].data["props"]["decision_id"] == decision
    signups = [r for r in stack.events("signup", vid) if r.data["props"].get("source") == "popup"]
    assert signups and signups[0].data["props"]["decision_id"] == decision  # the learner's reward

    page.keyboard.press("Escape")
    goto(page, stack.url + "/c/running-shoes")  # the proxy stops injecting it: `not visitor.subscribed`
    assert not popup_injected(page)
    leave_through_top(page)
    page.wait_for_timeout(200)
    assert page.locator(DIALOG).count() == 0

    other = page.context.new_page()  # a new tab is a new session; the sign-up still holds
    goto(other, stack.url + "/cart")
    assert not popup_injected(other)
    assert other.evaluate(ARM_A_POPUP) == 0  # the tag itself refuses too (sw_sub), whatever the page holds
    stranger = new_context().new_page()  # the same check where nobody signed up: the popup does show
    goto(stranger, stack.url + "/cart")
    assert stranger.evaluate(ARM_A_POPUP) == 1
