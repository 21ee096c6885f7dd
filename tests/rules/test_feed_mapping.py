"""``catalog.feed`` in the store's own shape: a WooCommerce Store API answer and a Shopify
``products.json`` read as they are (samples in tests/rules/feeds/, in each platform's real shape),
the mapping refused at load with its place, and any JSON read without raising."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slotwise.proxy.personalization.catalog_feed import catalog_rows, parse_feed
from slotwise.rules import check_rules, page_facts
from slotwise.rules.capture import build_event
from slotwise.rules.feed_mapping import FeedMapping
from slotwise.rules.testing import rules_from_text

FEEDS = Path(__file__).parent / "feeds"
DOC = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text(encoding="utf-8") \
    .split("#### `catalog.feed` in the store's own shape", 1)[1]
WOO = DOC.split("```yaml\n", 1)[1].split("```", 1)[0] + "slots: []\n"  # the mappings docs/rules.md shows
BLOCKS = [block.split("```", 1)[0] for block in DOC.split("```yaml\n")[1:]]
SHOPIFY = ('catalog:\n  product_pages: "/products/{product}"\n'
           + next(b for b in BLOCKS if "url: /products.json" in b) + "slots: []\n")
GRAPHQL = ('catalog:\n  product_pages: "/{product}.html"\n'
           + next(b for b in BLOCKS if "url: \"/graphql" in b) + "slots: []\n")  # a page number inside a parameter


def mapping(tmp_path: Path, text: str) -> FeedMapping:
    rules = rules_from_text(tmp_path, text)
    assert rules.catalog.feed_mapping is not None
    return rules.catalog.feed_mapping


def sample(name: str) -> Any:
    return json.loads((FEEDS / name).read_text(encoding="utf-8"))


def test_a_woocommerce_store_api_answer_is_read_as_it_is(tmp_path: Path) -> None:
    products = parse_feed(sample("woocommerce_store_api.json"), "shop.example", mapping(tmp_path, WOO))
    beanie, hoodie = products
    assert beanie == {
        "id": "beanie", "other_id": "26", "name": "Beanie", "url": "/product/beanie/",
        "image": "/wp-content/uploads/2024/05/beanie.jpg", "price": 18.0, "currency": "EUR",
        "category": "accessories", "category_name": "Accessories", "brand": None, "in_stock": True,
    }
    assert (hoodie["id"], hoodie["other_id"], hoodie["price"], hoodie["in_stock"]) == (
        "hoodie-with-logo", "21", 59.9, False)
    assert hoodie["variants"] == {"S": "31", "M": "32"}  # a variation without a size value is none


def test_a_shopify_products_json_is_read_as_it_is(tmp_path: Path) -> None:
    tee, card, pocket = parse_feed(sample("shopify_products.json"), "shop.example", mapping(tmp_path, SHOPIFY))
    assert tee == {
        "id": "ridge-runner-tee", "other_id": "7982300528881", "name": "Ridge Runner Tee",
        "url": "/products/ridge-runner-tee",
        "image": "https://cdn.shopify.com/s/files/1/0600/files/ridge-runner.jpg?v=1709125200",
        "price": 18.0, "currency": None, "category": "t-shirts", "category_name": "T-Shirts", "brand": "Ridge",
        "in_stock": True, "variants": {"S": "43890001", "M": "43890002"},
    }
    assert (card["id"], card["in_stock"], card["image"], card["category"]) == ("gift-card", False, None, None)
    # a product without options: its one variant is "Default Title" (not_sizes), an alias and no size
    assert (pocket["category"], pocket.get("variants"), pocket["aliases"]) == ("t-shirts", None, ["43890020"])
    assert card["aliases"] == ["43890010"] and "variants" not in card


def test_a_variant_that_is_no_size_is_its_products_alias(tmp_path: Path) -> None:
    products = parse_feed(sample("shopify_products.json"), "shop.example", mapping(tmp_path, SHOPIFY))
    by_id = {r["id"]: r for r in catalog_rows(products, stored={})}
    assert by_id["43890020"] == {"id": "43890020", "parent": "ridge-pocket-tee"}  # no size "Default Title"
    assert by_id["43890002"] == {"id": "43890002", "parent": "ridge-runner-tee", "size": "M"}
    assert "variants" not in by_id["ridge-pocket-tee"] and "aliases" not in by_id["ridge-pocket-tee"]


@pytest.mark.parametrize("written", ['["default title"]', '["Size: Default Title", "N/A"]', '"Default Title"'],
                         ids=["lower-case", "labelled", "one-text"])
def test_not_sizes_are_compared_as_size_keys(tmp_path: Path, written: str) -> None:
    rules = rules_from_text(tmp_path, SHOPIFY.replace('["Default Title"]', written))
    assert rules.catalog.size_of("Default Title") is None and rules.catalog.size_of("m") == "M"
    (pocket,) = parse_feed(sample("shopify_products.json")["products"][2:], "shop.example",
                           replace(rules.catalog.feed_mapping, items=None))
    assert pocket.get("variants") is None and pocket["aliases"] == ["43890020"]


@pytest.mark.parametrize("where", ["catalog", "feed-sizes", "both"])
def test_the_catalogs_not_sizes_and_the_feeds_older_spelling_are_one_list(tmp_path: Path, where: str) -> None:
    """``catalog.not_sizes`` (every source of a size) and ``catalog.feed.sizes.not_sizes`` (the older spelling)
    are read as one list: the feed's reading, a line's size and the visitor's preferred size all use it."""
    own = '  not_sizes: ["Default Title"]         # a product without options: its one variant (below)\n'
    text = SHOPIFY.replace(own, '  not_sizes: ["N/A"]\n' if where == "both" else "" if where == "feed-sizes" else own)
    if where != "catalog":
        sizes = '      size: {key: "option{}"'
        assert sizes in text
        text = text.replace(sizes, '      not_sizes: ["Default Title"]\n' + sizes)
    rules = rules_from_text(tmp_path, text)
    assert rules.catalog.size_of("default title") is None and rules.catalog.size_of("m") == "M"
    assert rules.signals.size_vocabulary == rules.catalog.size_vocabulary
    assert rules.catalog.size_vocabulary.sources == {
        "catalog": ("catalog.not_sizes",), "feed-sizes": ("catalog.feed.sizes.not_sizes",),
        "both": ("catalog.not_sizes", "catalog.feed.sizes.not_sizes")}[where]
    assert (rules.catalog.size_of("N/A") is None) == (where == "both")
    pocket = parse_feed(sample("shopify_products.json"), "shop.example", rules.catalog.feed_mapping)[2]
    assert pocket.get("variants") is None and pocket["aliases"] == ["43890020"]


