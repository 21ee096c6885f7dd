"""A product's price in one currency: what every card, reminder and comparison shows.

A store that sells in several currencies from one catalog (Shopify Markets, a
WooCommerce multi-currency plugin, Magento store views) shows the same product
in EUR to one visitor and in GBP to another. A catalog row keeps its own
``price``/``currency`` (the store's currency, the rules' ``catalog.currency``,
once it has a price in it, else the first it learned: a store of one currency
keeps what its rows meant) and every other currency's price under ``prices``
(``{"GBP": 85.0}``, ``catalog_merge``). Whatever shows or
compares a price asks for it in the page's currency, and gets None when the
catalog has none in that currency: no price is better than a wrong one.
"""

from __future__ import annotations

from typing import Any, Mapping


def price_in(row: Mapping[str, Any], currency: str | None) -> Any:
    """The row's price in ``currency``: its own when that is its currency (or either is not known: a row
    or a page that names no currency is read as before), else the one ``prices`` keeps, else None."""
    own = row.get("currency")
    if currency is None or own is None or own == currency:
        return row.get("price")
    prices = row.get("prices")
    return prices.get(currency) if isinstance(prices, Mapping) else None


def shown_in(row: Mapping[str, Any], currency: str | None) -> Mapping[str, Any]:
    """The row as a page in ``currency`` shows it (its ``price`` and ``currency`` that currency's): the row
    itself (no copy, one lookup) when it is in that currency already."""
    own = row.get("currency")
    if currency is None or own is None or own == currency:
        return row
    return {**row, "price": price_in(row, currency), "currency": currency}


def same_currency(was: str | None, now: str | None) -> bool:
    """Whether two prices may be compared: the same currency, or one of them not known (as before)."""
    return was is None or now is None or was == now


def visitor_currency(profile: Any) -> str | None:
    """The currency a visitor last shopped in, for what is priced away from any page (an e-mail's picks):
    that of the newest of their product views and cart lines that names one (a view keeps its page's, a
    line its price's); None when none does (each row's own price, as before)."""
    newest: tuple[float, str | None] = (float("-inf"), None)
    for entry in profile.products.values():
        seen = entry.get("seen") or {}
        if seen.get("currency") and entry.get("last", 0) > newest[0]:
            newest = (entry["last"], seen["currency"])
    for line in profile.cart:
        if line.get("currency") and float(line.get("added") or 0) >= newest[0]:
            newest = (float(line.get("added") or 0), line["currency"])
    return newest[1]
