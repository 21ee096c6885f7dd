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
from html import escape
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

import slotwise.tag
from slotwise.profile import Profile
from slotwise.rules import page_facts, rank
from slotwise.rules.catalog import Availability, CatalogSettings
from slotwise.rules.jsonld import MAX_CRUMBS
from slotwise.rules.microdata import BREADCRUMB_CSS, MAX_NODES, MAX_REF_NODES, PRODUCT_CSS, microdata_breadcrumb, properties
from slotwise.rules.product_facts import currency_of, microdata_product, structured_product
from slotwise.rules.reading import MAX_DOC_BYTES, read_extract
from slotwise.rules.ruleset import RuleSet
from slotwise.rules.testing import rules_from_text
from slotwise.tag.api import MAX_BODY

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


def test_a_size_several_children_have_is_offered_once_and_in_stock_when_any_is(rules: RuleSet) -> None:
    """Two colours of one size (as a ProductGroup's variants, ``jsonld``): the size once, in stock when any
    child is, and its child the first one in stock (it was listed twice, and named the last child)."""
    picker = ('<select id="variant"><option value="2010">41</option><option value="2011">42</option>'
              '<option value="2012" disabled>42</option><option value="2013">42</option></select>')
    p = product(rules, page("", BUY_BOX.split('<select id="variant">')[0] + picker + "</div>"))
    assert (dict(p["variants"]), tuple(p["sizes"])) == ({"41": "2010", "42": "2011"}, ("41", "42"))
    picker = picker.replace('value="2011">', 'value="2011" disabled>')
    p = product(rules, page("", BUY_BOX.split('<select id="variant">')[0] + picker + "</div>"))
    assert dict(p["variants"]) == {"41": "2010", "42": "2013"}  # the first in stock, not the sold-out 2011


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
         "variants", "viewed_variant", "viewed_size")), "url": "http://shop.test/shop/product/1005-ridge-runner/"}, False)
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


# -- microdata: the Product's own properties, not its nested items' ----------------------------------------

# A Magento 2 (Luma) product page: the brand is a nested Brand item (its name, url and logo) before the
# product's own name, the rating an AggregateRating with a name, the price a nested Offer (with a seller),
# and the "related products" block holds Products of their own, inside the main one.
MAGENTO = """
<div class="columns"><div class="column main" itemscope itemtype="http://schema.org/Product">
 <div class="product-info-main">
  <div class="product-brand" itemprop="brand" itemscope itemtype="http://schema.org/Brand">
   <a itemprop="url" href="/brands/fjord.html"><img itemprop="logo" src="/media/brands/fjord.png" alt="Fjord">
   <span itemprop="name">Fjord</span></a>
  </div>
  <div class="page-title-wrapper product"><h1 class="page-title"><span class="base" itemprop="name">Ridge Runner GTX</span></h1></div>
  <div class="product-reviews-summary" itemprop="aggregateRating" itemscope itemtype="http://schema.org/AggregateRating">
   <meta itemprop="name" content="Customer rating"><meta itemprop="ratingValue" content="90">
   <meta itemprop="bestRating" content="100"><a href="#reviews"><span itemprop="reviewCount">12</span> Reviews</a>
  </div>
  <div class="product-info-price"><div class="price-box price-final_price" itemprop="offers" itemscope itemtype="http://schema.org/Offer">
   <span class="price-wrapper"><span class="price">119,00 &euro;</span></span>
   <div itemprop="seller" itemscope itemtype="http://schema.org/Organization"><meta itemprop="name" content="Fjord Outfitters">
    <meta itemprop="url" content="https://shop.test/"></div>
   <meta itemprop="price" content="119"><meta itemprop="priceCurrency" content="EUR">
   <link itemprop="availability" href="http://schema.org/InStock">
  </div></div>
 </div>
 <div class="block related"><ol class="products list items product-items">
  <li class="item product product-item" itemprop="isRelatedTo" itemscope itemtype="http://schema.org/Product">
   <a itemprop="url" href="/merino-trail-sock.html"><img itemprop="image" src="/media/catalog/product/m/t/mts-601.jpg"></a>
   <strong itemprop="name">Merino Trail Sock</strong><meta itemprop="sku" content="MTS-601">
   <div itemprop="offers" itemscope itemtype="http://schema.org/Offer"><meta itemprop="price" content="19">
    <meta itemprop="priceCurrency" content="USD"><link itemprop="availability" href="http://schema.org/OutOfStock"></div>
  </li>
 </ol></div>
 <div class="product media"><img itemprop="image" src="/media/catalog/product/r/r/rr-1005.jpg" alt="Ridge Runner GTX"></div>
 <div class="product attribute sku"><strong class="type">SKU</strong><div class="value" itemprop="sku">RR-1005</div></div>
 <div id="reviews"><div class="review-item" itemprop="review" itemscope itemtype="http://schema.org/Review">
  <div class="review-title" itemprop="name">Great on wet rock</div><span itemprop="author">Ana</span></div></div>
 <meta itemprop="url" content="https://shop.test/ridge-runner-gtx.html">
</div></div>
"""

