"""Catalog facts from what real product pages carry, best source first (``slotwise.rules.product_facts``).

JSON-LD, then Open Graph / ``product:`` meta, then microdata, then the
canonical link, then the rules' selectors: each fills only what the earlier
ones left empty. Availability is read with the store's own words and
classes; a page without a currency gets the rules' default. Recommendations
built from this catalog never show a product known to be sold out, nor a
size (a child product), and carry each product's real URL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from slotwise.profile import Profile
from slotwise.rules import page_facts, rank
from slotwise.rules.catalog import Availability, CatalogSettings
from slotwise.rules.product_facts import currency_of, structured_product
from slotwise.rules.ruleset import RuleSet
from slotwise.rules.testing import rules_from_text

RULES = """
catalog:
  product_pages: "/shop/product/{product:int}-{slug}/"
  category_pages: "/shop/category/{category}-{category_id:int}/"
  currency: EUR
  selectors:
    name: ".buy-box h1"
    price: ".buy-box .price"
    image: ".product-image @src"
    category: "ol.crumbs li:nth-child(2) a @href"
    in_stock: ".buy-box .instock, .buy-box .outofstock @class"
    brand: ".brand"
  availability:
    in_stock: ["In stock*"]
    out_of_stock: ["Unavailable", "outofstock"]
  sizes:
    items: "select#variant option"
    id: "@value"
    size: "text"
    in_stock: "@disabled"
