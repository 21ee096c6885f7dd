"""Product facts from schema.org JSON-LD, found by a byte scan rather than an HTML parse.

Stores publish ``<script type="application/ld+json">`` for search engines; it
is the cheapest reliable source of a product's id, name, price, category and
stock, and of the page's breadcrumb trail (a ``BreadcrumbList``: Shopify
themes, WooCommerce and Yoast emit one), where a product's category is when
nothing else names it. Pages are messy, so every step tolerates junk: bad JSON is skipped,
``@graph`` and lists are walked, offers may be a dict, a list or an
AggregateOffer, and prices may be strings.

A page may carry other products than its own (a related product, a listing's
pieces, another plugin's block first). The page's is the one it names: a
``WebPage``'s ``mainEntity``, or a Product whose ``mainEntityOfPage`` is the
page, each an object or a reference by ``@id``, written as a full URL
(``https://shop.example/p/1#product``, as Yoast and WooCommerce write them) or
relative to the page (``#product``); else the first Product that is no variant of a ProductGroup on the
page (``_group_members``: a graph may list a group's variants before it). A page that says it is a listing (a
``CollectionPage`` or ``SearchResultsPage``, or an ``ItemList`` its main entity, as Yoast marks a category
page) has no product of its own unless it names one: its list's products are not the page's.

A Product's ``offers``, ``brand``, ``image`` and ``category`` may be references alone
(``"offers": [{"@id": "https://shop.example/#/schema/offer/21-0"}]``, as Yoast's graph writes them): they
are read from the node the page's graph has under that ``@id`` (an ``ImageObject`` gives its
``contentUrl`` or ``url``); a reference to a node the page does not carry is no fact, never its URL.

A ``ProductGroup`` (Google's markup for a product with variants, Shopify's ``structured_data``) says its
variants in ``hasVariant``: Products (or references to them) each with its own ``sku``, ``size``, ``image`` and
``offers``. What the group leaves out is read from them (``_group_facts``), and their sizes are the
page's ``variants``, each keyed where the rules' ``catalog.variant_id`` says (``VariantKey``) (``VariantLine``s, turned into ``sizes`` by ``product_facts.size_facts``).
"""

from __future__ import annotations

import html as htmllib
import math
import re
from typing import Any, Callable, Iterable, Iterator, Mapping, NamedTuple, Sequence
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

from slotwise import lenient_json
from slotwise.keys import category_key, product_key

PRODUCT_KEYS = (
    "id", "name", "url", "image", "price", "currency", "category", "category_name", "brand", "in_stock",
    "sizes", "variants", "viewed_variant", "viewed_size",
)
"""Keys of a product dict, everywhere in rules (page.product, recommendations, catalog)."""
VIEWED_KEYS = ("viewed_variant", "viewed_size")
"""The keys a variant's own page gives its product (the variant it shows, and that variant's size): the
page's, never the catalog's (``PageViewRecorder.learn`` leaves them out of the product's row)."""

# The scan is one pass: each <script> is read up to its own </script> and the search goes on after
# it (a regex `<script ...>(.*?)</script>` rescans the rest of the page for every unclosed script:
# 2,500 unclosed ones took 6 s). Open tags longer than _MAX_TAG and scripts past _MAX_SCRIPTS are not read.
_OPEN_RE = re.compile(rb"<script(?=[\s/>])", re.IGNORECASE)
_CLOSE_RE = re.compile(rb"</script\s*>", re.IGNORECASE)
_TYPE_RE = re.compile(rb"\btype\s*=\s*[\"']?\s*application/ld\+json\b", re.IGNORECASE)
_MAX_TAG = 2048
_MAX_SCRIPTS = 500
_MAX_BLOCKS = 20
_MAX_BLOCK_BYTES = 512 * 1024
_PRODUCT_TYPES = frozenset({"product", "productgroup", "productmodel", "individualproduct"})
_GROUP_TYPES = frozenset({"productgroup"})
_BREADCRUMB_TYPES = frozenset({"breadcrumblist"})
_LISTING_TYPES = frozenset({"collectionpage", "searchresultspage"})
_WEBPAGE_TYPES = frozenset({"webpage", "itempage"}) | _LISTING_TYPES
_MAIN_TYPES = _PRODUCT_TYPES | {"itemlist"}  # what a page's main entity is to us: its product, or its list
_REFERENCE_KEYS = frozenset({"@id", "@type", "@context"})
_MAX_REFS = 10  # a mainEntity list's entries looked at
MAX_REF_LOOKUPS = 50
"""References one fact of a product follows (``@id`` lookups for its offers, say): a cycle or a chain ends there."""
MAX_CRUMBS = 50
MAX_VARIANTS = 250
"""A ProductGroup's ``hasVariant`` entries read: Shopify allows 2,048 variants, a size list is far shorter."""
_OUT_OF_STOCK = ("outofstock", "soldout", "discontinued")
_IN_STOCK = ("instock", "limitedavailability", "onlineonly", "instoreonly", "preorder", "presale", "backorder")


