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
from typing import TYPE_CHECKING, Any, Mapping, Sequence
from urllib.parse import urlsplit

from slotwise.keys import category_key, product_key
from slotwise.rules.extract import Field, Group, Items
from slotwise.rules.jsonld import Crumb
from slotwise.rules.size_vocabulary import PLAIN_SIZES, SizeVocabulary
from slotwise.rules.pages import DEFAULT_CATALOG, CatalogPatterns
from slotwise.rules.page_types import PageTypes, UrlType

if TYPE_CHECKING:
    from slotwise.rules.feed_mapping import FeedMapping

CURRENCY_GROUP = "page_currency"
"""The group ``catalog.page_currency`` is read as (the proxy's reading, the tag's extract)."""

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
    feed_mapping: "FeedMapping | None" = None  # the feed in the store's own shape (None: Slotwise's)
    selectors: Mapping[str, Field] = field(default_factory=dict)
    currency: str | None = None  # when a page names none
    page_currency: Field | None = None  # ``catalog.page_currency``: where every page says its prices' currency
    availability: Availability = field(default_factory=Availability)
    sizes: Items | None = None  # sizes offered as child products: items with an ``id`` and a ``size``
    size_vocabulary: SizeVocabulary = PLAIN_SIZES  # ``catalog.not_sizes`` (and the feed's older spelling), ``size_names``
    variant_id: Field | None = None  # ``catalog.variant_id``: a JSON-LD variant's key (None: its sku, productID, ...)
    product_id: Field | None = None  # ``catalog.product_id``: a JSON-LD product's (a group's) key (None: the same)
    page_types: PageTypes | None = None  # ``catalog.page_types``: a page's type by its markup where its URL cannot tell

    # -- a page's type ---------------------------------------------------------
    def url_type(self, path: str) -> UrlType:
        """What the URL patterns say of a page's path, and whether its markup decides (``rules.page_types``)."""
        if self.page_types is None:
            kind, params = self.patterns.classify(path)
            return UrlType(kind, params)
        return self.page_types.url_type(self.patterns, path)

    def page_type(self, url: UrlType, reading: Any) -> tuple[str, Mapping[str, str], str]:
        """(type, URL params, why) of a page read as ``page_groups(url)`` asked (the URL's own unless open)."""
        if self.page_types is None or not url.open:
            return url.kind, url.params, "its URL"
        return self.page_types.decide(url, reading)

    # -- keys from links -------------------------------------------------------
    def link_key(self, value: Any, kind: str) -> str | None:
        """The category or product a URL names through the URL patterns (``kind``: category|product)."""
        path = _path(value) if isinstance(value, str) else None
        if path is None:
            return None
        params = self._link_params(path, kind)
        if kind == "category":
            return category_key(params.get("category") if params is not None else None)
        return product_key(params.get("product") if params is not None else None)

    def _link_params(self, path: str, kind: str) -> Mapping[str, str] | None:
        """The params a link's path has as a page of ``kind``, None when it is none: by the first type whose
        patterns match it; with ``page_types`` (a path both a category and a product pattern match is either,
        as its page's markup says), by ``kind``'s own matching pattern, the one the tag tries first too."""
        if self.page_types is not None:
            return self.patterns.matching(path).get(kind)
        page_kind, params = self.patterns.classify(path)
        return params if page_kind == kind else None

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

    def variant_key(self, variant: Mapping[str, Any]) -> str | None:
        """A JSON-LD variant's key by ``catalog.variant_id`` (``jsonld.VariantKey``): the catalog's key of that
        size (Shopify's variant id, in the variant's ``@id``), so a product's view and its feed write one map."""
        return _key_at(self.variant_id, variant)

    def product_node_key(self, node: Mapping[str, Any]) -> str | None:
        """A JSON-LD product's key by ``catalog.product_id`` (``jsonld.VariantKey``'s shape): the catalog's key of
        the product (a feed keyed by ``productGroupID``, Google's ``item_group_id``), so each variant's own
        page is a view of the one product its group is."""
        return _key_at(self.product_id, node)

    def describe_variant_id(self) -> str | None:
        """What ``rules check`` prints of ``catalog.variant_id``, or None when the rules say none."""
        key = self.variant_id_text()
        return f"JSON-LD variants keyed by (catalog.variant_id): {key}" if key is not None else None

    def describe_product_id(self) -> str | None:
        """What ``rules check`` prints of ``catalog.product_id``, or None when the rules say none."""
        key = self.product_id_text()
        return f"JSON-LD products keyed by (catalog.product_id): {key}" if key is not None else None

    def variant_id_text(self) -> str | None:
        """``catalog.variant_id`` as a person reads it (``@id (its group of "...")``), None without one."""
        return _key_text(self.variant_id)

    def product_id_text(self) -> str | None:
        """``catalog.product_id`` as a person reads it (``productGroupID``), None without one."""
        return _key_text(self.product_id)

    def size_of(self, value: Any) -> str | None:
        """The size key the rules say (``catalog.size_names``: ``Medium`` is ``M``), or None for a value
        ``catalog.not_sizes`` says names no size (Shopify's ``Default Title``): a line or a page's size list
        with it has no size, so it never counts as bought."""
        return self.size_vocabulary.size_of(value)

    def breadcrumb_category(self, crumbs: Sequence[Crumb], here: Sequence[str | None],
                            name: str | None) -> tuple[str | None, str | None]:
        """(category key, its name) from a page's breadcrumb trail (JSON-LD ``BreadcrumbList``): the last
        step before the product itself, named by its URL through the category pattern, else by its name.

        The product's own steps, at the end, are the last one when it has no URL (the current page's
        step needs none), and those that link to a product page or to one of ``here`` (the page's
        path, the product's URL) or bear the product's ``name``. The home page names no category."""
        own = {_path(url) for url in here if url}
        trail = list(crumbs)
        if trail and trail[-1][1] is None:
            trail.pop()
        while trail and self._products_own(trail[-1], own, name):
            trail.pop()
        if not trail:
            return None, None
        step_name, url = trail[-1]
        path = _path(url)
        if path is not None:
            if path == "/" or self.patterns.classify(path)[0] == "home":
                return None, None
            category = self._link_params(path, "category")
            if category is not None and category_key(category.get("category")):
                return category_key(category.get("category")), step_name
        return category_key(step_name), step_name

    def _products_own(self, step: Crumb, own: set[str | None], name: str | None) -> bool:
        """The trail's step is the product itself: it links to this page or a product page, or bears its name."""
        step_name, url = step
        path = _path(url)
        if path is not None and (path in own or (self._link_params(path, "product") is not None
                                                 and self._link_params(path, "category") is None)):
            return True
        return bool(name and step_name and _same_words(step_name, name))

    # -- what pages are read for -------------------------------------------------
    def page_groups(self, kind: str | UrlType) -> dict[str, Group]:
        """The groups a page of ``kind`` is read with: a product page's (``product_groups``), and on every
        page the rules' ``page_currency``; a page whose markup says its type (``url_type``: open) is read
        as the product page it may be, with its types' selectors."""
        url = kind if isinstance(kind, UrlType) else None
        groups = self.product_groups() if (url.kind if url else kind) == "product" or (url and url.open) else {}
        if url is not None and url.open and self.page_types is not None:
            groups.update(self.page_types.groups(url))
        if self.page_currency is not None:
            groups[CURRENCY_GROUP] = Group(fields={"currency": self.page_currency})
        return groups

    def extract_groups(self) -> dict[str, Group]:
        """The groups the tag reads of every page (its extract, tag-only): a product page's, and every
        ``page_types`` selector (which the server asks when the URL cannot tell)."""
        groups = self.page_groups("product")
        if self.page_types is not None:
            groups.update(self.page_types.all_groups())
        return groups

    def product_groups(self) -> dict[str, Group]:
        """The groups a product page is read with: the selectors, and the sizes list."""
        groups: dict[str, Group] = {}
        if self.selectors:
            groups["product"] = Group(fields=dict(self.selectors))
        if self.sizes is not None:
            groups["sizes"] = Group(lines=self.sizes)
        return groups


def _key_at(field: Field | None, node: Mapping[str, Any]) -> str | None:
    """The value at ``field``'s key path in a JSON-LD node (its regex's group), None without a field."""
    return field.clean(field.pick(node)) if field is not None else None


def _key_text(field: Field | None) -> str | None:
    """A key field as a person reads it: its path, and its regex (``@id (its group of "...")``)."""
    if field is None:
        return None
    match = f" (its {'group' if field.match.groups else 'match'} of \"{field.match.pattern}\")" if field.match else ""
    return f"{'.'.join(field.key or ())}{match}"


def _path(url: str | None) -> str | None:
    """A link's path ("/c/shoes" of "https://shop.example/c/shoes?x=1"), or None when it has none."""
    if not url:
        return None
    try:
        path = urlsplit(url.strip()).path
    except ValueError:
        return None
    return path if path.startswith("/") else None


def _same_words(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()