slots: []
"""


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    return rules_from_text(tmp_path_factory.mktemp("facts"), RULES)


def page(head: str = "", body: str = "") -> bytes:
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>".encode()


JSONLD = '<script type="application/ld+json">' + json.dumps({
    "@context": "https://schema.org", "@type": "Product", "sku": "9999", "name": "From JSON-LD",
    "offers": {"@type": "Offer", "price": "10.00", "priceCurrency": "CHF", "availability": "https://schema.org/InStock"},
}) + "</script>"
OG = ('<meta property="og:type" content="product"><meta property="og:title" content="From OG">'
      '<meta property="og:image" content="http://shop.test/img/og.jpg"><meta property="product:price:amount" content="20.00">'
      '<meta property="product:price:currency" content="GBP"><meta property="product:category" content="Trail Shoes">'
      '<meta property="product:availability" content="out of stock">')
MICRO = ('<div itemscope itemtype="https://schema.org/Product"><span itemprop="name">From microdata</span>'
         '<a itemprop="url" href="/from-microdata/">x</a><span itemprop="brand">Micro Brand</span>'
         '<meta itemprop="price" content="30.00"></div>')
CANONICAL = '<link rel="canonical" href="http://shop.test/shop/product/1005-ridge-runner/">'
BUY_BOX = ('<ol class="crumbs"><li><a href="/">Home</a></li><li><a href="/shop/category/trail-shoes-3/">Trail Shoes</a></li></ol>'
           '<img class="product-image" src="/static/img/1005.svg"><div class="buy-box"><h1>From selectors</h1>'
           '<p class="price">119,00 €</p><p class="brand">Selector Brand</p><p class="instock">In stock (8 available)</p>'
           '<select id="variant"><option value="">Choose your size</option><option value="2010">41</option>'
           '<option value="2011">42</option><option value="2012" disabled>43</option></select></div>')
PATH = "/shop/product/1005-ridge-runner/"


def product(rules: RuleSet, html: bytes, path: str = PATH) -> dict[str, Any]:
    facts = page_facts(path, None, html, rules)
    assert facts.type == "product" and facts.product is not None
    return dict(facts.product)


def test_each_source_fills_only_what_the_earlier_ones_left_empty(rules: RuleSet) -> None:
    p = product(rules, page(JSONLD + OG + CANONICAL, MICRO + BUY_BOX))
    assert p["id"] == "1005"  # the URL's {product} wins over the JSON-LD sku
    assert (p["name"], p["price"], p["currency"], p["in_stock"]) == ("From JSON-LD", 10.0, "CHF", True)
    assert p["image"] == "http://shop.test/img/og.jpg"  # JSON-LD had none: Open Graph's
    assert (p["category"], p["category_name"]) == ("trail-shoes", "Trail Shoes")  # product:category
    assert p["url"] == "/from-microdata/"  # neither JSON-LD nor Open Graph named one: microdata, before canonical
    assert p["brand"] == "Micro Brand"  # microdata, before the selectors


def test_open_graph_before_microdata_before_canonical_before_selectors(rules: RuleSet) -> None:
    p = product(rules, page(OG + CANONICAL, MICRO + BUY_BOX))
    assert (p["name"], p["price"], p["currency"], p["in_stock"]) == ("From OG", 20.0, "GBP", False)
    p = product(rules, page(CANONICAL, MICRO + BUY_BOX))
    assert (p["name"], p["price"], p["url"], p["brand"]) == ("From microdata", 30.0, "/from-microdata/", "Micro Brand")
    p = product(rules, page(CANONICAL, BUY_BOX))
    assert p["url"] == "http://shop.test/shop/product/1005-ridge-runner/"
    assert (p["name"], p["price"], p["brand"], p["image"]) == ("From selectors", 119.0, "Selector Brand", "/static/img/1005.svg")


def test_a_store_with_only_selectors_gets_url_currency_and_category_from_the_rules(rules: RuleSet) -> None:
    p = product(rules, page("", BUY_BOX))
    assert p["url"] == PATH  # the page's own path when nothing names the product's URL
    assert p["currency"] == "EUR"  # the price text's € (and the rules' default)
    assert p["category"] == "trail-shoes" and p["category_name"] is None  # a link names the key, not the name
    assert p["in_stock"] is True


def test_sizes_as_child_products(rules: RuleSet) -> None:
    p = product(rules, page("", BUY_BOX))
    assert dict(p["variants"]) == {"41": "2010", "42": "2011", "43": "2012"}
    assert tuple(p["sizes"]) == ("41", "42")  # 43 is disabled: sold out


@pytest.mark.parametrize("html, in_stock", [
    ('<p class="instock">In stock (8 available)</p>', True),
    ('<p class="outofstock">Unavailable</p>', False),
    ('<p class="instock">Only 2 left</p>', True),  # the class says it
    ('<p class="outofstock">Ships soon</p>', False),
    ('<p class="instock sale">whatever</p>', True),
])
def test_availability_from_the_stores_words_and_classes(rules: RuleSet, html: str, in_stock: bool) -> None:
    assert product(rules, page("", f'<div class="buy-box"><h1>x</h1>{html}</div>'))["in_stock"] is in_stock


@pytest.mark.parametrize("value, verdict", [
    ("In stock (8 available)", True), ("in stock", True), ("InStock", True), ("https://schema.org/InStock", True),
    ("http://schema.org/OutOfStock", False), ("Unavailable", False), ("outofstock availability", False),
    ("availability outofstock", False), ("Sold out", False), ("SOLD OUT - back in May", False),
    ("disabled", False), ("Only 3 available", True), ("Currently unavailable", False), ("Ask us", None), ("", None),
    (None, None), (True, True),
])
def test_availability_words(value: Any, verdict: bool | None) -> None:
    assert Availability()(value) is verdict


def test_the_stores_own_words_come_on_top_of_the_common_ones() -> None:
    mine = Availability.of_words(("Lieferbar*",), ("Ausverkauft", "nicht-lieferbar"))
    assert mine("Lieferbar in 2 Tagen") is True
    assert mine("Ausverkauft") is False and mine("stock nicht-lieferbar") is False
    assert mine("Sold out") is False and mine("In stock") is True
    assert Availability()("Lieferbar") is None


@pytest.mark.parametrize("text, currency", [
    ("EUR", "EUR"), ("eur", "EUR"), ("59,90 €", "EUR"), ("£1,234.50", "GBP"), ("$12", "USD"), ("12,00 CHF", "CHF"),
    ("CA$ 12.00 CAD", "CAD"), ("149,70 incl. VAT", None), ("SUM 12.00", None), ("119.00", None), ("", None),
])
def test_currency_from_a_code_or_a_symbol(text: str, currency: str | None) -> None:
    assert currency_of(text) == currency


def test_currency_default_when_the_page_names_none(tmp_path: Path) -> None:
    rules = rules_from_text(tmp_path, """
        catalog:
          product_pages: "/p/{product}"
          currency: sek
          selectors: {price: ".price"}
        slots: []
    """)
    assert rules.catalog.currency == "SEK"
    assert product(rules, page("", '<p class="price">249</p>'), "/p/1")["currency"] == "SEK"
    assert product(rules, page("", '<p class="price">249 €</p>'), "/p/1")["currency"] == "EUR"


def test_structured_product_says_whether_the_page_declares_one() -> None:
    catalog = CatalogSettings()
    assert structured_product(page(OG), catalog)[1] is True
    assert structured_product(page(MICRO), catalog)[1] is True
    assert structured_product(page(CANONICAL), catalog) == ({**dict.fromkeys(
        ("id", "name", "image", "price", "currency", "category", "category_name", "brand", "in_stock", "sizes",
         "variants")), "url": "http://shop.test/shop/product/1005-ridge-runner/"}, False)
    assert structured_product(page(), catalog) == (None, False)


# -- recommendations from this catalog -------------------------------------------------------------------

CATALOG = {
    "1001": {"id": "1001", "name": "Nordkapp", "category": "jackets", "in_stock": True, "url": "/shop/product/1001-nordkapp/",
             "image": "/static/img/1001.svg", "price": 249.0, "currency": "EUR"},
    "1002": {"id": "1002", "name": "Fonna", "category": "jackets", "in_stock": False, "url": "/shop/product/1002-fonna/"},
    "1003": {"id": "1003", "name": "Lyngen", "category": "jackets", "in_stock": True, "url": "/shop/product/1003-lyngen/"},
    "1004": {"id": "1004", "name": "Senja", "category": "jackets", "in_stock": None, "url": "/shop/product/1004-senja/"},
    "2001": {"id": "2001", "parent": "1001", "size": "S"},
    "2002": {"id": "2002", "parent": "1001", "size": "M", "category": "jackets", "name": "Nordkapp"},
}


@pytest.mark.parametrize("strategy", ["popular_in_category", "mixed", "recently_viewed", "viewed_together"])
def test_recommendations_never_show_a_sold_out_product_nor_a_size(strategy: str) -> None:
    profile = Profile.new("v", 0)
    for n, pid in enumerate(["2002", "1002", "2001", "1003", "1001"]):
        profile.products[pid] = {"count": 1, "last": float(n)}
    ids = ["2001", "2002", "1002", "1001", "1003", "1004"]
    got = rank(strategy, 6, current_product={"id": "1005", "category": "jackets"}, profile=profile, catalog=CATALOG,
               popular=ids, co_viewed=ids)
    assert got, strategy
    assert all(p["in_stock"] is not False for p in got)
    assert not any(p.get("parent") for p in got), [p["id"] for p in got]
    assert {p["id"] for p in got} <= {"1001", "1003", "1004"}


def test_recommendations_carry_the_real_url_image_and_currency() -> None:
    (first, *_) = rank("popular_in_category", 4, current_product={"id": "1003", "category": "jackets"}, profile=None,
                       catalog=CATALOG, popular=["1001"], co_viewed=[])
    assert (first["url"], first["image"], first["currency"]) == ("/shop/product/1001-nordkapp/", "/static/img/1001.svg", "EUR")
