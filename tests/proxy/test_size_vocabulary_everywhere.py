"""The rules' size vocabulary (``catalog.not_sizes``, ``catalog.size_names``) wherever a size enters or is
read, through the real proxy and its SQLite store.

A Shopify store without a product feed (the tag, the store's own JS) sends the one variant of a product
without options as size ``Default Title``. Recorded as a size, it becomes the visitor's preferred size
in the category (bought more often than their real size), and the size slot presets it, or nothing at
all on a sized product's page. The rules say it once (``catalog.not_sizes``): events record no size for
it, a profile that holds it from before the rule is read without it, and so is a catalog row's stale
``variants`` map (what the tag-only decide reads).

And the store's channels spell one size several ways: the web shop's selector says ``M``, the POS export
``Medium``. ``catalog.size_names`` says so once: an in-store ``Medium`` presets the web selector's ``M``,
the page's ``Medium`` is chosen for an ``M``, and what was recorded before the rule counts as ``M``."""

from __future__ import annotations

import concurrent.futures
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from agents import DESKTOP_UA

from slotwise.profile import Profile, add_to_cart, record_purchase
from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.cli import main
from slotwise.tag.testing import sync

RULES = """
holdout: 0
catalog:
  product_pages: "/p/{product}"
  not_sizes: ["Default Title"]
  size_names: {M: [Medium, Med], XL: [Extra Large]}
  selectors: {category: "main @data-category"}
  customer: "main @data-customer"
slots:
  - id: size-prefill
    pages: "/p/{product}"
    selector: "select#size"
    action: select-option
    when: page.category in visitor.preferred_size
    goal: add_to_cart
    variants:
      - id: preferred
        value: visitor.preferred_size[page.category]
  - id: offered
    pages: "/p/{product}"
    selector: "p.offered"
    action: replace
    when: page.product.variants
    goal: add_to_cart
    html: '<p class="offered">{{ page.product.variants | join(",") }}</p>'
"""


def product_page(options: list[str]) -> str:
    """A Shopify theme's product page: its variants' titles in the size select (``Default Title`` alone
    for a product without options)."""
    choices = "".join(f"<option>{o}</option>" for o in options)
    return (f'<html><body><main data-category="t-shirts"><h1>Tee</h1><select id="size">{choices}</select>'
            '<p class="offered"></p></main></body></html>')


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[tuple[Any, SlotwisePersonalizer]]:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Route

    async def page(request: Request) -> Response:
        options = {"pocket-tee": ["Default Title"], "pos-tee": ["Small", "Medium", "Large"]}  # its POS's words
        return HTMLResponse(product_page(options.get(request.path_params["product"], ["S", "M", "L"])))

    data = tmp_path_factory.mktemp("size-vocabulary-everywhere")
    (data / "rules.yaml").write_text(RULES, encoding="utf-8")
    shop = Starlette(routes=[Route("/", lambda r: HTMLResponse("<html><body>Shop</body></html>")),
                             Route("/p/{product}", page),
                             Route("/me/{customer}", lambda r: HTMLResponse(  # the store's page of a logged-in customer
                                 f'<html><body><main data-customer="{r.path_params["customer"]}">Hi</main></body></html>'))])
    with uvicorn_runner(shop) as upstream:
        settings = Settings(upstream=upstream.url, rules=str(data / "rules.yaml"), data=str(data / "edge"),
                            personalize_budget_ms=5000)
        personalizer = SlotwisePersonalizer(settings)
        with uvicorn_runner(create_app(settings, personalizer)) as edge:
            yield edge, personalizer


@contextmanager
def browser(edge: Any) -> Iterator[tuple[httpx.Client, str]]:
    """A new visitor: a client with its ``sw_vid`` cookie, and its id."""
    with httpx.Client(base_url=edge.url, headers={"user-agent": DESKTOP_UA}, trust_env=False, timeout=10) as client:
        client.get("/")
        yield client, client.cookies["sw_vid"].split(".")[0]


def purchase(order: str, product: str, size: str) -> dict[str, Any]:
    """A ``purchase`` as the store's own JS sends it to ``/_sw/events`` (Shopify's variant title as the size)."""
    return {"type": "purchase", "event_id": uuid.uuid4().hex,
            "props": {"order_id": order, "lines": [{"product": product, "category": "T-Shirts", "size": size,
                                                    "qty": 1, "price": 20.0}]}}


def selected(html: str) -> str | None:
    """The option the page's size select has selected, or None."""
    for option in html.split("<option")[1:]:
        if "selected" in option.split(">", 1)[0]:
            return option.split(">", 1)[1].split("<", 1)[0]
    return None


