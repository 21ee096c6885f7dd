"""``slotwise rules check prestashop.yaml --url`` on each kind of classic page: what a store's engineer sees.

The example must read every page type of a stock PrestaShop 8 with the classic theme (the fixture's markup)
without a warning: the home page's top menu, a category, a product from its JSON-LD and URL (its id and
category), the Size select's options by their titles, the add-to-cart form cart.js posts, the order
confirmation's reference (its lines: the cart).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import httpx
import pytest
from example_check import clean_check
from prestashop_shop import PRODUCTS, SESSION, PrestaShopShop

EXAMPLE = str(Path(__file__).resolve().parents[2] / "slotwise" / "rules" / "examples" / "prestashop.yaml")


@pytest.fixture(scope="module")
def shop() -> Iterator[PrestaShopShop]:
    with PrestaShopShop() as s:
        yield s


def check(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> str:
    return clean_check(capsys, EXAMPLE, url, *args)


def test_the_home_page_and_a_category(shop: PrestaShopShop, capsys: pytest.CaptureFixture[str]) -> None:
    home = check(capsys, shop.url + "/")
    assert "page type home" in home
    assert "home-categories: page matches; 1 element matches '#_desktop_top_menu #top-menu'" in home
    assert "item keys of its children: 'men', 'women', 'accessories', 'art'" in home
    assert "soft navigations: not followed (capture.soft_navigations: false)" in home
    assert "page type category, category 'men'" in check(capsys, shop.url + "/4-men")


def test_a_combinations_page_its_sizes_and_the_form_cart_js_posts(
        shop: PrestaShopShop, capsys: pytest.CaptureFixture[str]) -> None:
    out = check(capsys, shop.url + "/men/1-2-hummingbird-printed-t-shirt.html")  # M's page: the same product
    assert "page type product, category 'men'" in out
    assert "product '1': 'Hummingbird printed t-shirt', price 23.90 EUR, in stock" in out
    assert "size-preset: page matches; 1 element matches '.product-variants select[aria-label=Size]'" in out
    assert "item keys of its choices (options): 'S', 'M', 'L', 'XL'" in out
    assert "product-recommendations: page matches; 1 element matches '#main > section.featured-products'" in out
    assert ("1 form on this page posts to it (fields: group[1], id_customization, id_product, qty, token); "
            "recorded when form.add == '1' and response.json is not none and response.json.success") in out
    assert ("cart (capture.cart): the JSON answer to POST /cart: lines cart.products[]: product id_product, size "
            "attributes.Size, name name, qty quantity, price price_amount; count cart.products_count") in out


def test_a_product_without_combinations_has_no_size_to_preset(
        shop: PrestaShopShop, capsys: pytest.CaptureFixture[str]) -> None:
    from slotwise.cli import main

    assert main(["rules", "check", EXAMPLE, "--url", shop.url + PRODUCTS[5].url()]) == 0
    out = capsys.readouterr().out
    assert "product '5': 'Mug The adventure begins', price 11.90 EUR, in stock" in out
    assert "size-preset: page matches; 0 elements match '.product-variants select[aria-label=Size]'" in out


def test_the_order_confirmation_names_the_order_and_takes_its_lines_from_the_cart(
        shop: PrestaShopShop, capsys: pytest.CaptureFixture[str]) -> None:
    with httpx.Client(base_url=shop.url) as store:
        store.get("/")
        token = shop.state.sessions[store.cookies[SESSION]].token
        r = store.post("/cart", data={"token": token, "id_product": "1", "group[1]": "2", "qty": "1", "add": "1",
                                      "action": "update"})
        assert r.json()["success"] is True
        confirmation = store.post("/module/ps_wirepayment/validation").headers["location"]
        out = check(capsys, shop.url + confirmation, "--cookie", f"{SESSION}={store.cookies[SESSION]}")
        friendly = check(capsys, shop.url + confirmation.replace("/index.php?controller=order-confirmation&",
                                                                  "/order-confirmation?"),
                         "--cookie", f"{SESSION}={store.cookies[SESSION]}")
    reference = shop.state.orders[1].reference
    for page in (out, friendly):
        assert "page type other" in page
        assert (f"order-confirmation (purchase from a page): order {reference!r}; its lines: the visitor's cart as "
                "capture.cart last read it (lines: cart)") in page


def test_the_login_form_and_every_page_s_customer(shop: PrestaShopShop, capsys: pytest.CaptureFixture[str]) -> None:
    """The login form posts what the login event reads; every page's ``var prestashop`` names the logged-in
    customer (``prestashop.customer.email``), a guest's null names no one."""
    login = check(capsys, shop.url + "/login?back=my-account")
    assert ("login (login from a request): 1 form on this page posts to it (fields: back, email, password, "
            "submitLogin); recorded when response.status == 302") in login
    assert "customer: none named" in login
    assert "customer email (script prestashop.customer.email): nothing: prestashop.customer has no 'email'" in login
    with httpx.Client(base_url=shop.url) as store:
        store.post("/login", data={"email": "pub@prestashop.com", "password": "123456789", "submitLogin": "1"})
        for path in ("/", "/4-men", "/identity"):
            out = check(capsys, shop.url + path, "--cookie", f"{SESSION}={store.cookies[SESSION]}")
            assert "customer: e-mail p***@prestashop.com" in out  # masked, as every address rules check shows
            assert "customer email (script prestashop.customer.email): 'p***@prestashop.com'" in out
