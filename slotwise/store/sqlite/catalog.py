"""The product catalog learned from pages and feeds, with view and co-view counts."""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Iterable, Mapping

from slotwise.store.sqlite.db import Database, schema

schema("""
CREATE TABLE IF NOT EXISTS products (
    id TEXT PRIMARY KEY,
    category TEXT,
    data TEXT NOT NULL,
    views INTEGER NOT NULL DEFAULT 0,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS products_category ON products(category, views);
CREATE TABLE IF NOT EXISTS coviews (
    a TEXT NOT NULL,
    b TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (a, b)
);
""")


def count_product_view(cur: sqlite3.Cursor, product: str, co_viewed: Iterable[str]) -> None:
    cur.execute("UPDATE products SET views = views + 1 WHERE id = ?", (product,))
    for other in co_viewed:
        if other == product:
            continue
        for a, b in ((product, other), (other, product)):
            cur.execute(
                "INSERT INTO coviews(a, b, n) VALUES (?, ?, 1) ON CONFLICT(a, b) DO UPDATE SET n = n + 1",
                (a, b),
            )


class CatalogMixin:
    db: Database

    async def upsert_products(self, products: Iterable[Mapping[str, Any]], now: float) -> int:
        count = 0
        with self.db.transaction() as cur:
            for p in products:
                cur.execute(
                    "INSERT INTO products(id, category, data, updated) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET category = excluded.category, data = excluded.data, "
                    "updated = excluded.updated",
                    (str(p["id"]), p.get("category"), json.dumps(dict(p), separators=(",", ":")), now),
                )
                count += 1
        return count

    async def get_products(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = list(dict.fromkeys(str(i) for i in ids))
        if not ids:
            return {}
        rows = self.db.query(f"SELECT id, data FROM products WHERE id IN ({','.join('?' * len(ids))})", tuple(ids))
        return {r[0]: json.loads(r[1]) for r in rows}

    async def list_products(self, category: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        if category is None:
            rows = self.db.query("SELECT data FROM products ORDER BY id LIMIT ?", (limit,))
        else:
            rows = self.db.query("SELECT data FROM products WHERE category = ? ORDER BY id LIMIT ?", (category, limit))
        return [json.loads(r[0]) for r in rows]

    async def record_product_view(self, product: str, co_viewed: Iterable[str]) -> None:
        with self.db.transaction() as cur:
            count_product_view(cur, product, co_viewed)

    async def record_product_view_soon(self, product: str, co_viewed: Iterable[str]) -> None:
        """This store alone writes at once; ``profile_cache.CachedProfiles`` batches."""
        await self.record_product_view(product, co_viewed)

    async def popular(self, category: str | None, limit: int) -> list[str]:
        if category is None:
            rows = self.db.query("SELECT id FROM products ORDER BY views DESC, id LIMIT ?", (limit,))
        else:
            rows = self.db.query(
                "SELECT id FROM products WHERE category = ? ORDER BY views DESC, id LIMIT ?", (category, limit)
            )
        return [r[0] for r in rows]

    async def co_viewed(self, product: str, limit: int) -> list[str]:
        rows = self.db.query("SELECT b FROM coviews WHERE a = ? ORDER BY n DESC, b LIMIT ?", (product, limit))
        return [r[0] for r in rows]
