"""Catalog settings: which URLs are product/category pages, and product facts by selector.

Selectors are the fallback for stores without JSON-LD; they need an HTML
parse, so they are only used on product pages whose JSON-LD said nothing.
A selector reads an element's text, or an attribute with ``css @attr``
(``main.product @data-product-id``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from slotwise.profile import slugify
from slotwise.rules.jsonld import _in_stock, _price
from slotwise.rules.pages import DEFAULT_CATALOG, CatalogPatterns


@dataclass(frozen=True)
class FactSelector:
    css: str
    attribute: str | None = None

    @classmethod
    def parse(cls, text: str) -> "FactSelector":
        css, sep, attr = text.rpartition("@")
        if sep and css.strip() and attr.strip() and " " not in attr.strip():
            return cls(css.strip(), attr.strip())
        return cls(text.strip())


@dataclass(frozen=True)
class CatalogSettings:
    """The ``catalog:`` section, compiled."""

    patterns: CatalogPatterns = DEFAULT_CATALOG
    feed: Path | str | None = None  # a file, or a storefront path / URL the proxy fetches
    selectors: Mapping[str, FactSelector] = field(default_factory=dict)
    customer: FactSelector | None = None  # where the store's own pages name the logged-in customer

    def customer_id(self, html: bytes) -> str | None:
        """The logged-in customer the page names (the store's server rendered it: trusted).

        Cheap on anonymous pages: without the attribute (or the element) in the
        bytes there is nothing to parse.
        """
        sel = self.customer
        if sel is None or not html:
            return None
        if sel.attribute and sel.attribute.encode() not in html:
            return None
        from selectolax.lexbor import LexborHTMLParser

        node = LexborHTMLParser(html).css_first(sel.css)
        if node is None:
            return None
        value = node.attributes.get(sel.attribute) if sel.attribute else node.text(strip=True)
        value = (value or "").strip()
        return value[:128] or None

    def product_by_selectors(self, html: bytes) -> dict[str, Any] | None:
        """Product facts read with the configured selectors, or None when none matched."""
        if not self.selectors or not html:
            return None
        from selectolax.lexbor import LexborHTMLParser

        tree = LexborHTMLParser(html)
        raw: dict[str, str | None] = {}
        for name, sel in self.selectors.items():
            node = tree.css_first(sel.css)
            if node is None:
                raw[name] = None
            elif sel.attribute:
                raw[name] = node.attributes.get(sel.attribute)
            else:
                raw[name] = (node.text(strip=True) or "").strip() or None
        if not any(raw.values()):
            return None
        category = raw.get("category")
        stock = raw.get("in_stock")
        return {
            "id": raw.get("id"),
            "name": raw.get("name"),
            "url": None,
            "image": raw.get("image"),
            "price": _price(raw.get("price")),
            "currency": raw.get("currency"),
            "category": slugify(category) if category else None,
            "category_name": category,
            "brand": None,
            "in_stock": _in_stock(stock) if stock else None,
        }
