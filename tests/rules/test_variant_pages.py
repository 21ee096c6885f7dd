"""A page per variant (Google's "multi-page" product variants): every variant's page is a view of one product.

Google's product-variant structured data has two shapes (developers.google.com/search/docs/appearance/
structured-data/product-variants): one page for all variants (a ProductGroup whose ``hasVariant`` lists
them), and a page per variant (``/coat/green-small``, ``?variant=``), whose JSON-LD is that variant's
Product naming its group (``isVariantOf``, by ``@id`` or written in it; ``inProductGroupWithID``), or the
group listing the page's variant in full and the others by ``url`` alone. Each variant's page was read as a
product of its own: a colour's views, co-views and category interest split from its siblings', and the
size preset worked per variant. Now the group is the page's product, the variant the one viewed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.rules.catalog import CatalogSettings
from slotwise.rules.errors import RulesError
from slotwise.rules.facts import page_facts
from slotwise.rules.jsonld import read_json_ld
from slotwise.rules.product_facts import structured_reading
from slotwise.rules.reading import read_extract
from slotwise.rules.testing import rules_from_text
from google_variants import BLUE_L, COAT, GREEN_S, GROUP, SHAPES, by_reference, group_listing, page
from yoast_graph import HOODIE

def catalog(tmp_path: Path, more: str = "  product_id: productGroupID\n") -> CatalogSettings:
    """Rules whose variant pages are ``/coat/{slug}``: the URL names the variant, the JSON-LD the product."""
    return rules_from_text(tmp_path, f'catalog:\n  product_pages: "/coat/{{slug}}"\n{more}slots: []\n').catalog


@pytest.mark.parametrize("shape", list(SHAPES))
def test_each_variants_page_is_a_view_of_its_group(tmp_path: Path, shape: str) -> None:
    """Two variants' pages, each in one of Google's shapes: one product (the group's productGroupID, as the
    rules' ``catalog.product_id`` says), its name; each page's variant the one viewed, with its size."""
    rules = catalog(tmp_path)
    green = page_facts("/coat/green-small", None, SHAPES[shape](GREEN_S), rules).product
    blue = page_facts("/coat/lightblue-large", None, SHAPES[shape](BLUE_L), rules).product
    assert green is not None and blue is not None
    assert green["id"] == blue["id"] == "44E01"
    if shape == "in-product-group-with-id":  # no group node to name it: each page's variant's name
        assert (green["name"], blue["name"]) == ("Small green coat", "Large lightblue coat")
    else:
        assert green["name"] == blue["name"] == "Wool winter coat"
    assert (green["viewed_variant"], green["viewed_size"]) == ("44E01-M11000", "small")
    assert (blue["viewed_variant"], blue["viewed_size"]) == ("44E01-X1100000", "large")
    assert (green["price"], green["currency"], green["in_stock"]) == (None, "USD", True)  # a size's price is no product's
    assert (blue["price"], blue["in_stock"]) == (None, None)  # a sold-out size's page says nothing of the others
    # the page does not list every variant: its size is a child to learn, not the product's size map
    assert green.get("variants") is None and green.get("sizes") is None
    assert tuple(green["more_sizes"]) == (("44E01-M11000", "small"),)


PRICED = {**GROUP, "offers": {"@type": "AggregateOffer", "lowPrice": 35.0, "priceCurrency": "USD"}}
PRICED_SHAPES = {"by-reference": lambda v: page([PRICED, {**v, "isVariantOf": {"@id": "#coat_parent"}}]),
                 "group-listing": lambda v: page({**PRICED, "hasVariant": [v, {"url": COAT + "?size=other"}]}),
                 "inline-group": lambda v: page({**v, "isVariantOf": PRICED})}


@pytest.mark.parametrize(("shape", "want"), [*((shape, None) for shape in SHAPES), *((shape, 35.0) for shape in PRICED_SHAPES)])
def test_a_variants_page_gives_the_product_its_groups_price_never_its_own(tmp_path: Path, shape: str,
                                                                         want: float | None) -> None:
    """The group's own offer is the product's price on every variant's page; without one, no price (the catalog
    keeps its own): not the variant's, which its offer, the page's Open Graph and a rules selector show."""
    rules = rules_from_text(tmp_path, 'catalog:\n  product_pages: "/coat/{slug}"\n  product_id: productGroupID\n'
                                      '  selectors: {price: "h1 @data-price"}\nslots: []\n').catalog
    shapes = SHAPES if want is None else PRICED_SHAPES

    def shown(variant: dict[str, Any]) -> bytes:
        price = variant["offers"]["price"]
        return shapes[shape](variant).replace(  # type: ignore[operator]
            b"<h1>", f'<meta property="product:price:amount" content="{price}"><h1 data-price="{price}">'.encode())

    prices = [page_facts(f"/coat/{v['sku']}", None, shown(v), rules).product["price"]  # type: ignore[index]
              for v in (GREEN_S, BLUE_L)]
    assert prices == [want, want]


def test_a_variants_page_that_lists_every_variant_gives_the_lowest_price(tmp_path: Path) -> None:
    """Every variant in full on each variant's page: the product's price is the lowest (Google's "from"), the
    same on the cheap size's page and the dear one's."""
    prices = [page_facts("/coat/x", None, page({**GROUP, "hasVariant": [GREEN_S, BLUE_L]},
                                                {**v, "isVariantOf": {"@id": "#coat_parent"}}),
                         catalog(tmp_path)).product["price"] for v in (GREEN_S, BLUE_L)]  # type: ignore[index]
    assert prices == [39.99, 39.99]


def test_without_the_rules_key_the_group_is_keyed_as_a_group_always_was(tmp_path: Path) -> None:
    """Without ``catalog.product_id`` a group's key is its ``sku``, ``productID``, ``mpn``, ``@id``, then its
    ``productGroupID`` (a variant's ``inProductGroupWithID``): one key for every variant's page all the same."""
    rules = catalog(tmp_path, "")
    for shape, want in (("by-reference", "#coat_parent"), ("in-product-group-with-id", "44E01"),
                        ("yoast-graph", HOODIE + "#productgroup")):
        ids = {page_facts(f"/coat/{v['sku']}", None, SHAPES[shape](v), rules).product["id"]  # type: ignore[index]
               for v in (GREEN_S, BLUE_L)}
        assert ids == {want}, shape


def test_a_group_that_lists_every_variant_keeps_its_sizes_and_its_sold_out_word(tmp_path: Path) -> None:
    """A variant's page (``?variant=``) that carries the whole group, every variant in full (Shopify's
    ``structured_data`` does): the product's sizes are the group's, and it is sold out when every one is."""
    every = [GREEN_S, BLUE_L]
    html = page({**GROUP, "hasVariant": every}, {**GREEN_S, "isVariantOf": {"@id": "#coat_parent"}})
    product = page_facts("/coat/x", None, html, catalog(tmp_path)).product
    assert product is not None and dict(product["variants"]) == {"small": "44E01-M11000", "large": "44E01-X1100000"}
    assert product["sizes"] == ("small",) and product["viewed_size"] == "small" and product.get("more_sizes") is None
    sold_out = {**GREEN_S, "offers": {**GREEN_S["offers"], "availability": "https://schema.org/SoldOut"}}
    reading = read_json_ld(page({**GROUP, "hasVariant": [sold_out, BLUE_L]}, {**sold_out, "isVariantOf": {"@id": "#coat_parent"}}))
    assert reading.product is not None and reading.product["in_stock"] is False


def test_variants_without_a_size_are_the_products_aliases(tmp_path: Path) -> None:
    """A colour's page (a group that varies by colour alone), and the variants its group names by URL alone,
    keyed where the rules' ``catalog.variant_id`` says (their URL): a line naming one is the product, as a
    feed's variants without a size are (``aliases``); the sizes among them are children to learn."""
    colour = {k: v for k, v in GREEN_S.items() if k != "size"}
    product = page_facts("/coat/green", None, by_reference(colour), catalog(tmp_path)).product
    assert product is not None and product["aliases"] == ("44E01-M11000",)
    assert product["viewed_size"] is None and product.get("more_sizes") is None and product.get("sizes") is None
    rules = catalog(tmp_path, '  product_id: productGroupID\n  variant_id: {key: url, match: "size=\\\\w+&color=\\\\w+"}\n')
    product = page_facts("/coat/green-small", None, group_listing({**GREEN_S, "url": f"{COAT}?size=small&color=green"}),
                         rules).product
    assert product is not None and product["id"] == "44E01"
    assert product["aliases"] == ("size=small&color=lightblue", "size=large&color=lightblue")
    assert tuple(product["more_sizes"]) == (("size=small&color=green", "small"),)


def test_a_variant_of_a_group_the_page_does_not_carry_is_its_own_product() -> None:
    """``isVariantOf`` naming a node the page does not carry, and no ``inProductGroupWithID``: no group to
    read, so the variant is the product, as before."""
    reading = read_json_ld(page({**GREEN_S, "isVariantOf": {"@id": "https://www.example.com/other#group"}}))
    assert reading.product is not None and reading.product["id"] == "44E01-M11000" and reading.viewed is None


@pytest.mark.parametrize("shape", list(SHAPES))
def test_the_tags_extract_reads_as_the_page(tmp_path: Path, shape: str) -> None:
    """Tag-only mode: the tag sends the page's JSON-LD scripts (``extract.doc``) and the server reads them with
    the same reader: the same product, viewed variant and sizes as the proxy reads from the page."""
    rules = catalog(tmp_path)
    html = SHAPES[shape](GREEN_S)
    doc = html.decode().split("<head>", 1)[1].split("</head>", 1)[0]  # the scripts, as tag.js sends them
    from_tag = page_facts("/coat/green-small", None, None, rules,
                          reading=read_extract({"doc": doc, "values": {}}, rules, rules.product_groups()))
    assert from_tag == page_facts("/coat/green-small", None, html, rules)
    assert from_tag.product is not None and from_tag.product["viewed_variant"] == "44E01-M11000"


def test_rules_check_url_says_the_page_is_one_variant_of_its_group(
    tmp_path: Path, page_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """``rules check --url`` shows what it read: the group as the product, how the page names it, the
    variant viewed and its size, the variants named by the URL of their pages."""
    from page_server import Page

    from slotwise.cli import main

    shop = page_server({"/coat/green-small": Page(group_listing(GREEN_S)), "/coat/blue": Page(by_reference(BLUE_L))})
    rules = tmp_path / "rules.yaml"
    rules.write_text('catalog:\n  product_pages: "/coat/{slug}"\n  product_id: productGroupID\nslots: []\n', encoding="utf-8")
    assert main(["rules", "check", str(rules), "--url", shop.url + "/coat/green-small"]) == 0
    out = capsys.readouterr().out
    assert "JSON-LD products keyed by (catalog.product_id): productGroupID" in out
    assert "product '44E01': 'Wool winter coat', price none, in stock" in out
    assert ("one variant's page (the group lists it in full, the others by url): the product is its group; "
            "viewed variant '44E01-M11000', size 'small'; the group names 2 other variants by URL alone") in out
    assert "also sizes small=44E01-M11000" in out
    assert main(["rules", "check", str(rules), "--url", shop.url + "/coat/blue"]) == 0
    out = capsys.readouterr().out
    assert "product '44E01': 'Wool winter coat', price none, unknown" in out
    assert ("one variant's page (its isVariantOf names the group): the product is its group; "
            "viewed variant '44E01-X1100000', size 'large'") in out
    docs = Path(__file__).resolve().parents[2] / "docs"
    shown = (docs / "your-store.md").read_text(encoding="utf-8").split("`rules check --url` says so:\n\n```\n", 1)[1]
    assert all(line in out.splitlines() for line in shown.split("\n```", 1)[0].splitlines())  # the walkthrough's, as printed
    said = " ".join((docs / "capture.md").read_text(encoding="utf-8").split())
    assert ("`one variant's page (its isVariantOf names the group): the product is its group; viewed variant "
            "'44E01-X1100000', size 'large'`") in said


@pytest.mark.parametrize(("product_id", "said"), [
    ("{value: x}", "'catalog.product_id' is read from the page's product: a key path (sku) or {key, match}, not a 'value'"),
    ("a..b", "bad key path 'a..b'"),
], ids=["value", "bad-path"])
def test_a_bad_product_id_is_said_where_it_is(tmp_path: Path, product_id: str, said: str) -> None:
    with pytest.raises(RulesError) as error:
        catalog(tmp_path, f"  product_id: {product_id}\n")
    assert said in str(error.value) and "rules.yaml:3:" in str(error.value)


_REF = st.sampled_from(["#g", "#v", "https://www.example.com/coat#g", "44E01", "//[x"])
_NODES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10) | _REF
    | st.sampled_from(["Product", "ProductGroup", "ProductModel", "WebPage", "https://schema.org/InStock", "small"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["@type", "@id", "@graph", "isVariantOf", "inProductGroupWithID", "productGroupID", "hasVariant",
                         "variesBy", "url", "size", "sku", "name", "offers", "availability", "price", "mainEntity",
                         "mainEntityOfPage"]),
        children, max_size=6),
    max_leaves=30,
)


