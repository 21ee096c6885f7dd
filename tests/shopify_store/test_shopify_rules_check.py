"""``slotwise rules check shopify.yaml --url`` on each kind of Dawn page: what a store's engineer sees.

The example must read every page type of a Shopify store with the Dawn theme (the fixture's markup)
without a warning: the collection keys of the home's collection list, the product from its
``structured_data`` JSON-LD, the size radios, the cart drawer, the login form, and the catalog from
``/products.json`` in its own shape (every variant id a size of its product, ``Default Title`` none).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from example_check import clean_check
from shopify_shop import CART_COOKIE, IDENTITY_ENV, IDENTITY_SECRET, SESSION_COOKIE, ShopifyShop, hmac_sha256

from slotwise.cli import main
from slotwise.proxy.personalization.catalog_feed import FeedLoader, catalog_rows
from slotwise.rules import load_rules

EXAMPLE = str(Path(__file__).resolve().parents[2] / "slotwise" / "rules" / "examples" / "shopify.yaml")


@pytest.fixture(scope="module")
def shop() -> Iterator[ShopifyShop]:
    with ShopifyShop() as s:
        yield s


def check(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> str:
    return clean_check(capsys, EXAMPLE, url, *args)


def test_the_example_loads(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", EXAMPLE]) == 0
    out = capsys.readouterr().out
    assert "OK, 4 slots" in out and "capture: 2 event sources; customer, cart" in out
    assert "signed identity: on (secret from $SLOTWISE_IDENTITY_SECRET, set)" in out
    assert ("sizes <- variants[]: id id, size option{} ({}: options[name=Size].position in the item the list is in), "
            "not sizes: default title") in out
    assert 'JSON-LD variants keyed by (catalog.variant_id): @id (its group of "[?&]variant=(\\d+)")' in out


def test_home_and_collection_pages(shop: ShopifyShop, capsys: pytest.CaptureFixture[str]) -> None:
    home = check(capsys, shop.url + "/")
    assert "page type home" in home and "cart: empty" in home
    assert "home-collections: page matches; 1 element matches 'ul.collection-list'" in home
    assert "item keys of its children: 'shirts', 'accessories', 'jackets'" in home
    assert "page type category, category 'jackets'" in check(capsys, shop.url + "/collections/jackets")


@pytest.mark.parametrize("path", ["/products/rain-jacket", "/collections/jackets/products/rain-jacket"])
def test_a_product_with_sizes(shop: ShopifyShop, capsys: pytest.CaptureFixture[str], path: str) -> None:
    out = check(capsys, shop.url + path)
    assert "page type product" in out
    assert "product 'rain-jacket': 'Rain Jacket', price 89.90 EUR" in out  # the ProductGroup's first offer
    assert "size-preset: page matches; 1 element matches \"variant-selects fieldset.product-form__input:has(" in out
    assert "item keys of its choices (input[type=radio]): 'S', 'M', 'L'" in out
    # the ProductGroup's variants, each with its size (structured_data): the page alone has the sizes
    assert "sizes (size=child product): S=44001, M=44002, L=44003; in stock: S, M, L" in out
    # keyed as the feed keys them (catalog.variant_id: the id in each variant's @id): one map in the catalog
    assert "sizes S=44001, M=44002, L=44003" in check(capsys, shop.url + path, "--feed")
    assert "product-recommendations: page matches; 1 element matches 'product-recommendations.related-products'" in out
    assert "(add_to_cart from a request): 1 form on this page posts to it" in out  # Dawn's form: its fetch is observed
    assert "recorded when response.ok" in out


def test_the_product_forms_fields_include_those_outside_it_that_name_it(
        shop: ShopifyShop, capsys: pytest.CaptureFixture[str]) -> None:
    """Dawn's size radios and quantity sit outside the product form with ``form="product-form-…"``: the
    browser submits them with it (``form.elements``, its ``FormData``), so the checker lists them."""
    out = check(capsys, shop.url + "/products/rain-jacket")
    assert ("1 form on this page posts to it (fields: Size-1, add, form_type, id, product-id, quantity, section-id, "
            "utf8)") in out


def test_a_field_belongs_to_the_form_its_form_attribute_names(
        page_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The HTML standard's form owner: the form named by id wherever the field is (even inside another
    form), the form around it otherwise; a ``form`` attribute naming no form leaves the field in none."""
    (tmp_path / "rules.yaml").write_text(
        'capture:\n  events:\n'
        '    - {event: add_to_cart, request: {path: "/cart/add"}, fields: {product: form.id, qty: form.quantity}}\n'
        '    - {event: newsletter, request: {path: "/subscribe"}, fields: {email: form.email}}\nslots: []\n')
    page = (b'<!doctype html><html><body><input name="quantity" form="add">'
            b'<form id="add" method="post" action="/cart/add"><input type="hidden" name="id" value="1">'
            b'<input name="note" form="news"><input name="gift" form="nowhere"><input name="coupon" form="">'
            b'<button name="add">Add</button></form><p id="news">not a form</p>'
            b'<form id="sub" method="post" action="/subscribe"><input name="email"></form>'
            b'<select name="country" form="sub"></select><textarea name="message" form="add"></textarea>'
            b'</body></html>')
    store = page_server({"/p": page})
    assert main(["rules", "check", str(tmp_path / "rules.yaml"), "--url", store.url + "/p"]) == 0
    out = capsys.readouterr().out
    assert "1 form on this page posts to it (fields: add, id, message, quantity);" in out
    assert "1 form on this page posts to it (fields: country, email);" in out