def _ld_scripts(html: bytes) -> Iterator[bytes]:
    """The body of each ``application/ld+json`` script, in one linear pass (bounded, see above)."""
    pos = 0
    for _ in range(_MAX_SCRIPTS):
        opener = _OPEN_RE.search(html, pos)
        if opener is None:
            return
        tag_end = html.find(b">", opener.end(), opener.end() + _MAX_TAG)
        if tag_end < 0:
            pos = opener.end()  # not a tag we read (unclosed, or absurdly long)
            continue
        close = _CLOSE_RE.search(html, tag_end + 1)
        if close is None:
            return  # no script closes after this one: nothing more to read
        pos = close.end()
        if _TYPE_RE.search(html, opener.end(), tag_end):
            yield html[tag_end + 1:close.start()]


def json_ld_blocks(html: bytes) -> Iterator[Any]:
    """Each parseable JSON-LD block of a page; unparseable ones are skipped, and what is kept can be stored
    (``lenient_json``: a number that is not finite is ``None``, a lone surrogate U+FFFD)."""
    for count, raw in enumerate(_ld_scripts(html)):
        if count >= _MAX_BLOCKS:
            return
        if len(raw) > _MAX_BLOCK_BYTES:
            continue
        text = raw.decode("utf-8", errors="replace").strip()
        if text.startswith("<!--"):
            text = text[4:]
        if text.endswith("-->"):
            text = text[:-3]
        text = text.replace("<![CDATA[", "").replace("]]>", "").strip()
        try:
            yield lenient_json.loads(text)
        except (ValueError, RecursionError):
            continue


