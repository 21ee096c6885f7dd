"""Fields: the one small language rules read pages with (``slotwise.rules.extract``).

The proxy reads with selectolax, the tag with the DOM; both hand raw strings
to ``Group.clean``. These tests pin what a field reads — the scope itself,
attributes, boolean attributes, text with collapsed whitespace, regex groups,
constants — and that a reading from anywhere (a forged tag extract included)
is bounded and typed before anything uses it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from slotwise.rules.extract import MAX_ITEMS, MAX_VALUE, Field, Group, Items, read_group, read_groups
from slotwise.rules.testing import rules_from_text

MINICART = b"""<html><body><header>
<div id="minicart">
  <a class="basket-link" href="/basket/">Basket (<span class="count">3</span>)</a>
  <ul class="minicart-lines">
    <li class="minicart-line"><a href="/shop/product/1005-ridge-runner/?variant=2011">Ridge
        Runner</a> <span class="size">Size: 42</span> <span class="qty">Qty: 2</span> <span class="price">238,00&nbsp;\xe2\x82\xac</span></li>
    <li class="minicart-line"><a href="/shop/product/1019-liner-sock-2-pack/">Liner Sock 2-pack</a>
        <span class="qty">Qty: 1</span> <span class="price">12,90 \xe2\x82\xac</span></li>
  </ul>