def test_an_event_whose_size_is_no_size_records_none(proxy: tuple[Any, SlotwisePersonalizer]) -> None:
    edge, personalizer = proxy
    with browser(edge) as (client, visitor):
        added = purchase("c", "pocket-tee", "Size: Default Title")
        added.update(type="add_to_cart", props=added["props"]["lines"][0])
        events = [purchase("o1", "runner-tee", "M"), purchase("o2", "pocket-tee", "Default Title"),
                  purchase("o3", "pocket-tee", "default title"), added]
        answer = client.post("/_sw/events", json={"events": events})
        assert answer.status_code == 200 and answer.json()["stored"] == 4
        profile = sync(personalizer.store.get_profile(visitor))
        assert [(p["product"], p["size"]) for p in profile.purchases] == [
            ("runner-tee", "M"), ("pocket-tee", None), ("pocket-tee", None)]
        assert [(line["product"], line["size"]) for line in profile.cart] == [("pocket-tee", None)]
        logged = [r.data["props"] for r in sync(personalizer.store.read_log(0, 100)) if r.visitor == visitor
                  and r.data.get("type") == "purchase"]
        assert [p["lines"][0]["size"] for p in logged] == ["M", "Default Title", "default title"]  # as sent
        # the size slot presets the size bought, on a sized product's page; nothing on the one-size product's
        assert selected(client.get("/p/runner-tee").text) == "M"
        assert selected(client.get("/p/pocket-tee").text) is None


def test_a_profile_that_holds_a_not_size_from_before_gets_no_preset_of_it(
        proxy: tuple[Any, SlotwisePersonalizer]) -> None:
    """Recorded before the rules said ``Default Title`` is no size: read without it, the history kept."""
    edge, personalizer = proxy
    now = time.time()

    def bought_before_the_rule(profile: Profile) -> None:
        for n, size in enumerate(["M", "Default Title", "Default Title"]):
            record_purchase(profile, f"old{n}", [{"product": "tee", "category": "t-shirts", "size": size, "qty": 1,
                                                  "price": 20.0, "ts": now - 100 + n}], now - 100 + n)

    with browser(edge) as (client, visitor):
        sync(personalizer.store.update_profile(visitor, bought_before_the_rule, now))
        assert selected(client.get("/p/runner-tee").text) == "M"
        assert selected(client.get("/p/pocket-tee").text) is None
    kept = sync(personalizer.store.get_profile(visitor))
    assert [p["size"] for p in kept.purchases] == ["M", "Default Title", "Default Title"]  # loses nothing


def test_a_catalog_rows_stale_size_map_is_read_without_a_not_size(proxy: tuple[Any, SlotwisePersonalizer]) -> None:
    """The tag-only decide reads the product from the catalog: a row written before the rule keeps
    ``Default Title`` in its ``variants`` (and ``sizes``) until a page rewrites it."""
    edge, personalizer = proxy
    now = time.time()
    sync(personalizer.store.upsert_products([
        {"id": "stale-tee", "name": "Tee", "category": "t-shirts", "sizes": ["Default Title", "M"],
         "variants": {"Default Title": "41", "M": "42"}}], now))
    with browser(edge) as (client, _):
        answer = client.get("/_sw/decide", params={"url": f"{edge.url}/p/stale-tee"})
    offered = {d["slot"]: d for d in answer.json()["decisions"]}["offered"]
    assert offered["html"] == '<p class="offered">M</p>'
    assert sync(personalizer.store.get_products(["stale-tee"]))["stale-tee"]["variants"] == {
        "Default Title": "41", "M": "42"}  # the row as written: read without it, not rewritten


def test_rules_check_says_what_not_sizes_and_size_names_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    assert main(["rules", "check", str(tmp_path / "rules.yaml")]) == 0
    out = capsys.readouterr().out
    assert ("  not sizes (catalog.not_sizes): default title: an event, an order, an import or a page with one "
            "records no size, and one recorded before is skipped where read\n") in out
    assert ("  size names (catalog.size_names): M <- Medium, MED; XL <- Extra Large: recorded, read and chosen on a "
            "page as that size\n") in out


def pos_import(personalizer: SlotwisePersonalizer, path: Path, rows: str) -> int:
    """``slotwise import purchases --rules`` (the real CLI, in a thread: it runs its own event loop) into the
    proxy's own store, with the rules it runs."""
    path.write_text("order_id,customer_id,ts,product,category,size,qty,price,channel\n" + rows, encoding="utf-8")
    settings = personalizer.settings
    argv = ["import", "purchases", str(path), "--data", str(settings.data), "--rules", str(settings.rules), "--quiet"]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(main, argv).result()


