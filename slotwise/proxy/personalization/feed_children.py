"""What a feed read says of the child products it no longer lists: variants discontinued, or re-keyed.

A mapped feed with ``sizes`` writes each product's ``variants`` whole and a
child row per variant (``catalog_feed.catalog_rows``). A variant is its child
id, its size a fact of it: the size map names the first child of each size,
and the others of a size (Red / M after Blue / M: colours) the product's row
keeps under ``more_sizes`` ([[child, size], ...], the read's, written whole
by the feed alone: a page lists a group's variants only in part). When the
next read lists fewer variants — some sizes or colours, or none at all (every
size sold out for good) — or the same under new ids (new SKUs), the children
it stopped listing are not deleted: a line naming one (an order placed
before, a return, an import of past purchases) must still be that product in
that size, or history would be lost. They are kept with their ``parent`` and
``size`` and marked ``offered: false``: no longer what the store sells. And
the product's ``sizes`` (the sizes in stock a product page wrote) lose the
sizes the feed no longer lists, so ``page.product.sizes`` and a card's sizes
do not offer them; a product listed without a size maps none (no
``variants``). A child listed again (by the feed or a page) is written as a
child again, which takes ``offered`` away (``catalog_merge.KIND``).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping


def children_of(product: Mapping[str, Any]) -> list[str]:
    """The ids a feed product names as its children: its ``other_id``, ``aliases``, sizes and ``more_sizes``."""
    found = (product.get("other_id"), *product.get("aliases", ()), *(product.get("variants") or {}).values(),
             *(child for child, _ in product.get("more_sizes", ())))
    return [str(child) for child in found if child]


def listed_before(products: Iterable[Mapping[str, Any]], stored: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The children the stored rows of ``products`` listed (their ``variants`` and ``more_sizes``): the rows
    ``unlisted_rows`` needs read too."""
    out: list[str] = []
    for product in products:
        before = stored.get(str(product["id"])) or {}
        if isinstance(before.get("variants"), Mapping):
            out += [str(child) for child in before["variants"].values() if child]
        out += [str(pair[0]) for pair in before.get("more_sizes") or () if isinstance(pair, list) and pair]
    return out


def unlisted_rows(products: list[Mapping[str, Any]],
                  stored: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows that say what a read of ``products`` no longer offers: each child a product listed before
    (``stored``: the products' rows and those children's) and not now, still a child of that product, marked
    ``offered: false`` (its parent and size kept); the product's stored ``sizes`` without the sizes it no
    longer lists, its ``variants`` gone when it lists none, and its ``more_sizes`` the read's. Only for a read
    that says each product's sizes (a mapping with ``sizes``: a feed without says nothing of them)."""
    listed = {str(p["id"]) for p in products} | {child for p in products for child in children_of(p)}
    rows: list[dict[str, Any]] = []
    for product in products:
        pid, variants = str(product["id"]), product.get("variants") or {}
        before = stored.get(pid) or {}
        if before.get("parent"):
            continue
        for child in listed_before([product], stored):
            row = stored.get(child) or {}
            if child not in listed and row.get("parent") == pid and row.get("offered") is not False:
                rows.append({"id": child, "parent": pid, **({"size": row["size"]} if row.get("size") else {}),
                             "offered": False})
        update: dict[str, Any] = {}
        sizes = before.get("sizes")
        if isinstance(sizes, list) and any(size not in variants for size in sizes):
            update["sizes"] = [size for size in sizes if size in variants]
        if not variants and before.get("variants"):
            update["variants"] = None
        more = [[child, size] for child, size in product.get("more_sizes", ())]
        if more != (before.get("more_sizes") or []):
            update["more_sizes"] = more or None
        if update:
            rows.append({"id": pid, **update})
    return rows