def _items(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Every JSON-LD node of a block: top-level objects, lists and ``@graph`` members."""
    if depth > 5:
        return
    if isinstance(data, list):
        for item in data:
            yield from _items(item, depth + 1)
    elif isinstance(data, dict):
        yield data
        if "@graph" in data:
            yield from _items(data["@graph"], depth + 1)


def _kinds(node: dict[str, Any]) -> list[str]:
    """The node's ``@type`` names (a name, a schema.org URL, or a list of them), in lower case."""
    kind = node.get("@type")
    return [k.rsplit("/", 1)[-1].lower() for k in (kind if isinstance(kind, list) else [kind]) if isinstance(k, str)]


def _is_a(node: dict[str, Any], types: frozenset[str]) -> bool:
    """The node's ``@type`` is one of ``types`` (lower case)."""
    return not types.isdisjoint(_kinds(node))


def _is_product(node: dict[str, Any]) -> bool:
    return _is_a(node, _PRODUCT_TYPES)


def _text(value: Any) -> str | None:
    """A JSON-LD value as text (a Thing's name, else its URL). HTML character references are read as the
    characters they stand for: WooCommerce escapes its JSON-LD for HTML (``wc_esc_json($json, true)``:
    "Hat &amp; Scarf"), as search engines read it; a card would otherwise show the "&amp;" to visitors."""
    if isinstance(value, dict):
        value = value.get("name") or value.get("url") or value.get("@id")
    if isinstance(value, list):
        value = next((v for v in (_text(x) for x in value) if v), None)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    return (htmllib.unescape(value) if "&" in value else value).strip() or None


# A minus sign right before the first digit, or before a currency sign and then it ("-12.50", "€-12",
# "-€ 12", "−5"); a dash between words ("Sale - 12.50") is not one.
_NEGATIVE = re.compile(r"[^0-9]*?[-\u2212](?:[^\w\s]{1,3}\s?)?[.,]?[0-9]")


# A number as stores write one: digits with "," or "." marks, or groups of three after a space, a
# no-break space or an apostrophe ("1 234,50", "1'234.50"). The text's other characters (currency, words)
# are not the price's; they used to be dropped and the digits on both sides joined ("12 - 15" read 1215).
_NUMBER = re.compile(r"[0-9]{1,3}(?:[ \u00a0\u202f'\u2019][0-9]{3})+(?:[.,][0-9]+)?|[.,]?[0-9][0-9.,]*")
_GROUPING = re.compile(r"[ \u00a0\u202f'\u2019]")


def _price(value: Any) -> float | None:
    """A price from a number or a store's text (``"1.234,50 €"``); None unless finite and not negative
    (``"9" * 400`` is ``inf`` as a float: no price, and nothing a profile could store; ``"-12.50"`` is
    a discount line's amount, which the digits alone would read as a price of 12.50)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return usable_price(float(value))
        except OverflowError:  # an integer past float's range
            return None
    if isinstance(value, str):
        if _NEGATIVE.match(value):  # "-12.50", "€ -12,50", "−5": a discount or a refund, not a price
            return None
        numbers = _NUMBER.findall(value)
        if len(numbers) != 1:  # "12 - 15", "€20.00 €15.00" (was, now): which one is the price is not ours to guess
            return None
        cleaned = _GROUPING.sub("", numbers[0])
        if "," in cleaned and "." in cleaned:  # the later one is the decimal mark: 1.234,50 / 1,234.50
            if cleaned.rfind(",") > cleaned.rfind("."):
                cleaned = cleaned.replace(".", "").replace(",", ".")
            else:
                cleaned = cleaned.replace(",", "")
        elif "," in cleaned:  # 12,50 is a decimal comma; 1,234 groups thousands
            tail = cleaned.rpartition(",")[2]
            cleaned = cleaned.replace(",", "") if len(tail) == 3 else cleaned.replace(",", ".")
        try:
            return usable_price(float(cleaned))
        except ValueError:
            return None
    return None


def usable_price(price: float) -> float | None:
    """The price if a profile, a catalog and a template can use it: finite and not negative."""
    return price if math.isfinite(price) and price >= 0 else None


def _offer(offers: Any, refs: _Refs, priced: bool = True) -> dict[str, Any]:
    """The first usable offer: dicts, lists, AggregateOffer (lowPrice), priceSpecification; each may be a
    reference to a node of the page (``refs``). Not ``priced``: its availability alone (a variant's, when
    the group has a price: a hundred prices not parsed)."""
    offers = refs.node(offers)
    if isinstance(offers, list):
        return next((o for o in (_offer(x, refs, priced) for x in offers) if o), {})
    if not isinstance(offers, dict):
        return {}
    if "offers" in offers and "price" not in offers and "lowPrice" not in offers:
        inner = _offer(offers["offers"], refs, priced)
        if inner:
            return inner
    if not priced:
        return {"availability": _text(offers.get("availability"))}
    price = offers.get("price", offers.get("lowPrice"))
    currency = offers.get("priceCurrency")
    if price is None:
        spec = refs.node(offers.get("priceSpecification"))
        spec = refs.node(spec[0]) if isinstance(spec, list) and spec else spec
        if isinstance(spec, dict):
            price, currency = spec.get("price"), currency or spec.get("priceCurrency")
    return {"price": _price(price), "currency": _text(currency), "availability": _text(offers.get("availability")),
            "stock": stock_count(offers.get("inventoryLevel"))}


def stock_count(level: Any) -> int | None:
    """schema.org ``inventoryLevel`` (a QuantitativeValue, or a bare number): the units the store says it has."""
    if isinstance(level, dict):
        level = level.get("value")
    if isinstance(level, str):
        level = level.strip()
        level = int(level) if level.isdecimal() else None
    if isinstance(level, float) and level.is_integer():
        level = int(level)
    return level if isinstance(level, int) and not isinstance(level, bool) and level >= 0 else None


def _in_stock(availability: str | None) -> bool | None:
    if not availability:
        return None
    word = availability.rsplit("/", 1)[-1].lower()
    if word in _OUT_OF_STOCK:
        return False
    if word in _IN_STOCK:
        return True
    return None


class VariantLine(NamedTuple):
    """One variant of a ProductGroup: its key (the rules' ``catalog.variant_id``, else its ``sku``,
    ``productID``, ``mpn``, ``@id``: ``VariantKey``), its ``size`` as written (a text, or a ``SizeSpecification``'s ``name``), and whether its offer says it is in stock."""

    id: str | None
    size: str | None
    in_stock: bool | None


VariantKey = Callable[[dict[str, Any]], Any]
"""How a page's variants are keyed (``catalog.variant_id``): a variant node's key as the store's catalog
(its feed, its add to cart) names it; ``_node_id``'s order when the rules say none."""


def product_from_node(node: dict[str, Any], ids: _Ids | None = None) -> dict[str, Any]:
    """A product dict (``PRODUCT_KEYS``) from one schema.org Product node. What it names by reference
    alone is looked up in ``ids``, the page's nodes; without them (a lone node) such a fact is absent."""
    return _product_and_variants(node, ids)[0]


def _node_id(node: dict[str, Any]) -> str | None:
    """A product's (or a variant's) key: its ``sku``, else ``productID``, ``mpn``, ``@id``, a group's
    ``productGroupID`` (what a variant's ``inProductGroupWithID`` names it by when nothing else does)."""
    return product_key(_text(node.get("sku")) or _text(node.get("productID")) or _text(node.get("mpn"))
                       or _text(node.get("@id")) or _text(node.get("productGroupID")))


def _key_of(node: dict[str, Any], key: VariantKey | None) -> str | None:
    """A node's key where the rules say (``catalog.variant_id``, ``catalog.product_id``), else ``_node_id``'s."""
    return product_key(_text(key(node))) if key is not None else _node_id(node)


def _product_and_variants(node: dict[str, Any], ids: _Ids | None, variant_key: VariantKey | None = None,
                          product_id: VariantKey | None = None) -> tuple[dict[str, Any], tuple[VariantLine, ...]]:
    """``product_from_node``, and the lines of its variants (a ProductGroup's ``hasVariant``, else none),
    each keyed by ``variant_key`` (none: ``_node_id``); the product keyed by ``product_id`` (the rules'
    ``catalog.product_id``), else by ``_node_id`` when it finds none there."""
    refs = _Refs(ids, node.get("url") or node.get("@id"))
    offer = _offer(node.get("offers"), refs.anew())
    category_name = _first(node.get("category"), refs.anew(), _text)
    if category_name:
        category_name = re.split(r"\s*[>/|]\s*", category_name)[-1] or category_name
    product = {
        "id": _key_of(node, product_id) or _node_id(node),
        "name": _text(node.get("name")),
        "url": _text(node.get("url")),
        "image": _first(node.get("image"), refs.anew(), _image_url),
        "price": offer.get("price"),
        "currency": offer.get("currency"),
        "category": category_key(category_name),
        "category_name": category_name,
        "brand": _first(node.get("brand"), refs.anew(), _text),
        "in_stock": _in_stock(offer.get("availability")),
    }
    if offer.get("stock") is not None:  # only when the store publishes a count: "only N left" is never guessed
        product["stock"] = offer["stock"]
    lines: tuple[VariantLine, ...] = ()
    if "hasVariant" in node:
        lines = _group_facts(product, node.get("hasVariant"), refs, variant_key)
    return product, lines


def _group_facts(product: dict[str, Any], variants: Any, refs: _Refs,
                 variant_key: VariantKey | None = None) -> tuple[VariantLine, ...]:
    """A ProductGroup's variants (its first ``MAX_VARIANTS``, each an object or a reference: one lookup,
    and ``MAX_REF_LOOKUPS`` for the variant and its offers), and what the group leaves to them: its
    image (the first variant's), its stock (in stock when any variant is; a variant's word over the
    group's) and its price (the lowest variant price). A variant ``variant_key`` finds no key in offers
    no size (its stock still counts): a key of another kind (its SKU where the feed names variant ids)
    would make a second child of that size in the catalog. A variant with a key and no size (a colour;
    one the group names by ``url`` alone, keyed by it) is the product's ``aliases``: a line naming it is
    the product, as a feed's variants without a size are."""
    lines: list[VariantLine] = []
    aliases: list[str] = []
    stock: list[bool] = []
    lowest: dict[str, Any] = {}
    for entry in (variants if isinstance(variants, list) else [variants])[:MAX_VARIANTS]:
        variant = refs.anew().node(entry)
        if not isinstance(variant, dict):
            continue
        offer = _offer(variant.get("offers"), refs, product["price"] is None)
        in_stock = _in_stock(offer.get("availability"))
        if in_stock is not None:
            stock.append(in_stock)
        price = offer.get("price")
        if price is not None and (not lowest or price < lowest["price"]):
            lowest = offer
        if not product["image"]:
            product["image"] = _first(variant.get("image"), refs, _image_url)
        if "size" in variant:
            lines.append(_variant_line(variant, refs, variant_key, in_stock))
        elif (alias := _key_of(variant, variant_key)) is not None:
            aliases.append(alias)
    if aliases:
        product["aliases"] = tuple(dict.fromkeys(aliases))
    if stock:
        product["in_stock"] = any(stock)
    if product["price"] is None and lowest:
        # The group names no price of its own: its lowest variant's, what Google shows as "from" for a group.
        product["price"], product["currency"] = lowest["price"], product["currency"] or lowest.get("currency")
    return tuple(lines)


def _variant_line(variant: dict[str, Any], refs: _Refs, variant_key: VariantKey | None,
                  in_stock: bool | None) -> VariantLine:
    """A variant with a ``size`` as a line of its product's sizes: keyed by ``variant_key`` (``_key_of``)."""
    return VariantLine(_key_of(variant, variant_key), _size_text(refs.node(variant["size"])), in_stock)


def _size_text(value: Any) -> str | None:
    """A variant's ``size``: a text, or a ``SizeSpecification``'s ``name`` (never its URL or ``@id``)."""
    if isinstance(value, dict):
        return _text(value.get("name"))
    return _text(value)


def _first(value: Any, refs: _Refs, read: Callable[[Any], str | None]) -> str | None:
    """``read`` of the value, or of the first entry of a list it makes something of; references looked up."""
    value = refs.node(value)
    if isinstance(value, list):
        return next((found for found in (_first(v, refs, read) for v in value) if found), None)
    return read(value)


def _image_url(value: Any) -> str | None:
    """An image's URL: the text, or an ImageObject's ``contentUrl`` (else ``url``), never its caption or name."""
    if isinstance(value, dict):
        return _text(value.get("contentUrl")) or _text(value.get("url"))
    return _text(value)


Crumb = tuple[str | None, str | None]
"""One step of a breadcrumb trail: (name, URL), either may be None (not both)."""


def _position(value: Any) -> int | None:
    """A ListItem's ``position`` as a number (``2``, ``"2"``, ``2.0``), else None."""
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def breadcrumb_of(node: dict[str, Any]) -> tuple[Crumb, ...]:
    """A schema.org BreadcrumbList's steps, first (the home page) to last (often the page itself): in
    ``position`` order when every step has one, else as listed. A step's URL is its ``item`` (a URL, or a
    Thing's ``@id``/``url``), its name the ListItem's or the Thing's ``name``."""
    elements = node.get("itemListElement")
    if isinstance(elements, dict):
        elements = [elements]
    if not isinstance(elements, list):
        return ()
    steps: list[tuple[Any, str | None, str | None]] = []
    for element in elements[:MAX_CRUMBS]:
        if not isinstance(element, dict):
            continue
        thing = element.get("item")
        url = _text(thing) if isinstance(thing, str) else _text(thing.get("@id") or thing.get("url")) if isinstance(thing, dict) else None
        name = _text(element.get("name")) or (_text(thing.get("name")) if isinstance(thing, dict) else None)
        steps.append((element.get("position"), name, url))
    return crumb_trail(steps)


def crumb_trail(steps: Sequence[tuple[Any, str | None, str | None]]) -> tuple[Crumb, ...]:
    """The trail of (position, name, URL) steps, JSON-LD's or microdata's, read by the same rules: steps
    with neither name nor URL dropped, in ``position`` order when every step has one, else as listed."""
    kept: list[tuple[int | None, Crumb]] = []
    for position, name, url in steps:
        url = url.strip() or None if isinstance(url, str) else None
        if name is not None or url is not None:
            kept.append((_position(position), (name, url)))
    if all(position is not None for position, _ in kept):
        kept.sort(key=lambda step: step[0] or 0)  # stable: ties keep their order
    return tuple(crumb for _, crumb in kept)


class _Ids:
    """Nodes by the ``@id`` (or URL) they are known by, found by a reference written the same way or
    relative to the page: ``#product`` names ``https://shop.example/p/1#product`` and the other way
    round (the page's URL, which a relative ``@id`` is read against, is where both are written). Two
    full URLs name one node only when equal. One dict lookup per reference, whatever the graph's size."""

    def __init__(self, nodes: Iterable[dict[str, Any]]) -> None:
        self.nodes: Iterable[dict[str, Any]] | None = nodes  # indexed at the first lookup: most pages make none
        self.exact: dict[str, dict[str, Any]] = {}
        self.relative: dict[str, dict[str, Any]] = {}  # a full URL's id as the page would write it relative

    def _index(self, nodes: Iterable[dict[str, Any]]) -> None:
        for node in nodes:
            name = node.get("@id")
            if isinstance(name, str) and name.strip():
                _keep(self.exact, name.strip(), node)
                for form in _relative_forms(name.strip()):
                    _keep(self.relative, form, node)

    def find(self, ref: Any, base: Any = None) -> dict[str, Any] | None:
        """The node ``ref`` names; a relative ``ref`` is read against ``base`` (the referring node's own
        URL) when that is a full URL: ``#product`` on page 1 is not page 9's ``#product``."""
        if self.nodes is not None:
            nodes, self.nodes = self.nodes, None
            self._index(nodes)
        if not isinstance(ref, str) or not ref.strip():
            return None
        ref = ref.strip()
        if isinstance(base, str) and _relative_forms(base.strip()) and not _relative_forms(ref):
            try:
                found = self.exact.get(urljoin(base.strip(), ref))
            except ValueError:  # "//[x": no URL
                found = None
            if found is not None:
                return found
        forms = _relative_forms(ref)
        if forms:  # a full URL: as written, or a node that wrote it relative
            return self.exact.get(ref) or next((self.exact[f] for f in forms if f in self.exact), None)
        return self.exact.get(ref) or self.relative.get(ref)


def _keep(table: dict[str, dict[str, Any]], name: str, node: dict[str, Any]) -> None:
    """The first node known by ``name``, unless it is a reference alone and this one says more."""
    kept = table.get(name)
    if kept is None or _is_reference(kept) and not _is_reference(node):
        table[name] = node


def _full_url(name: str) -> SplitResult | None:
    """``name`` split as a URL when it names its host (``https://shop.example/p/1``, ``//shop.example/p/1``)."""
    try:
        parts = urlsplit(name)
    except ValueError:  # "http://[x"
        return None
    return parts if parts.netloc else None


def _relative_forms(name: str) -> tuple[str, ...]:
    """A full URL as the page itself would write it: path (query, fragment) from the root, and the
    fragment alone; () for what is no full URL."""
    parts = _full_url(name)
    if parts is None:
        return ()
    rooted = urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))
    return (rooted, f"#{parts.fragment}") if parts.fragment else (rooted,)


