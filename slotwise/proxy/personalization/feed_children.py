"""What a feed read says of the child products it no longer lists: sizes discontinued, or re-keyed.

A mapped feed writes each product's ``variants`` whole and a child row per
size (``catalog_feed.catalog_rows``). When the next read lists fewer sizes, or
the same sizes under new ids (new SKUs), the children it stopped listing are
not deleted: a line naming one (an order placed before, a return, an import of
past purchases) must still be that product in that size, or history would be
lost. They are kept with their ``parent`` and ``size`` and marked
``offered: false``: no longer what the store sells. And the product's
``sizes`` (the sizes in stock a product page wrote) lose the sizes the feed no
longer lists, so ``page.product.sizes`` and a card's sizes do not offer them.
A child listed again (by the feed or a page) is written as a child again,
which takes ``offered`` away (``catalog_merge.KIND``).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping


def children_of(product: Mapping[str, Any]) -> list[str]:
    """The ids a feed product names as its children: its ``other_id``, ``aliases``, sizes and ``more_sizes``."""
    found = (product.get("other_id"), *product.get("aliases", ()), *(product.get("variants") or {}).values(),
             *(child for child, _ in product.get("more_sizes", ())))
    return [str(child) for child in found if child]


def listed_before(products: Iterable[Mapping[str, Any]], stored: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The children the stored rows of ``products`` listed as their sizes (their ``variants``): the rows
    ``unlisted_rows`` needs read too."""
    out: list[str] = []
    for product in products:
        before = stored.get(str(product["id"])) or {}
        if product.get("variants") and isinstance(before.get("variants"), Mapping):
            out += [str(child) for child in before["variants"].values() if child]
    return out


def unlisted_rows(products: list[Mapping[str, Any]],
                  stored: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows that say what a read of ``products`` no longer offers: each child a product listed as its
    size before (``stored``: the products' rows and those children's) and not now, still a child of that
    product, marked ``offered: false`` (its parent and size kept); the product's stored ``sizes`` without
    the sizes it no longer lists. Only for products the read lists sizes of (a feed or an item without
    sizes says nothing of them)."""
    listed = {str(p["id"]) for p in products} | {child for p in products for child in children_of(p)}
    rows: list[dict[str, Any]] = []
    for product in products:
        pid, variants = str(product["id"]), product.get("variants")
        before = stored.get(pid) or {}
        if not variants or before.get("parent"):
            continue
        for child in listed_before([product], stored):
            row = stored.get(child) or {}
            if child not in listed and row.get("parent") == pid and row.get("offered") is not False:
                rows.append({"id": child, "parent": pid, **({"size": row["size"]} if row.get("size") else {}),
                             "offered": False})
        sizes = before.get("sizes")
        if isinstance(sizes, list) and any(size not in variants for size in sizes):
            rows.append({"id": pid, "sizes": [size for size in sizes if size in variants]})
    return rows