</div></header>
<select id="variant"><option value="">Choose</option><option value="2010">41</option>
<option value="2012" disabled>43</option><option value="2013" disabled="disabled">44</option></select>
<a class="size-link" href="/p/2011">42</a>
</body></html>"""


def tree(html: bytes = MINICART) -> LexborHTMLParser:
    return LexborHTMLParser(html)


@pytest.mark.parametrize("text, field", [
    ("h1", Field("h1")),
    ("a @href", Field("a", "href")),
    ("@data-order-id", Field(None, "data-order-id")),
    ("text", Field()),
    ("td:nth-child(1) a @href", Field("td:nth-child(1) a", "href")),
    ("a[href^='/p/'] @href", Field("a[href^='/p/']", "href")),
    ("a[title='x @y']", Field("a[title='x @y']")),  # an @ inside the selector is not an attribute
])
def test_field_syntax(text: str, field: Field) -> None:
    assert Field.parse(text) == field


def test_fields_read_text_attributes_and_the_scope_itself() -> None:
    scope = tree().css_first("#minicart")
    group = Group(within="#minicart", fields={"count": Field(".count"), "link": Field(".basket-link", "href")},
                  lines=Items("li.minicart-line", {"product": Field("a", "href"), "name": Field("a"),
                                                   "size": Field(".size"), "self": Field(None, "class"),
                                                   "text": Field()}))
    values = group.clean(read_group(tree(), group))
    assert values["present"] is True
    assert values["fields"] == {"count": "3", "link": "/basket/"}
    first, second = values["lines"]
    assert first["product"] == "/shop/product/1005-ridge-runner/?variant=2011"
    assert first["name"] == "Ridge Runner"  # whitespace (a line break inside the link) collapsed
    assert first["size"] == "Size: 42" and second["size"] is None  # no size on a product without sizes
    assert first["self"] == "minicart-line"
    assert first["text"].startswith("Ridge Runner Size: 42 Qty: 2")
    assert scope is not None


def test_an_item_that_is_itself_the_link_reads_its_own_href() -> None:
    """``key: "a @href"`` on a menu whose items *are* links (a tile grid of ``<a>``)."""
    link = tree().css_first("a.size-link")
    from slotwise.rules.extract import read_field

    assert read_field(link, Field("a", "href")) == "/p/2011"
    assert read_field(link, Field(None, "href")) == "/p/2011"


def test_boolean_attributes_read_as_their_name_and_absent_ones_as_nothing() -> None:
    sizes = Group(lines=Items("select#variant option", {"id": Field(None, "value"), "size": Field(),
                                                         "sold_out": Field(None, "disabled")}))
    values = sizes.clean(read_group(tree(), sizes))
    assert values["lines"] == [
        {"id": None, "size": "Choose", "sold_out": None},  # value="" is nothing
        {"id": "2010", "size": "41", "sold_out": None},
        {"id": "2012", "size": "43", "sold_out": "disabled"},
        {"id": "2013", "size": "44", "sold_out": "disabled"},
    ]


def test_match_keeps_the_group_or_the_whole_match_and_constants_are_constant() -> None:
    assert Field(match=re.compile(r"Order number: (\S+)")).clean("Order number:   FJ-10001 ") == "FJ-10001"
    assert Field(match=re.compile(r"FJ-\d+")).clean("Order FJ-10001 placed") == "FJ-10001"
    assert Field(match=re.compile(r"(\d+)")).clean("no digits") is None
    assert Field(const="EUR").clean(None) == "EUR" and Field(const="EUR").clean("USD") == "EUR"
    assert Field().clean("   ") is None


def test_a_group_says_whether_its_scope_is_on_the_page() -> None:
    """An empty mini basket is not a page without one: only the second says nothing about the cart."""
    group = Group(within="#minicart", fields={"count": Field(".count")})
    assert read_groups(b"<html><body><p>no basket here</p></body></html>", {"cart": group})["cart"]["present"] is False
    empty = b'<html><body><div id="minicart"><span class="count">0</span><p class="empty">empty</p></div></body></html>'
    assert read_groups(empty, {"cart": group})["cart"] == {"present": True, "fields": {"count": "0"}, "lines": []}


def test_a_page_that_cannot_hold_the_scope_is_not_even_parsed() -> None:
    group = Group(within="#minicart .basket-rows", fields={"count": Field(".count")})
    assert group.quick_reject(b"<html><body>nothing</body></html>") is True
    assert group.quick_reject(MINICART) is True  # no "basket-rows" anywhere in these bytes
    assert Group(within="#minicart").quick_reject(MINICART) is False
    # a selector list: rejected only when no alternative can be there
    assert Group(within=".mini-basket, #minicart").quick_reject(MINICART) is False
    assert Group(within=".mini-basket, #basket-box").quick_reject(MINICART) is True
    assert Group(within=".mini-basket:not(.x)").quick_reject(MINICART) is True  # one alternative, judged
    assert Group(within="div:is(.x, .y), #none").quick_reject(MINICART) is False  # not judged: read it
    assert Group().quick_reject(b"") is False  # the whole page: always there


def test_to_json_is_what_the_tag_reads_with() -> None:
    group = Group(within="#order", fields={"order_id": Field(".ref strong"), "currency": Field(const="EUR")},
                  lines=Items("tr", {"product": Field("a", "href")}))
    assert group.to_json() == {"within": "#order", "fields": {"order_id": {"c": ".ref strong", "a": None}},
                               "lines": {"items": "tr", "fields": {"product": {"c": "a", "a": "href"}}}}
    assert Field(form="email").to_json() == {"f": "email"}


@pytest.mark.parametrize("raw", [None, "x", 5, [], {"present": False}, {"present": "yes", "fields": "nope"},
                                 {"present": True, "fields": {"count": {"$gt": 1}}, "lines": "x"}])
def test_clean_never_trusts_the_shape_of_a_reading(raw: object) -> None:
    values = Group(fields={"count": Field(".count")}, lines=Items("li", {"p": Field("a", "href")})).clean(raw)  # type: ignore[arg-type]
    assert set(values) == {"present", "fields", "lines"}
    assert all(v is None or isinstance(v, str) for v in values["fields"].values())
    assert values["lines"] == []


def test_clean_bounds_what_the_tag_sends() -> None:
    group = Group(fields={"name": Field("h1")}, lines=Items("li", {"p": Field("a", "href")}))
    raw = {"present": True, "fields": {"name": "x" * 50_000, "extra": "ignored"},
           "lines": [{"p": f"/p/{i}", "q": "ignored"} for i in range(5000)] + ["junk"]}
    values = group.clean(raw)
    assert len(values["fields"]["name"]) <= MAX_VALUE and "extra" not in values["fields"]
    assert len(values["lines"]) == MAX_ITEMS and values["lines"][0] == {"p": "/p/0"}


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["count", "x", "lines"]),
                       st.one_of(st.none(), st.integers(), st.text(max_size=30), st.booleans(),
                                 st.lists(st.text(max_size=5), max_size=3)), max_size=3))
def test_clean_is_total_over_junk(fields: dict[str, object]) -> None:
    values = Group(fields={"count": Field(".count")}).clean({"present": True, "fields": fields})
    assert values["fields"]["count"] is None or isinstance(values["fields"]["count"], str)


def test_fields_in_rules_compile_to_the_same_fields(tmp_path: Path) -> None:
    rules = rules_from_text(tmp_path, """
        catalog:
          product_pages: "/p/{product}"
          selectors:
            name: ".buy h1"
            price: {css: ".buy .price", match: "([0-9.,]+)"}
            in_stock: ".buy .stock @class"
            currency: {value: EUR}
        slots: []
    """)
    selectors = rules.catalog.selectors
    assert selectors["name"] == Field(".buy h1")
    assert selectors["price"].css == ".buy .price" and selectors["price"].match.pattern == "([0-9.,]+)"
    assert selectors["in_stock"] == Field(".buy .stock", "class")
    assert selectors["currency"] == Field(const="EUR")
