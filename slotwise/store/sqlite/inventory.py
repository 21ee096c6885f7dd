"""Stock per physical store (``slotwise import inventory``): what "in stock at <store>" reads."""

from __future__ import annotations

from typing import Iterable, Mapping

from slotwise.store.base import InventoryChange, InventoryRow
from slotwise.store.sqlite.db import Database, schema

schema("""
CREATE TABLE IF NOT EXISTS inventory (
    store TEXT NOT NULL,
    product TEXT NOT NULL,
    size TEXT NOT NULL DEFAULT '',
    qty INTEGER NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (store, product, size)
);
CREATE INDEX IF NOT EXISTS inventory_product ON inventory(product);
CREATE TABLE IF NOT EXISTS inventory_stores (
    store TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
""")


class InventoryMixin:
    db: Database

    async def replace_inventory(self, stores: Mapping[str, str], rows: Iterable[InventoryRow],
                                now: float) -> InventoryChange:
        """The named stores' whole stock becomes ``rows``, in one transaction (nothing half-applied)."""
        wanted = {(r.store, r.product, r.size or ""): int(r.qty) for r in rows}
        change = InventoryChange()
        with self.db.transaction() as cur:
            marks = ",".join("?" * len(stores))
            have = {
                (r[0], r[1], r[2]): int(r[3])
                for r in cur.execute(f"SELECT store, product, size, qty FROM inventory WHERE store IN ({marks})",
                                     tuple(stores))
            } if stores else {}
            gone = [key for key in have if key not in wanted]
            cur.executemany("DELETE FROM inventory WHERE store = ? AND product = ? AND size = ?", gone)
            upserts = [(*key, qty, now) for key, qty in wanted.items() if have.get(key) != qty]
            cur.executemany(
                "INSERT INTO inventory(store, product, size, qty, updated) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(store, product, size) DO UPDATE SET qty = excluded.qty, updated = excluded.updated",
                upserts,
            )
            cur.executemany(
                "INSERT INTO inventory_stores(store, name) VALUES (?, ?) "
                "ON CONFLICT(store) DO UPDATE SET name = excluded.name",
                list(stores.items()),
            )
            change.removed = len(gone)
            change.added = sum(1 for key in wanted if key not in have)
            change.changed = len(upserts) - change.added
        change.unchanged = len(wanted) - change.added - change.changed
        return change

    async def store_stock(self, products: Iterable[str]) -> list[InventoryRow]:
        products = list(dict.fromkeys(str(p) for p in products))
        if not products:
            return []
        rows = self.db.query(
            f"SELECT store, product, size, qty FROM inventory WHERE product IN ({','.join('?' * len(products))}) "
            "ORDER BY store, product, size",
            tuple(products),
        )
        return [InventoryRow(r[0], r[1], r[2] or None, int(r[3])) for r in rows]

    async def inventory_stores(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self.db.query("SELECT store, name FROM inventory_stores ORDER BY store")}


