"""How a write of product rows combines with the stored ones: one rule for the SQLite and the Redis store.

Product pages and the product feed each know some facts of a product (no
import writes product rows), and a write used to replace the whole row, so
each source wiped what only the other gives (a page's sizes and brand, the
feed's ``stock`` and ``consumable``). Now a write changes only the facts it
carries, per top-level key, new over old:

- a fact with a value replaces the stored one whole (``sizes``, ``variants``:
  the list or mapping the writer carries, not a union with the stored one);
- a fact written as ``None`` is gone: the writer says the product no longer
  has it (the feed for a ``stock`` it stopped listing); a writer that does not
  know a fact leaves it out (``catalog_feed.written_row``, ``PageViewRecorder.learn``);
- a fact left out keeps its stored value.

A price is kept per currency (``rules.prices``): the row's ``price`` and
``currency`` are its own currency's, and a write in another currency (a GBP
page of a product the feed lists in EUR) puts its price under ``prices`` for
that currency, never over the row's own or another currency's. A write naming
no currency is in the row's, as before. The row's own currency is the store's
(``own_currency``: the rules' ``catalog.currency``) once the row has a price in
it: a row first learned in a secondary market (a GBP page before any EUR
one), or before the store's currency changed, takes the store's as soon as a
price in it is written, its former own price moving under ``prices``; until
then, and in a store that names none, the first currency it learned. A store
selling in one currency never has ``prices``: its rows are as they were.

A row's kind never changes by a merge but one way: a product (a row without
``parent``) stays a product whatever a write names as its parent — unless the
write says ``fold: true``, a product's variant listed as a product of its own
before (a feed that listed each variant, a variant's page read as its own
product) that the feed or a page now lists as its group's variant: it becomes
that child, its facts kept (``catalog_feed.catalog_rows``; ``fold`` is never
stored), and the store moves its view and co-view counts to the group in the
same write (``folded``). A child (a size or an alias of ``parent``) stays a child when a
product's facts are written to it (a size's own page, a feed listing a size). A child written as a child again
takes the write's parent, size (an alias has none) and ``offered``: a child a
feed read no longer lists is written with ``offered: false``
(``catalog_feed``'s ``feed_children``), one listed again without it.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

import msgspec

KIND = ("parent", "size", "offered")
"""The keys that make a row a child, and whether its parent still offers it: only a write naming a
``parent`` sets them."""
FOLD = "fold"
"""A write's key (never stored): with a ``parent``, a product row becomes that child (a variant's old row)."""
PRICED = ("price", "currency", "prices")
"""The keys ``_merge_prices`` writes: a price under its currency."""


def merge_product(old: Mapping[str, Any] | None, new: Mapping[str, Any], own_currency: str | None = None) -> dict[str, Any]:
    """The row ``new`` makes of the stored ``old`` (None: no row yet), by the module's rule (``own_currency``:
    the store's, which a row's own price is in once it has one in it)."""
    out = dict(old) if old is not None else {}
    # a write naming a parent sets the row's kind, unless the row is a product already (and not folded)
    sets_kind = new.get("parent") is not None and (old is None or old.get("parent") is not None
                                                   or new.get(FOLD) is True)
    if sets_kind:
        for key in KIND:
            out.pop(key, None)  # the write's own parent, size (an alias: none) and offered
    for key, value in new.items():
        if key in KIND and not sets_kind or key in PRICED or key == FOLD:
            continue  # a product stays a product; a product's facts written to a child keep it a child
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    if "price" in new or "currency" in new or "prices" in new:
        _merge_prices(out, old or {}, new, own_currency)
    out["id"] = str(new["id"])
    return out


def _merge_prices(out: dict[str, Any], old: Mapping[str, Any], new: Mapping[str, Any], own_currency: str | None) -> None:
    """``new``'s price under its currency: the row's own ``price``/``currency`` when the row has no price yet
    or it is in the row's currency (or names none), else ``prices[currency]``; ``prices`` (a writer's other
    currencies) merged per currency, a ``None`` one gone. ``prices`` never holds the row's own currency, and
    a price in ``own_currency`` is the row's own (the one it had moving under ``prices``)."""
    prices = dict(old["prices"]) if isinstance(old.get("prices"), Mapping) else {}
    if isinstance(new.get("prices"), Mapping):
        for code, value in new["prices"].items():
            _put(prices, str(code), value)
    own, currency = old.get("currency"), new.get("currency")
    if currency is not None and own is not None and currency != own and old.get("price") is not None:
        if "price" in new:  # another currency's price: under that currency, the row's own stays
            _put(prices, currency, new["price"])
    else:
        for key in ("price", "currency"):
            if key in new:
                _put(out, key, new[key])
    own = out.get("currency")
    if own_currency is not None and own is not None and own != own_currency and own_currency in prices:
        if out.get("price") is not None:
            prices[own] = out["price"]  # the store's currency takes the row's own: the former own is another's
        out["price"], out["currency"] = prices.pop(own_currency), own_currency
        own = own_currency
    if own is not None and own in prices:
        kept = prices.pop(own)  # the row's own currency's price is its ``price``
        if out.get("price") is None:
            out["price"] = kept
    if prices:
        out["prices"] = prices
    else:
        out.pop("prices", None)


