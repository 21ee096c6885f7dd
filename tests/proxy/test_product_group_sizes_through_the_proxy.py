"""Through the proxy: a product page whose only markup of its sizes is a schema.org ``ProductGroup``.

A real store (``PageServer`` on 127.0.0.1) serves product pages as Google recommends marking up a product
with variants (and Shopify's ``structured_data`` prints): a ProductGroup whose ``hasVariant`` Products each
carry a ``size`` and an offer with its availability. The rules have no ``catalog.sizes``: the page's
product takes its sizes from the variants, so the size slot presets the size the visitor bought in the
category where it is in stock, and not where it is sold out; tag-only ``/decide`` with the page's
extract decides the same.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest
from page_server import Page, PageServer
from test_catalog_category import browser  # a new visitor who bought a jacket in size M

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer

RULES = """
holdout: 0
catalog:
  product_pages: "/products/{product}"
slots:
  - id: size-preset
    pages: "/products/{product}"
    selector: "select#size"
    action: select-option
    when: visitor.preferred_size[page.category] in (page.product.sizes or [])
    goal: add_to_cart
    variants:
      - id: preset
        value: visitor.preferred_size[page.category]
"""


def group_ld(name: str, handle: str, sold_out: str = "") -> str:
    """The page's ProductGroup: a variant per size (SizeSpecification for L, as Google's examples write it)."""
    def variant(size: Any, label: str) -> dict[str, Any]:
        availability = "https://schema.org/" + ("OutOfStock" if label == sold_out else "InStock")
        return {"@type": "Product", "sku": f"{handle}-{label.lower()}", "name": f"{name}, {label}", "size": size,
                "image": f"/img/{handle}.jpg",
                "offers": {"@type": "Offer", "price": "149.00", "priceCurrency": "EUR", "availability": availability}}
    node = {"@context": "https://schema.org", "@type": "ProductGroup", "name": name, "productGroupID": handle,
            "category": "Jackets", "variesBy": ["https://schema.org/size"],
            "hasVariant": [variant("S", "S"), variant("M", "M"),
                           variant({"@type": "SizeSpecification", "name": "L"}, "L")]}
    return f'<script type="application/ld+json">{json.dumps(node)}</script>'


def product_page(ld: str) -> bytes:
    return (f'<!doctype html><html><head>{ld}</head><body><h1>Product</h1>'
            '<select id="size"><option>S</option><option>M</option><option>L</option></select></body></html>').encode()


FELL_LD = group_ld("Fell Jacket", "fell-jacket")
TARN_LD = group_ld("Tarn Jacket", "tarn-jacket", sold_out="M")
ROUTES = {
    "/": Page(b"<!doctype html><html><body><h1>Shop</h1></body></html>"),
    "/products/fell-jacket": Page(product_page(FELL_LD)),
    "/products/tarn-jacket": Page(product_page(TARN_LD)),
}


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[Any]:
    data = tmp_path_factory.mktemp("product-group")
    (data / "rules.yaml").write_text(RULES, encoding="utf-8")
    with PageServer(ROUTES) as shop:
        settings = Settings(upstream=shop.url, rules=str(data / "rules.yaml"), data=str(data / "edge"),
                            personalize_budget_ms=5000)
        with uvicorn_runner(create_app(settings, SlotwisePersonalizer(settings))) as running:
            yield running


def selected(html: str) -> str | None:
    """The size the page's picker has selected."""
    return next((o.split(">", 1)[1].split("<", 1)[0] for o in html.split("<option")[1:]
                 if "selected" in o.split(">", 1)[0]), None)


@pytest.mark.parametrize(("handle", "ld", "size"), [("fell-jacket", FELL_LD, "M"), ("tarn-jacket", TARN_LD, None)],
                         ids=["in-stock", "sold-out"])
def test_the_size_slot_presets_a_size_the_product_groups_variants_have_in_stock(proxy: Any, handle: str, ld: str,
                                                                                 size: str | None) -> None:
    with browser(proxy) as client, browser(proxy) as tagged:
        page = client.get(f"/products/{handle}")
        answer = tagged.post("/_sw/decide", json={"url": f"{proxy.url}/products/{handle}", "extract": {"doc": ld}})
    assert page.status_code == 200 and selected(page.text) == size
    assert answer.status_code == 200 and answer.json()["complete"] is True
    by_slot = {d["slot"]: d for d in answer.json()["decisions"]}
    assert (by_slot["size-preset"]["value"] if "size-preset" in by_slot else None) == size  # the tag's page: the same