def _reference(value: Any) -> Any:
    """What a property that names a node gives to look it up by: its ``@id`` (else ``url``), or the text."""
    if isinstance(value, list):
        value = value[0] if value else None
    return value.get("@id") or value.get("url") if isinstance(value, dict) else value


def _is_reference(value: Any) -> bool:
    """``value`` names a node and says nothing else of it: ``{"@id": "…#/schema/offer/21-0"}``."""
    return isinstance(value, dict) and "@id" in value and value.keys() <= _REFERENCE_KEYS


class _Refs:
    """The nodes a Product's facts (its offers, brand, image, category) name by reference alone, looked
    up in the page's ``_Ids``: one lookup per reference, ``MAX_REF_LOOKUPS`` for each fact (an offer naming
    itself, or a long chain, ends there; the product's next fact starts ``anew``)."""

    __slots__ = ("ids", "base", "left")

    def __init__(self, ids: _Ids | None, base: Any) -> None:
        self.ids, self.base, self.left = ids, base, MAX_REF_LOOKUPS

    def anew(self) -> _Refs:
        """These lookups with a full budget, for the product's next fact."""
        self.left = MAX_REF_LOOKUPS
        return self

    def node(self, value: Any) -> Any:
        """``value``, or the node it names when it is a reference alone: None when the page has no such
        node (its ``@id`` is no brand, image or offer), or the lookups are spent."""
        if not _is_reference(value):
            return value
        if self.ids is None or self.left <= 0:
            return None
        self.left -= 1
        return self.ids.find(value["@id"], self.base)


