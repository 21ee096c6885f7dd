"""A product's category from the page's ``BreadcrumbList`` (JSON-LD, else microdata) when the rules' sources name none.

Shopify themes, WooCommerce and Yoast publish the trail (Home › Trail shoes ›
the product) for search engines, while their Product node often has no
``category``. The step before the product itself is the category: named by
its URL through the rules' category pattern, else by its name. Nothing here
knows a store: the patterns are the rules', the markup is schema.org's.
"""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.keys import category_key
from slotwise.rules.catalog import CatalogSettings
from slotwise.rules.extract import Field
from slotwise.rules.facts import page_facts
from slotwise.rules.jsonld import breadcrumb_of, read_json_ld
from slotwise.rules.microdata import microdata_breadcrumb
from slotwise.rules.pages import CatalogPatterns
from slotwise.rules.reading import read_extract

SHOP = "https://shop.example"
SHOPIFY = CatalogSettings(patterns=CatalogPatterns(
    home=(re.compile("/"),), category=(re.compile("/collections/(?P<category>[^/]+)"),),
    product=(re.compile("/products/(?P<product>[^/]+)"), re.compile("/collections/[^/]+/products/(?P<product>[^/]+)"))))
NO_CATEGORY_PATTERN = CatalogSettings(patterns=CatalogPatterns(
    home=(re.compile("/"),), category=(), product=(re.compile("/product/(?P<product>[^/]+)/"),)))
PRODUCT = {"@context": "https://schema.org", "@type": "Product", "name": "Ridge Runner", "sku": "RR-1",
           "offers": {"@type": "Offer", "price": "129.00", "priceCurrency": "EUR"}}


def ld(*nodes: Any) -> str:
    return "".join(f'<script type="application/ld+json">{json.dumps(n)}</script>' for n in nodes)


def page(*nodes: Any, body: str = "") -> bytes:
    return f"<!doctype html><html><head>{ld(*nodes)}</head><body>{body}</body></html>".encode()


def trail(*steps: tuple[str | None, Any], positions: bool = True) -> dict[str, Any]:
    items = []
    for i, (name, item) in enumerate(steps, 1):
        element: dict[str, Any] = {"@type": "ListItem"}
        if positions:
            element["position"] = i
        if name is not None:
            element["name"] = name
        if item is not None:
            element["item"] = item
        items.append(element)
    return {"@context": "https://schema.org", "@type": "BreadcrumbList", "itemListElement": items}


SHOPIFY_TRAIL = trail(("Home", f"{SHOP}/"), ("Trail Shoes", f"{SHOP}/collections/trail-shoes"),
                      ("Ridge Runner", f"{SHOP}/collections/trail-shoes/products/ridge-runner"))


def facts(html: bytes, catalog: CatalogSettings, path: str) -> Any:
    return page_facts(path, None, html, catalog)


def test_a_shopify_product_gets_the_collection_its_trail_names_through_the_category_pattern() -> None:
    got = facts(page(PRODUCT, SHOPIFY_TRAIL), SHOPIFY, "/products/ridge-runner")
    assert got.type == "product" and got.category == "trail-shoes"
    assert (got.product["category"], got.product["category_name"]) == ("trail-shoes", "Trail Shoes")


def test_a_woocommerce_graph_trail_out_of_order_without_a_category_pattern_is_read_by_name() -> None:
    """Yoast's ``@graph``: the steps are Things with ``@id``, listed out of order; the product's own step
    has no URL. No category pattern claims ``/product-category/…``: the step's name is the category."""
    crumbs = {"@type": "BreadcrumbList", "itemListElement": [
        {"@type": "ListItem", "position": 3, "name": "Ridge Runner"},
        {"@type": "ListItem", "position": "1", "item": {"@id": f"{SHOP}/", "name": "Home"}},
        {"@type": "ListItem", "position": 2, "item": {"@id": f"{SHOP}/product-category/t-shirts/", "name": "T-Shirts"}},
    ]}
    graph = {"@context": "https://schema.org", "@graph": [{"@type": "WebPage", "name": "x"}, crumbs, PRODUCT]}
    got = facts(page(graph), NO_CATEGORY_PATTERN, "/product/ridge-runner/")
    assert (got.category, got.product["category_name"]) == ("t-shirts", "T-Shirts")


