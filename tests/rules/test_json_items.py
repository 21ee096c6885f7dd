"""Items read from a JSON list in the page: ``items: {json: FIELD, key: PATH}``, each field a key path.

Stores put what a proxy needs into JSON more and more: WooCommerce's variation
ids are only in the variations form's ``data-product_variations``, Shopify
themes print the product and its variants in a ``<script
type="application/json">``. Sizes, cart and order lines can be read from such
a list like from elements; the proxy (selectolax) and the tag send the list's
text and ``Group.clean`` reads its items, once, for both.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

import pytest

from slotwise.rules import page_facts
from slotwise.rules.capture import build_event
from slotwise.rules.extract import MAX_ITEMS, MAX_JSON, read_groups
from slotwise.rules.reading import read_extract
from slotwise.rules.ruleset import RuleSet
from slotwise.rules.testing import rules_from_text

RULES = """
catalog:
  product_pages: "/product/{product}/"
  availability: {in_stock: [in-stock], out_of_stock: [out-of-stock]}
  sizes:
    items: {json: "form.variations_form @data-product_variations"}
    id: variation_id
    size: attributes.attribute_pa_size
    in_stock: {key: availability_html, match: "(in-stock|out-of-stock)"}
capture:
  events:
    - event: purchase
      page: "/thanks/"
      fields: {order_id: "#order @data-id"}
      lines:
        items: {json: "script#order-json", key: order.lines}
        product: product.id
        size: options.0
        qty: quantity
        price: {key: unit, match: "[\\\\d.]+"}
