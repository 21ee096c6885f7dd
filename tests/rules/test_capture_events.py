"""From what a source read to Slotwise's events (``slotwise.rules.capture``), pure: no proxy, no store.

Every source — a form post, a page, a click, a GA4 push — ends in
``build_event``; these tests pin what makes an event, what is refused with a
``CaptureError`` (recorded nowhere, logged by the caller), and the GA4 and
Universal Analytics shapes the dataLayer reader understands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from slotwise.rules.capture import (
    CaptureError, DataLayer, Response, build_event, cart_lines, customer_of, datalayer_events, make_line, page_event,
)
from slotwise.rules.ruleset import RuleSet
from slotwise.rules.testing import rules_from_text

FJELL = Path(__file__).resolve().parents[1] / "fixture_store" / "rules" / "fjell.yaml"


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    from slotwise.rules import load_rules

    return load_rules(FJELL)


# -- build_event -------------------------------------------------------------------------------------


def test_an_add_to_cart_names_a_product_by_id_or_link(rules: RuleSet) -> None:
    catalog = rules.catalog
    assert build_event("add_to_cart", {"product": "2011", "qty": "2"}, (), catalog) == {
        "type": "add_to_cart", "props": {"product": "2011", "qty": 2}}
    link = build_event("add_to_cart", {"product": "/shop/product/1005-ridge-runner/?variant=2011", "size": "Size: 42",
                                       "price": "119,00 €", "category": "Trail Shoes", "name": " Ridge  Runner "}, (), catalog)
    assert link == {"type": "add_to_cart", "props": {"product": "1005", "size": "42", "qty": 1, "price": 119.0,
                                                      "category": "trail-shoes", "name": "Ridge Runner", "currency": "EUR"}}


@pytest.mark.parametrize("fields", [{}, {"product": ""}, {"product": None}, {"product": "/about-us/"},
                                    {"product": "/shop/category/socks-9/"}])
def test_an_add_to_cart_without_a_product_is_no_event(rules: RuleSet, fields: dict[str, Any]) -> None:
    with pytest.raises(CaptureError, match="no product"):
        build_event("add_to_cart", fields, (), rules.catalog)


@pytest.mark.parametrize("qty, expected", [(None, 1), ("", 1), ("Qty: 3", 3), (2.0, 2), ("0", 1), ("-4", 1),
                                           (float("nan"), 1), ("two", 1), (7, 7)])
def test_quantities(rules: RuleSet, qty: Any, expected: int) -> None:
    assert build_event("add_to_cart", {"product": "1", "qty": qty}, (), rules.catalog)["props"]["qty"] == expected


def test_a_line_total_becomes_a_unit_price(rules: RuleSet) -> None:
    line = make_line({"product": "1005", "qty": "Qty: 2", "total": "238,00 €"}, rules.catalog)
    assert line == {"product": "1005", "qty": 2, "price": 119.0, "currency": "EUR"}
    assert make_line({"product": "1", "qty": 2, "price": "1.249,00 €", "total": "9,00 €"}, rules.catalog)["price"] == 1249.0
    for discount in ("-5", "-5,00 €", "€ -5.00", "\u22125.00", -5):  # a discount line's amount is not a unit price
        assert make_line({"product": "1", "price": discount}, rules.catalog, "EUR") == {"product": "1", "qty": 1, "currency": "EUR"}
    assert make_line({"product": "1", "qty": 2, "total": "-10.00"}, rules.catalog) == {"product": "1", "qty": 2}
    assert make_line({"product": "1", "price": float("inf")}, rules.catalog) == {"product": "1", "qty": 1}


def test_a_removal_keeps_only_what_names_the_line(rules: RuleSet) -> None:
    event = build_event("remove_from_cart", {"product": "1005", "size": "42", "qty": "3"}, (), rules.catalog)
    assert event == {"type": "remove_from_cart", "props": {"product": "1005", "size": "42"}}


def test_a_purchase_needs_an_order_id_and_a_line_that_names_a_product(rules: RuleSet) -> None:
    lines = [{"product": "/shop/product/1005-ridge-runner/", "size": "42", "qty": "1", "total": "119,00 €"},
             {"product": "/nowhere/", "qty": "1"},  # a line that names no product is dropped
             {"product": "/shop/product/1019-liner-sock-2-pack/", "size": None, "qty": "2", "total": "25,80 €"}]
    event = build_event("purchase", {"order_id": " FJ-10001 ", "total": "149,70 €"}, lines, rules.catalog)
    assert event == {"type": "purchase", "props": {
        "order_id": "FJ-10001", "total": 149.7, "currency": "EUR",
        "lines": [{"product": "1005", "size": "42", "qty": 1, "price": 119.0},
                  {"product": "1019", "qty": 2, "price": 12.9}]}}
    with pytest.raises(CaptureError, match="no order id"):
        build_event("purchase", {"order_id": "  "}, lines, rules.catalog)
    with pytest.raises(CaptureError, match="no order line names a product"):
        build_event("purchase", {"order_id": "FJ-1"}, [{"product": "/nowhere/"}], rules.catalog)


def test_a_purchase_currency_comes_from_the_field_the_total_or_the_rules(rules: RuleSet) -> None:
    lines = [{"product": "1"}]
    assert build_event("purchase", {"order_id": "1", "currency": "chf"}, lines, rules.catalog)["props"]["currency"] == "CHF"
    assert build_event("purchase", {"order_id": "1", "total": "£5.00"}, lines, rules.catalog)["props"]["currency"] == "GBP"
    assert build_event("purchase", {"order_id": "1", "total": "5.00"}, lines, rules.catalog)["props"]["currency"] == "EUR"


def test_identity_events(rules: RuleSet) -> None:
    catalog = rules.catalog
    assert build_event("login", {"email": " jane@example.com "}, (), catalog) == {
        "type": "identify", "props": {"email": "jane@example.com"}}
    assert build_event("login", {"customer_id": "c17"}, (), catalog) == {"type": "identify", "props": {"customer_id": "c17"}}
    assert build_event("signup", {"email": "a@b.co"}, (), catalog) == {
        "type": "signup", "props": {"email": "a@b.co", "source": "signup"}}
    assert build_event("signup", {"customer_id": "c9"}, (), catalog) == {"type": "identify", "props": {"customer_id": "c9"}}
    assert build_event("newsletter", {"email": "a@b.co"}, (), catalog)["props"]["source"] == "newsletter"
    assert build_event("logout", {}, (), catalog) is None  # an action (a fresh visitor id), not an event
    for event in ("login", "signup", "newsletter"):
        with pytest.raises(CaptureError):
            build_event(event, {"email": "", "customer_id": None}, (), catalog)


# -- the mini basket, the customer, page events ----------------------------------------------------------


def reading(present: bool = True, fields: dict[str, Any] | None = None, lines: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"present": present, "fields": fields or {}, "lines": lines if lines is not None else []}


def test_the_mini_basket_lines_count_only_empty_or_absent(rules: RuleSet) -> None:
    catalog = rules.catalog
    lines = [{"product": "/shop/product/1005-ridge-runner/?variant=2011", "size": "Size: 42", "qty": "Qty: 2",
              "total": "238,00 €"}]
    assert cart_lines(reading(fields={"count": "2"}, lines=lines), catalog, reads_lines=True) == (
        [{"product": "1005", "size": "42", "qty": 2, "price": 119.0, "currency": "EUR"}], 2)
    assert cart_lines(reading(fields={"count": "0"}), catalog, reads_lines=True) == ([], 0)  # empty: the cart is empty
    assert cart_lines(reading(present=False), catalog, reads_lines=True) == (None, None)  # no basket on this page: says nothing
    # lines that name no product we can key: only the count is the truth
    assert cart_lines(reading(fields={"count": "Basket (3)"}, lines=[{"product": "/gift-card/"}]), catalog, reads_lines=True) == (None, 3)
    assert cart_lines(reading(fields={"count": "n/a"}), catalog, reads_lines=True) == ([], None)
    # rules that read no lines: only the count speaks, and a count not found says nothing
    assert cart_lines(reading(fields={"count": "0"}), catalog, reads_lines=False) == (None, 0)
    assert cart_lines(reading(fields={"count": None}), catalog, reads_lines=False) == (None, None)


def test_the_customer_a_page_names(rules: RuleSet) -> None:
    assert customer_of(reading(fields={"email": " jane@example.com "})) == (None, "jane@example.com")
    assert customer_of(reading(fields={"id": "c17"})) == ("c17", None)
    assert customer_of(reading(present=False, fields={"id": "c17"})) == (None, None)


def test_a_page_event_needs_its_scope_and_something_read(rules: RuleSet) -> None:
    (source,) = rules.capture.pages
    assert page_event(source, reading(present=False), rules.catalog) is None
    assert page_event(source, reading(fields={"order_id": None, "total": None}), rules.catalog) is None
    with pytest.raises(CaptureError, match="no order line"):
        page_event(source, reading(fields={"order_id": "FJ-1"}), rules.catalog)


# -- request sources: outcome ---------------------------------------------------------------------------


def test_response_location_is_a_path(rules: RuleSet) -> None:
    assert Response(303, {"Location": "http://shop.example/basket/?x=1"}).location == "/basket/?x=1"
    assert Response(303, {"location": "/basket/"}).location == "/basket/"
    assert Response(200, {}).location == "" and Response(200, {}).ok and not Response(200, {}).redirect
    assert Response(302, {"location": "http://[::1"}).location == ""  # unparseable: nothing
    assert Response(404, {}).ok is False
    assert Response(303, {"location": "basket/"}, "/shop/add").location == "/shop/basket/"  # relative, as browsers resolve it
    assert Response(303, {"location": "../basket/"}, "/shop/cart/add").location == "/shop/basket/"
    assert Response(303, {"location": "?added=1"}, "/basket/add/").location == "/basket/add/?added=1"


def test_outcome_reads_fields_only_after_success(rules: RuleSet) -> None:
    source = next(s for s in rules.capture.requests if s.match("POST", "/basket/add/") is not None)
    names = dict(form={"product": "1005", "variant": "2011", "quantity": "2"}, json_body=None, query={}, params={},
                 headers={})
    assert source.outcome(**names, response=Response(303, {"location": "/basket/"})) == (True, {"product": "2011", "qty": "2"})
    assert source.outcome(**names, response=Response(303, {"location": "/shop/product/1005-ridge-runner/"})) == (False, {})
    names["form"] = {"product": "1013", "quantity": "1"}  # no variant: a product without sizes
    assert source.outcome(**names, response=Response(303, {"location": "/basket/"}))[1]["product"] == "1013"


def test_outcome_names_the_expression_that_failed(tmp_path: Path) -> None:
    rules = rules_from_text(tmp_path, """
        capture:
          events:
            - event: add_to_cart
              request: {path: "/add/{product}/"}
              fields:
                product: params.product
                qty: json['items'][0].qty > 1
              success: response.status == 200
        slots: []
    """)
    (source,) = rules.capture.requests
    assert source.match("POST", "/add/42/") == {"product": "42"} and source.match("GET", "/add/42/") is None
    with pytest.raises(ValueError, match="field 'qty' failed"):
        source.outcome(form={}, json_body={"items": []}, query={}, params={"product": "42"}, headers={},
                       response=Response(200, {}))


def test_a_regex_source_gives_its_named_groups_as_params(tmp_path: Path) -> None:
    rules = rules_from_text(tmp_path, """
        capture:
          events:
            - event: add_to_cart
              request: {method: [POST, PUT], regex: "^/cart/(?P<sku>[0-9]+)/add$", query: {ajax: "1"}}
              fields:
                product: params.sku
                qty: query.qty
                size: headers['x-size']
        slots: []
    """)
    (source,) = rules.capture.requests
    assert source.match("PUT", "/cart/77/add", "ajax=1") == {"sku": "77"}
    assert source.match("POST", "/cart/77/add", "ajax=0") is None
    ok, fields = source.outcome(form={}, json_body=None, query={"qty": "3"}, params={"sku": "77"},
                                headers={"x-size": "M"}, response=Response(204, {}))
    assert ok and fields == {"product": "77", "qty": "3", "size": "M"}
    assert source.outcome(form={}, json_body=None, query={}, params={}, headers={}, response=Response(400, {})) == (False, {})


# -- the GA4 dataLayer (and Universal Analytics) ----------------------------------------------------------

ITEM = {"item_id": "1005", "item_name": "Ridge Runner", "item_category": "Trail Shoes", "item_variant": "42",
        "price": 119.0, "quantity": 2}
GA4_PURCHASE = {"event": "purchase", "ecommerce": {
    "transaction_id": "FJ-10001", "value": 149.7, "shipping": 4.9, "currency": "EUR",
    "items": [{**ITEM, "quantity": 1}, {"item_id": "1019", "item_name": "Liner Sock 2-pack", "item_category": "Socks",
                                         "price": 12.9, "quantity": 2}]}}


def test_ga4_add_and_remove_one_event_per_item(rules: RuleSet) -> None:
    push = {"event": "add_to_cart", "ecommerce": {"currency": "EUR", "value": 238.0, "items": [ITEM, {**ITEM, "item_id": "1013", "item_variant": None}]}}
    events = datalayer_events(push, DataLayer(), rules.catalog)
    assert events == [
        {"type": "add_to_cart", "props": {"product": "1005", "size": "42", "qty": 2, "price": 119.0,
                                          "category": "trail-shoes", "name": "Ridge Runner", "currency": "EUR"}},
        {"type": "add_to_cart", "props": {"product": "1013", "qty": 2, "price": 119.0, "category": "trail-shoes",
                                          "name": "Ridge Runner", "currency": "EUR"}},
    ]
    removed = datalayer_events({"event": "remove_from_cart", "ecommerce": {"items": [ITEM]}}, DataLayer(), rules.catalog)
    assert removed == [{"type": "remove_from_cart", "props": {"product": "1005", "size": "42"}}]


def test_ga4_purchase(rules: RuleSet) -> None:
    (event,) = datalayer_events(GA4_PURCHASE, DataLayer(), rules.catalog)
    assert event["type"] == "purchase"
    assert {k: event["props"][k] for k in ("order_id", "total", "currency")} == {"order_id": "FJ-10001", "total": 149.7,
                                                                                  "currency": "EUR"}
    assert [(line["product"], line.get("size"), line["qty"], line["category"]) for line in event["props"]["lines"]] == [
        ("1005", "42", 1, "trail-shoes"), ("1019", None, 2, "socks")]


def test_gtag_style_after_the_tags_normalisation_is_the_same_push(rules: RuleSet) -> None:
    """``gtag('event', 'purchase', {...})`` reaches the server as ``{event, ecommerce: {...}}`` (tag.js ``pushed``)."""
    params = GA4_PURCHASE["ecommerce"]
    assert datalayer_events({"event": "purchase", "ecommerce": params}, DataLayer(), rules.catalog) == \
        datalayer_events(GA4_PURCHASE, DataLayer(), rules.catalog)


def test_universal_analytics_shapes(rules: RuleSet) -> None:
    product = {"id": "1005", "name": "Ridge Runner", "category": "Trail Shoes", "variant": "42", "price": "119.00",
               "quantity": 1}
    add = datalayer_events({"event": "addToCart", "ecommerce": {"currencyCode": "EUR", "add": {"products": [product]}}},
                           DataLayer(), rules.catalog)
    assert add == [{"type": "add_to_cart", "props": {"product": "1005", "size": "42", "qty": 1, "price": 119.0,
                                                     "category": "trail-shoes", "name": "Ridge Runner", "currency": "EUR"}}]
    remove = datalayer_events({"event": "removeFromCart", "ecommerce": {"remove": {"products": [product]}}},
                              DataLayer(), rules.catalog)
    assert remove == [{"type": "remove_from_cart", "props": {"product": "1005", "size": "42"}}]
    (purchase,) = datalayer_events({"ecommerce": {"currencyCode": "EUR", "purchase": {
        "actionField": {"id": "T-1", "revenue": "123.90"}, "products": [product]}}}, DataLayer(), rules.catalog)
    assert (purchase["props"]["order_id"], purchase["props"]["total"], purchase["props"]["currency"]) == ("T-1", 123.9, "EUR")


def test_a_cart_line_says_the_currency_its_price_is_in(rules: RuleSet) -> None:
    """A store selling in several currencies: an added line's price is the push's currency's (GA4's ``currency``,
    UA's ``currencyCode``), the line's own field's or price text's, else the page's (``currency``); never guessed."""
    catalog = rules.catalog
    ga4 = {"event": "add_to_cart", "ecommerce": {"currency": "gbp", "items": [ITEM]}}
    assert [e["props"]["currency"] for e in datalayer_events(ga4, DataLayer(), catalog, currency="EUR")] == ["GBP"]
    ua = {"event": "addToCart", "ecommerce": {"currencyCode": "GBP", "add": {"products": [{"id": "1005", "price": "85"}]}}}
    assert [e["props"]["currency"] for e in datalayer_events(ua, DataLayer(), catalog)] == ["GBP"]
    bare = {"event": "add_to_cart", "ecommerce": {"items": [ITEM]}}  # the push names none: the page's, else none
    assert [e["props"].get("currency") for e in datalayer_events(bare, DataLayer(), catalog, currency="GBP")] == ["GBP"]
    assert [e["props"].get("currency") for e in datalayer_events(bare, DataLayer(), catalog)] == [None]
    assert build_event("add_to_cart", {"product": "1005", "price": "£85.00"}, (), catalog, "EUR")["props"]["currency"] == "GBP"
    assert build_event("add_to_cart", {"product": "1005", "currency": "gbp", "price": "85"}, (), catalog)["props"]["currency"] == "GBP"
    assert build_event("add_to_cart", {"product": "1005", "price": "85"}, (), catalog, "GBP")["props"]["currency"] == "GBP"
    basket = reading(fields={"count": "1"}, lines=[{"product": "1005", "total": "85.00"}])
    assert cart_lines(basket, catalog, reads_lines=True, currency="GBP")[0] == [
        {"product": "1005", "qty": 1, "price": 85.0, "currency": "GBP"}]


