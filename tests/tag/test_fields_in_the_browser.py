"""The tag's page reader gives what the proxy's gives, JSON items included.

In tag-only mode the tag reads the rules' groups (``tag.js`` ``group``) and
the server cleans them (``Group.clean``); behind the proxy selectolax reads
them (``read_groups``). A group whose items are a JSON list sends the list's
text (``lines_json``). The functions are taken from tag.js as shipped.
"""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any

import pytest

from slotwise.rules.extract import read_groups
from slotwise.rules.reading import read_extract
from slotwise.rules.testing import rules_from_text
from slotwise.tag import assets

pytestmark = pytest.mark.browser

RULES = """
catalog:
  product_pages: "/p/{product}"
  sizes:
    items: {json: "form.variations_form @data-product_variations"}
    id: variation_id
    size: attributes.attribute_pa_size
capture:
  cart:
    within: "#cart"
    lines: {items: "li", product: "a @href", qty: ".qty"}
  events:
    - event: purchase
      page: "/thanks/"
      fields: {order_id: "#order @data-id"}
      lines: {items: {json: "script#order", key: lines}, product: id, qty: n}
slots: []
"""
VARIATIONS = [{"variation_id": 31, "attributes": {"attribute_pa_size": "s"}},
              {"variation_id": 32, "attributes": {"attribute_pa_size": "m & <l>"}}]
ORDER = {"lines": [{"id": "21", "n": 2}, {"id": "26", "n": 1}]}
PAGE = (f'<form class="variations_form" data-product_variations="{escape(json.dumps(VARIATIONS))}"></form>'
        '<ul id="cart"><li><a href="/p/21">Hoodie</a> <span class="qty">2</span></li></ul>'
        f'<div id="order" data-id="101"></div><script type="application/json" id="order">{json.dumps(ORDER)}</script>')


def _functions() -> str:
    source = assets.tag_source().decode()
    found = re.search(r"function find\(scope, c\) \{.*?\nfunction group\(g\) \{.*?\n\}\n", source, re.DOTALL)
    assert found, "tag.js has no find ... group"
    return found.group(0)


def test_the_tag_reads_each_group_as_the_proxy_does(browser: Any, tmp_path: Any) -> None:
    rules = rules_from_text(tmp_path, RULES)
    groups = {**rules.catalog.product_groups(), **rules.capture.page_groups(None)}
    page = browser.new_page()
    try:
        page.set_content(f"<!doctype html><title>fields</title><body>{PAGE}</body>")
        raw = page.evaluate(f"(gs) => {{ var d = document, A = Array.prototype, BOOL = {{}}; {_functions()}"
                            "var o = {}; for (var k in gs) o[k] = group(gs[k]); return o; }",
                            {name: g.to_json() for name, g in groups.items()})
    finally:
        page.close()
    from_tag = dict(read_extract({"values": raw}, rules.catalog, groups).groups)
    from_proxy = read_groups(f"<html><body>{PAGE}</body></html>".encode(), groups)
    assert from_tag == from_proxy
    assert [line["size"] for line in from_tag["sizes"]["lines"]] == ["s", "m & <l>"]
    (order,) = [v for name, v in from_tag.items() if name.startswith("ev:")]
    assert [(line["product"], line["qty"]) for line in order["lines"]] == [("21", "2"), ("26", "1")]


TYPED = """
catalog:
  product_pages: "/{product}.html"
  category_pages: "/{category}.html"
  page_types: {product: "body.catalog-product-view", category: "body.catalog-category-view"}
slots: []
"""


@pytest.mark.parametrize("body_class, kind", [("page-products catalog-category-view", "category"),
                                              ("catalog-product-view product-hero", "product"), ("cms-page", "other")],
                         ids=["category", "product", "neither"])
def test_the_tag_says_which_page_type_selector_matched_as_the_proxy_reads_it(
        browser: Any, tmp_path: Any, body_class: str, kind: str) -> None:
    """``catalog.page_types``: the tag reads each type's selector as a group (``extract`` sends the ones present);
    the server's facts from it are the proxy's from the HTML."""
    from slotwise.rules import page_facts

    rules = rules_from_text(tmp_path, TYPED)
    groups = rules.catalog.extract_groups()
    html = f'<!doctype html><title>Men</title><body class="{body_class}"><h1>Men</h1></body>'
    page = browser.new_page()
    try:
        page.set_content(html)
        raw = page.evaluate(f"(gs) => {{ var d = document, A = Array.prototype, BOOL = {{}}; {_functions()}"
                            "var o = {}; for (var k in gs) { var r = group(gs[k]); if (r) o[k] = r; } return o; }",
                            {name: g.to_json() for name, g in groups.items()})
    finally:
        page.close()
    from_tag = page_facts("/men.html", "", None, rules, reading=read_extract({"values": raw}, rules.catalog, groups))
    from_proxy = page_facts("/men.html", "", html.encode(), rules)
    assert (from_tag.type, dict(from_tag.params)) == (from_proxy.type, dict(from_proxy.params))
    assert from_tag.type == kind