# A PrestaShop 1.7 product page: a "recently viewed" list of Products in the header, before the page's
# own; the brand a Brand item with a meta name; the price on an AggregateOffer; an accessory (a Product
# of its own, with a sku the page's product lacks) inside the product's section.
PRESTASHOP = """
<header><div class="recently-viewed" itemscope itemtype="https://schema.org/ItemList">
 <div itemprop="itemListElement" itemscope itemtype="https://schema.org/Product">
  <a itemprop="url" href="/men/3-wool-beanie.html"><span itemprop="name">Wool Beanie</span></a>
  <meta itemprop="sku" content="demo_3"><span itemprop="price" content="24.00">24,00 CHF</span></div>
</div></header>
<section id="main" itemscope itemtype="https://schema.org/Product">
 <meta itemprop="url" content="https://shop.test/men/7-merino-hiker-sock.html">
 <h1 class="h1" itemprop="name">Merino Hiker Sock</h1>
 <div itemprop="brand" itemscope itemtype="https://schema.org/Brand"><meta itemprop="name" content="Fjord"></div>
 <div class="product-prices" itemprop="offers" itemscope itemtype="https://schema.org/AggregateOffer">
  <link itemprop="availability" href="https://schema.org/OutOfStock"><meta itemprop="priceCurrency" content="CHF">
  <div class="current-price"><span itemprop="lowPrice" content="19.9">CHF 19.90</span></div>
 </div>
 <section class="product-accessories"><h2>You might also like</h2>
  <article class="product-miniature" itemprop="isAccessoryOrSparePartFor" itemscope itemtype="https://schema.org/Product">
   <img itemprop="image" src="/12-home_default/liner.jpg"><h3 itemprop="name">Silk Liner</h3>
   <meta itemprop="sku" content="demo_12"><span itemprop="price" content="9.00">9,00 CHF</span>
  </article>
 </section>
 <div class="product-cover"><img itemprop="image" src="/21-large_default/merino-hiker-sock.jpg"></div>
</section>
"""


def test_a_magento_page_gives_the_products_own_facts_not_its_brands_rating_or_related_products() -> None:
    got = microdata_product(page("", MAGENTO), CatalogSettings())
    assert got == {"id": "RR-1005", "name": "Ridge Runner GTX", "url": "https://shop.test/ridge-runner-gtx.html",
                   "image": "/media/catalog/product/r/r/rr-1005.jpg", "price": 119.0, "currency": "EUR",
                   "brand": "Fjord", "in_stock": True}


def test_a_prestashop_page_gives_its_own_product_not_a_listed_one_nor_an_accessorys_sku() -> None:
    got = microdata_product(page("", PRESTASHOP), CatalogSettings())
    assert got == {"name": "Merino Hiker Sock", "url": "https://shop.test/men/7-merino-hiker-sock.html",
                   "image": "/21-large_default/merino-hiker-sock.jpg", "price": 19.9, "currency": "CHF",
                   "brand": "Fjord", "in_stock": False}  # no id: the sku on the page is the accessory's


