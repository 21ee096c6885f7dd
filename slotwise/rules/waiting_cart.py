"""The cart that waits, and recently viewed products back in stock or cheaper. Pure.

A cart line waits when it went into the cart before this visit began (on
this device or another one the golden record links; ``Profile.saved_cart``
keeps it when another device's basket is empty): the reminder shows it
with the store's *current* price and stock, from the catalog the feed and
the product pages keep up to date. Scarcity is only ever the store's own
count: a product whose stock nobody published is never "only N left".
Cards are shown as the page shows every card (``rules.shown_on``, as
recommendation cards are): prices in the page's currency (none when the
catalog has none in it), links within the page's locale; a price is only
"dropped" from one seen in that same currency.
"""

from __future__ import annotations

from typing import Any, Mapping

from slotwise.profile import Profile
from slotwise.rules.prices import same_currency
from slotwise.rules.shown_on import ShownOn
from slotwise.rules.size_vocabulary import PLAIN_SIZES, SizeVocabulary

DAY = 86_400.0
CARD_KEYS = ("name", "url", "image", "currency", "category")


def _current(product: str, catalog: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any]:
    return catalog.get(product) or {}


def stock_of(entry: Mapping[str, Any], size: str | None = None, sizes: SizeVocabulary = PLAIN_SIZES) -> int | None:
    """The store's own unit count (per size when it publishes one: its sizes read by ``sizes``, the rules'
    vocabulary, so a feed's ``Medium`` is ``M``'s), or None when it gives none."""
    by_size = entry.get("stock_by_size")
    if size and isinstance(by_size, Mapping):
        count = by_size.get(size)
        count = count if isinstance(count, int) else sizes.keyed(by_size).get(size)
        if isinstance(count, int) and not isinstance(count, bool):
            return int(count)
    stock = entry.get("stock")
    return int(stock) if isinstance(stock, (int, float)) and not isinstance(stock, bool) and stock >= 0 else None


def _price(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 else None


def _dropped(was: float | None, now: float | None, min_drop: float) -> bool:
    return was is not None and now is not None and was > 0 and now <= was * (1 - min_drop) and now < was


def card(product: str, catalog: Mapping[str, Mapping[str, Any]], low_stock: int, size: str | None = None,
         price_was: float | None = None, min_drop: float = 0.01, sizes: SizeVocabulary = PLAIN_SIZES,
         shown: ShownOn = ShownOn(), was_currency: str | None = None) -> dict[str, Any]:
    """A product as a reminder shows it: the catalog's facts now, and what changed since; ``size`` as recorded,
    read by ``sizes`` (the rules' vocabulary: none for a ``not_sizes`` value, ``M`` for ``Medium``).

    ``shown``: the page's currency and locale: the price shown is the catalog's in that currency (None when it
    has none), the link within that locale; ``price_was`` (in ``was_currency``; not known: the row's own, what
    a price recorded before meant) is compared, and shown for a price the catalog lacks, only in that same
    currency."""
    entry = _current(product, catalog)
    if not same_currency(was_currency or entry.get("currency"), shown.currency):
        price_was = None  # seen in another currency: neither a drop nor a price to show
    entry = shown.row(entry)
    price = _price(entry.get("price"))
    size = sizes.size_of(size)
    stock = stock_of(entry, size, sizes)
    in_stock = entry.get("in_stock") if isinstance(entry.get("in_stock"), bool) else None
    if stock is not None and in_stock is None:
        in_stock = stock > 0
    out = {"product": product, "id": product, "size": size, **{k: entry.get(k) for k in CARD_KEYS},
           "price": price if price is not None else price_was, "price_was": None, "price_dropped": False,
           "in_stock": in_stock, "stock": stock, "scarce": bool(stock is not None and 0 < stock <= low_stock),
           "known": bool(entry)}
    if _dropped(price_was, price, min_drop):
        out.update(price_was=price_was, price_dropped=True)
    return out


def waiting_cart(profile: Profile, catalog: Mapping[str, Mapping[str, Any]], settings: Any,
                 now: float, sizes: SizeVocabulary = PLAIN_SIZES, shown: ShownOn = ShownOn()) -> list[dict[str, Any]]:
    """The cart lines left in an earlier visit (not older than ``max_age``), as reminder cards (a line's size
    as ``sizes`` reads it, kept from before the rules said so: none for a ``not_sizes`` value, ``M`` for
    ``Medium`` by ``size_names``), shown as the page shows cards (``shown``: ``card``)."""
    out = []
    for line in profile.saved_cart or profile.cart:
        added = float(line.get("added") or 0.0)
        if added >= profile.session_start and profile.session_start:
            continue  # put in the cart during this visit: nothing is waiting yet
        if added and now - added > settings.max_age_days * DAY:
            continue
        item = card(str(line["product"]), catalog, settings.low_stock, line.get("size"),
                    _price(line.get("price")) or None, settings.min_price_drop, sizes, shown, line.get("currency"))
        item.update(qty=int(line.get("qty") or 1), category=item.get("category") or line.get("category"))
        out.append(item)
    return out


def _recent(profile: Profile, settings: Any) -> list[tuple[str, Mapping[str, Any]]]:
    skip = {str(line["product"]) for line in profile.cart} | profile.purchased_products
    entries = sorted(profile.products.items(), key=lambda kv: -kv[1]["last"])
    return [(pid, entry) for pid, entry in entries if pid not in skip and entry.get("seen")][: settings.recently_viewed]


def back_in_stock(profile: Profile, catalog: Mapping[str, Mapping[str, Any]], settings: Any,
                  shown: ShownOn = ShownOn()) -> list[dict[str, Any]]:
    """Recently viewed products that were out of stock when last seen and are in stock now (shown as the
    page shows cards: ``card``)."""
    out = []
    for pid, entry in _recent(profile, settings):
        if entry["seen"].get("in_stock") is not False:
            continue
        item = card(pid, catalog, settings.low_stock, None, _price(entry["seen"].get("price")), settings.min_price_drop,
                    shown=shown, was_currency=entry["seen"].get("currency"))
        if item["in_stock"]:
            out.append(item)
    return out


def price_dropped(profile: Profile, catalog: Mapping[str, Mapping[str, Any]], settings: Any,
                  shown: ShownOn = ShownOn()) -> list[dict[str, Any]]:
    """Recently viewed products whose price in the page's currency (``shown``) is lower now than when last
    seen in it (and can be bought)."""
    out = []
    for pid, entry in _recent(profile, settings):
        item = card(pid, catalog, settings.low_stock, None, _price(entry["seen"].get("price")), settings.min_price_drop,
                    shown=shown, was_currency=entry["seen"].get("currency"))
        if item["price_dropped"] and item["in_stock"] is not False:
            out.append(item)
    return out