def _main_entity(nodes: list[dict[str, Any]], ids: _Ids) -> dict[str, Any] | None:
    """What the page names as its main entity, a Product or an ItemList (a listing's): a node's
    ``mainEntity`` (an object, or one named by ``@id``), else the first Product whose ``mainEntityOfPage``
    is this page, else the first such ItemList (Yoast marks a category page's ItemList so); None when it
    names none. An ItemList's word is taken only when a WebPage says which page this is: a "related
    products" list naming the page it came from is no listing of this one."""
    for node in nodes:
        if "mainEntity" not in node:
            continue
        named = node["mainEntity"]
        for value in (named if isinstance(named, list) else [named])[:_MAX_REFS]:
            for target in (ids.find(_reference(value), node.get("url") or node.get("@id")), value):
                if isinstance(target, dict) and _is_a(target, _MAIN_TYPES):
                    return target
    pages = {_page_of(name) for node in nodes if _is_a(node, _WEBPAGE_TYPES) for name in (node.get("@id"), node.get("url"))}
    pages.discard(None)
    pages.discard("")
    claims = [node for node in nodes if "mainEntityOfPage" in node and _is_a(node, _MAIN_TYPES)
              and _names_this_page(node, pages)]
    return next((node for node in claims if _is_product(node)), claims[0] if claims else None)