PRODUCT_PAGE = '<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Ridge Runner</h1>{}</div>'


@pytest.mark.parametrize("markup, price, currency, in_stock", [
    # an AggregateOffer that names no price of its own: its first Offer's
    ('<div itemprop="offers" itemscope itemtype="https://schema.org/AggregateOffer"><meta itemprop="offerCount" content="2">'
     '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer"><meta itemprop="price" content="89">'
     '<meta itemprop="priceCurrency" content="GBP"></div>'
     '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer"><meta itemprop="price" content="99"></div></div>',
     89.0, "GBP", None),
    # several offers: the first
    ('<div itemprop="offers" itemscope itemtype="https://schema.org/Offer"><meta itemprop="price" content="89">'
     '<link itemprop="availability" href="https://schema.org/InStock"></div>'
     '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer"><meta itemprop="price" content="59">'
     '<link itemprop="availability" href="https://schema.org/OutOfStock"></div>', 89.0, None, True),
    # a theme that writes the price on the Product itself
    ('<span itemprop="price" content="49.50">49,50 €</span><meta itemprop="priceCurrency" content="EUR">'
     '<link itemprop="availability" href="https://schema.org/SoldOut">', 49.5, "EUR", False),
    # an Offer with only its currency: the price written on the Product still counts
    ('<meta itemprop="price" content="12"><div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
     '<meta itemprop="priceCurrency" content="SEK"></div>', 12.0, "SEK", None),
    # an Offer's price in its priceSpecification (as JSON-LD's are read)
    ('<div itemprop="offers" itemscope itemtype="https://schema.org/Offer"><div itemprop="priceSpecification" itemscope '
     'itemtype="https://schema.org/UnitPriceSpecification"><meta itemprop="price" content="15.00">'
     '<meta itemprop="priceCurrency" content="EUR"></div></div>', 15.0, "EUR", None),
    # an offers property that is no item: its properties are the Product's
    ('<div itemprop="offers"><meta itemprop="price" content="7"></div>', 7.0, None, None),
])
def test_the_price_is_the_first_offers_else_the_products_own(markup: str, price: float, currency: str | None,
                                                             in_stock: bool | None) -> None:
    got = microdata_product(page("", PRODUCT_PAGE.format(markup)), CatalogSettings())
    assert got is not None
    assert (got.get("price"), got.get("currency"), got.get("in_stock")) == (price, currency, in_stock)


@pytest.mark.parametrize("markup, brand", [
    ('<span itemprop="brand">Fjord</span>', "Fjord"),
    ('<meta itemprop="brand" content="Fjord">', "Fjord"),
    ('<div itemprop="brand" itemscope itemtype="https://schema.org/Organization"><img itemprop="logo" src="/f.png" alt="logo">'
     '<a itemprop="url" href="/brands/fjord">all of it</a> <b itemprop="name">Fjord</b></div>', "Fjord"),
    ('<div itemprop="https://schema.org/brand" itemscope itemtype="https://schema.org/Brand">'
     '<meta itemprop="https://schema.org/name" content="Fjord"></div>', "Fjord"),
    ('<div itemprop="brand" itemscope itemtype="https://schema.org/Brand"><img itemprop="logo" src="/f.png"></div>', None),
])
def test_a_brand_item_gives_its_name(markup: str, brand: str | None) -> None:
    got = microdata_product(page("", PRODUCT_PAGE.format(markup)), CatalogSettings())
    assert got is not None and got.get("brand") == brand


