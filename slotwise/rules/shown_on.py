"""A catalog row as a page shows it: priced in the page's currency, linked within its locale.

Recommendation cards and journey cards (``visitor.waiting_cart``,
``back_in_stock``, ``price_dropped``, ``due_for_reorder``) show catalog rows on
a page, and must show them the same way: the price in the page's currency
(``rules.prices``: none when the catalog has none in it) and, where the rules'
product URL patterns name a ``{locale}`` prefix, the link within the page's
locale (``rules.locale_links``). ``ShownOn`` is said once per page and makes
every card's row; a row already in that currency and locale is itself (no copy).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from slotwise.rules.locale_links import LOCALE, in_locale
from slotwise.rules.pages import CatalogPatterns
from slotwise.rules.prices import shown_in


@dataclass(frozen=True)
class ShownOn:
    """The page a card is shown on: its currency (None: each row's own price, as kept) and, only when the
    rules' patterns name a ``{locale}``, those patterns and the page's locale (None: the default one's)."""

    currency: str | None = None
    patterns: CatalogPatterns | None = None
    locale: str | None = None

    @classmethod
    def page(cls, page: Any, patterns: CatalogPatterns | None) -> ShownOn:
        """What ``page`` (a ``PageFacts``, or anything with ``currency`` and ``params``) shows rows in."""
        currency = getattr(page, "currency", None)
        if patterns is None or not patterns.localized:
            return cls(currency)
        return cls(currency, patterns, (getattr(page, "params", None) or {}).get(LOCALE))

    def row(self, row: Mapping[str, Any]) -> Mapping[str, Any]:
        """``row`` as this page shows it: its price in the page's currency, its link in the page's locale."""
        shown = shown_in(row, self.currency)
        if self.patterns is None:
            return shown
        url = in_locale(self.patterns, shown.get("url"), self.locale)
        return shown if url == shown.get("url") else {**shown, "url": url}