def _names_this_page(node: dict[str, Any], pages: set[str | None]) -> bool:
    """The node's ``mainEntityOfPage`` is this page: relative, or one of the page's WebPages (``pages``); a
    Product's word is taken when no WebPage says which page this is."""
    page = _page_of(_reference(node.get("mainEntityOfPage")))
    return page == "" or page is not None and (page in pages or not pages and _is_product(node))


def _page_of(name: Any) -> str | None:
    """The page a ``mainEntityOfPage`` (or a WebPage's ``@id``/``url``) names: a full URL without its
    fragment (Yoast names the page ``…/p/1/#webpage`` and writes its WebPage's ``@id`` as ``…/p/1/``
    or with the same fragment), "" for a relative one (``#webpage``: this page), None for none."""
    if not isinstance(name, str) or not name.strip():
        return None
    parts = _full_url(name.strip())
    if parts is None:
        return "" if "//" not in name else None
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


class JsonLd(NamedTuple):
    """What a page's JSON-LD says, read in one scan."""

    product: dict[str, Any] | None  # the page's Product (the one it names, else its first); a variant's page: its group
    crumbs: tuple[Crumb, ...]  # its first BreadcrumbList's steps
    listing: bool  # it says it lists products (a CollectionPage, an ItemList its main entity): none is its own
    variants: tuple[VariantLine, ...] = ()  # the product's variants that name a size (a ProductGroup's)
    viewed: VariantLine | None = None  # a variant's own page: that variant (its size None when it names none)
    group: str | None = None  # a variant's own page: how its group was found (``_variant_page``), for rules check
    elsewhere: int = 0  # a variant's own page: the group's variants it names by URL alone (their own pages)
    some: tuple[VariantLine, ...] = ()  # a variant's own page that does not list every variant: the sizes it names


