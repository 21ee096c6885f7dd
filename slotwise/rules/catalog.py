"""Catalog settings: which URLs are product/category pages, and what a store's pages say about products.

Product facts come from what real pages carry, best first: schema.org
JSON-LD, Open Graph / ``product:`` meta tags, microdata, the canonical link,
then the rules' ``selectors`` (``product_facts``). Links are keys too: a
``href`` that matches a category or product URL pattern names that category
or product (``link_key``), so nothing needs a table of names.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from slotwise.keys import category_key, product_key
from slotwise.rules.extract import Field, Group, Items
from slotwise.rules.pages import DEFAULT_CATALOG, CatalogPatterns

DEFAULT_IN_STOCK = (
    "in stock*", "instock", "in_stock", "available", "limitedavailability", "onlineonly", "instoreonly",
    "preorder", "presale", "backorder",
)
DEFAULT_OUT_OF_STOCK = (
    "out of stock*", "outofstock", "out_of_stock", "sold out*", "soldout", "sold_out", "unavailable",
    "not available*", "discontinued", "disabled",
)


def _globs(words: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(fnmatch.translate(w.lower().strip()), re.DOTALL) for w in words if w.strip())


@dataclass(frozen=True)
class Availability:
    """Whether a text or a class list says "in stock": globs over the whole text, then each word."""

    in_stock: tuple[re.Pattern[str], ...] = _globs(DEFAULT_IN_STOCK)
    out_of_stock: tuple[re.Pattern[str], ...] = _globs(DEFAULT_OUT_OF_STOCK)

    @classmethod
    def of_words(cls, in_stock: tuple[str, ...] | None, out_of_stock: tuple[str, ...] | None) -> "Availability":
        """The store's own words in addition to the common ones (schema.org's, "sold out", ...)."""
        return cls(_globs((*(in_stock or ()), *DEFAULT_IN_STOCK)), _globs((*(out_of_stock or ()), *DEFAULT_OUT_OF_STOCK)))

    def __call__(self, value: Any) -> bool | None:
        """True, False, or None when the text says neither."""
        if isinstance(value, bool) or value is None:
            return value
        text = " ".join(str(value).split()).lower()
        if not text:
            return None
        if "schema.org/" in text:
            text = text.rsplit("/", 1)[-1]
        candidates = [text, *text.split()] if " " in text else [text]
        for patterns, verdict in ((self.out_of_stock, False), (self.in_stock, True)):
            if any(p.fullmatch(c) for c in candidates for p in patterns):
                return verdict
        return None


@dataclass(frozen=True)
class CatalogSettings:
    """The ``catalog:`` section, compiled."""

    patterns: CatalogPatterns = DEFAULT_CATALOG
    feed: Path | str | None = None  # a file, or a storefront path / URL the proxy fetches
    selectors: Mapping[str, Field] = field(default_factory=dict)
    currency: str | None = None  # when a page names none
    availability: Availability = field(default_factory=Availability)
    sizes: Items | None = None  # sizes offered as child products: items with an ``id`` and a ``size``

    # -- keys from links -------------------------------------------------------
    def link_key(self, value: Any, kind: str) -> str | None:
        """The category or product a URL names through the URL patterns (``kind``: category|product)."""
        if not isinstance(value, str) or not value.strip():
            return None
        try:
            path = urlsplit(value.strip()).path
        except ValueError:
            return None
        if not path.startswith("/"):
            return None
        page_kind, params = self.patterns.classify(path)
        if kind == "category":
            raw = params.get("category") if page_kind == "category" else None
            return category_key(raw)
        raw = params.get("product") if page_kind == "product" else None
        return product_key(raw)

    def category_of(self, value: Any) -> str | None:
        """A category key from a link (through the category pattern) or a name."""
        if isinstance(value, str) and (value.startswith(("/", "http://", "https://"))):
            return self.link_key(value, "category")
        return category_key(value)

    def product_of(self, value: Any) -> str | None:
        """A product key from a link (through the product pattern) or an id."""
        if isinstance(value, str) and (value.startswith(("/", "http://", "https://"))):
            return self.link_key(value, "product")
        return product_key(value)

    # -- what pages are read for -------------------------------------------------
    def product_groups(self) -> dict[str, Group]:
        """The groups a product page is read with: the selectors, and the sizes list."""
        groups: dict[str, Group] = {}
        if self.selectors:
            groups["product"] = Group(fields=dict(self.selectors))
        if self.sizes is not None:
            groups["sizes"] = Group(lines=self.sizes)
        return groups