def test_a_product_with_only_the_default_title_variant(shop: ShopifyShop, capsys: pytest.CaptureFixture[str]) -> None:
    """No options, no picker: the size slot rightly finds nothing there."""
    out = check(capsys, shop.url + "/products/jacket-wax")
    assert "product 'jacket-wax': 'Jacket Wax', price 14.90 EUR, in stock" in out
    assert "size-preset: page matches; 0 elements match \"variant-selects fieldset.product-form__input:has(" in out
    assert "(add_to_cart from a request): 1 form on this page posts to it" in out  # the product form all the same


def test_the_cart_drawer_and_the_login_page(shop: ShopifyShop, capsys: pytest.CaptureFixture[str]) -> None:
    with httpx.Client(base_url=shop.url, headers={"accept": "application/javascript"}) as store:
        store.post("/cart/add", files={"id": (None, "44022"), "quantity": (None, "1")})  # Dawn's FormData: M
        store.post("/cart/add", data={"id": "44041", "quantity": "2"})  # the Default Title variant, twice
        cart = f"{CART_COOKIE}={store.cookies[CART_COOKIE]}"
    out = check(capsys, shop.url + "/collections/jackets", "--cookie", cart)
    assert "cart: count 3; 2 lines: fleece-jacket size M ×1; jacket-wax ×2" in out
    login = check(capsys, shop.url + "/account/login")
    assert "login on submit of 'form#customer_login'): 1 element on this page" in login


