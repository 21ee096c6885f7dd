"""Product links within the visitor's locale prefix (``/en-gb/products/coat``).

Stores with several markets often serve each under a path prefix (Shopify
Markets' ``/en-gb/``, WPML's ``/de/``), the default one under none. A catalog
row keeps the link of whichever page taught it last, so a card on a page of
one locale could send the visitor to another's. Where the rules' product URL
patterns name the prefix as the leading ``{locale}`` segment
(``"/{locale}/products/{product}"``, next to ``"/products/{product}"`` for the
default locale), a card's link is moved into the page's locale: the page's
own ``{locale}`` param, none on a default-locale page. A link the patterns do
not read that way is left as it is.
"""

from __future__ import annotations

from typing import Any

from slotwise.rules.pages import CatalogPatterns

LOCALE = "locale"


def in_locale(patterns: CatalogPatterns, url: Any, locale: str | None) -> Any:
    """``url`` (a path on the store) moved into ``locale``'s prefix (None: the default locale's, no prefix),
    when the patterns read both the link and the moved one as the same product; else ``url`` itself.
    (Callers ask only when ``patterns.localized``: without a ``{locale}``, links are never touched.)"""
    if not isinstance(url, str) or not url.startswith("/") or url.startswith("//"):
        return url
    end = min((i for i in (url.find("?"), url.find("#")) if i >= 0), default=len(url))
    path = url[:end]
    kind, params = patterns.classify(path)
    if kind != "product":
        return url
    current = params.get(LOCALE)
    if current == locale:
        return url
    if current is not None:
        if not path.startswith(f"/{current}/"):
            return url  # the locale is not the leading segment: no prefix to move
        path_without = path[len(current) + 1:]
    else:
        path_without = path
    moved = f"/{locale}{path_without}" if locale else path_without
    kind, found = patterns.classify(moved)
    if kind != "product" or found.get(LOCALE) != locale or found.get("product") != params.get("product"):
        return url  # the patterns do not read the moved link as this product in that locale
    return moved + url[end:]
