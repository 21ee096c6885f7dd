"""``slotwise import inventory FILE``: the stock of physical stores, from a POS/ERP export.

Columns (a header row; names are case-insensitive)::

    store               the physical store (its id or name; one key per store, ``keys.store_key``)
    product | product_id | sku
                        the product (the first of these columns the file has); a SKU the catalog
                        knows as one size of a product counts as that size
    size                optional: the size (``keys.size_key``); empty for products without sizes
                        (and a value the rules' ``catalog.not_sizes`` names; a ``catalog.size_names``
                        name is its size's key: ``--rules``)
    quantity | qty | stock
                        units on hand: a whole number, 0 or more
    store_name          optional: the store's display name (else the rules' ``stores.names``, else its id)

A file is the whole stock of the stores it names: importing it replaces
those stores' stock, and rows it no longer lists are gone. So importing the
same file twice changes nothing. Every row is checked before anything is
written, and one bad row rejects the file (``FILE:LINE: field: reason`` for
each): stock half from the old file and half from the new one would send
people to a store for a size it never had.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from slotwise.keys import product_key, store_key
from slotwise.rules.size_vocabulary import PLAIN_SIZES, SizeVocabulary
from slotwise.store.base import InventoryChange, InventoryRow, Store
from slotwise.tag.imports import ImportFileError, Rejections, _Progress, read_csv

PRODUCT_COLUMNS = ("product", "product_id", "sku")
QUANTITY_COLUMNS = ("quantity", "qty", "stock")
MAX_QTY = 10_000_000


class InventoryRowError(ValueError):
    """One row is wrong; the message names the field."""


@dataclass
class InventoryReport(Rejections):
    file: str
    rows: int = 0
    stores: int = 0
    applied: bool = False
    change: InventoryChange = field(default_factory=InventoryChange)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "inventory", "file": self.file, "rows": self.rows, "stores": self.stores, "applied": self.applied,
            "added": self.change.added, "changed": self.change.changed, "removed": self.change.removed,
            "unchanged": self.change.unchanged, **self.rejections_dict(),
        }


def _clean(row: dict[str, str], name: str) -> str:
    value = row.get(name) or ""
    if any((ord(ch) < 32 and ch not in "\t ") or ord(ch) == 127 for ch in value):
        raise InventoryRowError(f"{name}: control characters are not allowed")
    return value.strip()


def _first(row: dict[str, str], names: Sequence[str]) -> tuple[str, str]:
    for name in names:
        if name in row:
            return name, _clean(row, name)
    raise InventoryRowError(f"needs one of {', '.join(names)}")  # pragma: no cover - the header was checked


def parse_inventory_row(row: dict[str, str], sizes: SizeVocabulary = PLAIN_SIZES) -> tuple[InventoryRow, str | None, str]:
    """One row as ``(InventoryRow, its store_name or None, the store as written)``; ``InventoryRowError``
    names the bad field. ``sizes``: the rules' size vocabulary (a value that names no size: none; a size's name: its key)."""
    raw_store = _clean(row, "store")
    store = store_key(raw_store)
    if not store:
        raise InventoryRowError("store: empty")
    column, raw_product = _first(row, PRODUCT_COLUMNS)
    product = product_key(raw_product)
    if not product:
        raise InventoryRowError(f"{column}: empty")
    size = sizes.size_of(_clean(row, "size")) if "size" in row else None
    column, raw_qty = _first(row, QUANTITY_COLUMNS)
    try:
        qty = float(raw_qty)
    except ValueError:
        raise InventoryRowError(f"{column}: {raw_qty[:40]!r} is not a whole number") from None
    if not math.isfinite(qty) or not qty.is_integer() or not 0 <= qty <= MAX_QTY:
        raise InventoryRowError(f"{column}: {raw_qty[:40]!r} must be a whole number from 0 to {MAX_QTY}")
    return InventoryRow(store, product, size, int(qty)), _clean(row, "store_name") or None, raw_store


async def _resolve_skus(store: Store, rows: list[InventoryRow], sizes: SizeVocabulary) -> list[InventoryRow]:
    """A SKU the catalog knows as one size of a product (a child product) becomes that product in that size;
    in none when the rules say its stored size names none (a ``Default Title`` child learned before they did)."""
    catalog = await store.get_products({r.product for r in rows if r.size is None})
    out = []
    for row in rows:
        entry = catalog.get(row.product) if row.size is None else None
        if entry and entry.get("parent"):
            row = InventoryRow(row.store, str(entry["parent"]), sizes.size_of(entry.get("size")), row.qty)
        out.append(row)
    return out


async def import_inventory_file(store: Store, path: str | Path, now: float, *, progress: bool = False,
                                sizes: SizeVocabulary = PLAIN_SIZES) -> InventoryReport:
    """Checks every row, then replaces the named stores' stock in one step (see the module docstring).
    ``sizes``: the rules' size vocabulary (``slotwise import inventory --rules``)."""
    path = Path(path)
    report = InventoryReport(file=str(path))
    try:
        binary = path.open("rb")
    except OSError as exc:
        raise ImportFileError(f"{path}: {exc.strerror or exc}") from exc
    rows: list[InventoryRow] = []
    names: dict[str, str] = {}  # store -> the store_name column's value
    labels: dict[str, str] = {}  # store -> the store column as first written (the name when none is given)
    first_line: dict[tuple[str, str, str], int] = {}
    with binary:
        bar = _Progress(binary, path, progress)
        try:
            for line, row, reason in read_csv(binary, str(path), ("store",), PRODUCT_COLUMNS):
                report.rows += 1
                if report.rows % 10_000 == 0:
                    bar.update()
                if row is None:
                    report.reject(line, reason or "unreadable")
                    continue
                if not any(c in row for c in QUANTITY_COLUMNS):
                    raise ImportFileError(f"{path}: missing column: {' or '.join(QUANTITY_COLUMNS)}; "
                                          f"found: {', '.join(row)}")
                try:
                    parsed, name, label = parse_inventory_row(row, sizes)
                except InventoryRowError as exc:
                    report.reject(line, str(exc))
                    continue
                key = (parsed.store, parsed.product, parsed.size or "")
                if key in first_line:
                    report.reject(line, f"duplicate of line {first_line[key]} (store {parsed.store!r}, product "
                                        f"{parsed.product!r}, size {parsed.size or ''!r})")
                    continue
                first_line[key] = line
                if name and names.get(parsed.store) not in (None, name):
                    report.reject(line, f"store_name: {name!r} differs from {names[parsed.store]!r} given earlier "
                                        f"for store {parsed.store!r}")
                    continue
                if name:
                    names[parsed.store] = name
                labels.setdefault(parsed.store, label)
                rows.append(parsed)
        finally:
            bar.update()
            bar.close()
    if report.rejected_count:
        return report  # nothing written: the store keeps the last good stock
    rows = await _resolve_skus(store, rows, sizes)
    if len({(r.store, r.product, r.size or "") for r in rows}) != len(rows):
        report.reject(0, "two rows name the same store, product and size once SKUs are read as sizes")
        return report
    stores = {s: names.get(s) or label for s, label in labels.items()}
    report.stores = len(stores)
    report.change = await store.replace_inventory(stores, rows, now)
    report.applied = True
    return report