slots: []
"""
VARIATIONS = [
    {"attributes": {"attribute_pa_size": "s"}, "variation_id": 31, "is_in_stock": True,
     "availability_html": '<p class="stock in-stock">3 in stock</p>'},
    {"attributes": {"attribute_pa_size": "m"}, "variation_id": 32, "is_in_stock": True,
     "availability_html": '<p class="stock in-stock">5 in stock</p>'},
    {"attributes": {"attribute_pa_size": "xl"}, "variation_id": 34, "is_in_stock": False,
     "availability_html": '<p class="stock out-of-stock">Out of stock</p>'},
]


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    return rules_from_text(tmp_path_factory.mktemp("json-items"), RULES)


def product_page(variations: Any) -> bytes:
    text = variations if isinstance(variations, str) else json.dumps(variations)
    return (f'<html><body><h1>Hoodie</h1><form class="variations_form cart" data-product_id="21" '
            f'data-product_variations="{escape(text)}"><select id="pa_size"></select></form></body></html>').encode()


def sizes_of(rules: RuleSet, html: bytes) -> tuple[dict[str, str], tuple[str, ...]]:
    product = page_facts("/product/hoodie/", None, html, rules).product
    assert product is not None
    return dict(product.get("variants") or {}), tuple(product.get("sizes") or ())


def test_sizes_are_read_from_a_json_attribute(rules: RuleSet) -> None:
    assert sizes_of(rules, product_page(VARIATIONS)) == ({"S": "31", "M": "32", "XL": "34"}, ("S", "M"))


@pytest.mark.parametrize("text", [
    "not json", '{"variation_id": 31}', "[1, 2, 3]", "[]",
])
def test_a_list_that_is_not_there_reads_no_sizes(rules: RuleSet, text: str) -> None:
    assert sizes_of(rules, product_page(text)) == ({}, ())


def test_a_list_too_long_to_read_is_unknown_not_none(rules: RuleSet) -> None:
    """Past ``MAX_JSON`` the list is not parsed: its sizes are not said (None), as a list the tag left out
    (through the proxy, a cart's lines: tests/proxy/test_cart_json_too_long.py)."""
    html = product_page("[" + " " * MAX_JSON + "]")
    product = page_facts("/product/hoodie/", None, html, rules).product
    assert product is not None and product["sizes"] is None and product["variants"] is None


def test_at_most_max_items_are_read(rules: RuleSet) -> None:
    many = [{"attributes": {"attribute_pa_size": str(i)}, "variation_id": 1000 + i} for i in range(MAX_ITEMS + 50)]
    assert len(sizes_of(rules, product_page(many))[0]) == MAX_ITEMS


def test_the_tag_sends_the_lists_text_and_reads_the_same(rules: RuleSet) -> None:
    """What tag.js sends for a JSON list is its text (``lines_json``): cleaned here into the same lines."""
    groups = rules.catalog.product_groups()
    assert groups["sizes"].to_json()["lines"] == {
        "json": {"c": "form.variations_form", "a": "data-product_variations"}, "fields": {}}
    proxy = read_groups(product_page(VARIATIONS), groups)["sizes"]
    extract = {"values": {"sizes": {"present": True, "fields": {}, "lines_json": json.dumps(VARIATIONS)}}}
    tag = read_extract(extract, rules.catalog, groups).group("sizes")
    assert proxy == tag and [line["id"] for line in proxy["lines"]] == ["31", "32", "34"]


def test_lines_the_tag_left_out_are_unknown_not_none(rules: RuleSet) -> None:
    """A list too big for the tag's extract (tag.js ``extract``) comes as ``lines_omitted``: no sizes are
    learnt from the page, rather than none offered (in Chromium: tests/tag/test_extract_size.py)."""
    groups = rules.catalog.product_groups()
    extract = {"values": {"sizes": {"present": True, "fields": {}, "lines_omitted": True}}}
    reading = read_extract(extract, rules.catalog, groups)
    assert reading.group("sizes") == {"present": True, "fields": {}, "lines": None}
    product = page_facts("/product/hoodie/", None, None, rules, reading=reading).product
    assert product is not None and product["sizes"] is None and product["variants"] is None  # not said: not []


def test_order_lines_from_a_script_at_a_key_path(rules: RuleSet) -> None:
    order = {"order": {"lines": [
        {"product": {"id": 21}, "options": ["M"], "quantity": 2, "unit": "EUR 59.90"},
        {"product": {"id": 26}, "options": [], "quantity": 1, "unit": "EUR 18.00"},
        {"options": ["L"], "quantity": 1},  # no product: no line
    ]}}
    html = (f'<html><body><div id="order" data-id="101"></div><script type="application/json" id="order-json">'
            f'{json.dumps(order)}</script></body></html>').encode()
    (source,) = rules.capture.pages
    values = read_groups(html, {"order": source.group})["order"]
    event = build_event("purchase", values["fields"], values["lines"], rules.catalog)
    assert event is not None
    assert [(line["product"], line.get("size"), line["qty"], line["price"]) for line in event["props"]["lines"]] == [
        ("21", "M", 2, 59.9), ("26", None, 1, 18.0)]


def test_the_woocommerce_example_reads_variation_ids() -> None:
    """The shipped example learns each variation as a size of its product (tests/woo_store is the markup)."""
    from slotwise.rules import load_rules

    example = load_rules(Path(__file__).resolve().parents[2] / "slotwise" / "rules" / "examples" / "woocommerce.yaml")
    html = product_page([{**v, "variation_id": v["variation_id"]} for v in VARIATIONS])
    assert sizes_of(example, html) == ({"S": "31", "M": "32", "XL": "34"}, ("S", "M"))


def test_the_example_in_capture_md_loads(tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "capture.md").read_text(encoding="utf-8")
    block = text.split("**Items from JSON.**", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    rules = rules_from_text(tmp_path, block.replace("catalog:\n", 'catalog:\n  product_pages: "/p/{product}/"\n', 1)
                            + "slots: []\n")
    assert rules.catalog.sizes is not None and rules.catalog.sizes.json is not None
    (source,) = rules.capture.pages
    assert source.group.lines is not None and source.group.lines.key == ("order", "lines")