def test_a_trail_ending_at_the_category_names_it_and_one_of_home_alone_names_none() -> None:
    ends_at_category = trail(("Home", f"{SHOP}/"), ("Socks", f"{SHOP}/collections/socks"))
    assert facts(page(PRODUCT, ends_at_category), SHOPIFY, "/products/ridge-runner").category == "socks"
    home_only = trail(("Home", f"{SHOP}/"), ("Ridge Runner", None))
    got = facts(page(PRODUCT, home_only), SHOPIFY, "/products/ridge-runner")
    assert got.category is None and got.product["category_name"] is None


def test_the_rules_sources_and_the_products_own_category_come_first() -> None:
    with_category = {**PRODUCT, "category": "Running"}
    assert facts(page(with_category, SHOPIFY_TRAIL), SHOPIFY, "/products/ridge-runner").category == "running"
    in_url = facts(page(PRODUCT, SHOPIFY_TRAIL), SHOPIFY, "/collections/sale/products/ridge-runner")
    assert in_url.category == "trail-shoes"  # this pattern has no {category}: the trail still names it
    by_url = CatalogSettings(patterns=CatalogPatterns(home=(), category=(), product=(
        re.compile("/c/(?P<category>[^/]+)/p/(?P<product>[^/]+)"),)))
    assert facts(page(PRODUCT, SHOPIFY_TRAIL), by_url, "/c/sale/p/ridge-runner").category == "sale"
    by_selector = CatalogSettings(patterns=SHOPIFY.patterns, selectors={"category": Field.parse("main @data-category")})
    html = page(PRODUCT, SHOPIFY_TRAIL, body='<main data-category="Boots"></main>')
    assert facts(html, by_selector, "/products/ridge-runner").category == "boots"


def test_a_category_page_listing_a_trail_is_not_given_a_product() -> None:
    got = facts(page(trail(("Home", f"{SHOP}/"), ("Socks", None))), SHOPIFY, "/collections/socks")
    assert (got.type, got.category, got.product) == ("category", "socks", None)


def test_the_tag_only_extract_reads_the_same_category() -> None:
    """Tag-only mode: the tag sends the page's JSON-LD verbatim; the facts are the proxy's."""
    html = page(PRODUCT, SHOPIFY_TRAIL)
    doc = ld(PRODUCT, SHOPIFY_TRAIL)
    reading = read_extract({"doc": doc, "values": {}}, SHOPIFY, {})
    from_tag = page_facts("/products/ridge-runner", None, None, SHOPIFY, reading=reading)
    assert from_tag.category == facts(html, SHOPIFY, "/products/ridge-runner").category == "trail-shoes"


# -- properties ---------------------------------------------------------------------------------------

NAMES = st.text(st.characters(whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters=" -"), min_size=1,
                max_size=12).filter(lambda s: category_key(s) is not None)


@st.composite
def trails(draw: st.DrawFn) -> tuple[dict[str, Any], str | None, str]:
    """A product page's trail as stores write it: maybe Home first, categories (linked through the category
    pattern or not), maybe the product's own step last (with its URL, without one, or by name only), steps
    listed in any order with their positions. Returns (trail, the category expected, the product's name)."""
    product_name = draw(NAMES)
    steps: list[tuple[str | None, Any]] = []
    if draw(st.booleans()):
        steps.append(("Home", draw(st.sampled_from([f"{SHOP}/", "/", {"@id": f"{SHOP}/", "name": "Home"}]))))
    categories = draw(st.lists(NAMES.filter(lambda n: category_key(n) != category_key(product_name)), max_size=3))
    expected = None
    for name in categories:
        slug = draw(st.sampled_from(["linked", "named"]))
        if slug == "linked":
            key = draw(st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True))
            steps.append((name, {"@id": f"{SHOP}/collections/{key}", "name": name}))
            expected = category_key(key)
        else:
            steps.append((name, f"{SHOP}/pages/{category_key(name)}"))  # a page no pattern claims: its name
            expected = category_key(name)
    own = draw(st.sampled_from(["none", "linked", "unlinked"]))
    if own == "linked":
        steps.append((product_name, f"{SHOP}/products/rr-1"))
    elif own == "unlinked":
        steps.append((product_name, None))
    node = trail(*steps)
    elements = node["itemListElement"]
    node["itemListElement"] = draw(st.permutations(elements))  # positions say the order
    return node, expected, product_name