@pytest.mark.parametrize(("written", "message"), [
    ("[]", "3:14: 'catalog.not_sizes' must list at least one value"),
    ("[Default Title, 3]", "3:30: 'catalog.not_sizes' item must be a string, got"),
    ("{Default Title: 1}", "3:14: 'catalog.not_sizes' must be a list, got"),
], ids=["empty", "number", "mapping"])
def test_a_malformed_not_sizes_is_refused_where_it_is(tmp_path: Path, written: str, message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(f"catalog:\n  product_pages: /p/{{product}}\n  not_sizes: {written}\nslots: []\n", encoding="utf-8")
    ruleset, issues = check_rules(path)
    assert ruleset is None and [str(i) for i in issues] and message in str(issues[0]), [str(i) for i in issues]


def test_ids_a_feed_names_become_children_of_their_product(tmp_path: Path) -> None:
    products = parse_feed(sample("woocommerce_store_api.json"), "shop.example", mapping(tmp_path, WOO))
    rows = catalog_rows(products, stored={"32": {"id": "32", "name": "A product of its own"}})
    by_id = {r["id"]: r for r in rows}
    assert by_id["26"] == {"id": "26", "parent": "beanie"}  # the post id: an alias, no size
    assert by_id["31"] == {"id": "31", "parent": "hoodie-with-logo", "size": "S"}
    # stored without a parent (each variant its own product before): folded into the product it is a size of
    assert by_id["32"] == {"id": "32", "parent": "hoodie-with-logo", "size": "M", "fold": True}
    # an other_id is no variant the feed lists: a product of its own it names stays that product
    assert "26" not in {r["id"] for r in catalog_rows(products, stored={"26": {"id": "26", "name": "Another"}})}
    assert "other_id" not in by_id["beanie"] and "variants" not in by_id["beanie"]
    assert by_id["hoodie-with-logo"]["variants"] == {"S": "31", "M": "32"}


def test_a_page_or_a_line_with_a_value_that_is_no_size_has_no_size(tmp_path: Path) -> None:
    """The same words on a page (a Shopify theme's variants JSON, ``catalog.sizes``) and in an order line
    (the variant's title a thank-you page or a dataLayer item shows) name no size: none is offered or bought."""
    rules = rules_from_text(tmp_path, SHOPIFY.replace("slots: []", '  sizes: {items: {json: "script#product-json", '
                                                      'key: variants}, id: id, size: option1}\nslots: []'))
    tee, _, pocket = sample("shopify_products.json")["products"]

    def offered(product: dict[str, Any]) -> Any:
        html = (f'<html><body><h1>{product["title"]}</h1><script id="product-json" type="application/json">'
                f'{json.dumps(product)}</script></body></html>').encode()
        found = page_facts(f"/products/{product['handle']}", None, html, rules).product
        assert found is not None
        return found.get("variants"), found.get("sizes")

    assert offered(tee) == ({"S": "43890001", "M": "43890002"}, ("S", "M"))
    assert offered(pocket) == (None, None)
    order = build_event("purchase", {"order_id": "1"}, [{"product": "43890020", "size": "Default Title"},
                                                        {"product": "43890002", "size": "M"}], rules.catalog)
    assert order is not None
    assert [line.get("size") for line in order["props"]["lines"]] == [None, "M"]


def test_todays_feeds_read_as_before(tmp_path: Path) -> None:
    items = [{"id": 7, "name": "Tee", "price": "12.50", "category": "T-SHIRTS", "other_id": "9",
              "variants": {"M": "8"}}]
    assert parse_feed({"products": items}, "shop.example") == [{
        "id": "7", "name": "Tee", "url": None, "image": None, "price": 12.5, "currency": None,
        "category": "t-shirts", "category_name": "T-SHIRTS", "brand": None, "in_stock": None}]


def test_the_list_must_be_where_the_mapping_says(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no list of products at 'products'"):
        parse_feed({"items": []}, "shop.example", mapping(tmp_path, SHOPIFY))


def test_a_price_with_units_that_are_not_there_is_no_price(tmp_path: Path) -> None:
    item = sample("woocommerce_store_api.json")[0]
    item["prices"]["currency_minor_unit"] = "two"
    (beanie,) = parse_feed([item], "shop.example", mapping(tmp_path, WOO))
    assert beanie["price"] is None  # not 1800 euros


@pytest.mark.parametrize(("fields", "message"), [
    ("{id: slug, colour: x}", "6:24: unknown key 'colour' in 'catalog.feed.fields'"),
    ("{id: a..b}", "6:18: 'catalog.feed.fields.id': bad key path 'a..b'"),
    ("{id: slug, price: {key: p, times: 3}}", "6:40: unknown key 'times' in 'catalog.feed.fields.price'"),
    ("{id: slug, price: {key: p, divide: 0}}", "6:48: 'catalog.feed.fields.price': 'divide' must be a positive"),
    ("{id: slug, url: {key: h, format: /p/}}", "6:46: 'catalog.feed.fields.url': 'format' '/p/' must hold one {}"),
    ("{id: slug, price: {key: p, divide: 100, minor_units: u}}", "one transform at a time, got divide, minor_units"),
    ("{name: title}", "6:13: 'catalog.feed.fields' needs 'id'"),
    ("{id: id}\n    sizes: {items: v, id: id, size: o, not_sizes: []}",
     "7:51: 'catalog.feed.sizes.not_sizes' must list at least one value"),
    ("{id: id}\n    sizes: {items: v, id: id, size: o, not_sizes: [Default Title, 3]}",
     "7:67: 'catalog.feed.sizes.not_sizes' item must be a string, got"),
    ("{id: id}\n    sizes: {items: v, id: id, size: o, not_sizes: {Default Title: 1}}",
     "7:51: 'catalog.feed.sizes.not_sizes' must be a list, got"),
    ("{id: id}\n    sizes: {items: v, id: id, size: o, not_size: [Default Title]}",
     "7:40: unknown key 'not_size' in 'catalog.feed.sizes'"),
], ids=["unknown-fact", "bad-key-path", "unknown-transform", "zero-divide", "format-without-place",
        "two-transforms", "no-id", "not-sizes-empty", "not-sizes-number", "not-sizes-mapping", "not-sizes-misspelt"])
def test_a_malformed_mapping_is_refused_where_it_is(tmp_path: Path, fields: str, message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("catalog:\n  product_pages: /p/{product}\n  feed:\n    url: /feed.json\n"
                    f"    page: {{param: page}}\n    fields: {fields}\nslots: []\n", encoding="utf-8")
    ruleset, issues = check_rules(path)
    assert ruleset is None and any(message in str(issue) for issue in issues), [str(i) for i in issues]
    assert all(str(issue).startswith(f"{path}:") for issue in issues)


def test_a_mapping_needs_its_url_and_paging_its_parts(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("catalog:\n  feed:\n    fields: {id: id}\n    page: {param: page, size: 100}\n"
                    "    sizes: {items: variants}\nslots: []\n", encoding="utf-8")
    _, issues = check_rules(path)
    text = "\n".join(str(i) for i in issues)
    assert "3:5: 'catalog.feed' needs 'url'" in text
    assert "4:11: 'catalog.feed.page': 'size_param' and 'size' go together" in text
    assert "5:12: 'catalog.feed.sizes' needs 'id' and 'size'" in text


@pytest.mark.parametrize(("page", "message"), [
    ("{param: page, next: links}", "5:31: 'catalog.feed.page.next' must be one of count, link, got a string ('links') "
                                   "(did you mean 'link'?)"),
    ("{size_param: n, size: 2}", "5:11: 'catalog.feed.page' needs 'param': the query parameter that numbers pages "
                                 "(page), or 'next: link'"),
    ("{param: page, total_pages_header: X WP}", "5:45: 'catalog.feed.page.total_pages_header' must be a header's "
                                                "name (X-WP-TotalPages), got 'X WP'"),
    ("{param: page, total_pages_header: 3}", "5:45: 'catalog.feed.page.total_pages_header' must be a string"),
    ("{param: page, end_status: [400, 200]}", "5:43: 'catalog.feed.page.end_status' item must be a whole number "
                                              "from 400 to 499, got a number (200)"),
    ("{param: page, end_status: []}", "5:37: 'catalog.feed.page.end_status' must list at least one status"),
    ("{param: page, end_status: {a: 1}}", "5:37: 'catalog.feed.page.end_status' must be a list, got a mapping"),
    ("{param: page, end_stat: [400]}", "5:25: unknown key 'end_stat' in 'catalog.feed.page' "
                                       "(did you mean 'end_status'?)"),
], ids=["next-misspelt", "no-param-no-link", "header-with-space", "header-number", "status-not-4xx",
        "status-empty", "status-mapping", "status-key-misspelt"])
def test_where_a_paged_list_ends_is_refused_where_it_is_malformed(tmp_path: Path, page: str, message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("catalog:\n  product_pages: /p/{product}\n  feed:\n    url: /feed.json\n"
                    f"    page: {page}\n    fields: {{id: id}}\nslots: []\n", encoding="utf-8")
    ruleset, issues = check_rules(path)
    assert ruleset is None and len(issues) == 1 and str(issues[0]).startswith(f"{path}:{message}"), issues


def test_cursor_paging_needs_no_page_number_and_says_what_ends_it(tmp_path: Path) -> None:
    feed = mapping(tmp_path, SHOPIFY.replace("page: {param: page, size_param: limit, size: 250}",
                                             "page: {next: link, size_param: limit, size: 250, end_status: 404, "
                                             "total_pages_header: X-Total-Pages}"))
    assert feed.page is not None and (feed.page.param, feed.page.next, feed.page.end_status) == (None, "link", (404,))
    assert ('pages: the feed\'s URL (limit=250), then each answer\'s Link rel="next" (at most 50); the last: an empty '
            'page, a short one, a Link without rel="next", X-Total-Pages pages, HTTP 404 past a full page'
            ) in feed.describe()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-10**30, max_value=10**30) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["id", "slug", "name", "prices", "price", "currency_minor_unit", "images", "0", "src",
                         "variations", "attributes", "value", "is_in_stock", "categories", "products", "handle",
                         "variants", "available", "option1", "option2", "options", "position", "x"]), inner,
        max_size=5),
    max_leaves=30)


# 200, was 300: drawing the JSON (up to 30 leaves) is nearly all of the time; 200 documents are still ~100 per
# mapping, over the keys both mappings read
@settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(woo=st.booleans(), data=st.lists(JSON, max_size=4) | JSON)
def test_any_json_reads_without_raising_as_well_formed_products(tmp_path_factory: pytest.TempPathFactory,
                                                                 woo: bool, data: Any) -> None:
    feed = _MAPPINGS.get(woo) or _MAPPINGS.setdefault(
        woo, mapping(tmp_path_factory.mktemp("feed"), WOO if woo else SHOPIFY))
    try:
        products = parse_feed(data, "shop.example", feed)
    except ValueError as exc:  # the one refusal: no list where the mapping says
        assert str(exc).startswith("no list of products")
        return
    for p in products:
        assert isinstance(p["id"], str) and p["id"].strip()
        for key in ("name", "url", "image", "currency", "category", "category_name", "brand", "other_id"):
            assert p.get(key) is None or isinstance(p[key], str), (key, p)
        assert p["price"] is None or (isinstance(p["price"], float) and math.isfinite(p["price"]) and p["price"] >= 0)
        assert p["in_stock"] in (None, True, False)
        assert all(isinstance(s, str) and isinstance(c, str) for s, c in (p.get("variants") or {}).items())
        assert all(isinstance(c, str) and c not in (p.get("variants") or {}).values() for c in p.get("aliases", ()))
    json.dumps(catalog_rows(products, {}))  # what the store writes is JSON


_MAPPINGS: dict[bool, FeedMapping] = {}


def test_a_value_is_picked_from_a_list_by_what_its_element_holds(tmp_path: Path) -> None:
    """``{key: LIST, where: {PATH: TEXT}, value: PATH}``: the size is the attribute named Size, wherever it is."""
    rules = WOO.replace("attributes.0.value", "{key: attributes, where: {name: Size}, value: value}")
    assert rules != WOO
    products = parse_feed(sample("woocommerce_store_api.json"), "shop.example", mapping(tmp_path, rules))
    assert products[1]["variants"] == {"S": "31", "M": "32"}
    item = sample("woocommerce_store_api.json")[1]
    for variation in item["variations"]:  # another attribute first: the 0th is no longer the size
        variation["attributes"].insert(0, {"name": "Colour", "value": "blue"})
    assert parse_feed([item], "shop.example", mapping(tmp_path, rules))[0]["variants"] == {"S": "31", "M": "32"}
    assert parse_feed([item], "shop.example", mapping(tmp_path, WOO))[0].get("variants") != {"S": "31", "M": "32"}


@pytest.mark.parametrize(("url", "page", "message"), [
    ("/graphql?query={p(currentPage:{page})}", "{param: q}",
     "5:11: 'catalog.feed.page': the feed's URL holds {page} 1 time(s), the value of 'q' in 'catalog.feed.url' 0: "
     "write it once, in the value of the parameter 'param' names"),
    ("/graphql?query={p(a:{page},b:{page})}", "{param: query}",
     "5:11: 'catalog.feed.page': the feed's URL holds {page} 2 time(s)"),
    ("/graphql?query={p(currentPage:{page})}", None,
     "4:10: 'catalog.feed.url' holds {page}: say which parameter's value it is in with 'catalog.feed.page.param'"),
    ("/graphql?query={p(pageSize:{size},currentPage:{page})}", "{param: query}",
     "5:11: 'catalog.feed.page': the value of 'query' in 'catalog.feed.url' holds {size}: 'size' says what goes "
     "there (size: 100)"),
    ("/graphql?query={p(pageSize:100,currentPage:{page})}", "{param: query, size: 100}",
     "5:11: 'catalog.feed.page': 'size' goes in 'size_param', or in {size} in the value of 'query'"),
    ("/graphql?query={p(currentPage:{page})}", "{param: query, next: link}",
     "5:11: 'catalog.feed.page': {page} numbers pages and 'next: link' follows the answers' links: one or the other"),
    ("/graphql?query={p(currentPage:{page})}", "{param: query, total_pages: a..b}",
     "5:39: 'catalog.feed.page.total_pages': bad key path 'a..b'"),
], ids=["page-in-another-parameter", "page-twice", "page-without-paging", "size-mark-without-size",
        "size-going-nowhere", "page-and-next-link", "total-pages-bad-path"])
def test_a_page_number_inside_a_parameter_is_refused_where_it_is_malformed(
        tmp_path: Path, url: str, page: str | None, message: str) -> None:
    path = tmp_path / "rules.yaml"
    paging = f"    page: {page}\n" if page is not None else ""
    path.write_text(f"catalog:\n  product_pages: /p/{{product}}\n  feed:\n    url: \"{url}\"\n{paging}"
                    "    fields: {id: id}\nslots: []\n", encoding="utf-8")
    ruleset, issues = check_rules(path)
    assert ruleset is None and len(issues) == 1 and str(issues[0]).startswith(f"{path}:{message}"), issues


def test_a_page_number_inside_a_parameter_says_where_it_goes(tmp_path: Path) -> None:
    """docs/rules.md's GraphQL feed: ``{page}`` and ``{size}`` in the ``query`` parameter's value."""
    feed = mapping(tmp_path, GRAPHQL)
    assert feed.page is not None and feed.page.template
    assert ("pages: {page}=1, 2, ... in query's value, {size}=100 (at most 50); the last: an empty page, a short one, "
            'a Link without rel="next", data.products.page_info.total_pages pages') in feed.describe()
