"""schema.org microdata (``itemscope itemtype=… itemprop=…``): property values, a BreadcrumbList's trail,
and a Product's own properties.

Stores that publish no JSON-LD often mark their breadcrumb and product up in
microdata (Google's documented markup, many Magento and PrestaShop themes),
and some publish both. The trail read here goes through the same rules as
JSON-LD's (``jsonld.crumb_trail``): a product's category is the same step
whichever markup names it. Items nest (a Product's brand, offers, rating,
reviews and related products are items of their own, often with a ``name``,
``sku`` or ``price``): an item's properties are read with one walk that does
not go into nested items, so nothing of theirs is taken for the item's. The
walk is the HTML standard's: it also takes the elements the item's ``itemref``
names, which themes use to write a product's title or price box elsewhere in
the layout. The proxy reads the page; tag-only mode the BreadcrumbList and
Product elements the tag sends verbatim in its page extract (chosen as here,
with the elements their ``itemref`` names).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator

from selectolax.lexbor import LexborHTMLParser, LexborNode

from slotwise.rules.extract import node_text
from slotwise.rules.jsonld import MAX_CRUMBS, Crumb, crumb_trail

BREADCRUMB_CSS = '[itemscope][itemtype*="schema.org/BreadcrumbList" i]'
PRODUCT_CSS = '[itemscope][itemtype*="schema.org/Product" i]:not([itemscope] [itemprop]:not([itemprop~="mainEntity"]))'
"""The page's Product: one that is no other item's property (a list's element, a review's subject, a related
product inside the main one are), though a WebPage's ``mainEntity`` is the page's; ``page_product`` also
passes over one an ``itemref`` names. tag.js picks the elements with these selectors (and the same
``itemref`` rule): the same strings, a test holds them equal."""
MAX_NODES = 5000
MAX_REFS = 20  # ids of one itemref looked up
MAX_REF_NODES = 4 * MAX_NODES  # elements the crawls of a document's items that follow itemref look at, together
_PRODUCT = ("name", "sku", "productID", "mpn", "url", "image", "category", "brand", "offers",
            "price", "lowPrice", "priceCurrency", "availability")
_OFFER = ("price", "lowPrice", "priceCurrency", "availability", "offers", "priceSpecification")


def prop_value(node: LexborNode) -> str | None:
    """A property's value as stores write it: ``content`` (a ``meta``, or a ``span`` with one), ``href``,
    ``src`` or ``value``, else the element's text, white space collapsed; None when empty."""
    attrs = node.attributes
    for attr in ("content", "href", "src", "value"):
        if attrs.get(attr):
            return str(attrs[attr]).strip()
    return " ".join(node_text(node).split()) or None


class _Document:
    """What following ``itemref`` needs of a document, for every item read from it: its elements by id and
    their tree order (one walk, made the first time an itemref is followed) and a budget of elements an
    itemref's crawls may look at, all of them together: many items may name one large element."""

    def __init__(self, parser: LexborHTMLParser) -> None:
        self.parser = parser
        self.budget = MAX_REF_NODES
        self._ids: dict[str, LexborNode] | None = None
        self._order: dict[int, int] = {}

    def by_id(self, name: str) -> LexborNode | None:
        """The first element with the id ``name`` in tree order (HTML: the one an itemref names)."""
        if self._ids is None:
            self._ids = {}
            for node in self.parser.css("[id]"):
                self._ids.setdefault(node.attributes.get("id") or "", node)
        return self._ids.get(name)

    def position(self, node: LexborNode) -> int:
        if not self._order:
            root = self.parser.root
            walk = root.traverse(include_text=False) if root is not None else ()
            self._order = {element.mem_id: position for position, element in enumerate(walk)}
        return self._order.get(node.mem_id, len(self._order))


_DOCUMENT: ContextVar[_Document | None] = ContextVar("microdata_document", default=None)


@contextmanager
def _reading(parser: LexborHTMLParser) -> Iterator[None]:
    """Items read inside share ``parser``'s ``_Document`` (its index is made once, its budget spent once)."""
    token = _DOCUMENT.set(_Document(parser))
    try:
        yield
    finally:
        _DOCUMENT.reset(token)


def _document(item: LexborNode) -> _Document:
    """The ``_Document`` of the reading ``item`` is read in, else one of its own."""
    document = _DOCUMENT.get()
    return document if document is not None and document.parser is item.parser else _Document(item.parser)


