"""Issue 4, done-when 4: a second browser that logs in to the same account gets the first one's personalization."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from e2e_browser_helpers import category_order, goto, visitor_id, wait_for
from selectolax.lexbor import LexborHTMLParser

pytestmark = pytest.mark.browser


def log_in(page: Any, base: str, email: str = "demo@example.com", password: str = "demo") -> None:
    goto(page, base + "/login")
    page.fill("form.login #email", email)
    page.fill("form.login #password", password)
    with page.expect_navigation():
        page.click("form.login button[type=submit]")
    assert page.url == base + "/account", "the login did not land on the proxy's /account"
    page.wait_for_function("window.slotwise && window.slotwise.v === 1")


def test_a_second_device_that_logs_in_sees_the_first_devices_categories(stack: Any, new_context: Any) -> None:
    store_order = [li.attributes["data-category"] for li in
                   LexborHTMLParser(httpx.get(stack.demo.url + "/").text).css("nav.category-nav li")]
    x, y = "jeans", "socks"
    assert store_order.index(x) > 1 and store_order.index(y) > 1  # not first already

    a = new_context().new_page()
    log_in(a, stack.url)
    customer = a.locator("body").get_attribute("data-customer-id")
    assert customer
    va = visitor_id(a.context)
    known = wait_for(lambda: (p := stack.profile(va)) and p.customer_id == customer and p,
                     what="device A's identify (customer id in the profile)")
    goto(a, stack.url + f"/c/{x}")
    goto(a, stack.url + f"/c/{y}")
    goto(a, stack.url + "/")
    assert category_order(a)[:2] == [y, x]  # A's own home page, for reference

    b = new_context().new_page()  # another device: no cookies in common
    goto(b, stack.url + "/")
    vb = visitor_id(b.context)
    assert vb != va
    assert category_order(b) == store_order  # anonymous: the store's order
    log_in(b, stack.url)
    merged = wait_for(lambda: (p := stack.profile(vb)) and p.customer_id == customer and p,
                      what="device B's identify merging it into the known profile")
    assert merged.id == known.id and {x, y} <= set(merged.categories)
    goto(b, stack.url + "/")
    nav = category_order(b)
    assert nav[:2] == [y, x], f"B's home page does not list {y}, {x} first: {nav}"
    assert nav[2:] == [c for c in store_order if c not in (x, y)]
    tiles = category_order(b, ".category-tiles > a")
    assert tiles[:2] == [y, x]
    assert b.locator("nav.category-nav ul").get_attribute("data-sw-decision")

    exported = stack.admin(f"customer:{customer}")
    assert exported.status_code == 200 and f"customer:{customer}" in exported.json()["aliases"]


def test_a_browser_claim_before_the_login_does_not_block_the_trusted_merge(stack: Any, new_context: Any) -> None:
    a = new_context().new_page()
    log_in(a, stack.url)
    customer = a.locator("body").get_attribute("data-customer-id")
    known = wait_for(lambda: (p := stack.profile(visitor_id(a.context))) and p.customer_id == customer and p,
                     what="device A's profile")

    b = new_context().new_page()
    goto(b, stack.url + "/")
    vb = visitor_id(b.context)
    b.evaluate("id => slotwise.identify({customerId: id})", customer)  # e.g. the shop's own script, early
    wait_for(lambda: stack.events("identify", vb), what="B's identify claim in the log")
    claimed = stack.profile(vb)
    assert claimed is None or claimed.id != known.id  # a claim alone never opens the known profile
    assert claimed is None or claimed.customer_id is None  # nor sets an identity it could not link
    log_in(b, stack.url)  # now the store's own page says who this is
    goto(b, stack.url + "/")
    assert stack.profile(vb).id == known.id