COOKIE_RULES = """
catalog:
  currency: EUR
  page_currency: {cookie: cart_currency}
slots: []
"""
SET_COOKIES = (
    "cart_currency=GBP; Path=/",
    "OptanonConsent=isGpcEnabled=0&groups=C0001%3A1%2CC0002%3A0; Path=/",
    "wordpress_logged_in_5f3a=ana%7C1767225600%7Ctoken; Path=/; HttpOnly",  # the tag never sees it
    "sw_probe=not-the-rules; Path=/",  # Slotwise's own: no rule reads it
)


def test_the_tag_reads_cookie_fields_from_document_cookie(browser: Any, tmp_path: Any, page_server: Any) -> None:
    """Tag-only: the tag (with its cookie reader) reads ``document.cookie`` of a real page whose response set the
    cookies, URL-decoded, a last ``*`` as a prefix; an HttpOnly cookie is invisible to it (``rules check`` warns),
    ``sw_*`` never read. The proxy reads the same fields from the same response's cookies, the HttpOnly one too."""
    from page_server import Page

    from slotwise.rules import page_facts
    from slotwise.rules.cookies import page_cookies
    from slotwise.rules.extract import Field, Group
    from slotwise.rules.reading import PageReading, cookie_values, with_cookies

    rules = rules_from_text(tmp_path, COOKIE_RULES)
    groups = {**rules.catalog.page_groups("other"), "cookies": Group(fields={
        "consent": Field(cookie="OptanonConsent", match=re.compile(r"C0002:(\d)")),
        "login": Field(cookie="wordpress_logged_in_*", match=re.compile(r"^([^|]+)")),
        "ours": Field(cookie="s*"),  # a prefix that covers ours too: only the store's
        "title": Field("h1")})}
    html = b"<!doctype html><title>All</title><body><h1>All</h1></body>"
    shop = page_server({"/c/all": Page(html, headers=(("content-type", "text/html"),
                                                        *(("set-cookie", c) for c in SET_COOKIES)))})
    code = assets.bundle({"v": 1, "cookies": 1}).source.decode()
    found = re.search(r"function find\(scope, c\) \{.*?\nfunction group\(g\) \{.*?\n\}\n", code, re.DOTALL)
    assert found and "function cookie(" in found.group(0)
    page = browser.new_page()
    try:
        page.goto(shop.url + "/c/all")
        raw = page.evaluate(f"(gs) => {{ var d = document, A = Array.prototype, BOOL = {{}}; {found.group(0)}"
                            "var o = {}; for (var k in gs) o[k] = group(gs[k]); return o; }",
                            {name: g.to_json() for name, g in groups.items()})
    finally:
        page.close()
    from_tag = read_extract({"values": raw}, rules.catalog, groups)
    assert from_tag.group("cookies")["fields"] == {"consent": "0", "login": None, "ours": None, "title": "All"}
    assert page_facts("/c/all", "", None, rules, reading=from_tag).currency == "GBP"
    from_proxy = with_cookies(PageReading(groups=read_groups(html, groups)), groups,
                              cookie_values(groups, page_cookies([], [("set-cookie", c) for c in SET_COOKIES])))
    assert from_proxy.group("page_currency") == from_tag.group("page_currency")
    assert from_proxy.group("cookies")["fields"] == {"consent": "0", "login": "ana", "ours": None, "title": "All"}


SCRIPT_DATA = {"cart": {"products": [{"id_product": "1", "price_amount": 23.9, "attributes": {"Size": "M"}}],
                        "products_count": 1, "totals": {"total": {"amount": 23.0}}},
               "customer": {"email": "pub@prestashop.com", "is_logged": True, "birthday": None},
               "urls": {"base_url": "http://shop.example/"}, "tiny": 1e-7, "big": 12345678901234567890,
               "text": "Café <b> & \u2028 \"quoted\""}
