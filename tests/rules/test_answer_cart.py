"""``capture.cart`` with ``request``: the cart from the JSON answer to a request the page makes (Magento's
customer-data ``cart`` section, Shopify's ``/cart.js``), its lines at key paths as ``capture.orders.lines``
reads them; refused where it is malformed, with its ``file:line:column``. Through the real proxy:
``magento_store/test_magento_through_slotwise.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from answer_cart_rules import RULES

from slotwise.rules import check_rules
from slotwise.rules.testing import rules_from_text

HOODIE = {"product_url": "https://shop.example/hero-hoodie.html", "qty": 2, "product_price_value": 54,
          "options": [{"label": "Colour", "value": "Black"}, {"label": "Size", "value": "M"}]}
BAG = {"product_url": "https://shop.example/joust-duffle-bag.html", "qty": 1, "product_price_value": "34.00",
       "options": []}


def test_the_lines_and_count_of_the_answer_are_the_cart(tmp_path: Path) -> None:
    rules = rules_from_text(tmp_path, RULES)
    cart = rules.capture.answer_cart
    assert cart is not None and cart.source.methods == frozenset({"GET"})  # a read, unless the rules say
    assert cart.source.match("GET", "/customer/section/load/", "sections=cart") == {}
    assert cart.source.match("POST", "/customer/section/load/") is None
    lines, count = cart.read({"cart": {"summary_count": 3, "items": [HOODIE, BAG]}}, rules.catalog)
    assert count == 3 and [(line["product"], line.get("size"), line["qty"], line["price"]) for line in lines or []] == [
        ("hero-hoodie", "M", 2, 54.0), ("joust-duffle-bag", None, 1, 34.0)]


@pytest.mark.parametrize(("answer", "expected"), [
    ({"customer": {}, "messages": {}}, (None, None)),      # other sections only: says nothing
    ({"cart": {"summary_count": 0, "items": []}}, ([], 0)),  # an empty cart
    ([], (None, None)),                                     # Magento's add answer, not a cart
    (None, (None, None)),                                   # not JSON, or too long
    ({"cart": {"summary_count": 2, "items": [{"qty": 2}]}}, (None, 2)),  # lines naming nothing: the count only
], ids=["other-sections", "empty", "a-list", "no-json", "unnamed-lines"])
def test_an_answer_without_the_list_says_nothing_and_an_empty_list_is_an_empty_cart(
        tmp_path: Path, answer: Any, expected: tuple[Any, Any]) -> None:
    rules = rules_from_text(tmp_path, RULES)
    assert rules.capture.answer_cart is not None and rules.capture.answer_cart.read(answer, rules.catalog) == expected


@pytest.mark.parametrize(("change", "message"), [
    (("    lines:\n      items: cart.items\n      product: product_url\n      size: {key: options, where: {label: Size}, "
      "value: value}\n      qty: qty\n      price: product_price_value\n", ""),
     "6:5: 'capture.cart' with 'request' needs 'lines': where the cart's lines are in the answer"),
    (("      product: product_url\n", ""), "8:7: 'capture.cart.lines' needs 'items' and 'product'"),
    (("    count: cart.summary_count\n", "    count: cart.summary_count\n    within: '#minicart'\n"),
     "14:5: unknown key 'within' in 'capture.cart' with 'request'"),
    (("request: {path", "request: {method: FETCH, path"), "6:23: 'capture.cart.request.method' must be one of GET"),
    (("request: {path: \"/customer/section/load/\"}", "request: {method: GET}"),
     "6:14: 'capture.cart.request' needs 'path' or 'regex'"),
    (("      qty: qty\n", "      qty: {key: qty, divide: 0}\n"), "11:31: 'capture.cart.lines.qty': 'divide' must be"),
    (("      qty: qty\n", "      qty: q..ty\n"), "11:12: 'capture.cart.lines.qty': bad key path 'q..ty'"),
], ids=["no-lines", "no-product", "basket-key-beside-request", "bad-method", "no-path", "bad-transform",
        "bad-key-path"])
def test_a_malformed_answer_cart_is_refused_where_it_is(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    text = (RULES).replace(*change)
    assert text != RULES
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    ruleset, issues = check_rules(path)
    assert ruleset is None and len(issues) == 1 and str(issues[0]).startswith(f"{path}:{message}"), issues


def test_one_cart_whether_a_basket_or_an_answer(tmp_path: Path) -> None:
    (tmp_path / "basket.yaml").write_text("capture:\n  cart: {within: '#minicart', count: '.count'}\n",
                                          encoding="utf-8")
    path = tmp_path / "rules.yaml"
    path.write_text((RULES).replace("slots: []\n", "include: [basket.yaml]\nslots: []\n"), encoding="utf-8")
    _, issues = check_rules(path)
    assert any("'capture.cart' is set in more than one file" in str(i) for i in issues), issues


def test_the_tag_only_config_names_the_request_and_the_key_paths_the_reading_follows(tmp_path: Path) -> None:
    """In tag-only mode the tag reads the answer (its ``answer`` script) and sends only what these paths reach:
    read here as the whole answer is. A ``fill`` is read in the answer (root); a step with ``{}`` is any key, so
    what holds it goes whole (``[]``: the element). Behind the proxy the tag is told nothing of it."""
    from slotwise.rules.tag_config import tag_config

    rules = rules_from_text(tmp_path, RULES)
    assert "answer" not in tag_config(rules)
    assert tag_config(rules, tag_only=True)["answer"] == {
        "id": "cart", "methods": ["GET"], "path": "^(?:\\/customer\\/section\\/load\\/)$", "keys": {},
        "answer": {"items": ["cart", "items"], "item": [["options"], ["product_price_value"], ["product_url"], ["qty"]],
                   "root": [["cart", "summary_count"]]}}
    filled = rules_from_text(tmp_path, RULES.replace(
        "      size: {key: options, where: {label: Size}, value: value}\n",
        "      size: {key: \"option{}\", fill: {key: cart.size_option}}\n").replace(
        "      price: product_price_value\n", "      price: {key: price.amount, minor_units: price.exp}\n"))
    assert filled.capture.answer_cart is not None and filled.capture.answer_cart.reach() == {
        "items": ["cart", "items"], "item": [[], ["price", "amount"], ["price", "exp"], ["product_url"], ["qty"]],
        "root": [["cart", "size_option"], ["cart", "summary_count"]]}


def test_an_answer_whose_regex_the_tag_cannot_run_is_said_and_left_out_of_the_tag(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """As for a request source (rules/test_js_regex.py): ``rules check`` warns at the construct, and the tag-only
    config names no answer the tag could not match (behind the proxy it is read as ever)."""
    from slotwise.cli import main
    from slotwise.rules.tag_config import tag_config

    text = RULES.replace('request: {path: "/customer/section/load/"}', 'request: {regex: "^/customer/section/(?>load)/"}')
    (tmp_path / "rules.yaml").write_text(text, encoding="utf-8")
    assert main(["rules", "check", str(tmp_path / "rules.yaml")]) == 0
    warnings = [line for line in capsys.readouterr().out.splitlines() if "WARNING" in line]
    assert len(warnings) == 1 and "WARNING: capture.cart: in tag-only mode the tag cannot read its answer (the cart " \
        "stays unknown): its regex has an atomic group, (?>" in warnings[0], warnings
    rules = rules_from_text(tmp_path, text)
    assert rules.capture.answer_cart is not None and "answer" not in tag_config(rules, tag_only=True)
    assert rules.capture.answer_cart.source.match("GET", "/customer/section/load/") == {}