def _put(into: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        into.pop(key, None)
    else:
        into[key] = value


encode_product = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
"""A row as both stores keep it (``json.dumps(row, separators=(",", ":"))``, the text rows had before);
made once: ``dumps`` with arguments builds an encoder per call."""
_fast_decode = msgspec.json.Decoder().decode


def decode_product(raw: str) -> Any:
    """A stored row: read by msgspec (a feed's 10,000 rows, several times faster than ``json``), by
    ``json`` when msgspec refuses the text (``NaN``, ``Infinity``, as ``json`` writes them)."""
    try:
        return _fast_decode(raw)
    except msgspec.DecodeError:
        return json.loads(raw)


def merge_rows(stored: Mapping[str, str | None], rows: Iterable[Mapping[str, Any]],
               own_currency: str | None = None) -> dict[str, tuple[dict[str, Any], str]]:
    """(row, its JSON) after ``rows`` (in order: an id written twice takes both) over the ``stored`` JSON,
    for each id whose JSON changed: what a store writes. JSON, not dicts, is compared: ``10 == 10.0`` and
    ``1 == True``, yet a row that changed either way renders differently."""
    merged: dict[str, dict[str, Any] | None] = {}
    for row in rows:
        pid = str(row["id"])
        if pid not in merged:
            raw = stored.get(pid)
            merged[pid] = decode_product(raw) if raw else None
        merged[pid] = merge_product(merged[pid], row, own_currency)
    out: dict[str, tuple[dict[str, Any], str]] = {}
    for pid, product in merged.items():
        assert product is not None  # every id was merged at least once
        data = encode_product(product)
        if data != stored.get(pid):
            out[pid] = (product, data)
    return out


def changes(stored: Mapping[str, Mapping[str, Any]], rows: Iterable[Mapping[str, Any]],
            own_currency: str | None = None) -> bool:
    """Whether ``rows`` would change the ``stored`` rows (parsed, as ``Store.get_products`` gives them): a
    writer that checks first reads instead of taking a write transaction for nothing."""
    return bool(merge_rows({pid: encode_product(row) for pid, row in stored.items()}, rows, own_currency))


def folded(stored: Mapping[str, str | None], changed: Mapping[str, tuple[dict[str, Any], str]]) -> list[tuple[str, str]]:
    """(child, its parent) for each product row ``changed`` (``merge_rows``) makes a child of its group (``FOLD``):
    the store moves the row's view and co-view counts to the group in the same write. Why there: "popular" and
    "viewed together" read the group's counts, and a row that is a child already (a fold read again, another
    worker's) is no fold, so nothing is counted twice."""
    out = []
    for pid, (row, _) in changed.items():
        raw, parent = stored.get(pid), row.get("parent")
        if raw and parent is not None and ('"parent"' not in raw or decode_product(raw).get("parent") is None):
            out.append((pid, str(parent)))
    return out
