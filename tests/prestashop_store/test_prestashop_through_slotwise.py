"""PrestaShop 8 (classic), configured from rules alone: the shipped example in front of the classic theme's markup.

``slotwise/rules/examples/prestashop.yaml`` (with its capture file and templates) runs unchanged in the real
proxy in front of ``prestashop_shop.py``, with one variant per slot and no holdout (``pinned_rules``). HTTP
clients act as visitors, sending what PrestaShop's own scripts send (cart.js's add to cart, core.js's
combination refresh); each assertion is on what the proxy served or recorded. What only a browser does
(core.js hearing the preset size, the exit intent) is ``test_prestashop_in_chromium.py``.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import httpx
import pytest
from pinned_rules import pinned_example
from prestashop_shop import PRODUCTS, SESSION, SIZE_GROUP, SIZES, PrestaShopShop
from shop_stack import ShopStack, open_stack, page, shopper, vid

from slotwise.profile import hash_email

PINNED = {"home-categories": "recent", "size-preset": "preset", "product-recommendations": "mixed",
          "exit-coupon": "pct10"}
COMPANIONS = ("prestashop-capture.yaml", "prestashop-recommendations.html", "prestashop-popup.html")
TEE, SWEATER, BEAR, POSTER, MUG = (PRODUCTS[i] for i in (1, 2, 3, 4, 5))
MENU = "#_desktop_top_menu #top-menu > li > a"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[ShopStack]:
    data = tmp_path_factory.mktemp("prestashop")
    rules = pinned_example(data, "prestashop.yaml", COMPANIONS, PINNED)
    with PrestaShopShop() as shop, open_stack(shop, data, rules, uvicorn_runner) as s:
        yield s


@pytest.fixture
def client(stack: ShopStack) -> Iterator[httpx.Client]:
    with shopper(stack) as c:
        yield c


def add(stack: ShopStack, client: httpx.Client, product: int, size: str | None = None, qty: str = "1") -> httpx.Response:
    """What cart.js posts: the product page's form (token, id_product, id_customization, the size's attribute
    in group[1], qty) and ``add=1&action=update``, by jQuery's ajax."""
    form = {"token": stack.shop.state.sessions[client.cookies[SESSION]].token, "id_product": str(product),
            "id_customization": "0", "qty": qty, "add": "1", "action": "update"}
    if size is not None:
        form[f"group[{SIZE_GROUP}]"] = str(SIZES[size])
    return client.post("/cart", data=form, headers={"x-requested-with": "XMLHttpRequest"})


def place_order(client: httpx.Client) -> str:
    """The wire payment's validation, then the confirmation it redirects to; returns the order's reference."""
    r = client.post("/module/ps_wirepayment/validation")
    assert r.status_code == 302 and r.headers["location"].startswith("/index.php?controller=order-confirmation&")
    reference = page(client, r.headers["location"]).css_first("#order-reference-value").text()
    return reference.removeprefix("Order reference: ")


def lines(stack: ShopStack, client: httpx.Client) -> list[tuple[Any, ...]]:
    return [(line["product"], line.get("size"), line["qty"], line.get("price")) for line in stack.profile(vid(client)).cart]


def test_the_top_menu_puts_the_last_browsed_category_first(stack: ShopStack, client: httpx.Client) -> None:
    assert [a.attributes["href"] for a in page(client, "/").css(MENU)] == ["/4-men", "/5-women", "/6-accessories", "/9-art"]
    page(client, "/9-art")
    page(client, "/5-women")
    home = page(client, "/")
    assert [a.attributes["href"] for a in home.css(MENU)] == ["/5-women", "/9-art", "/4-men", "/6-accessories"]
    assert home.css_first("#top-menu").attributes.get("data-sw-decision")


def test_an_add_prestashop_refused_counts_nothing_and_the_cart_is_its_answers(
        stack: ShopStack, client: httpx.Client) -> None:
    """PrestaShop answers the add 200 either way, JSON sent as text/html (``Controller::ajaxRender`` names no
    type): ``hasError`` for a sold-out size is no add; ``success`` is, in the size the answer's cart line
    names; that cart, read as it passed, is the profile's. The visitor gets the very bytes the store sent."""
    page(client, TEE.url())
    refused = add(stack, client, TEE.id, "XL")  # sold out
    assert refused.status_code == 200 and refused.headers["content-type"].startswith("text/html")
    assert refused.json() == {"hasError": True, "errors": ["The product is no longer available in this quantity."],
                              "quantity": 0}
    assert stack.events("add_to_cart", vid(client)) == []
    added = add(stack, client, TEE.id, "M")
    assert added.json()["success"] is True and added.json()["id_product_attribute"] == 2
    (event,) = stack.events("add_to_cart", vid(client))
    assert (event.data["props"]["product"], event.data["props"]["size"], event.data["props"]["category"]) == ("1", "M", "men")
    assert lines(stack, client) == [("1", "M", 1, 23.9)]
    page(client, MUG.url())
    add(stack, client, MUG.id, qty="2")
    assert sorted(lines(stack, client)) == [("1", "M", 1, 23.9), ("5", None, 2, 11.9)]
    token = stack.shop.state.sessions[client.cookies[SESSION]].token  # the cart page's delete: the same answer
    gone = client.post(f"/cart?delete=1&id_product=1&id_product_attribute=2&token={token}",
                       data={"ajax": "1", "action": "update"}, headers={"x-requested-with": "XMLHttpRequest"})
    assert [p["id_product"] for p in gone.json()["cart"]["products"]] == ["5"]
    assert lines(stack, client) == [("5", None, 2, 11.9)]
    assert len(stack.events("add_to_cart", vid(client))) == 2  # a delete is no add
    with httpx.Client(base_url=stack.shop.url) as direct:  # the store's own answer, byte for byte
        direct.cookies.set(SESSION, client.cookies[SESSION])
        body = direct.post("/module/ps_shoppingcart/ajax", data={"id_product": "5"}).content
    assert client.post("/module/ps_shoppingcart/ajax", data={"id_product": "5"}).content == body


