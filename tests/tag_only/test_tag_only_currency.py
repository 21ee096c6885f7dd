"""Tag-only mode, in Chromium: a cart line the browser reports keeps the currency its page or push names.

The UK market's basket page says GBP in its localization form (the rules' ``catalog.page_currency``) and
pushes a GA4 ``add_to_cart`` naming no currency: the tag sends the page's currency, as its extract read it,
with the push, so the line is a GBP price (a waiting cart compares it, ``cart_value`` converts it, as GBP's).
A push naming its own currency keeps it.
"""

from __future__ import annotations

from typing import Any

import pytest
from tag_only_helpers import RULES_CURRENCY, Stack, browse, visitor_id, wait_for

pytestmark = pytest.mark.browser

RULES = RULES_CURRENCY  # the stack (conftest) for these rules


def test_a_pushed_cart_line_is_in_the_currency_its_page_says(stack: Stack, page: Any) -> None:
    browse(page, stack.url("currency", "/gb/basket"))
    visitor = visitor_id(page.context)
    cart = wait_for(lambda: (p := stack.profile(visitor)) is not None and len(p.cart) == 2 and p.cart,
                    what="both pushed lines in the cart")
    assert {line["product"]: (line["price"], line.get("currency")) for line in cart} == {
        "201": (85.0, "GBP"), "202": (40.0, "EUR")}
