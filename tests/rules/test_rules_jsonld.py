"""Product facts from JSON-LD on messy pages: found without a parse, never raising."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.rules.catalog import CatalogSettings
from slotwise.rules.errors import RulesError
from slotwise.rules.extract import Field
from slotwise.rules.facts import page_facts
from slotwise.rules.jsonld import MAX_REF_LOOKUPS, MAX_VARIANTS, extract_product, product_from_node, read_json_ld
from slotwise.rules.product_facts import structured_reading
from slotwise.rules.reading import read_extract
from slotwise.rules.testing import rules_from_text
from yoast_graph import AGGREGATE, CATEGORY, IMAGE_URL, LISTED, OFFER, OFFER_REF, SITE, yoast_category, yoast_product


def _page(*blocks: str, attrs: str = 'type="application/ld+json"') -> bytes:
    scripts = "".join(f"<script {attrs}>{b}</script>" for b in blocks)
    return f"<html><head>{scripts}</head><body><h1>x</h1></body></html>".encode()


PRODUCT = {
    "@context": "https://schema.org", "@type": "Product", "sku": "101", "name": "Strider Pace 3",
    "category": "Running Shoes", "image": ["/img/101.svg", "/img/101b.svg"], "url": "https://shop/p/101",
    "brand": {"@type": "Brand", "name": "Strider"},
    "offers": {"@type": "Offer", "price": "129.95", "priceCurrency": "EUR", "availability": "https://schema.org/InStock"},
}


def test_plain_product() -> None:
    product = extract_product(_page(json.dumps(PRODUCT)))
    assert product == {
        "id": "101", "name": "Strider Pace 3", "url": "https://shop/p/101", "image": "/img/101.svg",
        "price": 129.95, "currency": "EUR", "category": "running-shoes", "category_name": "Running Shoes",
        "brand": "Strider", "in_stock": True,
    }


def test_graph_list_and_earlier_bad_blocks() -> None:
    graph = {"@context": "https://schema.org", "@graph": [{"@type": "WebSite", "name": "Shop"}, {**PRODUCT, "sku": "7"}]}
    html = _page("{not json", json.dumps([{"@type": "BreadcrumbList"}]), json.dumps(graph))
    product = extract_product(html)
    assert product is not None and product["id"] == "7"


def test_type_list_aggregate_offer_out_of_stock_and_breadcrumb_category() -> None:
    node = {
        "@type": ["Product", "Thing"], "productID": 42, "name": "Bag",
        "category": "Accessories > Bags",
        "offers": {"@type": "AggregateOffer", "lowPrice": 19, "priceCurrency": "USD",
                   "availability": "http://schema.org/OutOfStock"},
    }
    product = extract_product(_page(json.dumps(node)))
    assert product is not None
    assert (product["id"], product["price"], product["currency"], product["in_stock"]) == ("42", 19.0, "USD", False)
    assert (product["category"], product["category_name"]) == ("bags", "Bags")


def test_offer_lists_and_price_specification() -> None:
    node = {"@type": "Product", "sku": "1", "offers": [{"priceSpecification": {"price": "1.234,50", "priceCurrency": "EUR"}}]}
    product = extract_product(_page(json.dumps(node)))
    assert product is not None and product["price"] == 1234.5 and product["currency"] == "EUR"


@pytest.mark.parametrize(
    "html",
    [
        b"",
        b"<html><body>no scripts</body></html>",
        _page("{}"),
        _page("[]"),
        _page("null"),
        _page('{"@type": "Product"'),  # truncated
        _page(json.dumps({"@type": "Organization"})),
        _page(json.dumps(PRODUCT), attrs='type="text/javascript"'),
        b'<script type="application/ld+json">' + json.dumps(PRODUCT).encode(),  # never closed
        _page("[" * 5000 + "]" * 5000),
    ],
)
def test_no_product_or_junk_gives_none(html: bytes) -> None:
    assert extract_product(html) is None


def test_odd_markup_still_found() -> None:
    body = json.dumps({**PRODUCT, "name": "Quote \" & <b>"})
    html = f"<SCRIPT Type='application/ld+json' id=x>\n<!--\n{body}\n-->\n</script >".encode()
    product = extract_product(html)
    assert product is not None and product["name"] == 'Quote " & <b>'


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(data: bytes) -> None:
    extract_product(data)
    extract_product(b'<script type="application/ld+json">' + data + b"</script>")


@settings(max_examples=100, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=20)
    | st.sampled_from(["#o", "https://shop.example/p/1/#o", "Product", "ItemList", "CollectionPage", "Offer",
                       "ProductGroup", "SizeSpecification", "https://schema.org/OutOfStock"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["@type", "@graph", "sku", "offers", "price", "name", "category", "image", "availability",
                         "@id", "url", "mainEntity", "mainEntityOfPage", "brand", "contentUrl", "priceSpecification",
                         "lowPrice", "itemListElement", "hasVariant", "size", "variesBy"]),
        children, max_size=5),
    max_leaves=30,
))
def test_random_json_never_raises(data: object) -> None:
    named = {"@id": "#o"}  # references to whatever the data is, or holds: cycles and chains among them
    for candidate in (data, {"@type": "Product", "offers": data, "category": data, "image": data},
                      {"@type": "WebPage", "@id": "https://shop.example/p/1/", "mainEntity": data},
                      [{"@type": "Product", "@id": "//[x", "mainEntityOfPage": data}, {"@type": "WebPage", "url": data}],
                      {"@graph": [{"@type": "Product", "url": "https://shop.example/p/1/", "offers": [named], "brand": named,
                                   "image": named, "category": named}, {"@id": "#o", "offers": named, "data": data}, data]},
                      {"@type": "ProductGroup", "hasVariant": data},
                      {"@graph": [{"@type": "ProductGroup", "hasVariant": [named, data, {"size": data, "offers": data}]},
                                  {"@id": "#o", "size": data, "offers": named, "image": data}]}):
        product = extract_product(_page(json.dumps(candidate)))
        assert product is None or set(product) >= {"id", "price", "in_stock"}
        assert product is None or all(v is None or isinstance(v, str) for v in (product["brand"], product["image"]))
        read, _, _ = structured_reading(_page(json.dumps(candidate)), CatalogSettings())  # sizes from its variants
        assert read is None or read["sizes"] is None or all(isinstance(size, str) for size in read["sizes"])
        assert read is None or read["variants"] is None or all(isinstance(c, str) for c in read["variants"].values())


def test_selectors_are_the_fallback_without_json_ld() -> None:
    catalog = CatalogSettings(
        patterns=CatalogSettings().patterns.__class__(home=(), category=(), product=(__import__("re").compile("/p/(?P<product>[^/]+)"),)),
        selectors={"id": Field.parse("main.product @data-product-id"), "name": Field.parse("h1"),
                   "category": Field.parse("main.product @data-category"), "price": Field.parse(".price")},
    )
    html = b'<main class="product" data-product-id="9" data-category="dog-toys"><h1>Rope</h1><span class="price">\xe2\x82\xac12.50</span></main>'
    page = page_facts("/p/9", None, html, catalog)
    assert page.type == "product" and page.category == "dog-toys"
    assert page.product is not None and dict(page.product)["name"] == "Rope" and page.product["price"] == 12.5
    with_ld = page_facts("/p/9", None, html + _page(json.dumps(PRODUCT)), catalog)
    assert with_ld.product is not None
    assert with_ld.product["id"] == "9"  # the URL's {product} is the key the rules declared
    assert with_ld.product["name"] == PRODUCT["name"]  # JSON-LD comes before the selectors


# A page's JSON-LD is the store's, not a caller's: a value no strict JSON can carry is dropped or
# replaced, never refused for the whole product, and never reaches a profile (whose export is strict
# JSON, and on Redis goes through cjson, which refuses a lone surrogate and NaN).
@pytest.mark.parametrize("price", ["NaN", "Infinity", "-Infinity", "1e999", '"' + "9" * 400 + '"', "1" + "0" * 400,
                                   "-12.5", '"NaN"'])
def test_a_price_no_json_can_carry_is_no_price(price: str) -> None:
    block = json.dumps({**PRODUCT, "offers": {"@type": "Offer", "price": "PRICE"}}).replace('"PRICE"', price)
    product = extract_product(_page(block))
    assert product is not None and product["id"] == "101" and product["name"] == PRODUCT["name"]
    assert product["price"] is None


def test_a_lone_surrogate_escape_becomes_a_replacement_character() -> None:
    block = json.dumps({**PRODUCT, "name": "Tee \ud800 \U0001f600", "brand": "\udc00"})  # json.dumps escapes both
    assert "\\ud800" in block and "\\ud83d\\ude00" in block
    product = extract_product(_page(block))
    assert product is not None
    assert product["name"] == "Tee \ufffd \U0001f600"  # the valid pair is kept as its character
    assert product["brand"] == "\ufffd"


def test_a_product_page_with_such_values_gives_a_profile_strict_json_can_store() -> None:
    from slotwise.profile import Profile, record_view
    from slotwise.store.profile_json import encode_profile

    block = json.dumps({**PRODUCT, "name": "\ud800", "category": "Shoes \udfff",
                        "offers": {"@type": "Offer", "price": "PRICE", "availability": "InStock"}}).replace('"PRICE"', "NaN")
    page = page_facts("/p/101", None, _page(block))
    assert page.product is not None
    profile = Profile.new("v1", 1000.0)
    record_view(profile, 1000.0, category=page.category, product=page.product["id"],
                offer={"price": page.product["price"], "in_stock": page.product["in_stock"]})
    text = json.dumps(profile.to_dict(), allow_nan=False)  # raises on NaN / inf
    text.encode("utf-8")  # raises on a lone surrogate
    assert "\ud800" not in encode_profile(profile) and json.loads(text)["products"]["101"]["seen"]["price"] is None


def test_html_escaped_json_ld_as_woocommerce_prints_it_reads_as_its_characters() -> None:
    """WooCommerce escapes its JSON-LD for HTML (``wc_esc_json($json, true)``): "Hat &amp; Scarf" in the
    page is the product "Hat & Scarf" (as search engines read it); read as written, a recommendation card
    showed visitors the "&amp;". An unescaped "&" stays as it is."""
    escaped = json.dumps({**PRODUCT, "name": "Hat &amp; Scarf &lt;Wool&gt;", "url": "https://shop/?p=26&amp;v=1",
                          "category": "Hats &amp; Caps", "brand": {"@type": "Brand", "name": "Fjell &amp; Sons"}})
    product = extract_product(_page(escaped))
    assert product is not None
    assert (product["name"], product["url"], product["category_name"], product["brand"]) == (
        "Hat & Scarf <Wool>", "https://shop/?p=26&v=1", "Hats & Caps", "Fjell & Sons")
    plain = extract_product(_page(json.dumps({**PRODUCT, "name": "Hat & Scarf"})))
    assert plain is not None and plain["name"] == "Hat & Scarf"


# -- the page's own product among others: the one it names (mainEntity, mainEntityOfPage), by @id ---------
HERE = "https://shop.example/p/1/"
DEAL = {"@context": "https://schema.org", "@type": "Product", "@id": "https://shop.example/p/9/#product", "sku": "9",
        "name": "Deal of the Day", "offers": {"@type": "Offer", "price": "5.00", "priceCurrency": "EUR"}}
"""Another product the page carries before its own (a header widget's, another plugin's block)."""
OWN = {**PRODUCT, "@id": HERE + "#product"}  # WC_Structured_Data: the permalink and "#product"


def _graph(*nodes: dict[str, object]) -> str:
    return json.dumps({"@context": "https://schema.org", "@graph": list(nodes)})


@pytest.mark.parametrize(("ref", "own_id"), [
    (HERE + "#product", HERE + "#product"),  # a full URL, as Yoast and WooCommerce write both
    ("#product", HERE + "#product"),  # relative to the page
    ("/p/1/#product", HERE + "#product"),
    (HERE + "#product", "#product"),  # the product's own @id the relative one
], ids=["full-url", "fragment-ref", "rooted-ref", "fragment-id"])
def test_a_webpages_main_entity_named_by_id_is_the_pages_product(ref: str, own_id: str) -> None:
    """A WebPage whose ``mainEntity`` names the product by ``@id`` (in another block: Yoast prints the
    page's graph, WooCommerce its Product) says which product is the page's; the first was taken."""
    webpage = {"@type": ["WebPage", "ItemPage"], "@id": HERE, "url": HERE, "mainEntity": {"@id": ref}}
    html = _page(json.dumps(DEAL), _graph({"@type": "WebSite", "@id": "https://shop.example/#website"}, webpage),
                 _graph({**OWN, "@id": own_id}))
    product = extract_product(html)
    assert product is not None and (product["id"], product["name"], product["price"]) == ("101", "Strider Pace 3", 129.95)


@pytest.mark.parametrize("page_ref", [HERE + "#webpage", HERE, "#webpage", {"@id": HERE + "#webpage"}, {"@id": HERE}],
                         ids=["full-url-fragment", "full-url", "fragment", "object-fragment", "object"])
def test_a_product_whose_main_entity_of_page_is_this_page_is_the_pages_product(page_ref: object) -> None:
    """Yoast WooCommerce SEO gives the Product ``mainEntityOfPage: {"@id": canonical + "#webpage"}``; the
    page's WebPage may be written with that fragment or without it. A product that names another page
    (a related product copied from its own page) is not this page's."""
    deal = {**DEAL, "mainEntityOfPage": {"@id": "https://shop.example/p/9/#webpage"}}
    webpage = {"@type": "WebPage", "@id": HERE, "url": HERE}
    product = extract_product(_page(json.dumps(deal), _graph(webpage, {**OWN, "mainEntityOfPage": page_ref})))
    assert product is not None and product["id"] == "101"
    alone = extract_product(_page(json.dumps(DEAL), json.dumps({**OWN, "mainEntityOfPage": page_ref})))
    assert alone is not None and alone["id"] == "101"  # no WebPage to hold it to: the product's word is taken


def test_a_main_entity_written_in_the_page_node_is_the_pages_product() -> None:
    """An ItemPage with its Product inline (``mainEntity: {"@type": "Product", ...}``) was no product."""
    page = {"@context": "https://schema.org", "@type": "ItemPage", "url": HERE, "mainEntity": OWN}
    product = extract_product(_page(json.dumps(page)))
    assert product is not None and product["id"] == "101"
    # inline, and named by @id in the graph too: the graph's node, which says more
    assert extract_product(_page(json.dumps({**page, "mainEntity": {"@type": "Product", "@id": HERE + "#product"}}),
                                 json.dumps(DEAL), json.dumps(OWN))) == product


@pytest.mark.parametrize("main", [
    {"@id": "https://shop.example/p/2/#product"},  # names a node the page does not carry
    {"@id": "https://other.example/p/1/#product"},  # another full URL with the same fragment: another node
    {"@id": "https://shop.example/#organization", "@type": "Organization"},  # names no product (nor a list)
    "https://shop.example/p/1/#product-typo",
    {"@id": "//[x"},  # no URL at all
], ids=["absent", "other-host", "not-a-product", "text", "no-url"])
def test_a_main_entity_that_names_no_product_here_leaves_the_first_product(main: object) -> None:
    webpage = {"@type": "WebPage", "@id": HERE, "mainEntity": main}
    for order in ((DEAL, OWN), (OWN, DEAL)):
        product = extract_product(_page(_graph(webpage, *order)))
        assert product is not None and product["id"] == order[0]["sku"]


# -- Yoast's graph: a product's offers, brand and image named by @id; listing pages ------------------------
@pytest.mark.parametrize("graph", [
    yoast_product(),  # Yoast: offers, a list of references
    yoast_product(OFFER_REF),
    yoast_product({"@id": AGGREGATE["@id"]}, aggregate=AGGREGATE),  # a variable product
    yoast_product({"@id": AGGREGATE["@id"]}, aggregate={k: v for k, v in AGGREGATE.items() if "Price" not in k}),
    yoast_product(offer={**OFFER, "price": None}),  # its priceSpecification's price
], ids=["offer-list", "offer", "aggregate-offer", "aggregate-offer-offers", "price-specification"])
def test_a_products_offers_brand_and_image_named_by_id_are_read_from_the_nodes_they_name(graph: list[dict[str, object]]) -> None:
    """Yoast's graph names a Product's offers, brand and image by ``@id`` (developer.yoast.com, "Schema
    piece - Product"): its price, stock and brand were lost, and its image and brand were the reference's URL."""
    product = extract_product(_page(_graph(*graph)))
    assert product is not None
    assert (product["id"], product["name"], product["price"], product["currency"], product["in_stock"]) == (
        "woo-hoodie-21", "Hoodie with Logo", 59.9, "EUR", True)
    assert (product["brand"], product["image"]) == ("Fjell", IMAGE_URL)


def test_references_the_page_does_not_resolve_are_no_facts() -> None:
    """A reference to a node the page does not carry (a plugin that prints its graph in parts, one part
    missing) is no price, brand or image: never the reference's URL as a brand or an image."""
    graph = yoast_product(offer=None, brand=None, image=None)
    product = extract_product(_page(_graph(*graph)))
    assert product is not None and product["name"] == "Hoodie with Logo"
    assert (product["price"], product["in_stock"], product["brand"], product["image"]) == (None, None, None, None)
    lone = product_from_node(next(n for n in graph if n["@type"] == "Product"))  # a lone node: nothing looked up
    assert (lone["name"], lone["price"], lone["brand"], lone["image"]) == ("Hoodie with Logo", None, None, None)


def test_an_image_object_written_in_the_product_gives_its_url_not_its_caption() -> None:
    image = {"@type": "ImageObject", "name": "Front view", "contentUrl": "https://cdn.example/h.jpg"}
    for value in (image, [image], {**image, "contentUrl": None, "url": "https://cdn.example/h.jpg"}):
        product = extract_product(_page(json.dumps({**PRODUCT, "image": value})))
        assert product is not None and product["image"] == "https://cdn.example/h.jpg"


def test_reference_cycles_and_chains_end_and_leave_the_other_facts() -> None:
    """An offer naming itself, or offers naming each other past ``MAX_REF_LOOKUPS``: the lookups end, the
    product keeps its other facts (a RecursionError would have lost it all)."""
    loop = {"@type": "AggregateOffer", "@id": SITE + "#/schema/offer/loop", "offers": [{"@id": SITE + "#/schema/offer/loop"}] * 500,
            "priceSpecification": {"@id": SITE + "#/schema/offer/loop"}}
    chain = [{"@type": "AggregateOffer", "@id": f"{SITE}#/schema/offer/c{n}", "offers": {"@id": f"{SITE}#/schema/offer/c{n + 1}"}}
             for n in range(MAX_REF_LOOKUPS + 5)]
    for offers, extra, price in (
        ({"@id": loop["@id"]}, [loop], None),
        ({"@id": chain[0]["@id"]}, chain + [{"@type": "Offer", "@id": f"{SITE}#/schema/offer/c{len(chain)}", "price": 5}], None),
        ({"@id": chain[0]["@id"]}, chain[:5] + [{"@type": "Offer", "@id": f"{SITE}#/schema/offer/c5", "price": 5}], 5.0),
    ):
        product = extract_product(_page(_graph(*yoast_product(offers, offer=None), *extra)))
        assert product is not None and (product["name"], product["brand"], product["price"]) == ("Hoodie with Logo", "Fjell", price)
    docs = " ".join((Path(__file__).resolve().parents[2] / "docs" / "capture.md").read_text(encoding="utf-8").split())
    assert f"Each fact follows at most {MAX_REF_LOOKUPS} references (`MAX_REF_LOOKUPS`)" in docs


WOO_LOOP = [{"@type": "Product", "@id": f"{SITE}product/{slug}/", "name": slug, "url": f"{SITE}product/{slug}/"}
            for slug in ("hoodie-with-logo", "hoodie-with-zipper")]  # what WooCommerce's own loop data was
LISTINGS = {
    "yoast-collection-page": yoast_category(),
    "collection-page-alone": yoast_category(page_type="CollectionPage")[:1] + LISTED,
    "search-results-page": [{"@type": "SearchResultsPage", "url": SITE + "?s=hoodie"}] + LISTED,
    "webpage-main-entity-item-list": [{"@type": "WebPage", "@id": CATEGORY, "mainEntity": {"@id": CATEGORY + "#list"}},
                                      {"@type": "ItemList", "@id": CATEGORY + "#list"}, *WOO_LOOP],
    "main-entity-item-list-inline": [{"@type": "WebPage", "url": CATEGORY, "mainEntity": {
        "@type": "ItemList", "itemListElement": [{"@type": "ListItem", "position": 1, "item": WOO_LOOP[0]}]}}, *WOO_LOOP],
    "main-entity-item-list-named": [{"@type": "WebPage", "@id": CATEGORY, "mainEntity": {"@id": CATEGORY + "#list", "@type": "ItemList"}},
                                    *WOO_LOOP],
}


@pytest.mark.parametrize("name", LISTINGS)
def test_a_listing_page_has_no_product_of_its_own(name: str) -> None:
    """A page that says it lists products (Yoast's CollectionPage with its ItemList, a SearchResultsPage,
    a WebPage whose mainEntity is an ItemList) was taken for its first product's page when no catalog
    pattern claimed it: every view of the category counted as a view of that product."""
    html = _page(_graph(*LISTINGS[name]))
    reading = read_json_ld(html)
    assert (reading.product, reading.listing) == (None, True)
    page = page_facts("/product-category/hoodies/", None, html, CatalogSettings())
    assert (page.type, page.product) == ("other", None)
    tag_only = read_extract({"doc": html.decode()}, CatalogSettings(), {})  # the tag sends the page's JSON-LD
    assert tag_only.declared is False
    assert page_facts("/product-category/hoodies/", None, None, CatalogSettings(), reading=tag_only) == page


def test_a_listing_that_names_its_product_or_a_product_page_is_not_a_listing() -> None:
    """The page's own word wins: a CollectionPage whose ``mainEntity`` is a Product, or that carries a
    Product whose ``mainEntityOfPage`` is the page, is that product's page; a product page that carries a
    "related products" ItemList (not its main entity) is still one."""
    named = yoast_category()
    named[0] = {**named[0], "mainEntity": {"@id": LISTED[1]["@id"]}}
    claimed = yoast_category() + [{**LISTED[1], "mainEntityOfPage": {"@id": CATEGORY}}]  # after the ItemList
    for graph in (named, claimed):
        reading = read_json_ld(_page(_graph(*graph)))
        assert reading.listing is False and reading.product is not None and reading.product["id"] == "22"
    related = {"@type": "ItemList", "name": "Related products",
               "itemListElement": [{"@type": "ListItem", "position": 1, "item": {"@id": LISTED[1]["@id"]}}]}
    page = page_facts("/product/hoodie-with-logo/", None, _page(_graph(*yoast_product(), related, LISTED[1])),
                      CatalogSettings())
    assert page.type == "product" and page.product is not None and page.product["id"] == "woo-hoodie-21"
    # no WebPage to say which page this is: a list naming another page as its own is not this page's
    elsewhere = {**related, "mainEntityOfPage": {"@id": CATEGORY}}
    reading = read_json_ld(_page(json.dumps(elsewhere), json.dumps(PRODUCT)))
    assert reading.listing is False and reading.product is not None and reading.product["id"] == "101"


# -- a ProductGroup's variants: the product's image, stock, price and sizes ----------------------------------
COAT = {  # Google's documented shape (developers.google.com/search/docs/appearance/structured-data/product-variants)
    "@context": "https://schema.org/", "@type": "ProductGroup", "name": "Wool winter coat",
    "url": "https://www.example.com/coat", "brand": {"@type": "Brand", "name": "Good brand"},
    "productGroupID": "44E01", "material": "wool", "variesBy": ["https://schema.org/size", "https://schema.org/color"],
    "hasVariant": [
        {"@type": "Product", "sku": "44E01-M11000", "name": "Small green coat", "color": "Green", "size": "small",
         "image": "https://www.example.com/coat_small_green.jpg",
         "offers": {"@type": "Offer", "priceCurrency": "USD", "price": 39.99, "availability": "https://schema.org/OutOfStock"}},
        {"@type": "Product", "sku": "44E01-K11000", "name": "Small yellow coat", "color": "yellow", "size": "small",
         "image": "https://www.example.com/coat_small_yellow.jpg",
         "offers": {"@type": "Offer", "priceCurrency": "USD", "price": 39.99, "availability": "https://schema.org/InStock"}},
        {"@type": "Product", "sku": "44E01-X1100000", "name": "Large light blue coat", "color": "light blue",
         "size": {"@type": "SizeSpecification", "name": "large", "sizeSystem": "https://schema.org/WearableSizeSystemUS"},
         "offers": {"@type": "Offer", "priceCurrency": "USD", "price": 49.99, "availability": "https://schema.org/InStock"}},
        {"@type": "Product", "sku": "44E01-M", "name": "Medium green coat", "color": "Green", "size": "M",
         "offers": {"@type": "Offer", "priceCurrency": "USD", "price": "44.99", "availability": "https://schema.org/SoldOut"}},
    ],
}
COAT_PAGE = "/coat"


def _catalog(tmp_path: Path, more: str = "") -> CatalogSettings:
    """The catalog of rules whose product pages are ``/{product}``, with ``more`` of the catalog section."""
    return rules_from_text(tmp_path, f'catalog:\n  product_pages: "/{{product}}"\n{more}slots: []\n').catalog


def _coat_facts(html: bytes, catalog: CatalogSettings) -> dict[str, object]:
    page = page_facts(COAT_PAGE, None, html, catalog)
    assert page.product is not None
    return dict(page.product)


def test_a_product_groups_variants_give_its_image_stock_lowest_price_and_sizes(tmp_path: Path) -> None:
    """The group carries its name and brand; its variants their image, stock, price and size: they were
    all lost, and a size slot had no ``page.product.sizes`` on a page with only this markup."""
    product = _coat_facts(_page(json.dumps(COAT)), _catalog(tmp_path))
    assert (product["name"], product["brand"], product["image"]) == (
        "Wool winter coat", "Good brand", "https://www.example.com/coat_small_green.jpg")  # the first variant's
    assert (product["price"], product["currency"], product["in_stock"]) == (39.99, "USD", True)  # the lowest: Google's "from"
    assert product["sizes"] == ("small", "large")  # in stock; small as the yellow one is, M sold out
    assert dict(product["variants"]) == {"small": "44E01-K11000", "large": "44E01-X1100000", "M": "44E01-M"}


def test_a_groups_own_offer_and_image_come_first_and_every_variant_sold_out_is_out_of_stock(tmp_path: Path) -> None:
    sold_out = [{**v, "offers": {**v["offers"], "availability": "https://schema.org/OutOfStock"}} for v in COAT["hasVariant"]]
    group = {**COAT, "image": "https://www.example.com/coat.jpg", "hasVariant": sold_out,
             "offers": {"@type": "AggregateOffer", "lowPrice": "35.00", "priceCurrency": "EUR", "availability": "https://schema.org/InStock"}}
    product = _coat_facts(_page(json.dumps(group)), _catalog(tmp_path))
    assert (product["image"], product["price"], product["currency"]) == ("https://www.example.com/coat.jpg", 35.0, "EUR")
    assert product["in_stock"] is False and product["sizes"] == ()  # the variants' word over the group's
    assert dict(product["variants"]) == {"small": "44E01-M11000", "large": "44E01-X1100000", "M": "44E01-M"}


def test_variants_named_by_id_in_the_graph_are_read_and_a_missing_one_is_no_size(tmp_path: Path) -> None:
    """A graph may list its variants as nodes of their own, named by ``@id`` from ``hasVariant`` (full or
    relative to the page, their offers too); one the page does not carry is skipped, never its URL as a size."""
    base = "https://www.example.com/coat"
    variants = [{**v, "@id": f"{base}#v{n}"} for n, v in enumerate(COAT["hasVariant"])]
    offer = {"@id": f"{base}#offer-3", **variants[3]["offers"]}
    variants[3] = {**variants[3], "offers": {"@id": "#offer-3"}}
    refs = [{"@id": f"#v{n}"} for n in range(4)] + [{"@id": f"{base}#v9"}]
    group = {**COAT, "@id": f"{base}#group", "hasVariant": refs}
    product = _coat_facts(_page(_graph(group, *variants, offer)), _catalog(tmp_path))
    assert product["name"] == "Wool winter coat" and product["price"] == 39.99
    assert product["sizes"] == ("small", "large")
    assert dict(product["variants"]) == {"small": "44E01-K11000", "large": "44E01-X1100000", "M": "44E01-M"}
    no_sku = [{k: v for k, v in variant.items() if k != "sku"} for variant in variants]  # keyed by @id instead
    product = _coat_facts(_page(_graph({**group, "hasVariant": refs[:1]}, *no_sku)), _catalog(tmp_path))
    assert dict(product["variants"]) == {"small": f"{base}#v0"}


def test_only_sizes_and_a_bounded_list_are_read(tmp_path: Path) -> None:
    """A group that varies by colour alone has no sizes; ``catalog.not_sizes`` applies to a variant's size as
    to any; a group's first ``MAX_VARIANTS`` variants are read, whatever it lists."""
    colours = [{k: v for k, v in variant.items() if k != "size"} for variant in COAT["hasVariant"]]
    product = _coat_facts(_page(json.dumps({**COAT, "variesBy": "https://schema.org/color", "hasVariant": colours})), _catalog(tmp_path))
    assert (product["in_stock"], product["price"], product.get("sizes"), product.get("variants")) == (True, 39.99, None, None)
    default = {"@type": "Product", "sku": "1", "size": "Default Title", "offers": COAT["hasVariant"][1]["offers"]}
    catalog = _catalog(tmp_path, '  not_sizes: ["Default Title"]\n')
    product = _coat_facts(_page(json.dumps({**COAT, "hasVariant": [default, COAT["hasVariant"][2]]})), catalog)
    assert product["sizes"] == ("large",) and dict(product["variants"]) == {"large": "44E01-X1100000"}
    many = [{"@type": "Product", "sku": f"s{n}", "size": f"EU {n}"} for n in range(MAX_VARIANTS + 50)]
    product = _coat_facts(_page(json.dumps({**COAT, "hasVariant": many})), _catalog(tmp_path))
    assert len(product["variants"]) == MAX_VARIANTS and product["sizes"][-1] == f"EU {MAX_VARIANTS - 1}"
    docs = " ".join((Path(__file__).resolve().parents[2] / "docs" / "capture.md").read_text(encoding="utf-8").split())
    assert f"A group's first {MAX_VARIANTS} variants are read (`MAX_VARIANTS`)" in docs


def test_the_rules_catalog_sizes_win_over_a_groups_variants(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path, '  sizes: {items: "select#size option", id: "@value", size: "text"}\n')
    picker = b'<select id="size"><option value="c-s">S</option><option value="c-l">L</option></select>'
    product = _coat_facts(_page(json.dumps(COAT)) + picker, catalog)
    assert product["sizes"] == ("S", "L") and dict(product["variants"]) == {"S": "c-s", "L": "c-l"}
    product = _coat_facts(_page(json.dumps(COAT)), catalog)  # the selectors find none here: the group's
    assert product["sizes"] == ("small", "large")


def test_a_groups_variants_read_from_the_tags_extract_are_the_pages(tmp_path: Path) -> None:
    """Tag-only mode: the server reads the tag's extract with the same code (``read_extract``)."""
    catalog = _catalog(tmp_path)
    block = f'<script type="application/ld+json">{json.dumps(COAT)}</script>'
    reading = read_extract({"doc": block, "values": {}}, catalog, catalog.product_groups())
    from_tag = page_facts(COAT_PAGE, None, None, catalog, reading=reading)
    from_html = page_facts(COAT_PAGE, None, _page(json.dumps(COAT)), catalog)
    assert from_tag == from_html and from_tag.product is not None and from_tag.product["sizes"] == ("small", "large")


# -- catalog.variant_id: a page's variants keyed as the store's catalog keys them ---------------------------
SHOP = "https://shop.example/products/rain-jacket"
RAIN = {  # Shopify's structured_data: each variant's @id and offer URL name its variant id, beside its SKU
    "@context": "http://schema.org/", "@type": "ProductGroup", "@id": f"{SHOP}#product", "name": "Rain Jacket",
    "url": SHOP, "productGroupID": "8001",
    "hasVariant": [{"@id": f"{SHOP}?variant={vid}#variant", "@type": "Product", "sku": f"RJ-{size}", "size": size,
                    "offers": {"@id": f"{SHOP}?variant={vid}#offer", "@type": "Offer", "price": "89.90",
                               "priceCurrency": "EUR", "url": f"{SHOP}?variant={vid}",
                               "availability": "http://schema.org/" + ("OutOfStock" if size == "L" else "InStock")}}
                   for vid, size in ((44001, "S"), (44002, "M"), (44003, "L"))],
}
BY_ID = {"S": "44001", "M": "44002", "L": "44003"}


@pytest.mark.parametrize(("variant_id", "want"), [
    ('{key: "@id", match: "[?&]variant=(\\\\d+)"}', BY_ID),
    ('{key: offers.url, match: "variant=(\\\\d+)"}', BY_ID),
    ("sku", {"S": "RJ-S", "M": "RJ-M", "L": "RJ-L"}),
    ("offers.url", {size: f"{SHOP}?variant={vid}" for size, vid in BY_ID.items()}),
], ids=["id-match", "offer-url-match", "sku", "offer-url"])
def test_the_rules_variant_id_keys_a_groups_variants(tmp_path: Path, variant_id: str, want: dict[str, str]) -> None:
    """The feed keys each size by what an add to cart names (Shopify's variant id): the page's variants keyed
    the same way write the same map to the catalog, where a SKU map and the feed's would undo each other."""
    product = _coat_facts(_page(json.dumps(RAIN)), _catalog(tmp_path, f"  variant_id: {variant_id}\n"))
    assert dict(product["variants"]) == want and product["sizes"] == ("S", "M")
    assert dict(_coat_facts(_page(json.dumps(RAIN)), _catalog(tmp_path))["variants"]) == {
        "S": "RJ-S", "M": "RJ-M", "L": "RJ-L"}  # without it: the SKU, as before


def test_a_variant_without_the_rules_key_offers_no_size_and_its_stock_still_counts(tmp_path: Path) -> None:
    """A variant whose key is not where the rules say is no size: keyed otherwise (its SKU) it would be a
    second child of that size in the catalog, beside the feed's."""
    variants = [*RAIN["hasVariant"][:2], {**RAIN["hasVariant"][2], "@id": f"{SHOP}#variant-l",
                                          "offers": {"availability": "http://schema.org/InStock"}}]
    catalog = _catalog(tmp_path, '  variant_id: {key: "@id", match: "variant=(\\\\d+)"}\n')
    product = _coat_facts(_page(json.dumps({**RAIN, "hasVariant": variants})), catalog)
    assert dict(product["variants"]) == {"S": "44001", "M": "44002"} and product["in_stock"] is True


def test_rules_check_url_warns_of_variants_without_the_rules_key(
    tmp_path: Path, page_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """``rules check --url`` names how many of the page's variants have no key where ``catalog.variant_id``
    says, and the key: their sizes are left out, and nothing else the page shows says so."""
    from page_server import Page

    from slotwise.cli import main

    keyless = {**RAIN["hasVariant"][2], "@id": f"{SHOP}#variant-l"}
    shop = page_server({"/rain-jacket": Page(_page(json.dumps({**RAIN, "hasVariant": [*RAIN["hasVariant"][:2], keyless]}))),
                        "/all-keyed": Page(_page(json.dumps(RAIN)))})
    rules = tmp_path / "rules.yaml"
    rules.write_text('catalog:\n  product_pages: "/{product}"\n  variant_id: {key: "@id", match: "variant=(\\\\d+)"}\n'
                     "slots: []\n", encoding="utf-8")
    assert main(["rules", "check", str(rules), "--url", shop.url + "/rain-jacket"]) == 0
    out = capsys.readouterr().out
    assert ('WARNING: 1 of 3 JSON-LD variants with a size has no value at catalog.variant_id\'s key @id (its group of '
            '"variant=(\\d+)"): its size is left out of the product\'s sizes') in out
    assert "sizes (size=child product): S=44001, M=44002" in out
    assert main(["rules", "check", str(rules), "--url", shop.url + "/all-keyed"]) == 0
    assert "WARNING" not in capsys.readouterr().out


@pytest.mark.parametrize(("variant_id", "said"), [
    ("{value: x}", "'catalog.variant_id' is read from each variant: a key path (sku) or {key, match}, not a 'value'"),
    ('{key: "@id", match: "(a)(b)"}', "has 2 groups; keep one"),
    ('{match: "x"}', "'catalog.variant_id': a field of a JSON item needs 'key'"),
    ("a..b", "bad key path 'a..b'"),
], ids=["value", "two-groups", "no-key", "bad-path"])
def test_a_bad_variant_id_is_said_where_it_is(tmp_path: Path, variant_id: str, said: str) -> None:
    with pytest.raises(RulesError) as error:
        _catalog(tmp_path, f"  variant_id: {variant_id}\n")
    assert said in str(error.value) and "rules.yaml:3:" in str(error.value)


# -- a ProductGroup's variants written as Products of their own are not the page's product -------------------
def _variant_nodes(**more: object) -> list[dict[str, object]]:
    """RAIN's variants as nodes of the graph, each with its name and price (what a first-Product pick took)."""
    return [{**v, "name": f"Rain Jacket - {v['size']}", **more} for v in RAIN["hasVariant"]]


@pytest.mark.parametrize("graph", [
    [*_variant_nodes(), {**RAIN, "hasVariant": [{"@id": v["@id"]} for v in RAIN["hasVariant"]]}],
    [*_variant_nodes(), {**RAIN, "hasVariant": [{"@id": v["@id"].replace(SHOP, "")} for v in RAIN["hasVariant"]]}],
    [*_variant_nodes(isVariantOf={"@id": f"{SHOP}#product"}), {k: v for k, v in RAIN.items() if k != "hasVariant"}],
    [*_variant_nodes(isVariantOf={"@id": "#product"}), RAIN],
], ids=["listed-by-id", "listed-by-relative-id", "is-variant-of-a-group-without-hasvariant", "both"])
def test_a_variant_listed_before_its_group_is_not_the_pages_product(tmp_path: Path, graph: list[dict[str, object]]) -> None:
    """A theme may write each variant as a graph node before the group: the first Product was a size, and
    the page's product its own size (its name, its SKU as the product's id)."""
    product = _coat_facts(_page(_graph(*graph)), _catalog(tmp_path))
    assert product["name"] == "Rain Jacket"  # the group's, not "Rain Jacket - S"
    reading = read_json_ld(_page(_graph(*graph)))
    assert reading.product is not None and reading.product["id"] == f"{SHOP}#product"  # not RJ-S


def test_a_variant_the_page_names_is_viewed_and_its_group_is_the_product(tmp_path: Path) -> None:
    """A variant's own page (Google's shape for a page per variant) names it, or carries it alone with its
    group inline: the product is its group (every variant's page one product), the variant the one viewed.
    Each variant's page was a product of its own: views, co-views and the size preset split by size."""
    named = {**_variant_nodes()[1], "mainEntityOfPage": f"{SHOP}?variant=44002"}
    reading = read_json_ld(_page(_graph(*_variant_nodes()[:1], named, RAIN)))
    assert reading.product is not None and (reading.product["name"], reading.product["id"]) == ("Rain Jacket", f"{SHOP}#product")
    assert reading.viewed == ("RJ-M", "M", True) and reading.product["in_stock"] is True
    lone = {**_variant_nodes()[1], "isVariantOf": {k: v for k, v in RAIN.items() if k != "hasVariant"}}
    reading = read_json_ld(_page(json.dumps(lone)))
    assert reading.product is not None and (reading.product["name"], reading.product["id"]) == ("Rain Jacket", f"{SHOP}#product")
    assert reading.product["price"] is None and reading.viewed == ("RJ-M", "M", True)  # its size's price: no group's