def test_the_order_is_the_cart_and_the_size_bought_is_preset_and_told_to_the_store(
        stack: ShopStack, client: httpx.Client) -> None:
    """The confirmation names its lines by name alone: the order is the cart PrestaShop's answers held
    (``lines: cart``), recorded with its reference. The next men's product page comes with M chosen in its
    Size select, and the page carries the decision for the browser to tell core.js (``click``)."""
    page(client, TEE.url())
    add(stack, client, TEE.id, "M")
    reference = place_order(client)
    (bought,) = stack.events("purchase", vid(client))
    props = bought.data["props"]
    assert props["order_id"] == reference and len(reference) == 9
    assert [(line["product"], line["size"], line["qty"], line["category"]) for line in props["lines"]] == [("1", "M", 1, "men")]
    profile = stack.profile(vid(client))
    assert profile.preferred_sizes == {"men": "M"} and profile.cart == []
    sweater = page(client, SWEATER.url())
    select = sweater.css_first(".product-variants select[aria-label=Size]")
    assert select.attributes.get("data-sw-decision")
    assert [o.attributes["title"] for o in select.css("option[selected]")] == ["M"]
    (told,) = json.loads(sweater.css_first("script[data-decisions]").attributes["data-decisions"] or "[]")
    assert (told["slot"], told["value"], told["click"], told["on"]) == ("size-preset", "M", True, 1)
    assert "token" not in told  # logged with the page already
    assert page(client, BEAR.url()).css_first("option[selected]").attributes["title"] == "S"  # women's: no size known


def test_recommendations_replace_the_same_category_block(stack: ShopStack, client: httpx.Client) -> None:
    for product in (TEE, BEAR, POSTER, MUG):
        page(client, product.url(product.default()))  # the listings' links: the default combination's URL
    viewed = stack.profile(vid(client))  # each a view of its product (its id), in its URL's category
    assert {"1", "3", "4", "5"} <= set(viewed.products) and {"men", "women", "art", "accessories"} <= set(viewed.categories)
    tree = page(client, SWEATER.url())  # ps_categoryproducts lists the t-shirt, the other men's product
    block = tree.css_first("#main > section.featured-products.sw-recommendations")
    assert block is not None and block.attributes.get("data-sw-decision")
    assert tree.css("#main > section.featured-products:not(.sw-recommendations)") == []
    links = [a.attributes["href"] for a in block.css("h2.product-title a")]
    assert links and all(link.endswith(".html") for link in links) and SWEATER.url() not in links
    assert all(price.text().startswith("€") for price in block.css(".price"))


def test_the_coupon_popup_waits_for_a_full_cart(stack: ShopStack, client: httpx.Client) -> None:
    assert page(client, "/").css_first('template[data-sw-popup="exit-coupon"]') is None
    page(client, POSTER.url())
    add(stack, client, POSTER.id)
    popup = page(client, "/4-men").css_first('template[data-sw-popup="exit-coupon"]')
    assert popup is not None and popup.attributes["data-sw-trigger"] == "exit-intent"
    assert page(client, "/order").css_first('template[data-sw-popup="exit-coupon"]') is None  # the checkout


def test_a_login_links_the_customer_only_when_prestashop_accepted_it(stack: ShopStack, client: httpx.Client) -> None:
    page(client, "/login?back=my-account")
    wrong = client.post("/login?back=my-account", data={"back": "my-account", "email": "pub@prestashop.com",
                                                          "password": "x", "submitLogin": "1"})
    assert wrong.status_code == 200 and "Authentication failed." in wrong.text  # the form again
    assert stack.events("identify", vid(client)) == []
    right = client.post("/login?back=my-account", data={"back": "my-account", "email": "pub@prestashop.com",
                                                          "password": "123456789", "submitLogin": "1"})
    assert right.status_code == 302 and right.headers["location"].endswith("/my-account")
    assert stack.profile(vid(client)).email_hash == hash_email("pub@prestashop.com")
    identity = page(client, "/identity")  # names the same customer: nothing new
    assert identity.css_first("#customer-form input[name=email]").attributes["value"] == "pub@prestashop.com"
    assert len(stack.events("identify", vid(client))) == 1


def test_a_customer_logged_in_before_the_proxy_saw_it_is_named_by_the_next_page(
        stack: ShopStack, client: httpx.Client) -> None:
    """Every page's ``var prestashop = {...}`` names the logged-in customer (``prestashop.customer.email``, read
    from the page's script by the proxy): a session that logged in where the proxy did not see it (another
    front, an earlier deployment) is the customer from its next page; a guest's page names no one."""
    page(client, "/")
    assert stack.profile(vid(client)).email_hash is None  # a guest: "email": null
    with httpx.Client(base_url=stack.shop.url, cookies={SESSION: client.cookies[SESSION]}) as direct:
        assert direct.post("/login", data={"email": "pub@prestashop.com", "password": "123456789",
                                           "submitLogin": "1"}).status_code == 302
    assert stack.events("identify", vid(client)) == []
    page(client, "/4-men")
    assert stack.profile(vid(client)).email_hash == hash_email("pub@prestashop.com")
    assert len(stack.events("identify", vid(client))) == 1
