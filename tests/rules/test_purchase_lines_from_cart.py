"""``lines: cart``: a purchase whose confirmation page names its lines by name alone (PrestaShop's order
confirmation: "Hummingbird printed t-shirt - Size : M", no link, no id) takes them from the visitor's cart, as
``capture.cart`` last read it; refused without a ``capture.cart``. Through the real proxy:
``prestashop_store/test_prestashop_through_slotwise.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from slotwise.rules import check_rules
from slotwise.rules.capture import CaptureError, page_event
from slotwise.rules.testing import rules_from_text

RULES = """
catalog:
  product_pages: "/{category}/{product:int}-{slug}.html"
capture:
  cart:
    request: {method: POST, path: "/cart"}
    lines: {items: cart.products, product: id_product, size: attributes.Size, qty: quantity, price: price_amount}
  events:
    - id: confirmation
      event: purchase
      page: {path: "/index.php", query: {controller: order-confirmation}}
      fields:
        order_id: {css: "#order-reference-value", match: "Order reference: (\\\\S+)"}
      lines: cart
slots: []
"""
CART = [{"product": "1", "size": "M", "qty": 1, "price": 23.9, "category": "men", "currency": "EUR", "ts": 1.0},
        {"product": "5", "qty": 2, "price": 11.9, "category": "accessories", "ts": 2.0}]
PAGE = {"present": True, "fields": {"order_id": "XKBKNABJK"}}


def test_the_order_is_the_cart(tmp_path: Path) -> None:
    rules = rules_from_text(tmp_path, RULES)
    (source,) = rules.capture.pages
    assert source.cart_lines and source.group.lines is None  # nothing of the page is read for lines
    event = page_event(source, PAGE, rules.catalog, "EUR", CART)
    assert event == {"type": "purchase", "props": {"order_id": "XKBKNABJK", "currency": "EUR", "lines": [
        {"product": "1", "size": "M", "qty": 1, "price": 23.9, "category": "men"},
        {"product": "5", "qty": 2, "price": 11.9, "category": "accessories"}]}}


def test_an_empty_cart_is_no_order_and_a_page_without_the_reference_is_none(tmp_path: Path) -> None:
    rules = rules_from_text(tmp_path, RULES)
    (source,) = rules.capture.pages
    with pytest.raises(CaptureError, match="purchase XKBKNABJK: no order line names a product"):
        page_event(source, PAGE, rules.catalog, "EUR", [])
    assert page_event(source, {"present": True, "fields": {"order_id": None}}, rules.catalog, "EUR", CART) is None


@pytest.mark.parametrize(("change", "message"), [
    (("  cart:\n    request: {method: POST, path: \"/cart\"}\n    lines: {items: cart.products, product: id_product, "
      "size: attributes.Size, qty: quantity, price: price_amount}\n", ""),
     "6:7: 'lines: cart' reads the order's lines from the visitor's cart, and no 'capture.cart' says where the cart is"),
    (("      lines: cart\n", "      lines: basket\n"),
     "14:14: 'lines' must be a mapping (items and product: the order's lines on the page) or 'cart' (the visitor's "
     "cart), not 'basket'"),
], ids=["no-cart", "not-cart"])
def test_lines_cart_is_refused_where_it_cannot_be(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    text = RULES.replace(*change)
    assert text != RULES
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    ruleset, issues = check_rules(path)
    assert ruleset is None and len(issues) == 1 and str(issues[0]).startswith(f"{path}:{message}"), issues


def test_a_cart_said_in_another_file_is_the_orders(tmp_path: Path) -> None:
    cart = "capture:\n  cart: {within: '#blockcart', count: '.cart-products-count'}\n"
    (tmp_path / "basket.yaml").write_text(cart, encoding="utf-8")
    text = RULES.replace(RULES[RULES.index("  cart:\n"):RULES.index("  events:\n")], "")
    path = tmp_path / "rules.yaml"
    path.write_text(text.replace("slots: []\n", "include: [basket.yaml]\nslots: []\n"), encoding="utf-8")
    ruleset, issues = check_rules(path)
    assert ruleset is not None and not issues, issues