def properties(item: LexborNode) -> Iterator[tuple[str, LexborNode]]:
    """``(name, element)`` of each property of ``item``, in tree order, as the HTML standard's microdata
    crawl finds them: the item's descendants and the elements its ``itemref`` names (with theirs), not
    going into a nested item (what is inside one is that item's). Each element is looked at once (an
    ``itemref`` that names the item, an element inside it or one named twice adds nothing), an id no
    element has is passed over. A name may be a URL (``https://schema.org/name``). At most
    ``MAX_NODES`` elements are looked at: a breadcrumb is small, a hostile page need not be; and the
    crawls past items' own elements share ``MAX_REF_NODES`` per document (then itemref is not followed)."""
    names = (item.attributes.get("itemref") or "").split()
    document = _document(item) if names else None
    if document is None or document.budget <= 0:
        return _crawl(item, [], None)
    found = (document.by_id(name) for name in dict.fromkeys(names[:MAX_REFS]))
    referenced = [node for node in found if node is not None]
    if not referenced:
        return _crawl(item, [], None)
    props = list(_crawl(item, referenced, document))  # past the item's own elements: back to tree order
    return iter(sorted(props, key=lambda prop: document.position(prop[1])))


def _crawl(item: LexborNode, referenced: list[LexborNode], document: _Document | None) -> Iterator[tuple[str, LexborNode]]:
    """The crawl: the item's own elements in document order, then the ``referenced`` ones', which the
    ``document``'s budget counts. A tree has no element twice: only with ``referenced`` are the
    elements seen remembered."""
    seen = {item.mem_id} if referenced else None
    steps = MAX_NODES
    for roots, budgeted in ((list(item.iter(include_text=False)), False), (referenced, document is not None)):
        pending = roots[::-1]
        while pending and steps > 0:
            node = pending.pop()
            steps -= 1
            if seen is not None:
                if node.mem_id in seen:
                    continue
                seen.add(node.mem_id)
            if budgeted and document is not None:
                document.budget -= 1
                if document.budget < 0:
                    return
            attrs = node.attributes
            for name in (attrs.get("itemprop") or "").split():
                yield name.rsplit("/", 1)[-1], node
            if "itemscope" not in attrs:
                pending.extend(list(node.iter(include_text=False))[::-1])


def own_properties(item: LexborNode, names: tuple[str, ...]) -> dict[str, LexborNode]:
    """The first element of each of ``names`` among ``item``'s own properties (one walk). ``offers`` counts
    only as an item: an ``offers`` element that is none holds properties of ``item``, which the walk reads."""
    found: dict[str, LexborNode] = {}
    for name, node in properties(item):
        if name in names and name not in found and (name != "offers" or "itemscope" in node.attributes):
            found[name] = node
    return found


def _value(node: LexborNode | None, links: tuple[str, ...] = ("name", "url")) -> str | None:
    """A property's value; when it is an item (a Brand, an ImageObject), that item's first of ``links``
    (JSON-LD's objects are read alike: their ``name``, else ``url``), not its text: that is its parts'."""
    if node is None:
        return None
    if "itemscope" not in node.attributes:
        return prop_value(node)
    own = own_properties(node, links)
    return next((v for v in (prop_value(own[k]) for k in links if k in own) if v), None)


def _offer(offer: LexborNode | None, depth: int = 0) -> dict[str, str | None]:
    """price, priceCurrency, availability of an Offer or AggregateOffer (its ``lowPrice``; else its first
    Offer's), a price in its ``priceSpecification`` when it names none itself, as ``jsonld._offer`` reads them."""
    if offer is None:
        return {}
    own = own_properties(offer, _OFFER)
    price = _value(own.get("price")) or _value(own.get("lowPrice"))
    currency = _value(own.get("priceCurrency"))
    if price is None and "offers" in own and depth < 2:
        inner = _offer(own["offers"], depth + 1)
        if inner.get("price") is not None:
            return {**inner, "currency": inner.get("currency") or currency,
                    "availability": inner.get("availability") or _value(own.get("availability"))}
    spec = own.get("priceSpecification")
    if price is None and spec is not None and "itemscope" in spec.attributes:
        inner_spec = own_properties(spec, ("price", "priceCurrency"))
        price = _value(inner_spec.get("price"))
        currency = currency or _value(inner_spec.get("priceCurrency"))
    return {"price": price, "currency": currency, "availability": _value(own.get("availability"))}