@settings(max_examples=200, deadline=None)
@given(trails())
def test_the_category_is_the_last_step_before_the_product(case: tuple[dict[str, Any], str | None, str]) -> None:
    node, expected, name = case
    got = facts(page({**PRODUCT, "name": name}, node), SHOPIFY, "/products/rr-1")
    assert got.category == expected
    assert got.category != category_key(name) or expected == category_key(name)  # never the product itself


@settings(max_examples=200, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["@type", "@id", "@graph", "itemListElement", "item", "name", "position", "url"]),
        children, max_size=5),
    max_leaves=30,
))
def test_any_json_in_a_trail_never_raises(data: object) -> None:
    for node in ({"@type": "BreadcrumbList", "itemListElement": data},
                 {"@type": "BreadcrumbList", "itemListElement": [{"position": 1, "item": data, "name": data}]},
                 data):
        html = page(PRODUCT, node)
        crumbs = read_json_ld(html).crumbs
        assert all(isinstance(name, (str, type(None))) and isinstance(url, (str, type(None))) and (name or url)
                   for name, url in crumbs)
        got = facts(html, SHOPIFY, "/products/rr-1")
        assert got.category is None or isinstance(got.category, str)


# -- microdata: the same trail in itemscope/itemprop markup -----------------------------------------------

def microdata(node: dict[str, Any], layout: list[int]) -> str:
    """A JSON-LD ``BreadcrumbList`` as stores write it in microdata, each step laid out as ``layout`` says
    (``layout[i] % 4``: a link with the name inside it, a ``link`` element beside the name, a Thing with its
    ``itemid``, the name as a ``meta``); each step also holds a nested item whose ``name`` is not the step's."""
    steps = []
    for element, how in zip(node["itemListElement"], layout):
        name, item = element.get("name"), element.get("item")
        position = element.get("position")
        parts = [f'<meta itemprop="position" content="{position}">' if how % 2 else
                 f'<span itemprop="position">{position}</span>'] if position is not None else []
        named = f'<span itemprop="name">{escape(name)}</span>' if name is not None else ""
        if isinstance(item, dict):
            thing_name = f'<span itemprop="name">{escape(item["name"])}</span>' if "name" in item else ""
            parts.append(f'<a itemscope itemtype="https://schema.org/WebPage" itemprop="item" itemid="{escape(item["@id"])}"'
                         f' href="{escape(item["@id"])}">{thing_name}</a>'
                         + (f'<meta itemprop="name" content="{escape(name)}">' if name is not None else ""))
        elif item is not None and how % 4 == 0:
            parts.append(f'<a itemprop="item" href="{escape(item)}">{named}</a>')
        elif item is not None:
            parts.append(f'<link itemprop="item" href="{escape(item)}">{named}')
        elif how % 4 == 3 and name is not None:
            parts.append(f'<meta itemprop="name" content="{escape(name)}">')
        else:
            parts.append(named)
        parts.append('<div itemscope itemtype="https://schema.org/Offer"><span itemprop="name">Not a step</span></div>')
        steps.append('<li itemprop="itemListElement" itemscope itemtype="https://schema.org/ListItem">'
                     + "".join(parts) + "</li>")
    return f'<ol class="crumbs" itemscope itemtype="https://schema.org/BreadcrumbList">{"".join(steps)}</ol>'


def spaced(crumbs: tuple[Any, ...]) -> tuple[Any, ...]:
    """Crumbs with their names' white space collapsed (an element's text is read so)."""
    return tuple((" ".join(name.split()) if name else name, url) for name, url in crumbs)


