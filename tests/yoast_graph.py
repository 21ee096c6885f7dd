"""Yoast SEO's schema graph for a WooCommerce store, as its WooCommerce SEO add-on prints it.

Yoast prints one ``<script type="application/ld+json" class="yoast-schema-graph">`` holding an
``@graph`` whose pieces name each other by ``@id`` (developer.yoast.com, "Schema output for
WooCommerce SEO" and "Schema piece - Product"): on a product page the ``ItemPage``, its primary
``ImageObject``, the ``Product`` whose ``image``, ``offers``, ``brand`` and ``seller`` are references
alone, and the ``Offer`` and ``Brand`` pieces they name; on a product category page a
``CollectionPage``, a Product piece for each product listed and an ``ItemList`` naming them, whose
``mainEntityOfPage`` is the page. Shared by the JSON-LD unit tests and the proxy's.
"""

from __future__ import annotations

import json
from typing import Any

SITE = "https://shop.example/"
HOODIE = SITE + "product/hoodie-with-logo/"
CATEGORY = SITE + "product-category/hoodies/"
IMAGE_URL = SITE + "wp-content/uploads/hoodie-with-logo.jpg"
ORGANIZATION = {"@type": "Organization", "@id": SITE + "#organization", "name": "Fjell Store", "url": SITE}
WEBSITE = {"@type": "WebSite", "@id": SITE + "#website", "url": SITE, "name": "Fjell Store",
           "publisher": {"@id": SITE + "#organization"}, "inLanguage": "en-US"}
OFFER = {"@type": "Offer", "@id": SITE + "#/schema/offer/21-0", "price": "59.90",
         "priceSpecification": {"@type": "UnitPriceSpecification", "price": "59.90", "priceCurrency": "EUR",
                                "valueAddedTaxIncluded": "false"},
         "priceCurrency": "EUR", "availability": "http://schema.org/InStock", "url": HOODIE,
         "seller": {"@id": SITE + "#organization"}}
OFFER_REF = {"@id": OFFER["@id"]}
AGGREGATE = {"@type": "AggregateOffer", "@id": SITE + "#/schema/aggregate-offer/21-0", "lowPrice": "59.90",
             "highPrice": "64.90", "offerCount": 2, "priceCurrency": "EUR", "availability": "http://schema.org/InStock",
             "offers": [OFFER_REF, {"@id": SITE + "#/schema/offer/21-1"}]}
"""A variable product's offers (its Offer pieces by reference; the second is not printed here)."""


def yoast_product(offers: Any = (OFFER_REF,), **pieces: dict[str, Any] | None) -> list[dict[str, Any]]:
    """A product page's graph, its Product's ``offers`` as given (Yoast: a list of references); ``pieces``
    add nodes or replace the named ones (``page image website organization product offer brand``), ``None``
    leaves one out."""
    graph: dict[str, dict[str, Any] | None] = {
        "page": {"@type": ["WebPage", "ItemPage"], "@id": HOODIE, "url": HOODIE, "name": "Hoodie with Logo - Fjell Store",
                 "isPartOf": {"@id": SITE + "#website"}, "primaryImageOfPage": {"@id": HOODIE + "#primaryimage"},
                 "image": {"@id": HOODIE + "#primaryimage"}, "breadcrumb": {"@id": HOODIE + "#breadcrumb"},
                 "inLanguage": "en-US"},
        "image": {"@type": "ImageObject", "inLanguage": "en-US", "@id": HOODIE + "#primaryimage", "url": IMAGE_URL,
                  "contentUrl": IMAGE_URL, "width": 800, "height": 800, "caption": "Hoodie with Logo"},
        "website": WEBSITE,
        "organization": ORGANIZATION,
        "product": {"@type": "Product", "@id": HOODIE + "#product", "name": "Hoodie with Logo", "url": HOODIE,
                    "description": "A warm hoodie.", "image": {"@id": HOODIE + "#primaryimage"}, "sku": "woo-hoodie-21",
                    "offers": list(offers) if isinstance(offers, tuple) else offers,
                    "mainEntityOfPage": {"@id": HOODIE + "#webpage"},
                    "brand": {"@id": SITE + "#/schema/brand/fjell"}, "seller": {"@id": SITE + "#organization"}},
        "offer": OFFER,
        "brand": {"@type": "Brand", "@id": SITE + "#/schema/brand/fjell", "name": "Fjell"},
    }
    graph.update(pieces)
    return [node for node in graph.values() if node is not None]


LISTED = [{"@type": "Product", "@id": f"{SITE}product/{slug}/#product", "name": name, "url": f"{SITE}product/{slug}/",
           "sku": sku, "offers": {"@type": "Offer", "price": price, "priceCurrency": "EUR"},
           "mainEntityOfPage": {"@id": f"{SITE}product/{slug}/"}}
          for slug, name, sku, price in (("hoodie-with-logo", "Hoodie with Logo", "21", "59.90"),
                                         ("hoodie-with-zipper", "Hoodie with Zipper", "22", "64.90"))]
"""The Product pieces of the hoodies category page (each naming its own page as the one it is the main entity of)."""


def yoast_category(products: list[dict[str, Any]] = LISTED, page_type: Any = ("WebPage", "CollectionPage")) -> list[dict[str, Any]]:
    """A product category page's graph: the CollectionPage, its trail, the listed Product pieces and the
    ItemList naming them, whose ``mainEntityOfPage`` is the page."""
    return [
        {"@type": list(page_type) if isinstance(page_type, tuple) else page_type, "@id": CATEGORY, "url": CATEGORY,
         "name": "Hoodies - Fjell Store", "isPartOf": {"@id": SITE + "#website"}, "breadcrumb": {"@id": CATEGORY + "#breadcrumb"}},
        {"@type": "BreadcrumbList", "@id": CATEGORY + "#breadcrumb", "itemListElement": [
            {"@type": "ListItem", "position": 1, "name": "Home", "item": SITE},
            {"@type": "ListItem", "position": 2, "name": "Hoodies"}]},
        WEBSITE, ORGANIZATION, *products,
        {"@type": "ItemList", "@id": CATEGORY + "#/schema/itemlist", "mainEntityOfPage": {"@id": CATEGORY},
         "itemListElement": [{"@type": "ListItem", "position": n + 1, "item": {"@id": p["@id"]}} for n, p in enumerate(products)]},
    ]


def yoast_html(graph: list[dict[str, Any]], title: str = "Fjell Store") -> bytes:
    """A page with the graph where Yoast prints it (in the head, ``/`` escaped as ``\\/`` as WordPress's
    ``wp_json_encode`` writes it)."""
    block = json.dumps({"@context": "https://schema.org", "@graph": graph}).replace("/", "\\/")
    return (f'<!doctype html><html><head><title>{title}</title><script type="application/ld+json" '
            f'class="yoast-schema-graph">{block}</script></head><body><h1>{title}</h1></body></html>').encode()