@pytest.mark.parametrize("markup, key, value", [
    ('<meta itemprop="mpn" content="M-1"><meta itemprop="productID" content="P-1">', "id", "P-1"),  # sku, productID, mpn
    ('<meta itemprop="mpn" content="M-1">', "id", "M-1"),
    ('<div itemprop="image" itemscope itemtype="https://schema.org/ImageObject"><meta itemprop="name" content="Side view">'
     '<link itemprop="contentUrl" href="/img/rr-side.jpg"></div>', "image", "/img/rr-side.jpg"),
    ('<div itemprop="image" itemscope itemtype="https://schema.org/ImageObject"><meta itemprop="url" content="/img/rr.jpg">'
     '</div>', "image", "/img/rr.jpg"),
    ('<meta itemprop="category" content="Trail Shoes">', "category", "trail-shoes"),
])
def test_id_image_and_category_as_stores_write_them(markup: str, key: str, value: str) -> None:
    got = microdata_product(page("", PRODUCT_PAGE.format(markup)), CatalogSettings())
    assert got is not None and got.get(key) == value


def test_the_pages_product_is_the_first_that_is_no_other_items_property() -> None:
    catalog = CatalogSettings()
    own = '<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Ridge Runner</h1></div>'
    listed = ('<ul itemscope itemtype="https://schema.org/ItemList"><li itemprop="itemListElement" itemscope '
              'itemtype="https://schema.org/Product"><b itemprop="name">Wool Beanie</b></li></ul>')
    reviewed = ('<div itemscope itemtype="https://schema.org/Review"><div itemprop="itemReviewed" itemscope '
                'itemtype="https://schema.org/Product"><b itemprop="name">Storm Shell</b></div></div>')
    assert microdata_product(page("", listed + reviewed + own), catalog) == {"name": "Ridge Runner"}
    # themes that mark the whole page up as a WebPage: a Product in it that is no property is the page's,
    # and so is its mainEntity
    webpage = '<div itemscope itemtype="https://schema.org/WebPage">{}</div>'
    assert microdata_product(page("", webpage.format(listed + own)), catalog) == {"name": "Ridge Runner"}
    main = own.replace("<div itemscope", '<div itemprop="mainEntity" itemscope')
    assert microdata_product(page("", webpage.format(listed + main)), catalog) == {"name": "Ridge Runner"}
    assert microdata_product(page("", listed + reviewed), catalog) is None  # only other items' products


# A theme that writes the product's parts where the layout wants them and ties them to it with itemref
# (HTML's microdata: an item's properties are its descendants and the elements its itemref names): the
# title block before the product, its price box in a sidebar, a related product in a block of its own
# (named by the product's itemref: the product's property, not the page's product), an id no element has,
# the product's own id and an element inside it (each looked at once).
ITEMREF = """
<div id="title"><h1 itemprop="name">Ridge Runner GTX</h1><span itemprop="brand">Fjord</span></div>
<aside id="related"><div itemprop="isRelatedTo" itemscope itemtype="https://schema.org/Product">
 <b itemprop="name">Merino Trail Sock</b><meta itemprop="sku" content="MTS-601">
 <div itemprop="offers" itemscope itemtype="https://schema.org/Offer"><meta itemprop="price" content="19"></div></div></aside>
<main id="product" itemscope itemtype="https://schema.org/Product" itemref="title price-box related no-such-id product sku">
 <img itemprop="image" src="/img/rr.jpg"><span id="sku" itemprop="sku">RR-1005</span>
 <div itemprop="review" itemscope itemtype="https://schema.org/Review" itemref="review-title"><span itemprop="author">Ana</span></div>
</main>
<p id="review-title" itemprop="name">Great on wet rock</p>
<aside id="price-box"><div itemprop="offers" itemscope itemtype="https://schema.org/Offer" itemref="stock">
 <meta itemprop="price" content="119"><meta itemprop="priceCurrency" content="EUR"></div></aside>
<link id="stock" itemprop="availability" href="https://schema.org/InStock">
"""


def test_properties_an_itemref_names_are_the_items_own_and_what_a_nested_item_names_is_its() -> None:
    """The product's title, brand and price box stand outside it, named by its ``itemref``: they were not
    read (no name, no price), and the related product its itemref names was taken for the page's."""
    got = microdata_product(page("", ITEMREF), CatalogSettings())
    assert got == {"id": "RR-1005", "name": "Ridge Runner GTX", "image": "/img/rr.jpg", "price": 119.0,
                   "currency": "EUR", "brand": "Fjord", "in_stock": True}  # the offer's availability: its own itemref's
    # the review's name (its own itemref) is the review's; the related product is the product's property
    [root] = LexborHTMLParser(page("", ITEMREF)).css("main")
    assert [name for name, _ in properties(root)] == ["name", "brand", "isRelatedTo", "image", "sku", "review", "offers"]