def test_an_in_store_medium_presets_the_web_selectors_m(proxy: tuple[Any, SlotwisePersonalizer], tmp_path: Path) -> None:
    """The POS export says ``Medium``, the web shop's selector ``M``: imported with the rules, it is one size."""
    edge, personalizer = proxy
    customer = uuid.uuid4().hex
    assert pos_import(personalizer, tmp_path / "pos.csv", f"S1,{customer},2024-03-01,tee,T-Shirts,Medium,1,20,store\n"
                                                         f"S2,{customer},2024-03-02,tee,T-Shirts,Size: MED,1,20,store\n"
                                                         f"S3,{customer},2024-03-03,tee,T-Shirts,L,1,20,store\n") == 0
    with browser(edge) as (client, visitor):
        client.get(f"/me/{customer}")  # the customer logs in on the web shop: their in-store history is theirs
        profile = sync(personalizer.store.get_profile(visitor))
        assert [(p["order_id"], p["size"]) for p in profile.purchases] == [("S1", "M"), ("S2", "M"), ("S3", "L")]
        assert selected(client.get("/p/runner-tee").text) == "M"  # two Ms (spelled two ways) over one L
        assert selected(client.get("/p/pos-tee").text) == "Medium"  # the page's own word for M


def test_sizes_recorded_before_size_names_count_as_their_key(proxy: tuple[Any, SlotwisePersonalizer]) -> None:
    """A profile that holds ``Medium`` and ``Extra Large`` from before the rule: read as ``M`` and ``XL`` (two Ms
    over two XLs spelled one way and the other: the latest), the history kept as it was."""
    edge, personalizer = proxy
    now = time.time()
    written = ["Medium", "XL", "Extra Large", "M"]

    def bought_before_the_rule(profile: Profile) -> None:
        for n, size in enumerate(written):
            record_purchase(profile, f"old{n}", [{"product": "tee", "category": "t-shirts", "size": size, "qty": 1,
                                                  "price": 20.0, "ts": now - 100 + n}], now - 100 + n)

    with browser(edge) as (client, visitor):
        sync(personalizer.store.update_profile(visitor, bought_before_the_rule, now))
        assert selected(client.get("/p/runner-tee").text) == "M"
        assert selected(client.get("/p/pos-tee").text) == "Medium"
        decided = client.get("/_sw/decide", params={"url": f"{edge.url}/p/pos-tee"}).json()["decisions"]
    prefill = {d["slot"]: d for d in decided}["size-prefill"]
    assert (prefill["value"], prefill["names"]) == ("M", ["M", "Medium", "MED"])  # the tag chooses as the proxy does
    assert [p["size"] for p in sync(personalizer.store.get_profile(visitor)).purchases] == written  # loses nothing


def test_a_catalog_rows_size_map_is_read_by_size_names(proxy: tuple[Any, SlotwisePersonalizer]) -> None:
    edge, personalizer = proxy
    sync(personalizer.store.upsert_products([
        {"id": "named-tee", "name": "Tee", "category": "t-shirts", "sizes": ["Medium", "L"],
         "variants": {"Medium": "51", "L": "52"}}], time.time()))
    with browser(edge) as (client, _):
        answer = client.get("/_sw/decide", params={"url": f"{edge.url}/p/named-tee"})
    assert {d["slot"]: d for d in answer.json()["decisions"]}["offered"]["html"] == '<p class="offered">M,L</p>'


def cart_event(kind: str, props: dict[str, Any]) -> dict[str, Any]:
    """A cart event as the store's own JS sends it to ``/_sw/events``."""
    return {"type": kind, "event_id": uuid.uuid4().hex, "props": props}


def test_a_cart_line_kept_as_another_name_is_the_line_of_its_size(proxy: tuple[Any, SlotwisePersonalizer]) -> None:
    """A cart line added as ``Medium`` before the rule said it is ``M``: an add of ``M`` sums into it (one line, as
    a removal of ``M`` takes it out), the store's cart of ``M`` keeps its added time; the line keeps its text."""
    edge, personalizer = proxy
    before = time.time() - 3600

    def added_before_the_rule(profile: Profile) -> None:
        add_to_cart(profile, {"product": "tee", "category": "t-shirts", "size": "Medium", "qty": 1, "price": 20.0,
                              "added": before})

    line = {"product": "tee", "category": "T-Shirts", "size": "M", "qty": 2, "price": 20.0}
    with browser(edge) as (client, visitor):
        sync(personalizer.store.update_profile(visitor, added_before_the_rule, before))
        assert client.post("/_sw/events", json={"events": [cart_event("add_to_cart", line)]}).status_code == 200
        cart = sync(personalizer.store.get_profile(visitor)).cart
        assert [(x["product"], x["size"], x["qty"], x["added"]) for x in cart] == [("tee", "Medium", 3, before)]
        assert client.post("/_sw/events", json={"events": [cart_event("cart", {"lines": [line]})]}).status_code == 200
        cart = sync(personalizer.store.get_profile(visitor)).cart
        assert [(x["size"], x["qty"], x["added"]) for x in cart] == [("M", 2, before)]  # the store's line, added then
        sync(personalizer.store.update_profile(visitor, added_before_the_rule, before))
        removed = cart_event("remove_from_cart", {"product": "tee", "size": "Med"})
        assert client.post("/_sw/events", json={"events": [removed]}).status_code == 200
        assert sync(personalizer.store.get_profile(visitor)).cart == []
