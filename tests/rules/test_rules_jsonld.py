"""Product facts from JSON-LD on messy pages: found without a parse, never raising."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.rules.catalog import CatalogSettings
from slotwise.rules.extract import Field
from slotwise.rules.facts import page_facts
from slotwise.rules.jsonld import extract_product


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
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["@type", "@graph", "sku", "offers", "price", "name", "category", "image", "availability"]),
        children, max_size=5),
    max_leaves=30,
))
def test_random_json_never_raises(data: object) -> None:
    for candidate in (data, {"@type": "Product", "offers": data, "category": data, "image": data}):
        product = extract_product(_page(json.dumps(candidate)))
        assert product is None or set(product) >= {"id", "price", "in_stock"}


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
