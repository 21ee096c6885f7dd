"""Google's product-variant markup for a page per variant ("multi-page"), as stores print it.

developers.google.com/search/docs/appearance/structured-data/product-variants: each variant of a coat has its
own page (``?size=&color=``), whose JSON-LD is the variant's Product naming its ProductGroup (by ``@id``,
written in it, or by ``inProductGroupWithID``), or the group listing the page's variant in full and the
others by ``url``; and a Yoast / WooCommerce-style ``@graph``. Shared by the reader's tests and the proxy's.
"""

from __future__ import annotations

import json
from typing import Any

from yoast_graph import HOODIE, SITE, yoast_product

COAT = "https://www.example.com/coat"
GROUP = {  # Google's multi-page example: the group, named by @id from each variant's page
    "@context": "https://schema.org/", "@type": "ProductGroup", "@id": "#coat_parent", "name": "Wool winter coat",
    "description": "Wool coat, new for the coming winter season", "url": COAT,
    "brand": {"@type": "Brand", "name": "Good brand"}, "productGroupID": "44E01",
    "variesBy": ["https://schema.org/size", "https://schema.org/color"],
}


def coat(sku: str, colour: str, size: str, price: float, availability: str = "InStock") -> dict[str, Any]:
    """One variant of Google's coat, with its own page (``?size=&color=``)."""
    return {"@context": "https://schema.org/", "@type": "Product", "sku": sku, "gtin14": "9876605110421" + sku[-1],
            "image": f"https://www.example.com/coat_{size}_{colour}.jpg", "name": f"{size.title()} {colour} coat",
            "description": f"{size.title()} wool {colour} coat for the winter season", "color": colour, "size": size,
            "offers": {"@type": "Offer", "url": f"{COAT}?size={size}&color={colour}", "priceCurrency": "USD",
                       "price": price, "itemCondition": "https://schema.org/NewCondition",
                       "availability": f"https://schema.org/{availability}"}}


GREEN_S = coat("44E01-M11000", "green", "small", 39.99)
BLUE_L = coat("44E01-X1100000", "lightblue", "large", 49.99, "OutOfStock")


def page(*blocks: Any) -> bytes:
    scripts = "".join(f'<script type="application/ld+json">{json.dumps(b)}</script>' for b in blocks)
    return f"<html><head>{scripts}</head><body><h1>Coat</h1></body></html>".encode()


def by_reference(variant: dict[str, Any]) -> bytes:
    """The group and the variant naming it by ``@id`` (Google's multi-page example)."""
    return page([GROUP, {**variant, "isVariantOf": {"@id": "#coat_parent"}}])


def group_listing(variant: dict[str, Any]) -> bytes:
    """The group listing the page's variant in full and the others by the URL of their pages."""
    others = [{"url": f"{COAT}?size={size}&color={colour}"} for size, colour in
              (("small", "green"), ("small", "lightblue"), ("large", "lightblue")) if size != variant["size"]
              or colour != variant["color"]]
    return page({**GROUP, "hasVariant": [variant, *others]})


def by_group_id(variant: dict[str, Any]) -> bytes:
    """The variant alone, naming its group by ``inProductGroupWithID`` (the group's ``productGroupID``)."""
    return page({**variant, "inProductGroupWithID": "44E01"})


def inline(variant: dict[str, Any]) -> bytes:
    """The variant with its group written in its ``isVariantOf``."""
    return page({**variant, "isVariantOf": {k: v for k, v in GROUP.items() if k != "@context"}})


def yoast(variant: dict[str, Any]) -> bytes:
    """A Yoast / WooCommerce-style ``@graph``: the ItemPage names the variant (its ``mainEntityOfPage``),
    which names its group by a full ``@id``; the group lists its variations' pages by URL."""
    group = {"@type": "ProductGroup", "@id": HOODIE + "#productgroup", "name": "Wool winter coat", "url": HOODIE,
             "productGroupID": "44E01", "brand": {"@id": SITE + "#/schema/brand/fjell"},
             "variesBy": ["https://schema.org/size"],
             "hasVariant": [{"@id": HOODIE + "#product"}, {"url": HOODIE + "?attribute_pa_size=large"}]}
    product = {**variant, "@id": HOODIE + "#product", "url": HOODIE + f"?attribute_pa_size={variant['size']}",
               "mainEntityOfPage": {"@id": HOODIE + "#webpage"}, "isVariantOf": {"@id": group["@id"]}}
    return page({"@context": "https://schema.org", "@graph": yoast_product(product=product, group=group)})


SHAPES = {"by-reference": by_reference, "group-listing": group_listing, "in-product-group-with-id": by_group_id,
          "inline-group": inline, "yoast-graph": yoast}