SCRIPT_FIELDS = {  # name: (field, what both read)
    "email": ({"script": ("prestashop", "customer", "email")}, "pub@prestashop.com"),
    "logged": ({"script": ("prestashop", "customer", "is_logged")}, "true"),
    "birthday": ({"script": ("prestashop", "customer", "birthday")}, None),  # null
    "customer": ({"script": ("prestashop", "customer")}, None),  # an object
    "size": ({"script": ("prestashop", "cart", "products", "0", "attributes", "Size")}, "M"),
    "price": ({"script": ("prestashop", "cart", "products", "0", "price_amount")}, "23.9"),
    "total": ({"script": ("prestashop", "cart", "totals", "total", "amount")}, "23"),  # 23.0: the browser's 23
    "tiny": ({"script": ("prestashop", "tiny")}, "1e-7"),
    "big": ({"script": ("prestashop", "big")}, "12345678901234567000"),
    "text": ({"script": ("prestashop", "text")}, "Café <b> & \"quoted\""),  # spaces as every field's
    "base": ({"script": ("prestashop", "urls", "base_url")}, "http://shop.example/"),  # json_encode's \/
    "no_step": ({"script": ("prestashop", "cart", "products", "1", "id_product")}, None),
    "length": ({"script": ("prestashop", "cart", "products", "length")}, None),  # a list has only indexes
    "meta": ({"script": ("ShopifyAnalytics", "meta", "product", "id")}, "7"),
    "bc": ({"script": ("BCData", "product_attributes", "sku")}, "SKU-1"),
    "next": ({"css": "script#__NEXT_DATA__", "json": ("props", "pageProps", "product", "id")}, "42"),
    "next_bad": ({"css": "script#broken", "json": ("a",)}, None),
}


def test_the_tag_reads_script_data_as_the_proxy_does(browser: Any, tmp_path: Any, page_server: Any) -> None:
    """Tag-only, the tag (with its script data reader) reads the live globals a real page's scripts assigned and
    an element's JSON text; the proxy reads the same page's HTML without running a script: the same text for
    every field. Where the two differ (docs/capture.md): a ``const`` global is the page's but not ``window``'s (only
    the proxy reads it); a literal that is JavaScript but no JSON runs in the browser (only the tag reads it)."""
    from page_server import Page

    from slotwise.rules.extract import Field, Group

    prestashop = json.dumps(SCRIPT_DATA, ensure_ascii=False).replace("/", "\\/")  # as PHP's json_encode prints it
    html = ("<!doctype html><html><head><title>Shop</title>"
            f'<script type="text/javascript">\n    var prestashop = {prestashop};\n</script>'
            "<script>window.ShopifyAnalytics = window.ShopifyAnalytics || {};\n"
            'ShopifyAnalytics.meta = {"product": {"id": 7}};\nwindow["BCData"] = {"product_attributes": {"sku": "SKU-1"}};'
            "\nvar Quoted = {'a': 1};\nconst Lexical = {\"a\": 1};</script>"
            '<script id="__NEXT_DATA__" type="application/json">{"props": {"pageProps": {"product": {"id": 42}}}}</script>'
            '<script id="broken" type="application/json">{"a": </script>'
            "</head><body><h1>Shop</h1></body></html>").encode()
    group = Group(fields={name: Field(**spec) for name, (spec, _) in SCRIPT_FIELDS.items()}
                  | {"lexical": Field(script=("Lexical", "a")), "quoted": Field(script=("Quoted", "a"))})
    shop = page_server({"/": Page(html)})
    code = assets.bundle({"v": 1, "scripts": 1}).source.decode()
    found = re.search(r"function find\(scope, c\) \{.*?\nfunction group\(g\) \{.*?\n\}\n", code, re.DOTALL)
    assert found and "function walk(" in found.group(0)
    page = browser.new_page()
    try:
        page.goto(shop.url + "/")
        raw = page.evaluate("(g) => { var w = window, d = document, A = Array.prototype, BOOL = {}; "
                            f"function each(list, f) {{ A.forEach.call(list || [], f); }} {found.group(0)} return group(g); }}",
                            group.to_json())
    finally:
        page.close()
    from_tag = group.clean(raw)["fields"]
    from_proxy = read_groups(html, {"g": group})["g"]["fields"]
    assert {name: from_tag[name] for name in SCRIPT_FIELDS} == {name: want for name, (_, want) in SCRIPT_FIELDS.items()}
    assert from_proxy == {**from_tag, "lexical": "1", "quoted": None}
    assert (from_tag["lexical"], from_tag["quoted"]) == (None, "1")
