"""One key for each thing, from every source at once: URL, breadcrumb, JSON-LD, Open Graph, feed, POS, GA4, the tag.

A size bought in store preselects online only if the POS export's
``T-Shirts``/``42`` and the web shop's ``/shop/category/t-shirts-2/``/``Size: 42``
meet on the same keys. This test reads one category and one size from each
place Slotwise gets them, through the code each source really goes through,
and asserts they are one key.
"""

from __future__ import annotations

import concurrent.futures
import time
from pathlib import Path
from typing import Any

import pytest

from slotwise.cli import main
from slotwise.profile import Profile, hash_email
from slotwise.proxy.personalization.catalog_feed import normalize_feed_item
from slotwise.rules import page_facts
from slotwise.rules.capture import build_event, cart_lines, datalayer_events
from slotwise.rules.extract import read_groups
from slotwise.rules.ruleset import RuleSet
from slotwise.rules.testing import rules_from_text
from slotwise.store import open_store
from slotwise.tag.events import parse_event
from slotwise.tag.golden import apply_events
from slotwise.tag.testing import sync

RULES = """
catalog:
  category_pages: "/shop/category/{category}-{id:int}/"
  product_pages: "/shop/product/{product:int}-{slug}/"
  selectors:
    category: "ol.crumbs li:nth-child(2)"     # the breadcrumb's text
  sizes: {items: "select#variant option", id: "@value", size: "text"}
capture:
  cart:
    within: "#minicart"
    lines: {items: "li", product: "a @href", size: ".size"}
  datalayer: true
slots: []
"""


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    return rules_from_text(tmp_path_factory.mktemp("one-key"), RULES)


def product_page(head: str = "", crumbs: str = "") -> bytes:
    return f"<html><head>{head}</head><body><ol class=crumbs><li>Home</li>{crumbs}</ol></body></html>".encode()


def pos_import(tmp_path: Path, csv: str) -> Profile:
    """``slotwise import purchases`` (the real CLI, in a thread: it runs its own event loop)."""
    path = tmp_path / "pos.csv"
    path.write_text(csv, encoding="utf-8")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        status = pool.submit(main, ["import", "purchases", str(path), "--data", str(tmp_path / "data"), "--quiet"]).result()
    assert status == 0
    store = open_store("", str(tmp_path / "data"))
    try:
        profile = sync(store.get_profile("email:" + hash_email("pos@example.com")))
    finally:
        sync(store.close())
    assert profile is not None
    return profile


def tag_event(raw: dict[str, Any]) -> Profile:
    """A tag event as the recorder applies it to a profile."""
    event, errors = parse_event(0, {**raw, "event_id": "e" * 16, "ts": time.time()})
    assert event is not None, errors
    profile = Profile.new("v", time.time())
    apply_events([(event, time.time())])(profile)
    return profile


def test_one_category_key_from_every_source(rules: RuleSet, tmp_path: Path, capsys: Any) -> None:
    catalog = rules.catalog
    keys: dict[str, str | None] = {}
    keys["url"] = page_facts("/shop/category/t-shirts-2/", None, None, rules).category
    keys["category link"] = catalog.category_of("/shop/category/t-shirts-2/?page=2")
    keys["breadcrumb"] = page_facts("/shop/product/7-tee/", None, product_page(crumbs="<li>T-shirts</li>"), rules).category
    jsonld = '<script type="application/ld+json">{"@type": "Product", "name": "Tee", "category": "T-Shirts"}</script>'
    keys["JSON-LD"] = page_facts("/shop/product/7-tee/", None, product_page(jsonld), rules).category
    og = '<meta property="og:type" content="product"><meta property="product:category" content="T Shirts">'
    keys["Open Graph"] = page_facts("/shop/product/7-tee/", None, product_page(og), rules).category
    keys["feed"] = (normalize_feed_item({"id": 7, "name": "Tee", "category": "T-SHIRTS"}, "shop.test") or {}).get("category")
    (ga4,) = datalayer_events({"event": "add_to_cart", "ecommerce": {"items": [{"item_id": "7", "item_category": "T-shirts"}]}},
                              rules.capture.datalayer, catalog)  # type: ignore[arg-type]
    keys["GA4 item_category"] = ga4["props"]["category"]
    keys["capture field"] = build_event("add_to_cart", {"product": "7", "category": "t_shirts"}, (), catalog)["props"]["category"]
    keys["tag page view"] = next(iter(tag_event({"type": "page_view", "props": {"category": "T-Shirts "}}).categories))
    keys["tag add to cart"] = tag_event({"type": "add_to_cart", "props": {"product": "7", "category": "T%2DShirts"}}).cart[0]["category"]
    pos = pos_import(tmp_path, "order_id,email,ts,product,category,size,qty,price\n"
                                "r1,pos@example.com,2026-01-02,7,T-Shirts,Size: m,1,19.90\n")
    keys["POS import"] = pos.purchases[0]["category"]
    capsys.readouterr()
    assert set(keys.values()) == {"t-shirts"}, keys


def test_one_size_key_from_every_source(rules: RuleSet, tmp_path: Path, capsys: Any) -> None:
    catalog = rules.catalog
    sizes: dict[str, str | None] = {}
    minicart = b'<div id="minicart"><ul><li><a href="/shop/product/1005-ridge/">R</a><span class="size">Size: 42</span></li></ul></div>'
    lines, _ = cart_lines(read_groups(minicart, {"cart": rules.capture.cart.group})["cart"], catalog, reads_lines=True)  # type: ignore[union-attr]
    sizes["mini basket"] = lines[0]["size"] if lines else None
    order = build_event("purchase", {"order_id": "1"}, [{"product": "1005", "size": " 42"}], catalog)
    sizes["order table cell"] = order["props"]["lines"][0]["size"]
    (ga4,) = datalayer_events({"event": "add_to_cart", "ecommerce": {"items": [{"item_id": "1005", "item_variant": "42"}]}},
                              rules.capture.datalayer, catalog)  # type: ignore[arg-type]
    sizes["GA4 item_variant"] = ga4["props"]["size"]
    sizes["tag event"] = tag_event({"type": "add_to_cart", "props": {"product": "1005", "size": "42 "}}).cart[0]["size"]
    page = product_page().replace(b"</body>", b'<select id=variant><option value="2011">Size: 42</option></select></body>')
    product = page_facts("/shop/product/1005-ridge/", None, page, rules).product or {}
    sizes["offered option"] = next(iter(product.get("variants") or {}), None)
    pos = pos_import(tmp_path, "order_id,email,ts,product,category,size,qty,price\nr1,pos@example.com,2026-01-02,1005,Shoes,42,1,119\n")
    sizes["POS import"] = pos.purchases[0]["size"]
    capsys.readouterr()
    assert set(sizes.values()) == {"42"}, sizes
