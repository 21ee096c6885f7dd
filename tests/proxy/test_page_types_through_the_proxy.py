"""``catalog.page_types`` behind the proxy and in tag-only ``/decide``: the type the markup says is the one the
slots' ``when``, the recorded view (its category) and the decisions see.

A store whose category (``/men.html``) and product (``/hoodie.html``) pages share one URL shape, served on
127.0.0.1; the real proxy and personalizer in front of it.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterator

import httpx
import pytest
from agents import DESKTOP_UA
from page_server import Page, PageServer
from selectolax.lexbor import LexborHTMLParser

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.rules.tag_config import tag_config
from slotwise.tag.testing import sync

RULES = """
holdout: 0
catalog:
  product_pages: "/{product}.html"
  category_pages: "/{category}.html"
  page_types: {product: "body.product-view", category: "body.category-view"}
slots:
  - id: kind
    pages: "/*.html"
    selector: "h1"
    action: set-attribute
    attributes: {data-type: "{{ page.type }}", data-category: "{{ page.category }}"}
    goal: click
    variants: [{id: mark}]
  - id: category-only
    pages: "/*.html"
    selector: "p.intro"
    action: set-attribute
    when: page.type == "category"
    attributes: {data-listing: "yes"}
    goal: click
    variants: [{id: mark}]
"""


def page(body_class: str, title: str) -> bytes:
    return (f'<!doctype html><html><head><title>{title}</title></head><body class="page {body_class}">'
            f'<h1>{title}</h1><p class="intro">Hello</p></body></html>').encode()


PAGES = {"/men.html": Page(page("category-view", "Men")), "/hoodie.html": Page(page("product-view", "Hoodie")),
         "/about.html": Page(page("cms-page", "About"))}


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[tuple[Any, SlotwisePersonalizer]]:
    data = tmp_path_factory.mktemp("page-types")
    (data / "rules.yaml").write_text(RULES, encoding="utf-8")
    with PageServer(PAGES) as shop:
        settings = Settings(upstream=shop.url, rules=str(data / "rules.yaml"), data=str(data / "edge"),
                            personalize_budget_ms=5000)
        personalizer = SlotwisePersonalizer(settings)
        with uvicorn_runner(create_app(settings, personalizer)) as running:
            yield running, personalizer


def soon(read: Callable[[], Any]) -> Any:
    """``read()`` once it gives something: the store's writer records views soon after the pages."""
    deadline = time.monotonic() + 5.0
    while not (found := read()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def test_the_markup_says_a_category_and_a_product_of_one_url_shape(proxy: tuple[Any, SlotwisePersonalizer]) -> None:
    edge, personalizer = proxy
    with httpx.Client(base_url=edge.url, headers={"user-agent": DESKTOP_UA}, trust_env=False, timeout=10) as client:
        trees = {path: LexborHTMLParser(client.get(path).text) for path in PAGES}
        visitor = str(client.cookies["sw_vid"]).split(".")[0]
    h1 = {path: tree.css_first("h1").attributes for path, tree in trees.items()}
    assert (h1["/men.html"]["data-type"], h1["/men.html"]["data-category"]) == ("category", "men")
    assert h1["/hoodie.html"]["data-type"] == "product" and h1["/hoodie.html"]["data-category"] in ("", "None")
    assert h1["/about.html"]["data-type"] == "other"  # neither selector matches: no pattern's type is taken
    listing = {path: tree.css_first("p.intro").attributes.get("data-listing") for path, tree in trees.items()}
    assert listing == {"/men.html": "yes", "/hoodie.html": None, "/about.html": None}
    profile = soon(lambda: (p := sync(personalizer.store.get_profile(visitor))) and p.products and p)
    assert set(profile.categories) == {"men"} and set(profile.products) == {"hoodie"}


def test_tag_only_decide_asks_for_the_page_and_reads_which_selector_matched(
        proxy: tuple[Any, SlotwisePersonalizer]) -> None:
    """``GET /decide`` knows only the URL: ``complete: false``. The tag's extract carries the ``page_type:``
    groups (its config lists them), each present when its selector matched, as ``tag.js``'s ``group`` says."""
    edge, personalizer = proxy
    groups = tag_config(personalizer.ruleset(), tag_only=True)["groups"]
    assert groups["page_type:category"] == {"within": "body.category-view", "fields": {}}
    assert groups["page_type:product"] == {"within": "body.product-view", "fields": {}}
    with httpx.Client(base_url=edge.url, headers={"user-agent": DESKTOP_UA}, trust_env=False, timeout=10) as client:
        asked = client.get("/_sw/decide", params={"url": f"{edge.url}/men.html"}).json()
        extract = {"doc": PAGES["/men.html"].body.decode(), "values": {"page_type:category": {"present": True, "fields": {}}}}
        decided = client.post("/_sw/decide", json={"url": f"{edge.url}/men.html", "extract": extract}).json()
    assert (asked["decisions"], asked["complete"]) == ([], False)
    assert decided["complete"] is True
    by_slot = {d["slot"]: d["attributes"] for d in decided["decisions"]}
    assert by_slot == {"kind": {"data-type": "category", "data-category": "men"}, "category-only": {"data-listing": "yes"}}