# 100, was 150: drawing the graph (up to 30 leaves) is most of the time; 100 graphs still mix every key and
# reference (the @id cycles among them)
@settings(max_examples=100, deadline=None)
@given(_NODES)
def test_random_variant_graphs_never_raise(data: object) -> None:
    """Whatever a page's graph holds under these keys (cycles by ``@id`` too), the reader gives a product or
    none, and the viewed variant's key and size are texts or None."""
    rules = CatalogSettings()
    for candidate in (data, {"@type": "Product", "isVariantOf": data, "inProductGroupWithID": data, "size": data},
                      {"@graph": [{"@type": "Product", "@id": "#v", "isVariantOf": {"@id": "#g"}, "size": data},
                                  {"@type": "ProductGroup", "@id": "#g", "hasVariant": [{"@id": "#v"}, data], "url": data},
                                  data]},
                      {"@type": "ProductGroup", "@id": "#g", "hasVariant": [data, {"url": "x"}, {"@id": "#g"}]}):
        html = page(candidate)
        reading = read_json_ld(html)
        assert reading.product is None or isinstance(reading.product, dict)
        assert reading.viewed is None or all(v is None or isinstance(v, str) for v in reading.viewed[:2])
        product, _, _ = structured_reading(html, rules)
        assert product is None or all(product.get(k) is None or isinstance(product[k], str)
                                      for k in ("id", "viewed_variant", "viewed_size"))
