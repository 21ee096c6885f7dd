"""What rules can know about the page and the request, computed once per request.

Both are frozen dataclasses: the sandbox reads their fields as
``page.category`` or ``request.device``, and the field names double as the
vocabulary that ``rules check`` validates expressions against.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import urlencode, urlsplit

from slotwise.keys import category_key, product_key
from slotwise.rules.catalog import CURRENCY_GROUP, CatalogSettings
from slotwise.rules.size_vocabulary import SizeVocabulary
from slotwise.rules.product_facts import (
    currency_code, currency_of, empty_product, fill, selector_product, size_facts, variant_page_price, variants,
)
from slotwise.rules.reading import PageReading, read_html
from slotwise.rules.pages import Headers, Query, header, normalize_query

if TYPE_CHECKING:
    from slotwise.rules.ruleset import RuleSet

_EMPTY: Mapping[str, Any] = MappingProxyType({})
PAGE_TYPES = ("home", "category", "product", "other")
DEVICES = ("mobile", "tablet", "desktop")
UTM_KEYS = ("source", "medium", "campaign", "term", "content")


@dataclass(frozen=True)
class PageFacts:
    """The page being served: from URL patterns and what the page carries (JSON-LD, meta, selectors)."""

    path: str = "/"
    url: str = "/"
    type: str = "other"  # home | category | product | other
    category: str | None = None  # category slug (URL param, or the product's category)
    product: Mapping[str, Any] | None = None  # PRODUCT_KEYS
    params: Mapping[str, str] = field(default_factory=lambda: _EMPTY)  # URL pattern params, e.g. {"product": "101"}
    query: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    currency: str | None = None  # the currency the page shows prices in: catalog.page_currency, its product's, catalog.currency


@dataclass(frozen=True)
class RequestFacts:
    """The request: device class, referrer, UTM, country and language."""

    device: str = "desktop"  # mobile | tablet | desktop
    referrer: str | None = None
    referrer_host: str | None = None
    utm: Mapping[str, str | None] = field(default_factory=lambda: MappingProxyType(dict.fromkeys(UTM_KEYS)))
    country: str | None = None  # ISO 3166 alpha-2 from CF-IPCountry / X-Country
    language: str | None = None  # primary subtag of the preferred Accept-Language
    gpc: bool = False  # Sec-GPC: 1 (Global Privacy Control)


PAGE_FIELDS = tuple(f.name for f in fields(PageFacts))
REQUEST_FIELDS = tuple(f.name for f in fields(RequestFacts))


def page_facts(
    path: str,
    query: Query,
    html: bytes | None,
    ruleset: "RuleSet | CatalogSettings | None" = None,
    *,
    url: str | None = None,
    reading: PageReading | None = None,
) -> PageFacts:
    """Facts of one page: type and params from the URL patterns (and the markup where they cannot tell:
    ``catalog.page_types``), the product from what the page carries.

    ``reading`` is the page already read (the proxy reads once for facts and
    captures; the tag sends one); without it ``html`` is read here.
    """
    catalog = ruleset if isinstance(ruleset, CatalogSettings) else getattr(ruleset, "catalog", None) or CatalogSettings()
    q = dict(normalize_query(query))
    url_type = catalog.url_type(path)
    if reading is None:
        reading = read_html(html, catalog, catalog.page_groups(url_type),
                            structured=url_type.reads_product) if html else PageReading()
    kind, params, _ = catalog.page_type(url_type, reading)  # the markup's, where the URL cannot tell
    product = None
    # Home and category pages often list products in JSON-LD too: only product
    # pages, and pages no pattern claims that declare one, take a Product.
    if kind == "product" or (kind == "other" and reading.declared):
        product = fill(empty_product(), {"id": product_key(params.get("product"))}, reading.structured,
                       selector_product(reading.group("product"), catalog) if kind == "product" else None)
        product["price"] = variant_page_price(product, reading.structured)  # a variant's page: not a selector's
        product["category"] = product.get("category") or category_key(params.get("category"))
        if not product["category"] and reading.crumbs:  # the rules' sources say nothing: the breadcrumb trail
            product["category"], crumb_name = catalog.breadcrumb_category(
                reading.crumbs, (path, product.get("url")), product.get("name"))
            product["category_name"] = product.get("category_name") or (crumb_name if product["category"] else None)
        # The rules' catalog.sizes, when they read any, over the page's ProductGroup variants (``reading.structured``)
        product.update(size_facts(variants(reading.group("sizes"), catalog)))
        _read_sizes(product, catalog.size_vocabulary)
        if product.get("other_id") == product.get("id"):
            product.pop("other_id", None)  # neither: a product page naming no product (a markup-typed page)
        product["currency"] = currency_code(product.get("currency")) or catalog.currency
        if not product.get("url") and kind == "product":
            product["url"] = path
        kind = "product"
    category = category_key(params.get("category")) or (product or {}).get("category")
    if url is None:
        url = path + ("?" + urlencode(q) if q else "")
    return PageFacts(
        path=path,
        url=url,
        type=kind,
        category=category,
        product=MappingProxyType(product) if product is not None else None,
        params=MappingProxyType(params),
        query=MappingProxyType(q),
        currency=page_currency(reading, catalog) or (product["currency"] if product is not None else catalog.currency),
    )


def page_currency(reading: PageReading, catalog: CatalogSettings) -> str | None:
    """The currency the page says it shows prices in, by the rules' ``catalog.page_currency`` (a code, or a
    price text's symbol: ``currency_of``), or None."""
    if catalog.page_currency is None:
        return None
    return currency_of((reading.group(CURRENCY_GROUP).get("fields") or {}).get("currency"))