def product_values(html: bytes) -> dict[str, str | None] | None:
    """The page's microdata Product (``PRODUCT_CSS``): its own properties' values as written (``id`` its
    sku, productID or mpn; price, currency and availability its first offer's, else written on it); None
    when the page has none."""
    lowered = html.lower()
    if b"itemscope" not in lowered or b"schema.org/product" not in lowered:
        return None
    parser = LexborHTMLParser(html)
    root = page_product(parser)
    if root is None:
        return None
    with _reading(parser):
        own = own_properties(root, _PRODUCT)
        offer = _offer(own.get("offers"))
        values = {
            "id": _value(own.get("sku")) or _value(own.get("productID")) or _value(own.get("mpn")),
            "name": _value(own.get("name")),
            "url": _value(own.get("url"), ("url",)),
            "image": _value(own.get("image"), ("contentUrl", "url")),
            "price": offer.get("price") or _value(own.get("price")) or _value(own.get("lowPrice")),
            "currency": offer.get("currency") or _value(own.get("priceCurrency")),
            "availability": offer.get("availability") or _value(own.get("availability")),
            "category": _value(own.get("category")),
            "brand": _value(own.get("brand"), ("name",)),
        }
    return values


def page_product(parser: LexborHTMLParser) -> LexborNode | None:
    """The page's Product: the first ``PRODUCT_CSS`` picks that no item's ``itemref`` makes its property
    (a related product written outside the product, named by its id or a parent's), as tag.js picks it.
    Only a Product with an ``itemprop`` (and in no item: the selector saw to that) can be one."""
    first = parser.css_first(PRODUCT_CSS)
    if first is None or not _is_property(first):
        return first
    named = {name for item in parser.css("[itemscope][itemref]") for name in item.attributes["itemref"].split()}
    return next((node for node in parser.css(PRODUCT_CSS) if not (_is_property(node) and _named(node, named))), None)


def _is_property(node: LexborNode) -> bool:
    """``node`` has an ``itemprop``, and it is not the page's ``mainEntity``."""
    props = (node.attributes.get("itemprop") or "").split()
    return bool(props) and "mainEntity" not in props


def _named(node: LexborNode, named: set[str]) -> bool:
    """``node`` or an element it stands in has one of the ids ``named``."""
    element: LexborNode | None = node
    while element is not None:
        if element.attributes.get("id") in named:
            return True
        element = element.parent
    return False


def _first(item: LexborNode, name: str) -> LexborNode | None:
    return next((node for prop, node in properties(item) if prop == name), None)


def _text_of(item: LexborNode, name: str) -> str | None:
    node = _first(item, name)
    return prop_value(node) if node is not None else None


def _step(element: LexborNode) -> tuple[Any, str | None, str | None]:
    """One ListItem: (position, name, URL), as ``jsonld.breadcrumb_of`` reads its JSON-LD twin: the URL is
    ``item``'s (a link, or a Thing's ``itemid``, ``url`` or ``href``), the name the ListItem's or the Thing's."""
    thing = _first(element, "item")
    url: str | None = None
    thing_name: str | None = None
    if thing is not None and "itemscope" in thing.attributes:
        attrs = thing.attributes
        url = attrs.get("itemid") or _text_of(thing, "url") or attrs.get("href")
        thing_name = _text_of(thing, "name")
    elif thing is not None:
        url = prop_value(thing)
    return _text_of(element, "position"), _text_of(element, "name") or thing_name, url


def microdata_breadcrumb(html: bytes) -> tuple[Crumb, ...]:
    """The first microdata BreadcrumbList's steps, home first; () when the page has none."""
    lowered = html.lower()
    if b"itemscope" not in lowered or b"breadcrumblist" not in lowered:
        return ()
    parser = LexborHTMLParser(html)
    root = parser.css_first(BREADCRUMB_CSS)
    if root is None:
        return ()
    steps = []
    with _reading(parser):
        for name, element in properties(root):
            if name == "itemListElement" and "itemscope" in element.attributes:
                steps.append(_step(element))
                if len(steps) >= MAX_CRUMBS:
                    break
    return crumb_trail(steps)
