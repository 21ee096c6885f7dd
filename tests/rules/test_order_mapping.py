"""``capture.orders`` in the rules: a mistake refused where it is, ``rules check`` saying what is read from where.

The webhook itself (Shopify's and WooCommerce's bodies over HTTP) is tested in
tests/proxy/test_order_shapes.py and tests/woo_store/test_woo_through_slotwise.py.
"""

from __future__ import annotations

import io
from argparse import Namespace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from slotwise.commands.rules import run_check
from slotwise.rules import check_rules

ROOT = Path(__file__).resolve().parents[2]
LINES = "    lines: {items: line_items, product: product_id}\n"


def check(tmp_path: Path, orders: str) -> list[str]:
    path = tmp_path / "rules.yaml"
    path.write_text(f"capture:\n  orders:\n{orders}slots: []\n", encoding="utf-8")
    ruleset, issues = check_rules(path)
    assert ruleset is None or not issues
    return [str(issue) for issue in issues]


@pytest.mark.parametrize(("orders", "message"), [
    ("    fields: {order_id: id, email: email}\n", "3:5: 'capture.orders' needs 'lines'"),
    ("    fields: {email: email}\n" + LINES, "3:13: 'capture.orders.fields' needs 'order_id'"),
    ("    fields: {order_id: id}\n" + LINES, "3:13: 'capture.orders.fields' needs 'email' or 'customer_id'"),
    ("    fields: {order_id: id, email: email, buyer: x}\n" + LINES,
     "3:42: unknown key 'buyer' in 'capture.orders.fields'"),
    ("    fields: {order_id: id, email: billing..email}\n" + LINES,
     "3:35: 'capture.orders.fields.email': bad key path 'billing..email'"),
    ("    fields: {order_id: id, email: email}\n    lines: {items: line_items, size: variant_title}\n",
     "4:12: 'capture.orders.lines' needs 'items' and 'product'"),
    ("    fields: {order_id: id, email: email, total: {key: total, divide: 0}}\n" + LINES,
     "3:70: 'capture.orders.fields.total': 'divide' must be a positive number"),
    ("    signature: {header: X-Shopify-Hmac-Sha256, encoding: base32}\n"
     "    fields: {order_id: id, email: email}\n" + LINES,
     "3:58: 'capture.orders.signature.encoding' must be one of"),
    ("    signature: {encoding: base64}\n    fields: {order_id: id, email: email}\n" + LINES,
     "3:16: 'capture.orders.signature' needs 'header'"),
    ("    signature: {header: 'X Shopify'}\n    fields: {order_id: id, email: email}\n" + LINES,
     "3:25: 'capture.orders.signature.header': 'X Shopify' is not a header name"),
    ("    fields: {order_id: id, email: email}\n"
     "    lines: {items: line_items, product: product_id, size: {key: meta_data, where: {key: pa_size}}}\n",
     "'capture.orders.lines.size': 'where' and 'value' go together"),
    ("    fields: {order_id: id, email: email}\n"
     "    lines: {items: line_items, product: product_id, size: {key: meta_data, where: [pa_size], value: v}}\n",
     "4:83: 'capture.orders.lines.size': 'where' must map key paths to the values"),
    ("    skip: [test]\n    fields: {order_id: id, email: email}\n" + LINES,
     "3:12: 'capture.orders.skip' must map key paths to the values an element holds ({test: true})"),
    ("    skip: {test: [true]}\n    fields: {order_id: id, email: email}\n" + LINES,
     "3:18: 'capture.orders.skip': a value must be a text, a whole number or true/false, got a list"),
    ("    fields: {order_id: id, email: email, customer_id: {key: customer_id, none: []}}\n" + LINES,
     "3:80: 'capture.orders.fields.customer_id': 'none' lists 1 to 20 values"),
    ("    fields: {order_id: id, email: email, coupon: {key: coupon_lines.0.code, empty: [x]}}\n" + LINES,
     "3:84: 'capture.orders.fields.coupon': 'empty' must be a text or a number (\"\": none), got a list"),
    ("    fields: {order_id: id, email: 'e{}', customer_id: {key: 'c{}', fill: id}}\n" + LINES,
     "3:68: 'capture.orders.fields.customer_id': 'fill' reads the item around a list: only in"),
    ("    fields: {order_id: id, email: email}\n"
     "    lines: {items: line_items, product: product_id, size: {key: option1, fill: position}}\n",
     "4:65: 'capture.orders.lines.size': with 'fill', 'key' must hold one {}"),
], ids=["no-lines", "no-order-id", "no-buyer", "unknown-field", "bad-key-path", "no-product", "zero-divide",
        "bad-encoding", "no-header", "bad-header", "where-without-value", "where-not-a-mapping", "skip-not-a-mapping",
        "skip-a-list-value", "none-empty", "empty-a-list", "fill-outside-a-list", "fill-without-braces"])
