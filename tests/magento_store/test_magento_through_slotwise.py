"""Magento 2 (Luma), configured from rules alone: the shipped example in front of Luma's own markup.

``slotwise/rules/examples/magento.yaml`` (with its capture file and templates)
runs unchanged in the real proxy in front of ``magento_shop.py``, with one
variant per slot and no holdout (``pinned_rules``). HTTP clients act as
visitors, sending what Luma's own scripts send (the add-to-cart form by AJAX,
the guest checkout's REST call); each assertion is on what the proxy served or
recorded. What only a browser does (the swatches, the click on a size) is
``test_magento_in_chromium.py``.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import httpx
import pytest
from magento_shop import PRODUCTS, SESSION, MagentoShop
from pinned_rules import pinned_example
from shop_stack import ShopStack, open_stack, page, shopper, vid, wait_for

from slotwise.profile import hash_email

PINNED = {"home-categories": "recent", "size-preset": "preset", "product-recommendations": "mixed",
          "exit-coupon": "pct10"}
COMPANIONS = ("magento-capture.yaml", "magento-recommendations.html", "magento-popup.html")
HERO, MARS, HERA, DUFFLE, WAYFARER = (PRODUCTS[i] for i in (1, 2, 3, 5, 7))
URLS = {p.url for p in PRODUCTS.values()}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[ShopStack]:
    data = tmp_path_factory.mktemp("magento")
    rules = pinned_example(data, "magento.yaml", COMPANIONS, PINNED)
    with MagentoShop() as shop, open_stack(shop, data, rules, uvicorn_runner) as s:
        wait_for(lambda: s.personalizer.feeds.count, what="the GraphQL feed")
        yield s


@pytest.fixture
def client(stack: ShopStack) -> Iterator[httpx.Client]:
    with shopper(stack) as c:
        yield c


def form_key(stack: ShopStack, client: httpx.Client) -> str:
    return stack.shop.state.sessions[client.cookies[SESSION]].form_key


def ajax_add(stack: ShopStack, client: httpx.Client, product: int, size: str | None = None,
             child: int | None = None, qty: str | None = "1") -> httpx.Response:
    """What catalog-add-to-cart.js posts: the form (``product``, the size's ``super_attribute[144]`` and its
    child in ``selected_configurable_option``, ``qty`` on a product page), by jQuery's ajax."""
    from magento_shop import SIZE_ATTRIBUTE, SIZE_OPTIONS

    form = {"product": str(product), "selected_configurable_option": str(child or ""), "related_product": "",
            "item": str(product), "form_key": form_key(stack, client)}
    if size is not None:
        form[f"super_attribute[{SIZE_ATTRIBUTE}]"] = str(SIZE_OPTIONS[size])
    if qty is not None:
        form["qty"] = qty
    return client.post(f"/checkout/cart/add/uenc/aHR0cDovL2x1bWEudGVzdC8,/product/{product}/", data=form,
                       headers={"x-requested-with": "XMLHttpRequest"})


def place_order(client: httpx.Client, email: str = "kari@example.com") -> str:
    """The guest checkout: its REST call, then the success page it opens; returns the order number shown."""
    assert client.get("/checkout/").status_code == 200
    r = client.post("/rest/default/V1/guest-carts/mA5kEdCaRt/payment-information",
                    json={"cartId": "mA5kEdCaRt", "email": email, "paymentMethod": {"method": "checkmo"}})
    assert r.status_code == 200, r.text
    return page(client, "/checkout/onepage/success/").css_first(".checkout-success p > span").text()


TILES = "div.blocks-promo > a.block-promo"
TOPS = ["/women.html", "/men.html", "/gear.html"]  # level 2: a product page's URL shape


def test_the_home_tiles_put_the_last_browsed_category_first(stack: ShopStack, client: httpx.Client) -> None:
    assert [a.attributes["href"] for a in page(client, "/").css(TILES)] == [
        "/women/tops-women.html", "/men/tops-men.html", "/gear/bags.html", *TOPS]
    page(client, "/gear/bags.html")
    page(client, "/men/tops-men.html")
    home = page(client, "/")
    assert [a.attributes["href"] for a in home.css(TILES)] == [
        "/men/tops-men.html", "/gear/bags.html", "/women/tops-women.html", *TOPS]
    assert home.css_first("div.blocks-promo").attributes.get("data-sw-decision")


