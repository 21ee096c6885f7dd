"""Where the admin page's preview of a slot opens: a page the slot applies to, from the first minute.

Opening the home page previews nothing for a slot that runs on product pages only. The page is, first
found first: one served lately whose rules matched the slot (``PageSlots.recent_page``); the home page;
a path its ``pages`` name outright (``/cart``); a product's URL from the catalog (the feed's); its own
path patterns, then the catalog's (``catalog.product_pages``, ``category_pages``), with their ``{product}``
and ``{category}`` filled from a product of the catalog. Each candidate is checked against the slot's
``pages`` (path and query: the headers are the browser's that opens the link). None fits: the admin page
says so in words, with a form to give one, rather than a link to a page where the slot does not run.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterator, Mapping, Sequence
from urllib.parse import parse_qsl, urlencode

from slotwise.rules.pages import PageRule

MAX_PRODUCTS = 50
"""Products of the catalog tried, at most (one store read per admin page, only when a slot needs them)."""

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\}")
_WILD = re.compile(r"[*?]")


def fill(pattern: str, values: Mapping[str, str]) -> str | None:
    """The path a pattern names with each ``{name}`` given by ``values``; None when it has a wildcard, or a
    name without a value (what stands there is not known)."""
    if _WILD.search(pattern):
        return None
    missing = False

    def value(found: re.Match[str]) -> str:
        nonlocal missing
        given = values.get(found.group(1))
        missing = missing or not given
        return given or ""

    path = _PARAM.sub(value, pattern)
    return None if missing else path


def _query(rule: PageRule) -> str:
    """The query a ``pages`` entry asks for: each parameter that must be there, with its first glob as a value
    (a wildcard read as ``x``), else ``1``."""
    pairs = [(c.name, _WILD.sub("x", c.globs[0]) if c.globs else "1") for c in rule.query if c.present]
    return f"?{urlencode(pairs)}" if pairs else ""


def _fits(slot: Any, url: str) -> bool:
    path, _, query = url.partition("?")
    values: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        values.setdefault(name, value)
    return any(rule.matches_url(path, values) for rule in slot.pages.rules)


def _product_values(products: Sequence[Mapping[str, Any]]) -> Iterator[dict[str, str]]:
    for product in products:
        yield {name: str(product[key]) for name, key in (("product", "id"), ("category", "category"))
               if product.get(key)}


def _candidates(slot: Any, patterns: Mapping[str, Sequence[str]], products: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    yield "/"
    for rule in slot.pages.rules:
        if rule.path is None:  # query or header conditions alone: any path, the home page's
            yield "/" + _query(rule)
        elif rule.pattern is not None and (path := fill(rule.pattern, {})) is not None:
            yield path + _query(rule)
    for product in products:
        url = product.get("url")
        if isinstance(url, str) and url.startswith("/") and not url.startswith("//"):
            yield url
    written: list[tuple[str, PageRule | None]] = [(r.pattern, r) for r in slot.pages.rules if r.pattern is not None]
    written += [(p, None) for kind in ("product", "category") for p in patterns.get(kind, ())]
    for values in _product_values(products):
        for pattern, rule in written:
            if (path := fill(pattern, values)) is not None:
                yield path + (_query(rule) if rule is not None else "")


def example_page(slot: Any, patterns: Mapping[str, Sequence[str]], products: Sequence[Mapping[str, Any]],
                 recent: str | None = None) -> str | None:
    """A page (path and query) ``slot`` applies to, or None (module docstring); ``patterns``: the catalog's
    as written (``CatalogPatterns.written``), ``products``: some of the catalog's."""
    if recent is not None:
        return recent
    return next((url for url in _candidates(slot, patterns, products) if _fits(slot, url)), None)


async def example_pages(slots: Sequence[Any], patterns: Mapping[str, Sequence[str]],
                        recent: Callable[[str], str | None], read_products: Callable[[], Any]) -> dict[str, str | None]:
    """Each slot's ``example_page``; the catalog is read (``read_products``, awaited) only when a slot has no
    page without it, and a catalog that cannot be read is none (fail open)."""
    found = {slot.id: example_page(slot, patterns, (), recent(slot.id)) for slot in slots}
    if all(found.values()):
        return found
    try:
        products = await read_products()
    except Exception:  # the store away: the slots without a page say so
        return found
    return {slot.id: found[slot.id] or example_page(slot, patterns, products) for slot in slots}


def pages_text(slot: Any) -> str:
    """The slot's ``pages`` as written, near enough, for the words that say no page of it is known."""
    return ", ".join(rule.describe() for rule in slot.pages.rules)
