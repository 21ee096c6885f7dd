"""A product's facts from what its page carries, best source first.

1. schema.org JSON-LD (``jsonld``; its BreadcrumbList — else microdata's, ``microdata`` — last of all, for the
   category: ``facts.page_facts``),
2. Open Graph and ``product:`` meta tags,
3. schema.org microdata (``microdata.product_values``: the page's Product's own properties, not its nested items'),
4. ``<link rel=canonical>`` (the product's URL when nothing above named one),
5. the rules' ``catalog.selectors``.

Each source fills only the keys the earlier ones left empty, so a store with
JSON-LD for price but no image in it still gets its ``og:image``. The same
functions read the page in the proxy and the fragment the tag sends in
tag-only mode (its JSON-LD, meta tags and microdata element, verbatim).
"""

from __future__ import annotations

import html as htmllib
import re
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from slotwise.keys import category_key, product_key
from slotwise.rules.catalog import CatalogSettings
from slotwise.rules.actions import safe_link
from slotwise.rules.jsonld import PRODUCT_KEYS, VIEWED_KEYS, Crumb, JsonLd, VariantLine, _price, fill, read_json_ld
from slotwise.rules.microdata import microdata_breadcrumb, product_values

# Tags are read up to 2,048 bytes: an unbounded ``[^>]*`` rescans the rest of the page for every unclosed tag.
_META_RE = re.compile(rb"<meta\b[^>]{0,2048}>", re.IGNORECASE)
_LINK_RE = re.compile(rb"<link\b(?=[^>]{0,2048}>)[^>]*?\brel\s*=\s*[\"']?canonical\b[^>]*>", re.IGNORECASE)
_ATTR_RE = re.compile(rb"""([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""")
_MAX_META = 300
_CURRENCY_SYMBOLS = {"€": "EUR", "£": "GBP", "$": "USD", "¥": "JPY", "₹": "INR", "kr": "SEK", "chf": "CHF", "zł": "PLN"}
_CODE_RE = re.compile(r"\b([A-Z]{3})\b")
CURRENCY_CODES = frozenset(
    "AED ARS AUD BGN BRL CAD CHF CLP CNY COP CZK DKK EGP EUR GBP HKD HUF IDR ILS INR ISK JPY KRW MAD MXN MYR "
    "NGN NOK NZD PEN PHP PKR PLN RON RSD RUB SAR SEK SGD THB TRY TWD UAH USD VND ZAR".split()
)
"""Codes recognised inside a price text (``12,00 CHF``): any three capitals would also take ``VAT`` or ``SUM``."""


def empty_product() -> dict[str, Any]:
    return dict.fromkeys(PRODUCT_KEYS)