def _read_sizes(product: dict[str, Any], sizes: SizeVocabulary) -> None:
    """A product's ``variants`` and ``sizes`` by the rules' size vocabulary (without the values that name no
    size, ``Medium`` as ``M``): a catalog row (what the tag-only decide reads) may hold them as recorded before
    ``catalog.not_sizes`` or ``size_names`` said so; a page's are read through it already."""
    if not sizes.keys and not sizes.names:
        return
    if isinstance(product.get("variants"), Mapping):
        product["variants"] = MappingProxyType(dict(sizes.keyed(product["variants"])))
    if isinstance(product.get("sizes"), (list, tuple)):
        product["sizes"] = tuple(dict.fromkeys(size for size in map(sizes.size_of, product["sizes"]) if size))


_TABLET_RE = re.compile(r"iPad|Tablet|Kindle|Silk/|PlayBook|Nexus (7|9|10)", re.IGNORECASE)
_MOBILE_RE = re.compile(r"Mobi|iPhone|iPod|Windows Phone|BlackBerry|Opera Mini|IEMobile", re.IGNORECASE)
_COUNTRY_RE = re.compile(r"^[A-Za-z]{2}$")


def device_class(user_agent: str | None, ch_mobile: str | None = None) -> str:
    """mobile, tablet or desktop from the User-Agent (and the Sec-CH-UA-Mobile hint)."""
    if ch_mobile and ch_mobile.strip() == "?1":
        return "mobile"
    ua = user_agent or ""
    if len(ua) <= _KEPT_UA:
        return _device_of(ua)
    return _device_class(ua)


_KEPT_UA = 512  # longer User-Agents are not kept (a client sending huge random ones only costs itself)


@functools.lru_cache(maxsize=1024)
def _device_of(ua: str) -> str:
    """A few browsers send most requests: their answer is kept (two regex searches a page otherwise)."""
    return _device_class(ua)


def _device_class(ua: str) -> str:
    if _TABLET_RE.search(ua) or ("Android" in ua and "Mobile" not in ua):
        return "tablet"
    if _MOBILE_RE.search(ua):
        return "mobile"
    return "desktop"


def preferred_language(accept_language: str | None) -> str | None:
    """The primary subtag ('de') of the highest-weighted Accept-Language entry."""
    best, best_q = None, -1.0
    for part in (accept_language or "").split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*":
            continue
        q = 1.0
        m = re.search(r"q\s*=\s*([0-9.]+)", params)
        if m:
            try:
                q = float(m.group(1))
            except ValueError:
                continue
        if q > best_q:
            best, best_q = tag, q
    if not best:
        return None
    primary = best.split("-")[0].lower()
    return primary if primary.isalpha() and len(primary) <= 8 else None


_FACT_HEADERS = ("referer", "cf-ipcountry", "x-country", "user-agent", "sec-ch-ua-mobile", "accept-language", "sec-gpc")
_FACT_HEADER_SET = frozenset(_FACT_HEADERS)  # a request has ~15 headers: one hash each, not seven compares
_UTM_NAMES = tuple(f"utm_{key}" for key in UTM_KEYS)
_NO_UTM: tuple[str | None, ...] = (None,) * len(UTM_KEYS)  # most page views have no query at all
_KEPT_FACTS = 2048
"""Request facts are kept per the header values and UTM they are made of up to this many bytes (a few
browsers, referrers and campaigns make most requests); longer ones are computed each time."""


def request_facts(headers: Headers, query: Query) -> RequestFacts:
    """Facts of the request from its headers and query string."""
    q = normalize_query(query)
    utm = tuple([str(v) if (v := q.get(name)) is not None else None for name in _UTM_NAMES]) if q else _NO_UTM
    if isinstance(headers, list):  # a request's pairs: one pass for the seven headers read
        found: dict[str, str] = {}
        for name, value in headers:
            lname = name.lower()
            if lname in _FACT_HEADER_SET and lname not in found:
                found[lname] = value
        values = tuple([found.get(name) for name in _FACT_HEADERS])
    else:
        values = tuple([header(headers, name) for name in _FACT_HEADERS])
    size = 0
    for value in values + utm:
        if value:
            size += len(value)
    if size <= _KEPT_FACTS:
        return _kept_request_facts(values, utm)
    return _request_facts(values, utm)


@functools.lru_cache(maxsize=1024)
def _kept_request_facts(values: tuple[str | None, ...], utm: tuple[str | None, ...]) -> RequestFacts:
    return _request_facts(values, utm)  # RequestFacts is frozen, its utm read-only: one object serves all


def _request_facts(values: tuple[str | None, ...], utm: tuple[str | None, ...]) -> RequestFacts:
    referer, cf_country, x_country, user_agent, ch_mobile, accept_language, gpc = values
    referrer = referer or None
    host = None
    if referrer:
        try:
            host = urlsplit(referrer).hostname
        except ValueError:
            host = None
    country = cf_country or x_country
    country = country.strip().upper() if country and _COUNTRY_RE.match(country.strip()) else None
    if country == "XX":
        country = None
    return RequestFacts(
        device=device_class(user_agent, ch_mobile),
        referrer=referrer,
        referrer_host=host,
        utm=MappingProxyType(dict(zip(UTM_KEYS, utm))),
        country=country,
        language=preferred_language(accept_language),
        gpc=(gpc or "").strip() == "1",
    )
