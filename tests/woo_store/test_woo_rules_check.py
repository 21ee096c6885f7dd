"""``slotwise rules check woocommerce.yaml --url`` on each kind of WooCommerce page: what a store's engineer sees.

The example must read every page type of a stock WooCommerce (the fixture's
markup) without a warning: the category keys of the widget, the product from
its JSON-LD (category from the BreadcrumbList), the sizes of the variations
select, the mini cart, the order on the order-received page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import httpx
import pytest
from example_check import clean_check
from woo_shop import SESSION, WooShop

from slotwise.cli import main

EXAMPLE = str(Path(__file__).resolve().parents[2] / "slotwise" / "rules" / "examples" / "woocommerce.yaml")


@pytest.fixture(scope="module")
def shop() -> Iterator[WooShop]:
    with WooShop() as s:
        yield s


def check(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> str:
    return clean_check(capsys, EXAMPLE, url, *args)


def test_home_and_category_pages(shop: WooShop, capsys: pytest.CaptureFixture[str]) -> None:
    home = check(capsys, shop.url + "/")
    assert "page type home" in home
    assert "home-categories: page matches; 1 element matches 'ul.product-categories'" in home
    assert "item keys of its children: 'accessories', 'hoodies', 'tshirts'" in home
    assert "cart: empty" in home
    assert "page type category, category 'hoodies'" in check(capsys, shop.url + "/product-category/hoodies/")


def test_a_variable_product_page(shop: WooShop, capsys: pytest.CaptureFixture[str]) -> None:
    out = check(capsys, shop.url + "/product/hoodie-with-logo/")
    assert "page type product, category 'hoodies'" in out
    assert "product 'hoodie-with-logo': 'Hoodie with Logo', price 59.90 EUR, in stock" in out
    assert "size-prefill: page matches; 1 element matches 'form.variations_form select#pa_size'" in out
    assert "item keys of its choices (options): none, 's', 'm', 'l', 'xl'" in out
    assert "sizes (size=child product): S=31, M=32, L=33, XL=34; in stock: S, M, L" in out
    assert "other id '21'" in out
    assert "product-recommendations: page matches; 1 element matches 'section.related.products'" in out
    assert ("1 form on this page posts to it (fields: add-to-cart, attribute_pa_size, product_id, quantity, "
            "variation_id)") in out


def test_a_simple_product_page(shop: WooShop, capsys: pytest.CaptureFixture[str]) -> None:
    """A product without sizes has no variations form: the size slot rightly finds nothing there, said as
    such (the rules' catalog.sizes read none), not as a selector to fix."""
    out = check(capsys, shop.url + "/product/beanie/")
    assert "product 'beanie': 'Beanie', price 18.00 EUR, in stock" in out
    assert "sizes (size=child product)" not in out
    assert ("size-prefill: page matches; 0 elements match 'form.variations_form select#pa_size' (this product has "
            "no sizes) [depends on the visitor: shown only when page.category in visitor.preferred_size]") in out
    assert ("exit-coupon: page matches; 1 element matches 'body' [depends on the visitor: shown only when "
            "visitor.has_cart and not visitor.subscribed and not visitor.has_coupon]") in out


def test_the_mini_cart_and_the_order_received_page(shop: WooShop, capsys: pytest.CaptureFixture[str]) -> None:
    with httpx.Client(base_url=shop.url) as store:
        for product_id, qty in (("32", "1"), ("26", "2")):  # Hoodie with Logo in M, two beanies
            assert "fragments" in store.post("/?wc-ajax=add_to_cart", data={"product_id": product_id,
                                                                             "quantity": qty}).json()
        session = f"{SESSION}={store.cookies[SESSION]}"
        with_cart = check(capsys, shop.url + "/product/beanie/", "--cookie", session)
        assert "cart: count 3; 2 lines: hoodie-with-logo size M ×1; beanie ×2" in with_cart
        assert "other id '26' (catalog.selectors.other_id)" in with_cart
        placed = store.post("/?wc-ajax=checkout", data={"billing_first_name": "Kari",
                                                        "billing_email": "kari@example.com"}).json()
    received = check(capsys, placed["redirect"])
    assert "order '101', total 95.9, EUR: hoodie-with-logo size M ×1 59.90; beanie ×2 18.00" in received


def test_the_store_api_feed_as_the_proxy_reads_it(shop: WooShop, capsys: pytest.CaptureFixture[str]) -> None:
    out = check(capsys, shop.url + "/", "--feed")
    assert "catalog feed: /wp-json/wc/store/v1/products, in the store's own shape" in out
    assert "pages: page=1, 2, ..., per_page=100 (at most 50)" in out
    assert "price <- prices.price in minor units (prices.currency_minor_unit)" in out
    assert "catalog feed /wp-json/wc/store/v1/products: 8 products" in out
    assert ("hoodie-with-logo: name 'Hoodie with Logo', price 59.9, currency 'EUR', category 'hoodies', "
            "in_stock True") in out
    assert "other id '21': a line naming it is this product" in out
    assert "sizes S=31, M=32, L=33, XL=34" in out
    assert "page type home" in out  # and the page, as without --feed


@pytest.mark.parametrize(("total_pages", "ended"), [
    (", total_pages_header: X-WP-TotalPages", "as X-WP-TotalPages says (2)"),
    ("", 'the last one\'s Link without rel="next"'),
], ids=["total-pages-header", "link"])
def test_a_catalog_of_full_pages_is_read_to_its_last_and_no_further(
        shop: WooShop, tmp_path: Path, capsys: pytest.CaptureFixture[str], total_pages: str, ended: str) -> None:
    """Eight products four a page: page 2 is full and the last (``X-WP-TotalPages``, no ``Link rel="next"``)."""
    for example in Path(EXAMPLE).parent.glob("woocommerce*"):  # with its include and templates
        text = example.read_text(encoding="utf-8")
        (tmp_path / example.name).write_text(text.replace("per_page, size: 100, total_pages_header: X-WP-TotalPages",
                                                          f"per_page, size: 4{total_pages}"), encoding="utf-8")
    before = len(shop.state.store_api_requests)
    assert main(["rules", "check", str(tmp_path / "woocommerce.yaml"), "--feed", "--url", shop.url + "/"]) == 0
    assert f"catalog feed /wp-json/wc/store/v1/products: 8 products (2 pages, {ended})" in capsys.readouterr().out
    assert shop.state.store_api_requests[before:] == ["page=1&per_page=4", "page=2&per_page=4"]


def test_a_storefront_feed_needs_the_stores_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", EXAMPLE, "--feed"]) == 2
    assert "--feed: /wp-json/wc/store/v1/products is a path on the storefront: give --url" in capsys.readouterr().err