def _attrs(tag: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _ATTR_RE.finditer(tag):
        value = m.group(2) if m.group(2) is not None else m.group(3) if m.group(3) is not None else m.group(4)
        out[m.group(1).decode("latin-1").lower()] = htmllib.unescape(value.decode("utf-8", "replace"))
    return out


def meta_tags(html: bytes) -> dict[str, str]:
    """``property``/``name`` → ``content`` of the page's meta tags (first wins), and ``canonical``."""
    out: dict[str, str] = {}
    for count, m in enumerate(_META_RE.finditer(html)):
        if count >= _MAX_META:
            break
        attrs = _attrs(m.group(0))
        key = (attrs.get("property") or attrs.get("name") or attrs.get("itemprop") or "").strip().lower()
        content = attrs.get("content")
        if key and content is not None and key not in out:
            out[key] = content.strip()
    link = _LINK_RE.search(html)
    if link is not None:
        href = _attrs(link.group(0)).get("href")
        if href:
            out["canonical"] = href.strip()
    return out


def currency_of(text: Any, default: str | None = None) -> str | None:
    """``'EUR'`` from a code (a field that is just ``EUR``, or a known code in a price text) or a symbol; else the default.

    A known code wins over a symbol (``CA$ 12,00 CAD``); words that merely look
    like codes (``incl. VAT``) are not currencies.
    """
    if not isinstance(text, str) or not text.strip():
        return default
    stripped = text.strip()
    if len(stripped) == 3 and stripped.isascii() and stripped.isalpha():
        return stripped.upper()
    code = next((c for c in _CODE_RE.findall(text.upper()) if c in CURRENCY_CODES), None)
    if code:
        return code
    lowered = text.lower()
    for symbol, iso in _CURRENCY_SYMBOLS.items():
        if symbol in lowered:
            return iso
    return default


def currency_code(written: Any) -> Any:
    """A currency as the catalog keeps it: one spelling per currency (JSON-LD's or a feed's ``eur`` is
    ``EUR``, as meta tags' are read), since prices are kept per currency (``rules.prices``); a text that
    names no known currency stays as written, nothing (None, ``""``) stays nothing."""
    return currency_of(written, written or None)


def meta_product(meta: Mapping[str, str], catalog: CatalogSettings) -> tuple[dict[str, Any], bool]:
    """Facts from Open Graph / ``product:`` tags, and whether they declare a product."""
    price = meta.get("product:price:amount") or meta.get("og:price:amount")
    availability = meta.get("product:availability") or meta.get("og:availability")
    category = meta.get("product:category")
    product = {
        "id": product_key(meta.get("product:retailer_item_id")),
        "name": meta.get("og:title"),
        "url": meta.get("og:url"),
        "image": meta.get("og:image"),
        "price": _price(price),
        "currency": currency_of(meta.get("product:price:currency") or meta.get("og:price:currency")),
        "category": category_key(category),
        "category_name": category,
        "brand": meta.get("product:brand") or meta.get("og:brand"),
        "in_stock": catalog.availability(availability) if availability else None,
    }
    declared = (meta.get("og:type") or "").lower() in ("product", "og:product", "product.item") or price is not None
    return {k: v for k, v in product.items() if v not in (None, "")}, declared


def microdata_product(html: bytes, catalog: CatalogSettings) -> dict[str, Any] | None:
    """The page's microdata Product (``microdata.product_values``: its own properties, not its nested
    items'), or None."""
    values = product_values(html)
    if values is None:
        return None
    availability = values["availability"]
    return {k: v for k, v in {
        "id": product_key(values["id"]),
        "name": values["name"],
        "url": values["url"],
        "image": values["image"],
        "price": _price(values["price"]),
        "currency": currency_of(values["currency"]),
        "category": category_key(values["category"]),
        "category_name": values["category"],
        "brand": values["brand"],
        "in_stock": catalog.availability(availability) if availability else None,
    }.items() if v not in (None, "")}


def structured_product(html: bytes, catalog: CatalogSettings) -> tuple[dict[str, Any] | None, bool]:
    """JSON-LD, then meta tags, then microdata: the merged product and whether any source declared one."""
    product, declared, _ = structured_reading(html, catalog)
    return product, declared


def structured_reading(html: bytes, catalog: CatalogSettings) -> tuple[dict[str, Any] | None, bool, tuple[Crumb, ...]]:
    """``structured_product``, and the breadcrumb trail (where a product's category is when nothing else
    names it: ``CatalogSettings.breadcrumb_category``): JSON-LD's BreadcrumbList, from the same scan, else
    microdata's, as the product's sources come JSON-LD first. A page whose JSON-LD says it is a listing
    (``jsonld.read_json_ld``) declares no product, whatever else it carries: its pieces are not its own."""
    jsonld = json_ld_of(html, catalog)
    crumbs = jsonld.crumbs or microdata_breadcrumb(html)
    meta, declared = meta_product(meta_tags(html), catalog)
    micro = microdata_product(html, catalog)
    canonical = canonical_url(html)
    if jsonld.product is None and not meta and micro is None and canonical is None:
        return None, False, crumbs
    product = fill(empty_product(), jsonld.product, meta, micro, {"url": canonical} if canonical else None)
    if jsonld.variants:  # a ProductGroup's sizes: the rules' catalog.sizes, when they read any, win (facts.page_facts)
        product.update(size_facts(offered_sizes(jsonld.variants, catalog)))
    if jsonld.viewed is not None:  # a variant's own page: the variant it shows, and its size
        product["viewed_variant"], product["viewed_size"] = jsonld.viewed.id, catalog.size_of(jsonld.viewed.size)
        product["price"] = jsonld.product["price"] if jsonld.product else None  # the group's: variant_page_price
    if jsonld.some:  # sizes of a group the page does not list whole: children to learn, not the product's size map
        product["more_sizes"] = tuple((line["id"], line["size"]) for line in offered_sizes(jsonld.some, catalog))
    for key in ("url", "image"):  # page markup is anyone's: no javascript: link reaches a template
        product[key] = safe_link(product.get(key))
    declared = jsonld.product is not None or micro is not None or declared
    return product, declared and not jsonld.listing, crumbs


def variant_page_price(product: Mapping[str, Any], structured: Mapping[str, Any] | None) -> Any:
    """The product's price on a variant's own page (``structured``, the page's structured reading, names the
    variant viewed): its group's as ``structured_reading`` read it (``jsonld._variant_reading``: none when the
    group names none), never the variant's own that the page's other markup shows (Open Graph, microdata,
    the rules' selectors): each size's page would rewrite the product's. On any other page, ``product``'s."""
    if structured is None or all(structured.get(key) is None for key in VIEWED_KEYS):
        return product.get("price")
    return structured.get("price")


def json_ld_of(html: bytes, catalog: CatalogSettings) -> JsonLd:
    """The page's JSON-LD (``jsonld.read_json_ld``), its variants and product keyed as the rules say
    (``catalog.variant_id``, ``catalog.product_id``); nothing read when the page has none."""
    if b"ld+json" not in html.lower():
        return JsonLd(None, (), False)
    return read_json_ld(html, catalog.variant_key if catalog.variant_id is not None else None,
                        catalog.product_node_key if catalog.product_id is not None else None)


def canonical_url(html: bytes) -> str | None:
    """The page's ``<link rel=canonical href>``, if any."""
    link = _LINK_RE.search(html)
    href = _attrs(link.group(0)).get("href") if link is not None else None
    return href.strip() if href and href.strip() else None


def selector_product(values: Mapping[str, Any], catalog: CatalogSettings) -> dict[str, Any] | None:
    """Facts read with ``catalog.selectors`` (a cleaned group reading), or None when none matched."""
    raw = values.get("fields") or {} if values.get("present") else {}
    if not any(raw.values()):
        return None
    category_raw = raw.get("category")
    category = catalog.category_of(category_raw) if category_raw else None
    category_name = category_raw if category_raw and not category_raw.startswith(("/", "http")) else None
    return {k: v for k, v in {
        "id": catalog.product_of(raw.get("id")) if raw.get("id") else None,
        "name": raw.get("name"),
        "url": safe_link(raw.get("url")),
        "image": safe_link(raw.get("image")),
        "price": _price(raw.get("price")),
        "currency": currency_of(raw.get("currency")) or currency_of(raw.get("price")),
        "category": category,
        "category_name": category_name,
        "brand": raw.get("brand"),
        "in_stock": catalog.availability(raw.get("in_stock")) if raw.get("in_stock") else None,
        "other_id": product_key(raw.get("other_id")),  # the id the store's forms name it by: not a fact for rules
    }.items() if v not in (None, "")}


def variants(values: Mapping[str, Any], catalog: CatalogSettings) -> list[dict[str, Any]]:
    """Sizes offered as child products: ``[{id, size, in_stock}]`` from a cleaned ``sizes`` reading."""
    lines = values.get("lines") or () if values.get("present") else ()
    return offered_sizes(((catalog.product_of(line.get("id")), line.get("size"), line.get("in_stock")) for line in lines),
                         catalog)


def offered_sizes(lines: Iterable[VariantLine | tuple[str | None, Any, Any]], catalog: CatalogSettings) -> list[dict[str, Any]]:
    """``[{id, size, in_stock}]`` from (child key, size as written, stock word or verdict) lines, a page's
    ``catalog.sizes`` items or its ProductGroup's variants: sizes as ``size_key``s, a value ``catalog.not_sizes``
    names (or none) no size, each child once."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    keys: dict[Any, str | None] = {}  # a group's hundred variants write a few sizes: each is keyed once
    for child, written, stock in lines:
        if not child or child in seen:
            continue
        size = keys[written] if written in keys else keys.setdefault(written, catalog.size_of(written))
        if not size:  # a value that is no size (not_sizes): no size offered
            continue
        seen.add(child)
        out.append({"id": child, "size": size, "in_stock": catalog.availability(stock) if stock not in (None, "") else None})
    return out


def size_facts(offered: list[dict[str, Any]]) -> dict[str, Any]:
    """A product's ``variants`` (size → child: its first in stock, else its first) and ``sizes`` (those in
    stock: a size of several children is when any is), or nothing when none is offered."""
    if not offered:
        return {}
    by_size: dict[str, dict[str, Any]] = {}
    for variant in offered:
        kept = by_size.setdefault(variant["size"], variant)
        if kept["in_stock"] is False and variant["in_stock"] is not False:
            by_size[variant["size"]] = variant
    return {"variants": MappingProxyType({size: v["id"] for size, v in by_size.items()}),
            "sizes": tuple(size for size, v in by_size.items() if v["in_stock"] is not False)}
