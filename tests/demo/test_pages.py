"""Every page follows docs/conventions-demo-markup.md (parsed with selectolax)."""

from __future__ import annotations

import json

import httpx
import pytest
from selectolax.lexbor import LexborNode
from starlette.testclient import TestClient

from slotwise.demo.catalog import load_catalog

from demo_helpers import html

CATALOG = load_catalog()
SLUGS = [c.slug for c in CATALOG.categories]


def assert_common_layout(response: httpx.Response, page: str) -> None:
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    tree = html(response)
    body = tree.css_first("body")
    assert body is not None and body.attributes["data-page"] == page
    nav_items = tree.css("nav.category-nav ul > li")
    assert [li.attributes["data-category"] for li in nav_items] == SLUGS
    for li in nav_items:
        link = li.css_first("a")
        assert link is not None and link.attributes["href"] == f"/c/{li.attributes['data-category']}"
    cart_link = tree.css_first('a.cart-link[href="/cart"]')
    assert cart_link is not None and cart_link.css_first("span.cart-count") is not None
    form = tree.css_first('footer form.newsletter[method="post"][action="/newsletter"]')
    assert form is not None and form.css_first('input[name="email"]') is not None


def assert_card(card: LexborNode, product_id: str | None = None) -> None:
    pid = card.attributes["data-product-id"]
    product = CATALOG.product(pid)
    assert product is not None and (product_id is None or pid == product_id)
    assert card.attributes["data-category"] == product.category_slug
    link = card.css_first("a")
    assert link.attributes["href"] == f"/p/{pid}"
    img = link.css_first("img")
    assert img.attributes["src"] == f"/static/img/{pid}.svg" and img.attributes["alt"] == product.name
    assert link.css_first("h3").text() == product.name
    assert link.css_first("span.price").text() == f"€{product.price:.2f}"


def test_home(shop: TestClient) -> None:
    response = shop.get("/")
    assert_common_layout(response, "home")
    tree = html(response)
    tiles = tree.css_first("section.category-tiles")
    children = [n for n in tiles.iter() if n.tag != "-text"]
    assert [c.tag for c in children] == ["a"] * len(SLUGS)
    assert [c.attributes["data-category"] for c in children] == SLUGS
    assert all("tile" in c.attributes["class"].split() for c in children)
    assert all(c.attributes["href"] == f"/c/{c.attributes['data-category']}" for c in children)
    featured = tree.css_first("section.featured")
    assert featured.css_first("h2") is not None
    cards = featured.css("div.product-grid > article.product-card")
    assert len(cards) >= 6
    for card in cards:
        assert_card(card)


@pytest.mark.parametrize("slug", SLUGS)
def test_category_pages(shop: TestClient, slug: str) -> None:
    response = shop.get(f"/c/{slug}")
    assert_common_layout(response, "category")
    main = html(response).css_first("main.category")
    assert main.attributes["data-category"] == slug
    cards = main.css(".product-grid article.product-card")
    assert [c.attributes["data-product-id"] for c in cards] == [p.id for p in CATALOG.in_category(slug)]
    for card in cards:
        assert_card(card)


def test_unknown_pages_are_404_html(shop: TestClient) -> None:
    for path in ("/c/no-such-category", "/p/99999", "/nowhere"):
        response = shop.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert html(response).css_first("nav.category-nav") is not None


@pytest.mark.parametrize("product_id", [p.id for p in CATALOG.products])
def test_product_pages(shop: TestClient, product_id: str) -> None:
    product = CATALOG.product(product_id)
    assert product is not None
    response = shop.get(f"/p/{product_id}")
    assert_common_layout(response, "product")
    tree = html(response)
    main = tree.css_first("main.product")
    assert main.attributes["data-product-id"] == product_id
    assert main.attributes["data-category"] == product.category_slug

    form = main.css_first('form.add-to-cart[method="post"][action="/cart/add"]')
    assert form.attributes["data-product-id"] == product_id
    assert form.attributes["data-category"] == product.category_slug
    assert form.attributes["data-price"] == f"{product.price:.2f}"
    assert form.attributes["data-name"] == product.name
    assert form.css_first('input[type="hidden"][name="product_id"]').attributes["value"] == product_id
    select = form.css_first('select[name="size"]#size')
    options = select.css("option")
    assert options[0].attributes["value"] == "" and options[0].text() == "Choose a size"
    assert [o.attributes["value"] for o in options[1:]] == list(product.sizes)
    disabled = {o.attributes["value"] for o in options[1:] if "disabled" in o.attributes}
    assert disabled == set(product.sold_out)
    qty = form.css_first('input[name="qty"]')
    assert qty.attributes["type"] == "number" and qty.attributes["value"] == "1"

    related = main.css_first("section.related")
    cards = related.css("article.product-card")
    assert cards and all(c.attributes["data-category"] == product.category_slug for c in cards)
    assert product_id not in {c.attributes["data-product-id"] for c in cards}

    scripts = tree.css('script[type="application/ld+json"]')
    assert len(scripts) == 1
    data = json.loads(scripts[0].text())
    assert data["@context"] == "https://schema.org" and data["@type"] == "Product"
    assert data["sku"] == data["productID"] == product_id
    assert data["name"] == product.name
    assert data["category"] == product.category.name
    assert data["image"] == f"http://shop.test/static/img/{product_id}.svg"
    assert data["url"] == f"http://shop.test/p/{product_id}"
    offers = data["offers"]
    assert offers["price"] == f"{product.price:.2f}" and offers["priceCurrency"] == "EUR"
    expected = "https://schema.org/InStock" if product.in_stock else "https://schema.org/OutOfStock"
    assert offers["availability"] == expected


def test_out_of_stock_product_cannot_be_added(shop: TestClient) -> None:
    product = next(p for p in CATALOG.products if not p.in_stock)
    tree = html(shop.get(f"/p/{product.id}"))
    assert "disabled" in tree.css_first("form.add-to-cart button").attributes
    assert all("disabled" in o.attributes for o in tree.css("#size option")[1:])


def test_text_is_escaped(shop: TestClient) -> None:
    product = next(p for p in CATALOG.products if "&" in p.brand)
    response = shop.get(f"/p/{product.id}")
    assert "Loom &amp; Lane" in response.text
    script = html(response).css_first('script[type="application/ld+json"]').text()
    assert "&" not in script and json.loads(script)["brand"]["name"] == "Loom & Lane"


def test_pages_for_a_fresh_visitor_set_no_cookie(client: TestClient) -> None:
    """Browsing alone does not create a session; the cookie comes with the first cart/login use."""
    for path in ("/", "/c/sneakers", "/p/101", "/static/style.css", "/feed.json"):
        assert "set-cookie" not in client.get(path).headers, path
    first_use = client.post("/cart/add", data={"product_id": "101", "size": "40"}, follow_redirects=False)
    assert first_use.headers["set-cookie"].startswith("demo_session=")