def test_an_itemref_that_names_the_tree_it_stands_in_is_crawled_once() -> None:
    """Items that name each other, or an element that holds them: each element is looked at once."""
    loop = ('<div id="a" itemscope itemtype="https://schema.org/Product" itemref="b a"><b itemprop="name">Cap</b></div>'
            '<div id="b" itemprop="offers" itemscope itemtype="https://schema.org/Offer" itemref="a wrap">'
            '<meta itemprop="price" content="9"></div>')
    body = f'<div id="wrap">{loop}<meta itemprop="sku" content="C-1"></div>'
    assert microdata_product(page("", body), CatalogSettings()) == {"name": "Cap", "price": 9.0}
    holder = ('<section id="all"><div itemscope itemtype="https://schema.org/Product" itemref="all">'
              '<b itemprop="name">Cap</b></div><meta itemprop="sku" content="C-1"></section>')
    assert microdata_product(page("", holder), CatalogSettings()) == {"id": "C-1", "name": "Cap"}


def test_items_that_name_one_large_element_share_one_budget_for_it() -> None:
    """Every ListItem of a hostile trail names one large element: each of its reads would look at up to
    MAX_NODES of it (50 items, a few reads each: a million elements, seconds a page). The crawls past the
    items' own elements look at MAX_REF_NODES together; then itemref is not followed, and a ListItem has
    what it holds itself (here its own name, not the shared one that stands before it in the page)."""
    shared = '<div id="shared"><span itemprop="name">Shared</span>' + "<p>x</p>" * 2000 + "</div>"
    items = "".join(f'<li itemprop="itemListElement" itemscope itemtype="https://schema.org/ListItem" itemref="shared">'
                    f'<a itemprop="item" href="/c/{i}"><span itemprop="name">C{i}</span></a></li>' for i in range(MAX_CRUMBS))
    trail = microdata_breadcrumb(page("", f'{shared}<ol itemscope itemtype="https://schema.org/BreadcrumbList">{items}</ol>'))
    assert [url for _, url in trail] == [f"/c/{i}" for i in range(MAX_CRUMBS)]
    names = [name for name, _ in trail]
    followed = names.count("Shared")
    assert 0 < followed < MAX_CRUMBS and names[followed:] == [f"C{i}" for i in range(followed, MAX_CRUMBS)]
    assert followed * 2000 <= MAX_REF_NODES


@pytest.mark.parametrize("name", ['a"b', "a\\b", "]", "x'y", "é"], ids=["quote", "backslash", "bracket", "apostrophe", "accent"])
def test_an_itemref_id_is_any_text(name: str) -> None:
    body = (f'<div itemscope itemtype="https://schema.org/Product" itemref="{escape(name)}"><b itemprop="name">Cap</b></div>'
            f'<meta id="{escape(name)}" itemprop="sku" content="C-1">')
    assert microdata_product(page("", body), CatalogSettings()) == {"id": "C-1", "name": "Cap"}


def test_a_microdata_product_is_read_to_its_first_elements_only() -> None:
    """A hostile page costs a bounded walk: properties past the first MAX_NODES elements are not looked at."""
    filler = "<p>x</p>" * MAX_NODES
    body = PRODUCT_PAGE.format(f'<meta itemprop="sku" content="rr-1">{filler}<meta itemprop="price" content="9">')
    assert microdata_product(page("", body), CatalogSettings()) == {"id": "rr-1", "name": "Ridge Runner"}


