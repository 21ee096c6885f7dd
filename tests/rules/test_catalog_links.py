"""Catalog values are anyone's markup: no ``javascript:`` link and no ``srcdoc`` reaches a page."""

from __future__ import annotations

import json

import pytest

from slotwise.proxy.personalization.catalog_feed import localize, normalize_feed_item
from slotwise.rules.actions import check_attribute
from slotwise.rules.catalog import CatalogSettings
from slotwise.rules.product_facts import structured_product

EVIL = ["javascript:alert(document.cookie)", " JaVa\tScRiPt:alert(1)", "vbscript:msgbox", "data:text/html,<script>x</script>"]


@pytest.mark.parametrize("url", EVIL)
def test_a_page_products_script_links_are_dropped(url: str) -> None:
    block = json.dumps({"@type": "Product", "sku": "p1", "name": "Socks", "url": url, "image": url}).replace("</", "<\\/")
    page = f'<html><head><script type="application/ld+json">{block}</script></head><body></body></html>'.encode()
    product, declared = structured_product(page, CatalogSettings())
    assert declared and product is not None and product["name"] == "Socks"
    assert product.get("url") is None and product.get("image") is None


@pytest.mark.parametrize("url", EVIL)
def test_feed_and_stored_products_keep_no_script_links(url: str) -> None:
    item = normalize_feed_item({"id": "p1", "name": "Socks", "link": url, "image_link": url}, "shop.example")
    assert item is not None and item["url"] is None and item["image"] is None
    assert localize({"url": url, "image": url}, "shop.example") == {"url": None, "image": None}


def test_ordinary_links_are_kept() -> None:
    kept = localize({"url": "http://shop.example/p/1?x=1", "image": "//cdn.example/a.png"}, "shop.example")
    assert kept == {"url": "/p/1?x=1", "image": "//cdn.example/a.png"}
    assert localize({"url": "https://elsewhere.example/p", "image": "/img/a.png"}, "shop.example")["url"] == "https://elsewhere.example/p"


def test_srcdoc_cannot_be_set() -> None:
    with pytest.raises(ValueError, match="srcdoc"):
        check_attribute("srcdoc", "<script>alert(1)</script>")
    with pytest.raises(ValueError, match="srcdoc"):
        check_attribute("SRCDOC", "&lt;b&gt;")
    check_attribute("title", "<script>")  # escaped when written: fine


def test_a_feed_price_no_json_can_carry_keeps_the_product_without_a_price() -> None:
    for price in ("nan", "inf", "1e999", 10 ** 400, float("nan"), -3):
        item = normalize_feed_item({"id": "p1", "name": "Socks", "price": price}, "shop.example")
        assert item is not None and item["id"] == "p1" and item["price"] is None, price
    assert normalize_feed_item({"id": "p1", "price": "12.50"}, "shop.example")["price"] == 12.5  # type: ignore[index]