def read_json_ld(html: bytes, variant_key: VariantKey | None = None, product_id: VariantKey | None = None) -> JsonLd:
    """The page's schema.org Product (the one it names, else its first that is no variant of a group on
    the page; None without one or on a listing) and its first BreadcrumbList's steps, in one scan; never
    raises on messy input. ``variant_key``: how a ProductGroup's variants are keyed (``VariantKey``);
    ``product_id``: how the product is (the rules' ``catalog.product_id``, else ``_node_id``). A variant's
    own page (``_variant_page``) gives its group as the product, and the variant as ``viewed``."""
    nodes: list[dict[str, Any]] = []
    products: list[dict[str, Any]] = []
    crumbs: tuple[Crumb, ...] = ()
    listing = False  # a CollectionPage or SearchResultsPage
    for block in json_ld_blocks(html):
        for node in _items(block):
            nodes.append(node)
            kinds = _kinds(node)
            if not _PRODUCT_TYPES.isdisjoint(kinds):
                products.append(node)
            elif not crumbs and not _BREADCRUMB_TYPES.isdisjoint(kinds):
                crumbs = breadcrumb_of(node)
            else:
                listing = listing or not _LISTING_TYPES.isdisjoint(kinds)
    ids = _Ids(nodes)
    main = _main_entity(nodes, ids) if any("mainEntity" in n or "mainEntityOfPage" in n for n in nodes) else None
    if main is not None and not _is_product(main) or main is None and listing:
        return JsonLd(None, crumbs, True)
    groups_of = _groups_by_member(products, ids) if len(products) > 1 else {}
    variants_of = set(groups_of) - {id(group) for group in groups_of.values()}  # a group is a page's product
    for node in ([main] if main is not None else []) + [p for p in products if p is not main and id(p) not in variants_of]:
        try:
            page = _variant_page(node, groups_of.get(id(node)), ids, [p for p in products if groups_of.get(id(p)) is node])
            if page is not None:
                return _variant_reading(*page, ids, variant_key, product_id, crumbs)
            product, variants = _product_and_variants(node, ids, variant_key, product_id)
            return JsonLd(product, crumbs, False, variants)
        except (TypeError, ValueError, AttributeError, RecursionError):
            continue
    return JsonLd(None, crumbs, False)


# -- a variant's own page: Google's "multi-page" variants, each with a URL of its own -----------------------
_ELSEWHERE_KEYS = frozenset({"@type", "@id", "@context", "url"})


def _variant_page(node: dict[str, Any], listed_in: dict[str, Any] | None, ids: _Ids,
                  members: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any], str] | None:
    """(its group, the variant, how the group was found) when ``node`` is one variant's page, else None.

    Google's two shapes for a product whose variants have pages of their own (``/p/coat-green-s``,
    ``?variant=``): the variant's Product naming its group (``isVariantOf``: the group written in it, or
    named by ``@id``; ``inProductGroupWithID``: the group's ``productGroupID``; or a group on the page whose
    ``hasVariant`` lists it, ``listed_in``), or the group itself listing the page's variant in full and the
    others by ``url`` alone (their pages). The group may come first on the page: the one Product of the page
    that is its variant (``members``) is the page's. A group that lists every variant in full is a page of
    them all, as is one with several of its variants written beside it."""
    if "hasVariant" in node or _is_a(node, _GROUP_TYPES):
        full, elsewhere = _listed(node, ids)
        if elsewhere and len(full) == 1:
            return node, full[0], "the group lists it in full, the others by url"
        if len(members) == 1 and members[0] is not node:
            return node, members[0], "its isVariantOf names the group" if "isVariantOf" in members[0] else "the group lists it"
        return None
    group, how = listed_in, "the group lists it"
    if "isVariantOf" in node:
        named = node["isVariantOf"]
        named = named[0] if isinstance(named, list) and named else named
        found = ids.find(_reference(named), node.get("url") or node.get("@id"))
        found = found if found is not None else named if isinstance(named, dict) and not _is_reference(named) else None
        if found is not None and found is not node:
            group, how = found, "its isVariantOf names the group"
    wanted = _text(node.get("inProductGroupWithID"))
    if group is None and wanted:
        group, how = {"productGroupID": wanted}, "its inProductGroupWithID names the group"
    if group is None:
        return None
    if wanted and not _text(group.get("productGroupID")):
        group = {**group, "productGroupID": wanted}  # schema.org: the productGroupID of the group it is a variant of
    return group, node, how


def _listed(group: dict[str, Any], ids: _Ids) -> tuple[list[dict[str, Any]], int]:
    """A group's ``hasVariant`` entries written in full (or named by ``@id`` and found), and how many it
    names by ``url`` alone (or by an ``@id`` the page does not carry): variants whose pages are elsewhere."""
    listed = group.get("hasVariant")
    full: list[dict[str, Any]] = []
    elsewhere = 0
    refs = _Refs(ids, group.get("url") or group.get("@id"))
    for entry in (listed if isinstance(listed, list) else [listed])[:MAX_VARIANTS]:
        variant = refs.anew().node(entry)
        if isinstance(variant, dict) and not variant.keys() <= _ELSEWHERE_KEYS:
            full.append(variant)
        elif isinstance(entry, dict) and ("url" in entry or "@id" in entry):
            elsewhere += 1
    return full, elsewhere