def test_a_malformed_mapping_is_refused_where_it_is(tmp_path: Path, orders: str, message: str) -> None:
    issues = check(tmp_path, orders)
    assert any(message in issue for issue in issues), issues
    assert all(issue.startswith(f"{tmp_path / 'rules.yaml'}:") for issue in issues)


def test_capture_orders_is_said_once_across_included_files(tmp_path: Path) -> None:
    orders = "    fields: {order_id: id, email: email}\n" + LINES
    (tmp_path / "more.yaml").write_text(f"capture:\n  orders:\n{orders}", encoding="utf-8")
    issues = check(tmp_path, orders + "include: [more.yaml]\n")
    assert any("more.yaml:3:5: 'capture.orders' is set in more than one file" in issue for issue in issues), issues


def test_rules_check_says_where_each_value_of_the_order_is_read(tmp_path: Path) -> None:
    example = ROOT / "slotwise" / "rules" / "examples" / "woocommerce.yaml"
    out, err = io.StringIO(), io.StringIO()
    assert run_check(Namespace(file=str(example), url=None, cookie=[], header=[], feed=False), out, err) == 0, \
        err.getvalue()
    said = out.getvalue().split("  order webhook (/_sw/orders), in the store's own shape (capture.orders):\n", 1)[1]
    assert said.splitlines()[:5] == [
        "    signed: X-WC-Webhook-Signature: base64 HMAC-SHA256 of the body with --order-secret",
        "    order_id <- number",
        "    email <- billing.email",
        "    customer_id <- customer_id, none if '0'",
        "    ts <- date_created_gmt",
    ]
    assert "    coupon <- coupon_lines.0.code, '' when the list is empty\n" in said
    assert ("    lines <- line_items[]: product product_id, size meta_data[key=pa_size].value, qty quantity, "
            "price price\n") in said
    assert "    a body without number is answered 200, nothing stored (a platform's ping), signed or not\n" in said


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-10**30, max_value=10**30) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["number", "billing", "email", "date_created_gmt", "total", "line_items", "product_id",
                         "quantity", "price", "meta_data", "key", "value", "pa_size", "0", "coupon_lines",
                         "customer_id", "code"]),
        inner, max_size=5),
    max_leaves=30)


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(body=JSON)
def test_any_json_is_an_order_a_ping_or_a_422_never_an_exception(body: Any) -> None:
    """What a platform (or anyone with the secret) posts: read without raising, into the order's shape."""
    from slotwise.rules import load_rules
    from slotwise.tag.orders import Order

    mapping = _EXAMPLE.get("woo") or _EXAMPLE.setdefault(
        "woo", load_rules(ROOT / "slotwise" / "rules" / "examples" / "woocommerce.yaml").capture.orders)
    assert mapping is not None
    if not isinstance(body, dict) or mapping.no_order(body) is not None:
        return
    mapped = mapping.read(body)
    if mapped.problems:
        assert [p["field"] for p in mapped.problems] == ["lines"]
        return
    try:
        Order.model_validate(mapped.order)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            assert mapped.field(tuple(error["loc"])) and mapped.source(tuple(error["loc"]))


_EXAMPLE: dict[str, Any] = {}