def test_the_rules_choose_events_and_item_fields(rules: RuleSet) -> None:
    settings = DataLayer(events=("purchase",), product="item_sku", size="item_size", category="item_category2")
    assert datalayer_events({"event": "add_to_cart", "ecommerce": {"items": [ITEM]}}, settings, rules.catalog) == []
    push = {"event": "purchase", "ecommerce": {"transaction_id": 7, "items": [
        {"item_sku": "A-1", "item_size": "m", "item_category2": "Base Layers", "quantity": 1}]}}
    (event,) = datalayer_events(push, settings, rules.catalog)
    assert event["props"]["order_id"] == "7"
    assert event["props"]["lines"] == [{"product": "A-1", "size": "M", "qty": 1, "category": "base-layers"}]


@pytest.mark.parametrize("push, problem", [
    ("not an object", "not an object"),
    ({"event": "add_to_cart", "ecommerce": {"items": [{"item_name": "no id"}]}}, "no product"),
    ({"event": "add_to_cart", "ecommerce": {"items": "x"}}, "no items"),
    ({"event": "purchase", "ecommerce": {"value": 5, "items": [ITEM]}}, "no order id"),
    ({"event": "purchase", "ecommerce": {"transaction_id": "T", "items": []}}, "no order line"),
    ({"ecommerce": {"purchase": {"actionField": "x", "products": [{"id": "1"}]}}}, "no order id"),
])
def test_malformed_pushes_make_no_event_and_say_why(rules: RuleSet, push: Any, problem: str) -> None:
    problems: list[str] = []
    assert datalayer_events(push, DataLayer(), rules.catalog, problems) == []
    assert any(problem in p for p in problems), problems