def test_the_tag_sends_the_microdata_elements_the_server_reads() -> None:
    """Tag-only mode: tag.js sends the elements these selectors pick, verbatim; the server reads them as
    it reads the whole page (one selector each, written twice: here and in the script)."""
    source = (Path(slotwise.tag.__file__).parent / "tag.js").read_text("utf-8")
    assert f"'{BREADCRUMB_CSS}'" in source and f"'{PRODUCT_CSS}'" in source
    catalog = CatalogSettings()
    [element] = LexborHTMLParser(page("", PRESTASHOP)).css(PRODUCT_CSS)[:1]
    from_tag = read_extract({"doc": element.html, "values": {}}, catalog, {}).structured
    assert from_tag == structured_product(page("", PRESTASHOP), catalog)[0]


def test_the_tag_sends_a_product_the_server_reads_whole() -> None:
    """tag.js lets the product's parts take what the server reads of an extract, MAX_DOC_BYTES (written twice:
    here and in the script), and the page view stays under the tag API's body limit with room for the rest."""
    source = (Path(slotwise.tag.__file__).parent / "tag.js").read_text("utf-8")
    assert f"r > 1 ? {MAX_DOC_BYTES} : 4e4" in source
    assert MAX_DOC_BYTES + 8 * 1024 <= MAX_BODY


NESTED_PROPS = st.sampled_from(["name", "sku", "price", "lowPrice", "priceCurrency", "availability", "url", "image",
                                "brand", "offers", "productID", "mpn", "category"])
NESTED_AS = st.sampled_from(["review", "aggregateRating", "isRelatedTo", "isSimilarTo", "isAccessoryOrSparePartFor",
                             "itemListElement", "logo", "seller", ""])
NESTED_TYPES = st.sampled_from(["Product", "Review", "AggregateRating", "Offer", "AggregateOffer", "Brand", "Organization"])


def nested_item(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """An item nested in another (a review, a rating, a related product...): properties of its own."""
    prop = st.builds(lambda name, value: f'<span itemprop="{name}" content="{escape(value)}">{escape(value)}</span>',
                     NESTED_PROPS, st.text(max_size=12))

    def item(kind: str, as_: str, inner: list[str]) -> str:
        itemprop = f' itemprop="{as_}"' if as_ else ""
        return f'<div{itemprop} itemscope itemtype="https://schema.org/{kind}">{"".join(inner)}</div>'

    return st.builds(item, NESTED_TYPES, NESTED_AS, st.lists(st.one_of(prop, children), max_size=4))


NESTED = st.recursive(st.just(""), nested_item, max_leaves=6).filter(bool)
# The product (each {} a place between its elements), its brand and offer items and a plain wrapper among them.
PRODUCT_SLOTS = (
    '<div itemscope itemtype="https://schema.org/Product">{}<h1 itemprop="name">Ridge Runner</h1>{}'
    '<div itemprop="brand" itemscope itemtype="https://schema.org/Brand">{}<span itemprop="name">Fjord</span>{}</div>{}'
    '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">{}<meta itemprop="price" content="119.00">{}'
    '<meta itemprop="priceCurrency" content="EUR"><link itemprop="availability" href="https://schema.org/InStock">{}</div>'
    '<div class="info">{}<span itemprop="sku">RR-1005</span>{}<img itemprop="image" src="/img/rr.jpg">{}</div>'
    '<meta itemprop="url" content="/ridge-runner.html">{}</div>'
)


# 120, was 200: drawing the nested items is most of the time (a third of the draws retried for the filter); 120
# products still put up to 6 items each, nested up to 6 leaves, across the 12 places
@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(st.integers(0, PRODUCT_SLOTS.count("{}") - 1), NESTED), max_size=6))
def test_nested_items_anywhere_in_the_product_never_change_its_facts(inserts: list[tuple[int, str]]) -> None:
    slots = [""] * PRODUCT_SLOTS.count("{}")
    for slot, markup in inserts:
        slots[slot] += markup
    got = microdata_product(page("", PRODUCT_SLOTS.format(*slots)), CatalogSettings())
    assert got == {"id": "RR-1005", "name": "Ridge Runner", "url": "/ridge-runner.html", "image": "/img/rr.jpg",
                   "price": 119.0, "currency": "EUR", "brand": "Fjord", "in_stock": True}