@settings(max_examples=200, deadline=None)
@given(trails(), st.lists(st.integers(0, 3), min_size=8, max_size=8), st.booleans())
def test_a_microdata_trail_reads_as_its_json_ld_twin(case: tuple[dict[str, Any], str | None, str], layout: list[int],
                                                     positions: bool) -> None:
    """The same steps, whichever markup carries them: the same category, by the same rules."""
    node, expected, name = case
    if not positions:  # listed in order, no position: taken as listed
        listed = sorted(node["itemListElement"], key=lambda e: e["position"])
        node = {**node, "itemListElement": [{k: v for k, v in e.items() if k != "position"} for e in listed]}
    body = microdata(node, layout)
    assert spaced(microdata_breadcrumb(body.encode())) == spaced(breadcrumb_of(node))
    got = facts(page({**PRODUCT, "name": name}, body=body), SHOPIFY, "/products/rr-1")
    assert got.category == expected


def test_json_ld_comes_before_microdata_and_microdata_alone_names_the_category() -> None:
    socks = trail(("Home", f"{SHOP}/"), ("Socks", f"{SHOP}/collections/socks"), ("Ridge Runner", None))
    both = page(PRODUCT, SHOPIFY_TRAIL, body=microdata(socks, [0, 1, 2]))
    assert facts(both, SHOPIFY, "/products/ridge-runner").category == "trail-shoes"
    alone = page(PRODUCT, body=microdata(socks, [0, 1, 2]))
    got = facts(alone, SHOPIFY, "/products/ridge-runner")
    assert (got.category, got.product["category_name"]) == ("socks", "Socks")
    # a page with no structured product at all (only its breadcrumb) still gets it
    bare = f"<!doctype html><h1>Ridge Runner</h1>{microdata(socks, [1, 1, 1])}".encode()
    assert facts(bare, SHOPIFY, "/products/ridge-runner").category == "socks"


def test_the_tag_only_extract_reads_a_microdata_trail() -> None:
    """Tag-only mode: the tag sends the BreadcrumbList element verbatim; the facts are the proxy's."""
    body = microdata(trail(("Home", f"{SHOP}/"), ("Trail Shoes", f"{SHOP}/collections/trail-shoes")), [0, 3])
    reading = read_extract({"doc": ld(PRODUCT) + body, "values": {}}, SHOPIFY, {})
    from_tag = page_facts("/products/ridge-runner", None, None, SHOPIFY, reading=reading)
    assert from_tag.category == facts(page(PRODUCT, body=body), SHOPIFY, "/products/ridge-runner").category == "trail-shoes"


MARKUP = st.sampled_from([
    '<ol itemscope itemtype="https://schema.org/BreadcrumbList">', "</ol>", '<li itemprop="itemListElement" itemscope>',
    '<li itemprop="itemListElement">', "</li>", '<a itemprop="item" href="/collections/x">', "<a itemprop=item>", "</a>",
    '<span itemprop="name">', '<span itemprop="name position">', "</span>", '<meta itemprop="position" content="x">',
    '<meta itemprop="position" content="2">', '<div itemscope itemprop="item" itemid="/c">', "</div>", "Shoes", "&amp;",
    '<link itemprop="item">', '<b itemprop="https://schema.org/name">', "<!--", "<script>", "</script>", "\x00",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(MARKUP, max_size=40))
def test_any_microdata_markup_never_raises(pieces: list[str]) -> None:
    html = "".join(pieces).encode()
    crumbs = microdata_breadcrumb(b'<div itemscope itemtype="https://schema.org/BreadcrumbList">' + html)
    assert all(isinstance(name, (str, type(None))) and isinstance(url, (str, type(None))) and (name or url)
               for name, url in crumbs)
    facts(html, SHOPIFY, "/products/rr-1")


def test_a_microdata_trail_is_read_to_its_first_steps_only() -> None:
    """A hostile or broken page (thousands of steps) costs a bounded walk: the first 50 steps, as in JSON-LD."""
    step = '<li itemprop="itemListElement" itemscope><a itemprop="item" href="/collections/c{}"><b itemprop="name">C{}</b></a></li>'
    body = f'<ol itemscope itemtype="https://schema.org/BreadcrumbList">{"".join(step.format(i, i) for i in range(5000))}</ol>'
    crumbs = microdata_breadcrumb(body.encode())
    assert len(crumbs) == 50 and crumbs[0] == ("C0", "/collections/c0") and crumbs[-1] == ("C49", "/collections/c49")
