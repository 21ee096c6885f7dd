"""Script fields (``{script: PATH}``, ``{css, json: PATH}``): the proxy's reader of the JSON a page's scripts
assign or hold (``rules.script_data``), what the fields compile to, the tag that carries their reader only when a
field needs one, and what ``rules check --url`` says of them. Bad ones: tests/rules/broken/bad-script-fields.yaml;
the tag's reader against this one in Chromium: tests/tag/test_fields_in_the_browser.py."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st
from page_server import Page

from slotwise.cli import main
from slotwise.rules.extract import Field, Group, read_groups
from slotwise.rules.script_data import MAX_LITERAL, js_number, scalar_text
from slotwise.rules.tag_config import tag_config
from slotwise.rules.testing import rules_from_text
from slotwise.tag import assets

FORMS = {
    "var": "var {name} = {value};",
    "let": "let {name}={value}\n",
    "const": "const {name} =\n  {value};",
    "window": "window.{name} = {value};",
    "bare": "{name} = {value}",
    "window-quoted": 'window["{name}"] = {value};',
    "window-single-quoted": "window[ '{name}' ]= {value};",
}


def page_of(*scripts: str, head: str = "") -> bytes:
    """A page whose inline scripts are ``scripts`` (with a store's other script around them)."""
    body = "".join(f'<script type="text/javascript">var other = 1;\n{s}\n</script>' for s in scripts)
    return f"<!doctype html><html><head>{head}{body}</head><body><h1>Shop</h1></body></html>".encode()


def for_html(value: Any) -> str:
    """``value`` as a store prints it into a script: JSON with ``<`` escaped (json_encode's HEX_TAG, Rails'
    json_escape), so no text in it ends the script element."""
    return json.dumps(value).replace("<", "\\u003c")


def read(html: bytes, **fields: Field) -> dict[str, str | None]:
    return read_groups(html, {"g": Group(fields=fields)})["g"]["fields"]


def raw(html: bytes, steps: tuple[str, ...]) -> str | None:
    """What the proxy's reader sends to cleaning for ``{script: PATH}`` (before whitespace and ``match``)."""
    from selectolax.lexbor import LexborHTMLParser

    from slotwise.rules.extract import PageScripts

    return PageScripts(LexborHTMLParser(html)).read(steps)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def leaves(value: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every path to a value inside ``value`` whose keys a dotted path can name, with the value there."""
    out = [(path, value)]
    if isinstance(value, dict):
        for key, inner in value.items():
            if key and "." not in key and key.strip() == key:
                out += leaves(inner, (*path, key))
    elif isinstance(value, list):
        for n, inner in enumerate(value):
            out += leaves(inner, (*path, str(n)))
    return out


@settings(max_examples=150, deadline=None)
@given(value=JSON, form=st.sampled_from(sorted(FORMS)), name=st.sampled_from(["prestashop", "BCData", "$data", "_x1"]),
       pick=st.integers(min_value=0))
def test_any_json_value_assigned_in_any_form_reads_back(value: Any, form: str, name: str, pick: int) -> None:
    """Whatever JSON a script assigns, in each supported form, the proxy reads back at every path into it: a text,
    number or boolean as JavaScript's String() writes it (what the tag sends), a list, object or null as nothing."""
    html = page_of(FORMS[form].format(name=name, value=for_html(value)))
    paths = leaves(value)
    path, found = paths[pick % len(paths)]
    assert raw(html, (name, *path)) == scalar_text(found)
    if isinstance(found, str):
        assert raw(html, (name, *path)) == found  # a text exactly as the store wrote it


@settings(max_examples=60, deadline=None)
@given(value=JSON, pick=st.integers(min_value=0))
def test_any_json_text_of_an_element_reads_back(value: Any, pick: int) -> None:
    paths = [(p, v) for p, v in leaves(value) if p]
    if not paths:
        return
    path, found = paths[pick % len(paths)]
    html = page_of(head=f'<script id="__NEXT_DATA__" type="application/json">{for_html(value)}</script>')
    assert read_groups(html, {"g": Group(fields={"f": Field(css="script#__NEXT_DATA__", json=path)})})["g"][
        "fields"]["f"] == Field().clean(scalar_text(found))


def test_a_dotted_global_the_last_assignment_and_only_inline_javascript() -> None:
    html = page_of(
        'window.ShopifyAnalytics = window.ShopifyAnalytics || {};\nShopifyAnalytics.meta = {"product": {"id": 7}};',
        'var meta = {"page": {"pageType": "home"}};',
        'var meta = {"page": {"pageType": "product"}};',  # later in the page: what the global holds once they ran
        head='<script src="/x.js">var BCData = {"a": 1};</script><script type="text/template">var BCData = {"a": 2};'
             '</script><script type="module">var BCData = {"a": 3};</script>')
    assert read(html, id=Field(script=("ShopifyAnalytics", "meta", "product", "id")),
                kind=Field(script=("meta", "page", "pageType")), a=Field(script=("BCData", "a"))) == {
        "id": "7", "kind": "product", "a": "3"}


@pytest.mark.parametrize("literal", [
    "{'customer': {'email': 'a@b.c'}}",          # single quotes: JavaScript, not JSON
    "function () { return 1; }",
    "window.prestashop || {}",
    "NaN",
    '{"customer": {"email": "a@b.c"}',           # cut
    "",
], ids=["single-quotes", "function", "or", "nan", "cut", "nothing"])
def test_a_literal_that_is_no_json_reads_as_nothing(literal: str) -> None:
    assert read(page_of(f"var prestashop = {literal};"), e=Field(script=("prestashop", "customer", "email")),
                n=Field(script=("prestashop",))) == {"e": None, "n": None}


def test_a_comparison_or_a_property_of_another_object_is_no_assignment() -> None:
    html = page_of('if (prestashop == {"a": 1}) {}', 'x.prestashop = {"a": 2};', 'myprestashop = {"a": 3};',
                   'f = (prestashop) => {"a": 4}', 'var prestashopX = {"a": 5};')
    assert read(html, a=Field(script=("prestashop", "a"))) == {"a": None}


def test_a_huge_literal_is_bounded() -> None:
    """A literal past ``MAX_LITERAL`` is not decoded (nothing), one under it is; either way in bounded time."""
    big = {"customer": {"email": "a@b.c"}, "pad": "x" * MAX_LITERAL}
    small = {"customer": {"email": "a@b.c"}, "pad": "x" * (MAX_LITERAL - 1000)}
    field = Field(script=("prestashop", "customer", "email"))
    started = time.process_time()  # CPU time: a loaded machine stretches the wall time of bounded work
    assert read(page_of(f"var prestashop = {json.dumps(big)};"), e=field) == {"e": None}
    assert read(page_of(f"var prestashop = {json.dumps(small)};"), e=field) == {"e": "a@b.c"}
    many = page_of(*[f"var prestashop = {json.dumps(big)};"] * 8)
    assert read(many, e=field) == {"e": None}
    assert time.process_time() - started < 5
    huge_json = f'<script id="d" type="application/json">{json.dumps(big)}</script>'
    assert read(page_of(head=huge_json), j=Field(css="#d", json=("customer", "email"))) == {"j": None}


def test_many_assignments_cost_one_pass() -> None:
    """A script of tens of thousands of assignments (a minified bundle's counter) is read in one pass over it:
    each literal is decoded where it stands, never copied, and the search goes on after it."""
    html = page_of("prestashop = 1;" * 60000 + 'prestashop = {"customer": {"email": "z@y.x"}};' + "x = 1;" * 60000)
    started = time.process_time()  # CPU time, as above
    assert read(html, e=Field(script=("prestashop", "customer", "email"))) == {"e": "z@y.x"}
    assert time.process_time() - started < 2


@pytest.mark.parametrize(("number", "text"), [
    (1, "1"), (1.0, "1"), (-0.0, "0"), (1.5, "1.5"), (0.1, "0.1"), (1e-7, "1e-7"), (0.000001, "0.000001"),
    (1.25e-5, "0.0000125"), (1e20, "100000000000000000000"), (1e21, "1e+21"), (-2.5e-7, "-2.5e-7"),
    (123456789012345678, "123456789012345680"), (12345678901234567890, "12345678901234567000"),
    (10 ** 400, "Infinity"), (math.inf, "Infinity"), (1.7976931348623157e308, "1.7976931348623157e+308"),
], ids=lambda v: repr(v)[:24])
def test_numbers_read_as_the_browser_writes_them(number: int | float, text: str) -> None:
    """The tag sends a number as String(number) does; the proxy writes the page's literal the same way."""
    assert js_number(number) == text


def test_fields_compile_and_go_to_the_tag(tmp_path: Path) -> None:
    rules = rules_from_text(tmp_path, """
        catalog:
          product_pages: "/p/{product}"
          page_currency: {script: prestashop.currency.iso_code}
          selectors:
            id: {css: "script#__NEXT_DATA__", json: "props.pageProps.product.id", match: "(\\\\d+)"}
        slots: []
    """)
    assert rules.catalog.page_currency == Field(script=("prestashop", "currency", "iso_code"))
    assert rules.catalog.page_currency.to_json() == {"s": ["prestashop", "currency", "iso_code"]}
    selector = rules.catalog.selectors["id"]
    assert (selector.css, selector.json, selector.match.pattern) == (  # type: ignore[union-attr]
        "script#__NEXT_DATA__", ("props", "pageProps", "product", "id"), "(\\d+)")
    assert selector.to_json() == {"c": "script#__NEXT_DATA__", "j": ["props", "pageProps", "product", "id"]}


def test_the_tag_carries_the_reader_only_when_a_field_reads_a_script(tmp_path: Path) -> None:
    """In the tag-only tag when any field reads a script's data; in the tag the proxy injects only when a click or
    submit trigger's does (the proxy reads the page's own fields from its HTML)."""
    page_only = rules_from_text(tmp_path, """
        capture:
          customer: {email: {script: prestashop.customer.email}}
        slots: []
    """)
    trigger = rules_from_text(tmp_path, """
        capture:
          events:
            - event: add_to_cart
              click: "button.quick-add"
              fields: {product: "@data-sku", size: {script: meta.product.size}}
        slots: []
    """, name="trigger.yaml")
    plain = rules_from_text(tmp_path, "slots: []\n", name="plain.yaml")

    def reads(rules: Any, tag_only: bool, variant: str) -> bool:
        return "function walk(" in assets.bundle(tag_config(rules, tag_only=tag_only), variant).source.decode()

    assert [reads(page_only, True, "full"), reads(page_only, False, "proxy")] == [True, False]
    assert [reads(trigger, True, "full"), reads(trigger, False, "proxy")] == [True, True]
    assert [reads(plain, True, "full"), reads(plain, False, "proxy")] == [False, False]
    for variant, budget in (("full", 10 * 1024), ("proxy", 6.25 * 1024)):  # tests/tag/test_assets.py's budgets
        assert len(assets.bundle({"v": 1, "scripts": 1}, variant).compressed) < budget
        reader = (len(assets.bundle({"v": 1, "scripts": 1}, variant).compressed)
                  - len(assets.bundle({"v": 1, "scripts": 0}, variant).compressed))
        assert 0 < reader < 200, f"the script data reader takes {reader} bytes gzipped"


CHECKED = """
catalog:
  product_pages: "/p/{product}"
  currency: EUR
  page_currency: {script: prestashop.currency.iso_code}
  selectors:
    name: {script: prestashop.page.page_name}
    other_id: {css: "script#__NEXT_DATA__", json: "props.pageProps.product.id"}
    brand: {script: prestashop.shop}
    category: {script: prestashop.page.nope}
    image: {script: BCData.product_attributes.sku}
capture:
  customer:
    email: {script: prestashop.customer.email}
slots: []
"""


def test_rules_check_says_what_script_fields_read_on_a_live_page(
        tmp_path: Path, page_server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    data = {"currency": {"iso_code": "GBP"}, "customer": {"email": "ana@example.com"},
            "page": {"page_name": "product"}, "shop": {"name": "Fixture"}}
    html = page_of(f"var prestashop = {for_html(data)};", "var BCData = {'product_attributes': {}};",
                   head='<script id="__NEXT_DATA__" type="application/json">{"props": {"pageProps": '
                        '{"product": {"id": 42}}}}</script>')
    shop = page_server({"/p/1": Page(html)})
    path = tmp_path / "rules.yaml"
    path.write_text(CHECKED, encoding="utf-8")
    assert main(["rules", "check", str(path), "--url", shop.url + "/p/1"]) == 0
    out = capsys.readouterr().out
    assert "  currency GBP (catalog.page_currency)" in out
    assert "  customer: e-mail a***@example.com" in out
    assert "  script data (read from the page's scripts; in tag-only mode the tag reads the live global):" in out
    for line in (
        "    page_currency currency (script prestashop.currency.iso_code): 'GBP'",
        "    customer email (script prestashop.customer.email): 'a***@example.com'",
        "    product name (script prestashop.page.page_name): 'product'",
        "    product other_id (script#__NEXT_DATA__ json props.pageProps.product.id): '42'",
        "    product brand (script prestashop.shop): nothing: prestashop.shop is an object: name a text, "
        "number or boolean in it",
        "    product category (script prestashop.page.nope): nothing: prestashop.page has no 'nope'",
        "    product image (script BCData.product_attributes.sku): nothing: BCData.product_attributes.sku is "
        "assigned no JSON literal (single quotes, a call, a || b: read as nothing; or one longer than 512 KB)",
    ):
        assert line in out, line
