"""``slotwise rules check magento.yaml --url`` on each kind of Luma page: what a store's engineer sees.

The example must read every page type of a stock Magento 2.4 with Luma (the fixture's markup) without a
warning: the home page's promo tiles, a category, a product from its OpenGraph tags and microdata (its
category from the GraphQL feed), the sizes of the swatches' jsonConfig, the cart page, the success page's
order from the GA4 block.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import httpx
import pytest
from example_check import clean_check
from magento_shop import SESSION, MagentoShop

EXAMPLE = str(Path(__file__).resolve().parents[2] / "slotwise" / "rules" / "examples" / "magento.yaml")


@pytest.fixture(scope="module")
def shop() -> Iterator[MagentoShop]:
    with MagentoShop() as s:
        yield s


def check(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> str:
    return clean_check(capsys, EXAMPLE, url, *args)


def test_home_and_category_pages(shop: MagentoShop, capsys: pytest.CaptureFixture[str]) -> None:
    home = check(capsys, shop.url + "/")
    assert "page type home" in home
    assert "home-categories: page matches; 1 element matches 'div.blocks-promo'" in home
    assert "item keys of its children: 'tops-women', 'tops-men', 'bags'" in home
    assert "page type category, category 'tops-men'" in check(capsys, shop.url + "/men/tops-men.html")


def test_a_top_level_category_and_a_product_told_apart_by_their_markup(
        shop: MagentoShop, capsys: pytest.CaptureFixture[str]) -> None:
    men = check(capsys, shop.url + "/men.html")
    assert ("page types by markup where the URL patterns cannot tell (catalog.page_types): product "
            "'body.catalog-product-view', category 'body.catalog-category-view'") in men
    assert "page type category, category 'men'" in men
    assert ("type category: its URL matches catalog.product_pages and catalog.category_pages; its markup decides "
            "(product or category: catalog.page_types): 'body.catalog-category-view' matches") in men
    hoodie = check(capsys, shop.url + "/hero-hoodie.html")
    assert "page type product" in hoodie and "'body.catalog-product-view' matches" in hoodie
    tops = check(capsys, shop.url + "/men/tops-men.html")
    assert "type category: its URL matches catalog.category_pages" in tops and "its markup decides" not in tops


def test_a_configurable_product_page_with_the_feed(shop: MagentoShop, capsys: pytest.CaptureFixture[str]) -> None:
    out = check(capsys, shop.url + "/hero-hoodie.html", "--feed")
    assert "catalog feed /graphql?query={products(" in out and ": 7 products (1 page, the last short (7 of 100))" in out
    assert ("pages: {page}=1, 2, ... in query's value, {size}=100 (at most 50); the last: an empty page, a short "
            'one, a Link without rel="next", data.products.page_info.total_pages pages') in out
    assert "other id 'MH07': a line naming it is this product" in out
    assert "sizes S=MH07-S, M=MH07-M, L=MH07-L, XL=MH07-XL" in out
    assert "page type product, category 'tops-men'" in out
    assert "product 'hero-hoodie': 'Hero Hoodie', price 54.00 USD, in stock" in out
    assert "other id '1' (catalog.selectors.other_id)" in out
    assert "sizes (size=child product): S=101, M=102, L=103; in stock: S, M, L" in out  # XL: sold out
    assert "category 'tops-men' from the catalog feed: the page names none" in out
    assert ("size-preset: page matches; 0 elements match '.swatch-attribute.size .swatch-attribute-options' (not in "
            "the page's HTML: the tag waits up to 3s for the page's scripts to render it") in out
    assert "product-recommendations: page matches; 1 element matches 'div.block.related'" in out
    assert ("1 form on this page posts to it (fields: form_key, item, product, qty, related_product, "
            "selected_configurable_option)") in out


def test_the_cart_page_and_the_success_page(shop: MagentoShop, capsys: pytest.CaptureFixture[str]) -> None:
    with httpx.Client(base_url=shop.url) as store:
        store.get("/hero-hoodie.html")
        key = shop.state.sessions[store.cookies[SESSION]].form_key
        for form in ({"product": "1", "selected_configurable_option": "102", "super_attribute[144]": "168", "qty": "1"},
                     {"product": "5", "qty": "2"}):
            r = store.post("/checkout/cart/add/uenc/x/product/1/", data={**form, "form_key": key},
                           headers={"x-requested-with": "XMLHttpRequest"})
            assert r.json() == []
        session = f"{SESSION}={store.cookies[SESSION]}"
        cart = check(capsys, shop.url + "/checkout/cart/", "--cookie", session)
        # the cart is the customer-data section's JSON, read behind the proxy (test_magento_through_slotwise.py)
        assert ("cart (capture.cart): the JSON answer to GET /customer/section/load/: lines cart.items[]: product "
                "product_url, size options[label=Size].value, name product_name, qty qty, price product_price_value; "
                "count cart.summary_count; read by the proxy as it passes, or in tag-only mode by the tag") in cart
        assert store.post("/rest/default/V1/guest-carts/x/payment-information", json={"email": "k@example.com"}).json() == "1"
        success = check(capsys, shop.url + "/checkout/onepage/success/", "--cookie", session, "--feed")
    # the lines as the GA4 block names them (SKUs; the catalog knows MH07-M as hero-hoodie in M); the order's
    # value is the sum of its lines
    assert "order '000000001', total None, USD: MH07-M ×1 54.00; 24-MB01 ×2 34.00" in success