def _variant_reading(group: dict[str, Any], viewed: dict[str, Any], how: str, ids: _Ids,
                     variant_key: VariantKey | None, product_id: VariantKey | None, crumbs: tuple[Crumb, ...]) -> JsonLd:
    """A variant's page read as its group's: the group is the product (its id, name and variants; what it
    leaves out, the variant's facts), the variant the one ``viewed``, its size among the product's sizes.
    The product is sold out only when the group says so, or lists every variant and each says so: the page
    of a sold-out size is no word on the others. Its price is the group's own offer's, or its lowest
    variant's when it lists every variant (``_group_facts``, Google's "from"), else none: the variant's
    price is its size's, and a cheap and a dear size's page would each rewrite the product's (its catalog
    row, the price a view saw: "price dropped" on no change). Its sizes are the product's ``variants``
    only when the group lists every variant; else they are ``some`` of them (the catalog learns each as a
    size of the product, and keeps the product's whole size map: a feed's). A group that names no key at
    all takes the variant's."""
    product, lines = _product_and_variants(group, ids, variant_key, product_id)
    own = product_from_node(viewed, ids)
    refs = _Refs(ids, viewed.get("url") or viewed.get("@id"))
    line = (_variant_line(viewed, refs, variant_key, own["in_stock"]) if "size" in viewed
            else VariantLine(_key_of(viewed, variant_key), None, own["in_stock"]))
    full, elsewhere = _listed(group, ids) if "hasVariant" in group else ([], 0)
    said = _in_stock(_offer(group.get("offers"), _Refs(ids, group.get("url") or group.get("@id")), False).get("availability"))
    listed = any(_same_node(variant, viewed) for variant in full)
    every = listed and not elsewhere
    in_stock = True if True in (product["in_stock"], own["in_stock"]) else product["in_stock"] if every else said
    if not every and _offer(group.get("offers"), _Refs(ids, group.get("url") or group.get("@id"))).get("price") is None:
        product["price"] = None  # the lowest of the variants the page writes in full: this one's, no group's
    product = fill(product, {k: v for k, v in own.items() if k not in ("id", "in_stock", "stock", "price")})
    product["id"] = product["id"] or own["id"]
    product["in_stock"] = in_stock
    if "size" in viewed and not listed:
        lines += (line,)
    elif not listed and line.id is not None:  # no size: a line naming the variant is the product
        product["aliases"] = (*product.get("aliases", ()), line.id)
    if every:  # the group's every variant, as on a page of them all
        return JsonLd(product, crumbs, False, lines, line, how, elsewhere)
    return JsonLd(product, crumbs, False, (), line, how, elsewhere, lines)


def _same_node(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """One node, or two writings of it (the group's inline entry and the variant's own node): one key."""
    return a is b or (key := _node_id(a)) is not None and key == _node_id(b)


def fill(product: dict[str, Any], *others: Mapping[str, Any] | None) -> dict[str, Any]:
    """Keys still empty in ``product`` taken from the others, in order."""
    for other in others:
        if not other:
            continue
        for key, value in other.items():
            if product.get(key) in (None, "", [], {}) and value not in (None, "", [], {}):
                product[key] = value
    return product


def _groups_by_member(products: list[dict[str, Any]], ids: _Ids) -> dict[int, dict[str, Any]]:
    """The group of each of ``products`` that is a variant of a ProductGroup among them, by its ``id()``: one
    its ``hasVariant`` lists (inline, or by ``@id``), or one whose ``isVariantOf`` names one. A page's graph
    may list its variants before their group (a theme writing each variant as a node of its own): the
    first Product would be a size, and the page's product its own size."""
    groups = {id(p): p for p in products if "hasVariant" in p or _is_a(p, _GROUP_TYPES)}
    if not groups:
        return {}
    members: dict[int, dict[str, Any]] = {}
    for node in products:
        if "hasVariant" in node:
            listed = node["hasVariant"]
            for entry in (listed if isinstance(listed, list) else [listed])[:MAX_VARIANTS]:
                members.setdefault(id(entry), node)
                found = ids.find(_reference(entry), node.get("url") or node.get("@id"))
                if found is not None:
                    members.setdefault(id(found), node)
        if "isVariantOf" in node:
            group = node["isVariantOf"]
            found = ids.find(_reference(group), node.get("url") or node.get("@id"))
            if id(found if found is not None else group) in groups:
                members.setdefault(id(node), groups[id(found if found is not None else group)])
    return members


def extract_product(html: bytes) -> dict[str, Any] | None:
    """The page's schema.org Product (``read_json_ld``), or None; never raises on messy input."""
    return read_json_ld(html).product
