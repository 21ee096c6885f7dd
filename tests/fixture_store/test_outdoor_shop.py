"""Fjell Outdoor over real HTTP: the markup contract in README.md holds, and the shop behaves like one."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from outdoor_shop import PRODUCTS, OutdoorShop, eur
from selectolax.lexbor import LexborHTMLParser as HTMLParser

JANE, JANE_PASSWORD = "jane@example.com", "fjell-pass-1"
RIDGE = "/shop/product/1005-ridge-runner/"
DAYPACK = "/shop/product/1013-hytte-daypack-22/"


@pytest.fixture(scope="module")
def shop() -> Iterator[OutdoorShop]:
    with OutdoorShop() as running:
        yield running


@pytest.fixture
def client(shop: OutdoorShop) -> Iterator[httpx.Client]:
    """A fresh visitor (own cookie jar); redirects are asserted, not followed."""
    with httpx.Client(base_url=shop.url, follow_redirects=False, timeout=10) as c:
        yield c


def tree(response: httpx.Response) -> HTMLParser:
    assert response.status_code == 200, (response.status_code, response.headers.get("location"))
    return HTMLParser(response.text)


def text(response: httpx.Response, selector: str) -> str:
    node = tree(response).css_first(selector)
    assert node is not None, selector
    return node.text(strip=True)


def token(c: httpx.Client, path: str) -> str:
    node = tree(c.get(path)).css_first("input[name=token]")
    assert node is not None
    return str(node.attributes["value"])


def pushes(html: str) -> list[dict[str, Any]]:
    """The event pushes of the inline scripts (the ``{ecommerce: null}`` resets are not JSON)."""
    found = re.findall(r"^dataLayer\.push\((.*)\);$", html, re.M)
    assert found[0::2] == ["{ecommerce: null}"] * (len(found) // 2)
    return [json.loads(raw) for raw in found[1::2]]


def add(c: httpx.Client, path: str, **fields: str) -> httpx.Response:
    return c.post("/basket/add/", data={"token": token(c, path), "quantity": "1", **fields})


def buy(c: httpx.Client, path: str, **fields: str) -> None:
    """Add to the basket like a browser: follow the redirect (the basket page shows the flash and the push)."""
    r = add(c, path, **fields)
    assert (r.status_code, r.headers["location"]) == (303, "/basket/")
    tree(c.get("/basket/"))


def login(c: httpx.Client, username: str = JANE, password: str = JANE_PASSWORD) -> httpx.Response:
    return c.post("/account/login/", data={"token": token(c, "/account/login/"), "username": username,
                                           "password": password})


def checkout(c: httpx.Client, shipping: str = "standard", **contact: str) -> httpx.Response:
    """Steps 1-3; the response to "Place order"."""
    r = c.post("/checkout/", data={"token": token(c, "/checkout/"), **contact})
    assert (r.status_code, r.headers["location"]) == (303, "/checkout/delivery/"), r.text
    r = c.post("/checkout/delivery/", data={"token": token(c, "/checkout/delivery/"), "shipping": shipping})
    assert (r.status_code, r.headers["location"]) == (303, "/checkout/review/")
    return c.post("/checkout/review/", data={"token": token(c, "/checkout/review/")})


def test_category_and_product_urls(client: httpx.Client) -> None:
    menu = tree(client.get("/")).css("nav.menu ul li a")
    assert [(a.attributes["href"], a.text()) for a in menu] == [
        ("/shop/category/jackets-1/", "Jackets"), ("/shop/category/trail-shoes-3/", "Trail Shoes"),
        ("/shop/category/base-layers-4/", "Base Layers"), ("/shop/category/backpacks-7/", "Backpacks"),
        ("/shop/category/socks-9/", "Socks")]
    page = tree(client.get("/shop/category/trail-shoes-3/"))
    assert [li.text(strip=True) for li in page.css("ol.crumbs li")] == ["Home", "Trail Shoes"]
    cards = page.css("ul.cards li.card")
    assert cards[0].css_first("a").attributes["href"] == RIDGE
    assert cards[0].css_first("p.price").text() == "119,00 €" and cards[0].css_first("p.instock").text() == "In stock"
    hrefs = [str(card.css_first("a").attributes["href"]) for card in cards]
    assert all(re.fullmatch(r"/shop/product/\d{4}-[a-z0-9-]+/", href) for href in hrefs)
    # canonical redirects: wrong slug, child product, no trailing slash; unknown ids are 404 pages
    assert client.get("/shop/category/shoes-3/").headers["location"] == "/shop/category/trail-shoes-3/"
    r = client.get("/shop/product/2011-whatever/")
    assert (r.status_code, r.headers["location"]) == (301, RIDGE + "?variant=2011")
    assert client.get("/shop/product/1005/").headers["location"] == RIDGE
    assert client.get("/shop/product/1005-ridge-runner").status_code in (301, 307, 308)
    assert client.get("/shop/product/4242-nothing/").status_code == 404
    assert client.get("/shop/category/nothing-5/").status_code == 404


def test_product_page(client: httpx.Client, shop: OutdoorShop) -> None:
    r = client.get(RIDGE + "?variant=2013")
    page = tree(r)
    meta = {m.attributes["property"]: m.attributes["content"] for m in page.css("meta[property]")}
    assert meta["og:type"] == "product" and meta["og:title"] == "Ridge Runner"
    assert meta["og:url"] == shop.url + RIDGE == page.css_first("link[rel=canonical]").attributes["href"]
    assert meta["og:image"] == shop.url + "/static/img/1005.svg"
    assert (meta["product:price:amount"], meta["product:price:currency"], meta["product:availability"]) == (
        "119.00", "EUR", "in stock")
    assert [a.text() for a in page.css("ol.crumbs li")] == ["Home", "Trail Shoes", "Ridge Runner"]
    assert page.css("ol.crumbs a")[1].attributes["href"] == "/shop/category/trail-shoes-3/"
    assert page.css_first("h1").text() == "Ridge Runner" and page.css_first(".buy-box .price").text() == "119,00 €"
    assert page.css_first("p.instock").text() == "In stock (8 available)"
    options = [(o.attributes["value"], o.text(), "disabled" in o.attributes, "selected" in o.attributes)
               for o in page.css("form.add-to-basket select[name=variant] option")]
    assert options == [("", "Choose your size", False, False), ("2010", "41", False, False),
                       ("2011", "42", False, False), ("2012", "43", True, False), ("2013", "44", False, True)]
    assert len(page.css("section.also-bought li.card")) == 4
    [view] = pushes(r.text)
    assert view == {"event": "view_item", "ecommerce": {"currency": "EUR", "value": 119.0, "items": [
        {"item_id": "1005", "item_name": "Ridge Runner", "item_category": "Trail Shoes", "price": 119.0}]}}

    sold_out = client.get("/shop/product/1015-turbo-running-vest-12/")
    page = tree(sold_out)
    assert page.css_first(".buy-box p.outofstock").text() == "Unavailable"
    assert page.css_first(".buy-box p.instock") is None
    assert page.css_first('meta[property="product:availability"]').attributes["content"] == "out of stock"
    assert page.css_first("form.add-to-basket select") is None
    assert page.css_first("form.add-to-basket input[name=product]").attributes["value"] == "1015"


def test_prices_are_european_text() -> None:
    assert (eur(5990), eur(124900), eur(5)) == ("59,90 €", "1.249,00 €", "0,05 €")


def test_no_data_attributes_json_ld_or_microdata(client: httpx.Client) -> None:
    """Crawl every kind of page, logged in and with a full basket, then with an order placed."""
    assert login(client).status_code == 303
    buy(client, RIDGE, product="1005", variant="2011")
    buy(client, DAYPACK, product="1013")
    paths = ["/", "/basket/", "/checkout/", "/account/", "/account/login/", "/account/register/", "/nothing/"]
    paths += [str(a.attributes["href"]) for a in tree(client.get("/")).css("nav.menu a")]
    paths += [p.url for p in PRODUCTS.values()]
    pages = [client.get(path).text for path in paths]
    pages.append(checkout(client, name="Jane Fjell").text)
    pages += [client.get(path).text for path in ("/checkout/thanks/", "/basket/")]
    for html in pages:
        assert not re.search(r"<[^>]*\sdata-", html)
        assert "ld+json" not in html and "itemprop" not in html and "itemscope" not in html
        assert all(not name.startswith("data-") for node in HTMLParser(html).css("*") for name in node.attributes)


def test_browsing_sets_no_cookie(client: httpx.Client) -> None:
    for path in ("/", "/shop/category/jackets-1/", RIDGE, "/basket/", "/account/login/", "/checkout/",
                 "/static/site.css", "/static/img/1005.svg", "/healthz"):
        assert "set-cookie" not in client.get(path).headers, path


def test_add_to_basket(client: httpx.Client) -> None:
    r = add(client, RIDGE, product="1005", variant="2011", quantity="2")
    assert (r.status_code, r.headers["location"]) == (303, "/basket/")
    cookie = r.headers["set-cookie"].lower()
    assert cookie.startswith("fjell_sid=") and "httponly" in cookie and "samesite=lax" in cookie
    basket = client.get("/basket/")
    assert text(basket, "div.flash.flash-ok") == "Ridge Runner (Size: 42) was added to your basket."
    [event] = pushes(basket.text)
    assert event == {"event": "add_to_cart", "ecommerce": {"currency": "EUR", "value": 238.0, "items": [
        {"item_id": "1005", "item_name": "Ridge Runner", "item_category": "Trail Shoes", "item_variant": "42",
         "price": 119.0, "quantity": 2}]}}
    buy(client, DAYPACK, product="1013")
    buy(client, RIDGE, product="1005", variant="2011")  # same size: one line
    again = client.get("/")
    assert tree(again).css_first("div.flash") is None and pushes(again.text) == []  # shown once only
    mini = tree(again).css_first("div#minicart")
    assert mini.css_first("span.count").text() == "4" and mini.css_first("p.empty") is None
    lines = [(li.css_first("a").attributes["href"], li.css_first("a").text(),
              li.css_first(".size").text() if li.css_first(".size") else None,
              li.css_first(".qty").text(), li.css_first(".price").text()) for li in mini.css("li.minicart-line")]
    assert lines == [(RIDGE + "?variant=2011", "Ridge Runner", "Size: 42", "Qty: 3", "357,00 €"),
                     (DAYPACK, "Hytte Daypack 22", None, "Qty: 1", "79,00 €")]
    assert mini.css_first(".minicart-total .price").text() == "436,00 €"

    r = client.post("/basket/remove/", data={"token": token(client, "/basket/"), "line": "2011"})
    assert (r.status_code, r.headers["location"]) == (303, "/basket/")
    basket = client.get("/basket/")
    assert text(basket, "div.flash.flash-ok") == "Ridge Runner was removed from your basket."
    assert [a.text() for a in tree(basket).css("table.basket tbody a")] == ["Hytte Daypack 22"]
    assert text(basket, "td.subtotal") == "79,00 €"


def test_empty_minicart(client: httpx.Client) -> None:
    mini = tree(client.get("/")).css_first("div#minicart")
    assert mini.css_first("span.count").text() == "0"
    assert mini.css_first("p.empty").text() == "Your basket is empty." and not mini.css("li")


@pytest.mark.parametrize(("fields", "back", "message"), [
    ({"product": "1005", "variant": ""}, RIDGE, "Please choose your size."),
    ({"product": "1005", "variant": "2012"}, RIDGE, "Size 43 is sold out."),
    ({"product": "1005", "variant": "2001"}, RIDGE, "Sorry, we could not find that product."),
    ({"product": "1005", "variant": "2011", "quantity": "0"}, RIDGE, "Please enter a quantity from 1 to 10."),
    ({"product": "1005", "variant": "2010", "quantity": "3"}, RIDGE, "Sorry, only 2 left in stock."),
    ({"product": "1015"}, "/shop/product/1015-turbo-running-vest-12/", "Sorry, Turbo Running Vest 12 is sold out."),
    ({"product": "1005", "variant": "2011", "token": "forged"}, RIDGE, "Your session expired. Please try again."),
    ({"product": "4242"}, "/", "Sorry, we could not find that product."),
])
def test_add_to_basket_failures(client: httpx.Client, fields: dict[str, str], back: str, message: str) -> None:
    r = add(client, RIDGE, **fields)
    assert (r.status_code, r.headers["location"]) == (303, back)
    after = client.get(back)
    assert text(after, "div.flash.flash-error") == message and tree(after).css_first("div.flash-ok") is None
    assert text(after, "#minicart span.count") == "0"
    assert tree(client.get(back)).css_first("div.flash") is None  # shown once


def test_token_from_another_session_is_rejected(shop: OutdoorShop, client: httpx.Client) -> None:
    buy(client, DAYPACK, product="1013")
    with httpx.Client(base_url=shop.url) as other:
        buy(other, DAYPACK, product="1013")
        r = other.post("/basket/add/", data={"token": token(client, DAYPACK), "product": "1013", "quantity": "1"})
        assert text(other.get(r.headers["location"]), "div.flash-error") == "Your session expired. Please try again."


def test_json_quick_add(client: httpx.Client) -> None:
    cards = tree(client.get("/shop/category/backpacks-7/")).css("li.card")
    assert [c.css_first("form.quick-add input[name=product]").attributes["value"] for c in cards
            if c.css_first("form.quick-add")] == ["1013", "1014", "1016"]  # 1015 is sold out
    api = "/api/basket/lines"
    for body, error in [({"product": 1005}, "Please choose your size."),
                        ({"product": 4242}, "Sorry, we could not find that product."),
                        ({"product": 2012}, "Size 43 is sold out."),
                        ({"product": 2011, "quantity": 11}, "Please enter a quantity from 1 to 10.")]:
        r = client.post(api, json=body)
        assert (r.status_code, r.json()) == (422, {"error": error})
        assert "set-cookie" not in r.headers
    assert client.post(api, content=b"[", headers={"content-type": "application/json"}).status_code == 422
    r = client.post(api, json={"product": 2011, "quantity": 2})
    assert r.status_code == 201 and r.headers["set-cookie"].startswith("fjell_sid=")
    body = r.json()
    assert (body["count"], body["total"], body["line"]) == (2, "238,00 €", {"product": 1005, "variant": 2011,
                                                                          "size": "42", "quantity": 2})
    assert body["analytics"]["event"] == "add_to_cart"
    assert body["analytics"]["ecommerce"]["items"][0]["item_variant"] == "42"
    assert HTMLParser(body["minicart"]).css_first("div#minicart span.count").text() == "2"
    assert client.post(api, json={"product": 1013}).json()["count"] == 3
    assert text(client.get("/"), "#minicart span.count") == "3"
    assert pushes(client.get("/basket/").text) == []  # the script pushed add_to_cart already


def test_guest_checkout_and_confirmation_reload(client: httpx.Client, shop: OutdoorShop) -> None:
    assert client.get("/checkout/").headers["location"] == "/basket/"
    buy(client, RIDGE, product="1005", variant="2011")
    buy(client, "/shop/product/1019-liner-sock-2-pack/", product="1019", quantity="2")
    assert client.get("/checkout/review/").headers["location"] == "/checkout/"
    step1 = client.get("/checkout/")
    [begin] = pushes(step1.text)
    assert begin["event"] == "begin_checkout" and begin["ecommerce"]["value"] == 144.8
    assert [i["item_id"] for i in begin["ecommerce"]["items"]] == ["1005", "1019"]
    bad = client.post("/checkout/", data={"token": token(client, "/checkout/"), "email": "nope", "name": "Ola"})
    assert text(bad, "p.form-error") == "Please enter a valid e-mail address."
    before = len(shop.state.orders)
    r = checkout(client, email="ola@example.com", name="Ola Nordmann")
    assert (r.status_code, r.headers["location"]) == (303, "/checkout/thanks/")
    first = client.get("/checkout/thanks/")
    number = text(first, "p.order-ref strong")
    assert re.fullmatch(r"FJ-\d{5}", number) and text(first, "p.order-ref") == f"Order number:{number}"
    rows = [[td.text(strip=True) for td in tr.css("td")] for tr in tree(first).css("table.order-lines tbody tr")]
    assert rows == [["Ridge Runner", "42", "1", "119,00 €"], ["Liner Sock 2-pack", "", "2", "25,80 €"]]
    assert tree(first).css_first("table.order-lines tbody a").attributes["href"] == RIDGE
    assert text(first, "td.grand-total") == "149,70 €"
    [bought] = pushes(first.text)
    assert bought == {"event": "purchase", "ecommerce": {
        "transaction_id": number, "shipping": 4.9, "currency": "EUR", "value": 149.7, "items": [
            {"item_id": "1005", "item_name": "Ridge Runner", "item_category": "Trail Shoes", "item_variant": "42",
             "price": 119.0, "quantity": 1},
            {"item_id": "1019", "item_name": "Liner Sock 2-pack", "item_category": "Socks", "price": 12.9,
             "quantity": 2}]}}
    reload = client.get("/checkout/thanks/")
    assert text(reload, "p.order-ref strong") == number and pushes(reload.text) == [bought]
    assert len(shop.state.orders) == before + 1
    assert text(reload, "#minicart span.count") == "0"
    assert client.get("/checkout/").headers["location"] == "/basket/"
    assert "ola@example.com" not in reload.text


def test_login_account_logout(client: httpx.Client) -> None:
    assert client.get("/account/").status_code == 302
    assert client.get("/account/").headers["location"] == "/account/login/"
    failed = login(client, password="wrong")
    assert failed.status_code == 200 and text(failed, "p.form-error") == "Wrong e-mail address or password."
    assert tree(failed).css_first("form.login input[name=username]").attributes["value"] == JANE
    assert text(client.get("/"), "a.account-link") == "Sign in"
    r = login(client)
    assert (r.status_code, r.headers["location"]) == (303, "/account/")
    account = client.get("/account/")
    assert [dd.text() for dd in tree(account).css("dl.profile dd")] == ["Jane Fjell", JANE]
    buy(client, DAYPACK, product="1013")
    checkout(client, shipping="pickup", name="Jane Fjell")
    thanks = client.get("/checkout/thanks/")
    assert text(thanks, "td.grand-total") == "79,00 €"
    for path in ("/", RIDGE, "/basket/", "/checkout/thanks/", "/account/login/"):
        page = client.get(path).text
        assert JANE not in page and "My account" in page, path
    account = client.get("/account/")
    assert JANE in account.text and text(thanks, "p.order-ref strong") in account.text
    r = client.post("/account/logout/", data={"token": token(client, "/account/")})
    assert (r.status_code, r.headers["location"]) == (303, "/")
    assert text(client.get("/"), "a.account-link") == "Sign in"
    assert client.get("/account/").status_code == 302


def test_register(client: httpx.Client) -> None:
    form = {"token": token(client, "/account/register/"), "email": JANE, "name": "Other", "password": "long-enough"}
    taken = client.post("/account/register/", data=form)
    assert text(taken, "p.form-error") == "There is already an account for this e-mail address."
    form.update(token=token(client, "/account/register/"), email="kari@example.com")
    r = client.post("/account/register/", data=form)
    assert (r.status_code, r.headers["location"]) == (303, "/account/")
    assert "kari@example.com" in client.get("/account/").text


def test_newsletter(client: httpx.Client, shop: OutdoorShop) -> None:
    r = client.post("/newsletter/", data={"email": "fan@example.com", "next": RIDGE})
    assert (r.status_code, r.headers["location"]) == (303, RIDGE)
    assert text(client.get(RIDGE), "div.flash.flash-ok").startswith("Thanks!")
    assert "fan@example.com" in shop.state.subscribers
    r = client.post("/newsletter/", data={"email": "not-an-address", "next": "https://evil.example/"})
    assert r.headers["location"] == "/"
    assert text(client.get("/"), "div.flash.flash-error") == "Please enter a valid e-mail address."


def test_static_and_health(client: httpx.Client) -> None:
    assert client.get("/healthz").text == "ok"
    svg = client.get("/static/img/1005.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml") and svg.text.startswith("<svg")
    assert client.get("/static/img/3.svg").status_code == 200  # category tiles
    assert client.get("/static/img/2011.svg").status_code == 404
    assert client.get("/static/site.css").headers["content-type"].startswith("text/css")