def test_one_bad_item_does_not_lose_the_others(rules: RuleSet) -> None:
    problems: list[str] = []
    push = {"event": "add_to_cart", "ecommerce": {"items": [{"item_name": "no id"}, ITEM]}}
    events = datalayer_events(push, DataLayer(), rules.catalog, problems)
    assert [e["props"]["product"] for e in events] == ["1005"] and len(problems) == 1


def test_pushes_that_are_not_ecommerce_are_ignored_quietly(rules: RuleSet) -> None:
    problems: list[str] = []
    for push in ({"event": "view_item", "ecommerce": {"items": [ITEM]}}, {"ecommerce": None}, {"event": "gtm.js"},
                 {"event": "begin_checkout", "ecommerce": {"items": [ITEM]}}):
        assert datalayer_events(push, DataLayer(), rules.catalog, problems) == []
    assert problems == []


def test_a_login_from_a_request_must_say_what_success_looks_like(tmp_path: Path) -> None:
    """A login through the proxy is trusted: without ``success`` a wrong password (200, the form again) would
    link whoever typed a customer's e-mail to that customer's profile."""
    from slotwise.rules.errors import RulesError

    login = """
        capture:
          events:
            - event: login
              request: {path: "/login"}
              fields: {email: form.email}
              %s
        slots: []
    """
    with pytest.raises(RulesError, match="a login read from a request needs 'success'"):
        rules_from_text(tmp_path, login % "")
    assert rules_from_text(tmp_path, login % "success: response.status == 303").capture.requests
    assert rules_from_text(tmp_path, login % "confirm: {present: '.welcome'}").capture.requests
