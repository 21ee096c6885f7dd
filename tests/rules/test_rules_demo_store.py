"""The example rules against the real demo store's pages (in process, no network)."""

from __future__ import annotations

import warnings
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from selectolax.lexbor import LexborHTMLParser

from slotwise.html import count_matches, rewrite
from slotwise.rules import RuleSet, build_context, load_rules, page_facts, request_facts
from slotwise.rules.testing import make_profile

EXAMPLES = Path(__file__).resolve().parents[2] / "slotwise" / "rules" / "examples"


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*httpx2")
        from starlette.testclient import TestClient
    from slotwise.demo.app import create_app

    app = create_app(tmp_path_factory.mktemp("demo"))
    with TestClient(app) as client:
        return {path: client.get(path).content for path in ("/", "/p/101", "/cart")}


@pytest.fixture(scope="module")
def demo() -> RuleSet:
    return load_rules(EXAMPLES / "demo.yaml")


def test_every_demo_selector_finds_its_element_on_its_pages(demo: RuleSet, pages: dict[str, bytes]) -> None:
    for path, html in pages.items():
        slots = demo.slots_for(path, None, [])
        counts = count_matches(html, [s.selector for s in slots])
        missing = [s.id for s in slots if counts[s.selector] == 0]
        assert not missing, f"{path}: selectors of {missing} match nothing"
    assert {s.id for s in demo.slots_for("/p/101", None, [])} >= {"size-prefill", "product-recommendations"}


def test_product_page_facts_from_the_demo_json_ld(demo: RuleSet, pages: dict[str, bytes]) -> None:
    page = page_facts("/p/101", [], pages["/p/101"], demo)
    assert page.type == "product" and page.category == "running-shoes"
    assert page.product is not None and page.product["id"] == "101" and page.product["price"] == pytest.approx(129.95)
    assert page.product["in_stock"] is True


def test_a_request_through_the_demo_rules(demo: RuleSet, pages: dict[str, bytes]) -> None:
    profile = make_profile(
        views=[("bags", None), ("jeans", "501")],
        purchases=[{"product": "102", "category": "running-shoes", "size": "42", "channel": "store"}],
        cart=[{"product": "401", "qty": 1, "price": 20}],
    )
    headers = [("user-agent", "Mozilla/5.0 (X11; Linux x86_64)"), ("cf-ipcountry", "NL")]
    products = [{"id": "201", "name": "Canvas Low Classic", "url": "/p/201", "image": "/static/img/201.svg",
                 "price": 59.95, "currency": "EUR", "category": "sneakers", "in_stock": True}]
    chosen = {"home-categories": "recent", "size-prefill": "prefill", "product-recommendations": "mixed",
              "home-recommendations": "recently-viewed", "exit-coupon": "pct10",
              "interest-hero": "strongest", "stage-banner": "best-fits", "decision-coupon": "coupon-only",
              "reorder": "one-click", "cart-waits": "items", "viewed-news": "cards", "nearby-store": "your-store"}
    for path in ("/", "/p/101"):
        query = parse_qsl("", keep_blank_values=True)
        page = page_facts(path, query, pages[path], demo)
        ctx = build_context(profile, page, request_facts(headers, query), "v1")
        edits = []
        for slot in demo.slots_for(path, query, headers):
            if slot.applies(ctx):
                variant = slot.variant(chosen[slot.id])
                edit = slot.render(variant, ctx, f"dec-{slot.id}", recommendations=products if variant.recommend else None)
                if edit is not None:
                    edits.append(edit)
        result = rewrite(pages[path], edits)
        assert result.changed
        tree = LexborHTMLParser(result.body)
        popup = tree.css_first('template[data-sw-popup="exit-coupon"]')
        assert popup is not None and popup.attributes.get("data-sw-trigger") == "exit-intent"
        if path == "/":
            nav = [li.attributes["data-category"] for li in tree.css("nav.category-nav ul > li")]
            tiles = [a.attributes["data-category"] for a in tree.css(".category-tiles > .tile")]
            assert nav[:2] == ["jeans", "bags"] and tiles[:2] == ["jeans", "bags"]
            assert tree.css_first("section.featured + section.sw-recommendations") is not None
            hero = tree.css_first("section.sw-interest-hero .sw-editorial")  # bought running shoes in store
            assert hero is not None and hero.attributes["data-category"] == "running-shoes"
        else:
            assert tree.css_first("select#size option[selected]").attributes["value"] == "42"
            assert tree.css_first("section.related") is None  # replaced: one block of cards, not two
            assert tree.css_first('section.sw-recommendations article[data-product-id="201"]') is not None