def test_the_signed_customer_on_a_logged_in_page(shop: ShopifyShop, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """``--url`` with the customer's session: the id the theme app embed prints, and whether its signature checks
    with the secret in this environment (never the signature itself)."""
    with httpx.Client(base_url=shop.url) as store:
        store.post("/account/login", data={"customer[email]": "jane@example.com", "customer[password]": "dawn-pass-1"})
        session = f"{SESSION_COOKIE}={store.cookies[SESSION_COOKIE]}"
    out = check(capsys, shop.url + "/account", "--cookie", session)
    assert "customer: id '7001', signature valid (tag-only: trusted, merges the customer's devices)" in out
    assert "customer: none named" in check(capsys, shop.url + "/account/login")  # logged out: nothing printed
    monkeypatch.setenv(IDENTITY_ENV, "another-secret")  # the store signs with a secret Slotwise does not have
    out = check(capsys, shop.url + "/account", "--cookie", session)
    assert "customer: id '7001', signature WRONG for $SLOTWISE_IDENTITY_SECRET (tag-only: a claim)" in out
    assert hmac_sha256(7001, IDENTITY_SECRET) not in out


def test_the_products_json_feed_as_slotwise_reads_it(shop: ShopifyShop, capsys: pytest.CaptureFixture[str]) -> None:
    out = check(capsys, shop.url + "/", "--feed")
    assert "pages: page=1, 2, ..., limit=250 (at most 50)" in out
    assert "catalog feed /products.json: 7 products" in out
    assert "rain-jacket: name 'Rain Jacket', price 89.9, category 'jackets', in_stock True" in out
    assert "sizes S=44001, M=44002, L=44003" in out
    assert "no size 44041: a line naming one is this product" in out  # jacket-wax's Default Title
    assert shop.state.feed_requests[-1] == "page=1&limit=250"


def test_with_the_feed_a_product_page_takes_the_feeds_category(shop: ShopifyShop,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """your-store.md's command (``--url`` a product page ``--feed``): Dawn's pages name no category, and
    the proxy and ``/decide`` take the catalog's (the feed's ``product_type``), so the check says the size
    slot's ``when: page.category`` holds; without the feed it cannot know, and says the page names none."""
    out = check(capsys, shop.url + "/products/rain-jacket", "--feed")
    assert "/products/rain-jacket: HTTP 200, " in out and "; page type product, category 'jackets'" in out
    assert ("    category 'jackets' from the catalog feed: the page names none (as behind the proxy and in "
            "tag-only mode)") in out
    assert "not shown: when page.category is false" not in out and "size-preset: page matches;" in out
    alone = check(capsys, shop.url + "/products/rain-jacket")
    assert "category None" in alone and "[not shown: when page.category is false on this page]" in alone


def test_a_product_with_two_options(shop: ShopifyShop, capsys: pytest.CaptureFixture[str]) -> None:
    """Color first, Size second: the size slot presets the Size radios, not the colours."""
    out = check(capsys, shop.url + "/products/trail-tee")
    assert "size-preset: page matches; 1 element matches" in out
    assert "item keys of its choices (input[type=radio]): 'S', 'M'" in out
    # each variant names its colour and its size: S is in stock as Blue / S is (Red / S is sold out)
    assert "sizes (size=child product): S=44061, M=44062; in stock: S, M" in out


def test_a_sold_out_size_is_offered_but_not_in_stock(shop: ShopifyShop, capsys: pytest.CaptureFixture[str]) -> None:
    """The page's ProductGroup alone (no catalog.sizes in the example): Down Jacket's L is sold out."""
    out = check(capsys, shop.url + "/products/down-jacket")
    assert "product 'down-jacket': 'Down Jacket', price 129.00 EUR, in stock" in out
    assert "sizes (size=child product): S=44011, M=44012, L=44013; in stock: S, M" in out


def test_the_feed_reads_the_option_named_size_whatever_its_position(shop: ShopifyShop) -> None:
    """``/products.json`` names each product's options; the example reads each variant's value of the one
    named Size: option1 for the jackets, option2 for the tee (option1 is its colour). Every variant id is a
    child of its product in its size (Red / M as Blue / M); a product without options has aliases only."""
    catalog = load_rules(Path(EXAMPLE)).catalog
    assert catalog.feed is not None
    loader = FeedLoader(None, shop.url, lambda: 0.0)  # type: ignore[arg-type]
    products = {p["id"]: p for p in asyncio.run(loader.products(catalog.feed, catalog.feed_mapping))}
    tee, rain, wax = products["trail-tee"], products["rain-jacket"], products["jacket-wax"]
    assert (tee["variants"], tee["more_sizes"]) == ({"S": "44061", "M": "44062"}, [["44063", "S"], ["44064", "M"]])
    assert rain["variants"] == {"S": "44001", "M": "44002", "L": "44003"} and "more_sizes" not in rain
    assert wax.get("variants") is None and wax["aliases"] == ["44041"]
    rows = {r["id"]: r for r in catalog_rows(list(products.values()), stored={})}
    assert [rows[str(v)].get("size") for v in range(44061, 44065)] == ["S", "M", "S", "M"]
    assert {rows[str(v)]["parent"] for v in range(44061, 44065)} == {"trail-tee"}