def test_a_top_level_category_is_a_category_by_its_markup_and_a_product_still_a_product(
        stack: ShopStack, client: httpx.Client) -> None:
    """/men.html and /hero-hoodie.html match both the category and the product pattern: Luma's body class
    (catalog.page_types) makes the first a category, viewed as one (and its tile first on the home page), with
    no size preset waiting on it; the second a product, viewed with its feed category."""
    page(client, HERO.url)
    men = page(client, "/men.html")
    assert men.css_first("body").attributes["class"].split()[3] == "catalog-category-view"
    assert men.css("script[data-decisions]") == []  # size-preset: when page.type == "product"
    viewed = stack.profile(vid(client))
    assert set(viewed.categories) == {"tops-men", "men"} and set(viewed.products) == {HERO.url_key}
    home = page(client, "/")
    assert [a.attributes["href"] for a in home.css(TILES)][:2] == ["/men.html", "/men/tops-men.html"]
    assert page(client, MARS.url).css_first("script[data-decisions]") is not None  # a product: the preset waits


def test_a_size_bought_is_the_size_preset_next_time_and_the_order_is_read_from_the_ga4_block(
        stack: ShopStack, client: httpx.Client) -> None:
    """The add names the child's entity id (the page's jsonConfig taught it as size M); Magento refuses a sold-out
    size with 200 ``{"backUrl"}``, which is not counted; the success page's GA4 lines name the child's SKU
    (the feed taught it as size M). The next hoodie's swatches come with a decision for the browser: M."""
    page(client, HERO.url)
    m = next(c for c in HERO.children if c.size == "M")
    xl = next(c for c in HERO.children if c.size == "XL")  # sold out
    refused = ajax_add(stack, client, HERO.id, "XL", xl.id)
    assert refused.status_code == 200 and refused.json() == {"backUrl": stack.shop.url + HERO.url}
    assert stack.events("add_to_cart", vid(client)) == []
    added = ajax_add(stack, client, HERO.id, "M", m.id)
    assert added.status_code == 200 and added.json() == []
    (event,) = stack.events("add_to_cart", vid(client))
    assert (event.data["props"]["product"], event.data["props"]["size"], event.data["props"]["category"]) == (
        HERO.url_key, "M", "tops-men")
    sections(client, "cart,messages")  # what catalog-add-to-cart.js loads after an add: the cart's truth
    assert [(line["product"], line["size"], line["qty"], line["price"]) for line in stack.profile(vid(client)).cart] == [
        (HERO.url_key, "M", 1, 54.0)]
    number = place_order(client)
    (bought,) = stack.events("purchase", vid(client))
    props = bought.data["props"]
    assert props["order_id"] == number and len(number) == 9  # the increment id, "000000001"
    assert [(line["product"], line["size"], line["qty"], line["category"]) for line in props["lines"]] == [
        (HERO.url_key, "M", 1, "tops-men")]
    assert client.get("/checkout/onepage/success/").status_code == 302  # Magento shows it once
    assert stack.profile(vid(client)).preferred_sizes == {"tops-men": "M"} and stack.profile(vid(client)).cart == []
    # the swatches are not in the HTML: the decision waits for them in the browser, which clicks M
    mars = page(client, MARS.url).css_first("script[data-decisions]")
    (waiting,) = json.loads(mars.attributes["data-decisions"] or "[]")
    assert (waiting["slot"], waiting["value"], waiting["click"], waiting["wait"]) == ("size-preset", "M", True, 3000)


