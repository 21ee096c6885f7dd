"""schema.org microdata (``itemscope itemtype=… itemprop=…``): property values, and a BreadcrumbList's trail.

Stores that publish no JSON-LD often mark their breadcrumb up in microdata
(Google's documented markup, many Magento and PrestaShop themes), and some
publish both. The trail read here goes through the same rules as JSON-LD's
(``jsonld.crumb_trail``): a product's category is the same step whichever
markup names it. The proxy reads the page; tag-only mode the BreadcrumbList
element the tag sends verbatim in its page extract.
"""

from __future__ import annotations

from typing import Any, Iterator

from selectolax.lexbor import LexborHTMLParser, LexborNode

from slotwise.rules.extract import node_text
from slotwise.rules.jsonld import MAX_CRUMBS, Crumb, crumb_trail

BREADCRUMB_CSS = '[itemscope][itemtype*="schema.org/BreadcrumbList" i]'
MAX_NODES = 5000


def prop_value(node: LexborNode) -> str | None:
    """A property's value as stores write it: ``content`` (a ``meta``, or a ``span`` with one), ``href``,
    ``src`` or ``value``, else the element's text, white space collapsed; None when empty."""
    attrs = node.attributes
    for attr in ("content", "href", "src", "value"):
        if attrs.get(attr):
            return str(attrs[attr]).strip()
    return " ".join(node_text(node).split()) or None


def properties(item: LexborNode) -> Iterator[tuple[str, LexborNode]]:
    """``(name, element)`` of each property of ``item``, in document order: those inside a nested item
    are that item's, so the walk does not go into one. A name may be a URL (``https://schema.org/name``).
    At most ``MAX_NODES`` elements are looked at: a breadcrumb is small, a hostile page need not be."""
    pending = list(item.iter(include_text=False))[::-1]
    for _ in range(MAX_NODES):
        if not pending:
            return
        node = pending.pop()
        attrs = node.attributes
        for name in (attrs.get("itemprop") or "").split():
            yield name.rsplit("/", 1)[-1], node
        if "itemscope" not in attrs:
            pending.extend(list(node.iter(include_text=False))[::-1])


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
    root = LexborHTMLParser(html).css_first(BREADCRUMB_CSS)
    if root is None:
        return ()
    steps = []
    for name, element in properties(root):
        if name == "itemListElement" and "itemscope" in element.attributes:
            steps.append(_step(element))
            if len(steps) >= MAX_CRUMBS:
                break
    return crumb_trail(steps)
