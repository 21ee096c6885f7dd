"""Issue 3's end-to-end behaviour: the four slots on the demo store, through the real proxy."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
from agents import DESKTOP_UA
from e2e_helpers import (
    SLOTS,
    categories_in,
    demo_checkout,
    login,
    post_events,
    selected_size,
    visitor_id,
)
from selectolax.lexbor import LexborHTMLParser

from slotwise.bandits.assignment import in_holdout
from slotwise.profile import record_purchase

TAG_SCRIPT = re.compile(rb'<script src="/_sw/tag\.[0-9a-f]+\.js"[^>]*></script>')


def test_new_visitor_sees_the_store_order(edge: Any, demo: Any) -> None:
    e = edge()
    with e.client() as client:
        page = client.get("/")
        assert page.status_code == 200 and "sw_vid" in client.cookies
    store_order = categories_in(httpx.get(demo.url + "/").text, "nav.category-nav li")
    assert categories_in(page.text, "nav.category-nav li") == store_order
    assert categories_in(page.text, ".category-tiles > a") == categories_in(httpx.get(demo.url + "/").text, ".category-tiles > a")
    assert "data-sw-popup" not in page.text  # no cart, no popup


def test_two_browsed_categories_come_first_on_the_home_page(edge: Any, demo: Any) -> None:
    e = edge()
    store_order = categories_in(httpx.get(demo.url + "/").text, "nav.category-nav li")
    with e.client() as client:
        client.get("/")
        client.get("/c/jeans")
        time.sleep(0.01)
        client.get("/c/socks")
        page = client.get("/")
    nav = categories_in(page.text, "nav.category-nav li")
    tiles = categories_in(page.text, ".category-tiles > a")
    assert nav[:2] == ["socks", "jeans"] and tiles[:2] == ["socks", "jeans"]
    rest = [c for c in store_order if c not in ("socks", "jeans")]
    assert nav[2:] == rest  # the others keep the store's order
    assert sorted(nav) == sorted(store_order)  # moved, never lost or duplicated
    decision = LexborHTMLParser(page.text).css_first("nav.category-nav ul")
    assert decision is not None and decision.attributes.get("data-sw-decision")
    assert "home-categories=recent" in page.headers["server-timing"]
    assert page.headers["cache-control"].startswith("private") and "Cookie" in page.headers["vary"]


def test_size_bought_in_a_category_is_preselected(edge: Any, demo: Any) -> None:
    e = edge()
    with e.client() as client:
        first = client.get("/p/302")  # t-shirts
        assert selected_size(first.text) is None  # unknown size: nothing preset
        order = demo_checkout(client, "302", "M")
        response = post_events(client, {"type": "purchase", "props": order})
        assert response.status_code == 200, response.text
        page = client.get("/p/303")  # another t-shirt
        assert selected_size(page.text) == "M"
        shoes = client.get("/p/102")  # another category: nothing known
        assert selected_size(shoes.text) is None
    assert e.profile(client).preferred_sizes.get("t-shirts") == "M"


def bought_in_store(e: Any, client: httpx.Client, category: str, size: str) -> None:
    """An in-store purchase for this visitor, as a POS import would record it."""
    line = {"product": "x", "category": category, "size": size}
    e.run(e.p.store.update_profile(
        visitor_id(client),
        lambda p: record_purchase(p, f"POS-{category}-{size}", [line], time.time(), "store"),
        time.time(),
    ))


def test_size_from_an_in_store_purchase_is_preselected(edge: Any) -> None:
    e = edge()
    with e.client() as client:
        client.get("/")
        bought_in_store(e, client, "jackets", "L")
        page = client.get("/p/401")
    assert selected_size(page.text) == "L"


def test_a_size_the_product_lacks_is_not_preset(edge: Any, demo: Any) -> None:
    e = edge()
    with e.client() as client:
        client.get("/")
        bought_in_store(e, client, "t-shirts", "XXXL")
        page = client.get("/p/302")
    assert selected_size(page.text) is None
    assert page.text.count("selected") == httpx.get(demo.url + "/p/302").text.count("selected")


def test_recommendations_appear_and_exclude_the_current_bought_and_sold_out(edge: Any) -> None:
    e = edge()
    with e.client() as client:
        for pid in ("101", "102", "103", "104"):
            client.get(f"/p/{pid}")
        order = demo_checkout(client, "103", "42")
        assert post_events(client, {"type": "purchase", "props": order}).status_code == 200
        time.sleep(0.05)
        page = client.get("/p/102")
    block = LexborHTMLParser(page.text).css_first(".sw-recommendations")
    assert block is not None, page.text[:2000]
    ids = [card.attributes["data-product-id"] for card in block.css(".product-card")]
    assert ids, "no recommended products"
    assert "102" not in ids  # the product on the page
    assert "103" not in ids  # already bought
    assert "106" not in ids  # out of stock (the demo's sold-out running shoe)
    assert len(ids) == len(set(ids)) <= 4
    for card in block.css(".product-card a"):
        assert card.attributes["href"].startswith("/p/")  # links through the proxy, not the upstream
    assert block.attributes.get("data-sw-decision")
    assert block.attributes.get("data-sw-slot") == "product-recommendations"  # the tag's events name the slot


def test_popup_only_for_a_visitor_with_a_cart(edge: Any) -> None:
    e = edge()
    with e.client() as with_cart, e.client() as without:
        with_cart.get("/p/201")
        without.get("/p/201")
        r = with_cart.post("/cart/add", data={"product_id": "201", "size": "42", "qty": "1"})  # read by the proxy
        assert r.status_code == 303, r.text
        page = with_cart.get("/")
        other = without.get("/")
    template = LexborHTMLParser(page.text).css_first("template[data-sw-popup]")
    assert template is not None
    assert template.attributes["data-sw-popup"] == "exit-coupon"
    assert template.attributes["data-sw-trigger"] == "exit-intent"
    assert template.attributes.get("data-sw-decision")
    assert "data-sw-signup" in page.text
    assert "data-sw-popup" not in other.text


def test_a_holdout_visitor_sees_the_unmodified_page(edge: Any, demo: Any, tmp_path: Path) -> None:
    rules = tmp_path / "holdout.yaml"
    rules.write_text(SLOTS.read_text().replace("holdout: 0\n", "holdout: 50%\n")
                     .replace("../../slotwise", str(Path(__file__).parents[2] / "slotwise")))
    e = edge(rules)
    held = next(v for v in (f"holdout-visitor-{i:04d}xx" for i in range(1000)) if in_holdout(v, 0.5))
    with e.client() as client:
        client.cookies.set("sw_vid", e.p.cookies.sign(held))
        client.get("/c/jeans")
        page = client.get("/")
    upstream = httpx.get(demo.url + "/", headers={"user-agent": DESKTOP_UA})
    # the tag still comes (it measures the holdout's conversions), and each slot's element carries the
    # holdout decision's id (so its exposures and clicks count, like a control's); nothing else changed
    marks = re.findall(rb' data-sw-decision="([0-9a-f]+)"', page.content)
    assert re.findall(rb' data-sw-decision="[0-9a-f]+" data-sw-slot="([\w-]+)"', page.content)  # events name their slot
    unmarked = re.sub(rb' data-sw-decision="[0-9a-f]+" data-sw-slot="[\w-]+"', b"", page.content)
    assert TAG_SCRIPT.sub(b"", unmarked) == upstream.content
    assert page.headers["cache-control"].startswith("private")  # decision ids are this visitor's
    records = e.run(e.p.store.read_log(0))
    decisions = [r.data for r in records if r.kind == "decision"]
    assert decisions and all(d["holdout"] and d["visitor_id"] == held for d in decisions)  # logged too
    assert marks and {m.decode() for m in marks} <= {d["decision_id"] for d in decisions}


def test_bots_get_the_store_page_and_nothing_is_counted(edge: Any, demo: Any) -> None:
    e = edge()
    bot = httpx.Client(base_url=e.url, headers={"user-agent": "Mozilla/5.0 (compatible; Googlebot/2.1)"})
    with bot:
        page = bot.get("/")
    assert page.content == httpx.get(demo.url + "/", headers={"user-agent": "Mozilla/5.0 (compatible; Googlebot/2.1)"}).content
    assert "set-cookie" not in {k.lower() for k in page.headers.keys()} or "sw_vid" not in page.headers.get("set-cookie", "")
    assert e.run(e.p.store.read_log(0)) == []


def test_preview_forces_a_variant_and_stays_on_without_statistics(edge: Any, tmp_path: Path) -> None:
    rules = tmp_path / "two.yaml"
    text = SLOTS.read_text().replace("../../slotwise", str(Path(__file__).parents[2] / "slotwise"))
    rules.write_text(text.replace(
        "      - id: recent\n        order: visitor.recent_categories\n",
        "      - id: recent\n        order: visitor.recent_categories\n      - id: off\n        control: true\n",
    ).replace("- id: off", "- id: 'off'"))
    e = edge(rules)
    token = e.p.previews.token({"home-categories": "off"})
    with e.client() as client:
        page = client.get(f"/?sw_preview={token}")
        assert "home-categories=off" in page.headers["server-timing"]
        assert page.headers.get("x-slotwise-preview") == "on"
        again = client.get("/c/jeans")  # the preview cookie keeps it on
        assert again.headers.get("x-slotwise-preview") == "on"
    assert e.run(e.p.store.read_log(0)) == []  # no decision logged while previewing
    with e.client() as stranger:
        forged = stranger.get("/?sw_preview=" + token[:-3] + "abc")
    assert forged.headers.get("x-slotwise-preview") is None
    assert [r.kind for r in e.run(e.p.store.read_log(0))] == ["decision"]  # an ordinary visit again


def test_a_second_device_that_logs_in_gets_the_same_personalization(edge: Any) -> None:
    e = edge()
    with e.client() as laptop, e.client() as phone:
        login(laptop)
        laptop.get("/c/dresses")
        time.sleep(0.01)
        laptop.get("/c/dog-toys")
        assert categories_in(phone.get("/").text, "nav.category-nav li")[:2] != ["dog-toys", "dresses"]
        login(phone)
        page = phone.get("/")
        assert categories_in(page.text, "nav.category-nav li")[:2] == ["dog-toys", "dresses"]
        assert e.profile(phone).id == e.profile(laptop).id  # one golden record


def test_a_typed_email_never_opens_someone_elses_profile(edge: Any) -> None:
    e = edge()
    with e.client() as owner, e.client() as stranger:
        owner.get("/c/dresses")
        assert post_events(owner, {"type": "signup", "props": {"email": "owner@example.com"}}).status_code == 200
        stranger.get("/c/socks")
        response = post_events(stranger, {"type": "identify", "props": {"email": "owner@example.com"}})
        assert response.status_code == 200
        page = stranger.get("/")
        assert categories_in(page.text, "nav.category-nav li")[0] == "socks"
        assert "dresses" not in e.profile(stranger).categories
        assert e.profile(stranger).id != e.profile(owner).id


def test_a_slot_with_nothing_to_change_still_marks_its_element(edge: Any, demo: Any) -> None:
    e = edge()
    with e.client() as client:
        page = client.get("/")  # a new visitor: the reorder keeps the store's order
    tree = LexborHTMLParser(page.text)
    nav, tiles = tree.css_first("nav.category-nav ul"), tree.css_first(".category-tiles")
    decision = nav.attributes.get("data-sw-decision")
    assert decision and tiles.attributes.get("data-sw-decision") == decision  # exposures and clicks can be reported
    assert categories_in(page.text, "nav.category-nav li") == categories_in(httpx.get(demo.url + "/").text, "nav.category-nav li")


def test_a_personalized_page_is_timed_once(edge: Any) -> None:
    """``slotwise_rewrite_seconds`` counts pages: one observation a page (it was observed twice)."""
    e = edge()

    def count(client: Any) -> float:
        text = client.get("/_sw/metrics").text
        return float(re.search(r"^slotwise_rewrite_seconds_count ([0-9.e+]+)$", text, re.M).group(1))

    with e.client() as client:
        client.get("/")
        before = count(client)
        page = client.get("/")
        assert "data-sw-decision" in page.text  # personalized (the home page's category order)
        assert count(client) - before == 1