def sections(client: httpx.Client, names: str) -> dict[str, Any]:
    """customer-data.js's GET of the sections a page shows (``cart,customer,messages``)."""
    r = client.get("/customer/section/load/", params={"sections": names, "force_new_section_timestamp": "false"},
                   headers={"x-requested-with": "XMLHttpRequest"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    return r.json()  # type: ignore[no-any-return]


def test_the_cart_is_the_cart_sections_json_whatever_changed_it(stack: ShopStack, client: httpx.Client) -> None:
    """The mini cart is knockout's view of the ``cart`` section: the proxy reads the section's JSON as it passes
    (``capture.cart`` with ``request``), so a cart changed where no add was seen (another device, the cart
    page's update, an admin) is the profile's cart at the next section load; a load of other sections only
    says nothing of the cart."""
    page(client, HERO.url)
    page(client, DUFFLE.url)
    m = next(c for c in HERO.children if c.size == "M")
    assert ajax_add(stack, client, HERO.id, "M", m.id).json() == []
    assert ajax_add(stack, client, DUFFLE.id, qty="2").json() == []
    cart = sections(client, "cart,messages")["cart"]
    assert [(i["product_sku"], i["qty"]) for i in cart["items"]] == [("24-MB01", 2), ("MH07-M", 1)]  # newest first
    assert sorted((line["product"], line.get("size"), line["qty"], line["price"])
                  for line in stack.profile(vid(client)).cart) == [(HERO.url_key, "M", 1, 54.0),
                                                                    (DUFFLE.url_key, None, 2, 34.0)]
    session = stack.shop.state.sessions[client.cookies[SESSION]]
    del session.cart[(HERO.id, m.id)]  # removed where the proxy saw no request of this browser
    sections(client, "customer,messages")  # no cart in the answer: nothing said
    assert len(stack.profile(vid(client)).cart) == 2
    sections(client, "cart,customer,messages")  # the next page's load
    assert [(line["product"], line["qty"]) for line in stack.profile(vid(client)).cart] == [(DUFFLE.url_key, 2)]
    session.cart.clear()
    assert sections(client, "cart")["cart"]["items"] == []
    assert stack.profile(vid(client)).cart == [] and not stack.profile(vid(client)).cart_hint


def test_a_simple_product_from_a_category_page_and_the_popup_for_a_full_cart(
        stack: ShopStack, client: httpx.Client) -> None:
    """The listing's tocart form posts the entity id and no qty; the catalog knows the id from the product page."""
    assert page(client, "/").css_first('template[data-sw-popup="exit-coupon"]') is None
    page(client, DUFFLE.url)
    page(client, "/gear/bags.html")
    assert ajax_add(stack, client, DUFFLE.id, qty=None).json() == []
    assert ajax_add(stack, client, WAYFARER.id, qty=None).json() == {"backUrl": stack.shop.url + WAYFARER.url}
    (added,) = stack.events("add_to_cart", vid(client))
    assert (added.data["props"]["product"], added.data["props"]["qty"], added.data["props"]["category"]) == (
        DUFFLE.url_key, 1, "bags")
    popup = page(client, "/").css_first('template[data-sw-popup="exit-coupon"]')
    assert popup is not None and popup.attributes["data-sw-trigger"] == "exit-intent"


def test_recommendations_replace_the_related_block_with_the_stores_products(
        stack: ShopStack, client: httpx.Client) -> None:
    for product in (HERO, MARS, DUFFLE, HERA):
        page(client, product.url)
    viewed = stack.profile(vid(client))  # the views, keyed by URL key, each with the feed's category
    assert {HERO.url_key, MARS.url_key, DUFFLE.url_key, HERA.url_key} <= set(viewed.products)
    assert {"tops-men", "tops-women", "bags"} <= set(viewed.categories)
    tree = page(client, PRODUCTS[4].url)
    block = tree.css_first("div.block.related.sw-recommendations")
    assert block is not None and block.attributes.get("data-sw-decision")
    assert tree.css("div.block.related:not(.sw-recommendations)") == []  # replaced, not added to
    links = [a.attributes["href"] for a in block.css("a.product-item-link")]
    assert links and set(links) <= URLS - {PRODUCTS[4].url}
    assert all(price.text().startswith("$") for price in block.css(".price"))


def test_a_login_links_the_customer_only_when_magento_accepted_it(stack: ShopStack, client: httpx.Client) -> None:
    page(client, "/customer/account/login/")
    login = {"form_key": form_key(stack, client), "login[username]": "jane@example.com", "login[password]": "x"}
    assert client.post("/customer/account/loginPost/", data=login).headers["location"].endswith("/login/")
    assert stack.events("identify", vid(client)) == []
    login["login[password]"] = "luma-pass-1"
    assert client.post("/customer/account/loginPost/", data=login).headers["location"].endswith("/customer/account/")
    assert stack.profile(vid(client)).email_hash == hash_email("jane@example.com")
    page(client, "/customer/account/edit/")  # names the same customer: nothing new
    assert len(stack.events("identify", vid(client))) == 1


def test_the_feed_read_again_after_the_pages_keeps_both_ids_of_a_size(stack: ShopStack, client: httpx.Client) -> None:
    """A size has two ids: the page's jsonConfig names the child's entity id (what the add posts), the feed its
    SKU (what an order line names). A product page read since the feed, then the feed read again (every 10
    minutes), each write the product's sizes by their own ids: neither takes the other's away."""
    from slotwise.tag.testing import sync

    page(client, HERA.url)  # the page's ids (109..112), after the feed's SKUs
    feeds = stack.personalizer.feeds
    assert sync(feeds.refresh(feeds.feed, feeds.mapping, force=True)) == len(PRODUCTS)  # the SKUs again
    s = next(c for c in HERA.children if c.size == "S")
    assert ajax_add(stack, client, HERA.id, "S", s.id).json() == []
    (event,) = stack.events("add_to_cart", vid(client))
    assert (event.data["props"]["product"], event.data["props"]["size"]) == (HERA.url_key, "S")
    place_order(client)
    (bought,) = stack.events("purchase", vid(client))
    assert [(line["product"], line["size"]) for line in bought.data["props"]["lines"]] == [(HERA.url_key, "S")]
