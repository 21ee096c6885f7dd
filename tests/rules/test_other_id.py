"""``catalog.selectors.other_id``: the id a store's forms name a product by, when its URLs name another."""

from __future__ import annotations

from pathlib import Path

from slotwise.rules import page_facts
from slotwise.rules.testing import rules_from_text

RULES = """
catalog:
  product_pages: "/product/{product}/"
  selectors:
    other_id: {css: "div.type-product[id^='product-']", attr: id, match: "^product-(\\\\d+)$"}
slots: []
"""


def page(div_id: str) -> bytes:
    return (f'<html><body><div id="{div_id}" class="product type-product"><h1>Beanie</h1></div>'
            '<ul><li class="product type-product post-27">Belt</li></ul></body></html>').encode()


def test_the_page_names_its_products_other_id(tmp_path: Path) -> None:
    rules = rules_from_text(tmp_path, RULES)
    product = page_facts("/product/beanie/", None, page("product-26"), rules).product
    assert product is not None and (product["id"], product["other_id"]) == ("beanie", "26")


def test_an_other_id_that_is_the_id_is_none(tmp_path: Path) -> None:
    rules = rules_from_text(tmp_path, RULES)
    product = page_facts("/product/26/", None, page("product-26"), rules).product
    assert product is not None and product["id"] == "26" and "other_id" not in product
    assert "other_id" not in (page_facts("/product/belt/", None, page("main"), rules).product or {})
