"""The product catalog learned from pages and feeds, with view and co-view counts.

Reads of products are kept per store object (per worker), parsed, under the
catalog's version: a random number in ``catalog_version`` that every change of
a product row changes in the same transaction (``upsert_products``, the one
method that writes ``products.data``; a write that changes no row leaves it).
Each ``get_products`` takes the version (one row, no JSON) and uses what it
kept only while the version is the one it was read under: a worker never
answers with a product older than the database was when the version was
read, whoever wrote it (another worker, a feed). Why: a
recommendation block asked for ~30 products per page view, a query with a
30-item ``IN`` list and a ``json.loads`` per row (~0.3 ms), for products that
change a few times a day. View counts (``views``) are not product data: they
change on every page view and do not touch the version.

The version is read with the visitor's profile head (``profiles.HEAD_SQL``,
one query a page view) and used by the product reads that follow within
``CATALOG_SEEN_S``: a page's products are those of the catalog when its
profile was read. Other reads ask for the version themselves, and this
store's own product writes are seen at once. Before any of that, a version
read while the change board (``board``, shared memory) held it stays
trusted, without a query, until the board holds another: every write of the
version marks the board before its commit.
"""

from __future__ import annotations

from collections import Counter

import json
import sqlite3
import threading
import time
from typing import Any, Iterable, Mapping

from slotwise.lru import LRUCache

from slotwise.store.catalog_merge import folded, merge_rows
from slotwise.store.sqlite.db import Database, new_version, schema

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
CREATE TABLE IF NOT EXISTS catalog_version (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    version INTEGER NOT NULL
);
INSERT OR IGNORE INTO catalog_version(id, version) VALUES (0, 0);
""")

KEPT_PRODUCTS = 4096
"""Products a store object keeps parsed (least recently used go first)."""
READ_CHUNK = 500
"""Stored rows a write asks for per query (SQLite bounds a query's parameters)."""
CATALOG_SEEN_S = 0.05
"""How long a catalog version read with a profile head serves the product reads that follow (one page)."""


class KeptProducts:
    """Parsed product rows (None: no such product) of one catalog version; another version empties it."""

    def __init__(self, size: int = KEPT_PRODUCTS) -> None:
        self._rows: LRUCache[str, dict[str, Any] | None] = LRUCache(maxsize=size)
        self._version: int | None = None
        self._lock = threading.Lock()

    def lookup(self, version: int, ids: list[str], copy: bool = True) -> tuple[dict[str, dict[str, Any]], list[str]]:
        """(the kept products among ``ids``, copied unless ``copy`` is False; the ids not kept) at
        ``version``. Uncopied, they are the kept rows themselves: read-only (``read_products``)."""
        found: dict[str, dict[str, Any]] = {}
        missing: list[str] = []
        with self._lock:
            if version != self._version:
                self._rows.clear()
                self._version = version
            rows = self._rows
            for pid in ids:
                row = rows.get(pid, self)
                if row is self:
                    missing.append(pid)
                elif row is not None:
                    found[pid] = dict(row) if copy else row  # a caller may change its copy, never the kept one
        return found, missing

    def keep(self, version: int, rows: Mapping[str, dict[str, Any]], asked: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Rows read at ``version`` or later (a later one is dropped at the next lookup); returns the
        kept copies (none when the version has moved on)."""
        kept: dict[str, dict[str, Any]] = {}
        with self._lock:
            if version != self._version:
                return kept
            for pid in asked:
                row = rows.get(pid)
                self._rows[pid] = copy = dict(row) if row is not None else None
                if copy is not None:
                    kept[pid] = copy
        return kept


def count_product_view(cur: sqlite3.Cursor, product: str, co_viewed: Iterable[str]) -> None:
    count_product_views(cur, [(product, co_viewed)])


def count_product_views(cur: sqlite3.Cursor, views: Iterable[tuple[str, Iterable[str]]]) -> None:
    """Counts product views and co-views (both ways), summed first: the profile writer's group of
    many pages of one product is one statement per product and per pair, not one per view."""
    viewed: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    for product, co_viewed in views:
        viewed[product] += 1
        for other in co_viewed:
            if other != product:
                pairs[(product, other)] += 1
                pairs[(other, product)] += 1
    cur.executemany("UPDATE products SET views = views + ? WHERE id = ?", [(n, p) for p, n in viewed.items()])
    if pairs:
        cur.executemany(
            "INSERT INTO coviews(a, b, n) VALUES (?, ?, ?) ON CONFLICT(a, b) DO UPDATE SET n = n + excluded.n",
            [(a, b, n) for (a, b), n in pairs.items()],
        )


def move_counts(cur: sqlite3.Cursor, child: str, parent: str) -> None:
    """A folded row's views and co-views, added to its parent's (``catalog_merge.folded``), in the write that
    folds it. Its co-views with the parent itself are dropped: a product is not "viewed together" with its
    own variant. The views stay the child's when the catalog has no row of the parent to count them on."""
    (views,) = cur.execute("SELECT views FROM products WHERE id = ?", (child,)).fetchone()
    if views and cur.execute("UPDATE products SET views = views + ? WHERE id = ?", (views, parent)).rowcount:
        cur.execute("UPDATE products SET views = 0 WHERE id = ?", (child,))
    pairs = cur.execute("SELECT b, n FROM coviews WHERE a = ? AND b != ?", (child, parent)).fetchall()
    cur.executemany(
        "INSERT INTO coviews(a, b, n) VALUES (?, ?, ?) ON CONFLICT(a, b) DO UPDATE SET n = n + excluded.n",
        [(parent, b, n) for b, n in pairs] + [(b, parent, n) for b, n in pairs],
    )
    cur.execute("DELETE FROM coviews WHERE a = ? OR b = ?", (child, child))


class CatalogMixin:
    db: Database
    _kept_products: KeptProducts | None = None
    _catalog_seen: tuple[int, float] | None = None  # (version, monotonic time) read with a profile head
    _catalog_known: int | None = None  # a version read while the change board held it

    async def upsert_products(self, products: Iterable[Mapping[str, Any]], now: float,
                              own_currency: str | None = None) -> int:
        """Merges each row into the stored one (``catalog_merge``: the facts it carries, the others kept),
        read and written in one transaction; the version changes only when a row did."""
        rows = list(products)
        ids = list(dict.fromkeys(str(p["id"]) for p in rows))
        with self.db.transaction() as cur:
            stored: dict[str, str | None] = {}
            for start in range(0, len(ids), READ_CHUNK):
                chunk = ids[start:start + READ_CHUNK]
                stored.update(cur.execute(
                    f"SELECT id, data FROM products WHERE id IN ({','.join('?' * len(chunk))})", chunk))
            changed = merge_rows(stored, rows, own_currency)
            cur.executemany(
                "INSERT INTO products(id, category, data, updated) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET category = excluded.category, data = excluded.data, "
                "updated = excluded.updated",
                [(pid, p.get("category"), data, now) for pid, (p, data) in changed.items()],
            )
            for child, parent in folded(stored, changed):
                move_counts(cur, child, parent)
            if changed:
                cur.execute("UPDATE catalog_version SET version = ? WHERE id = 0", (new_version(),))
        if changed:
            self._catalog_seen = None  # this store's own write: seen at once
        return len(rows)

    def saw_catalog_version(self, version: int) -> None:
        """The version, read with a page's profile head: the page's product reads use it."""
        self._catalog_seen = (int(version), time.monotonic())
        self._know_catalog(int(version))

    def _know_catalog(self, version: int) -> None:
        """A version just read is trusted while the change board holds it (``board``: it held it
        right after the read, so no write was in flight)."""
        board = self.db.board
        if board is not None and board.catalog() == version:
            self._catalog_known = version

    def catalog_version(self) -> int:
        """Changes with every write of a product row (see the module docstring)."""
        board, known = self.db.board, self._catalog_known
        if known is not None and board is not None and board.catalog() == known:
            return known  # no write of the catalog since it was read: no query
        seen = self._catalog_seen
        if seen is not None and time.monotonic() - seen[1] < CATALOG_SEEN_S:
            return seen[0]
        version = int(self.db.query("SELECT version FROM catalog_version WHERE id = 0")[0][0])
        self._know_catalog(version)
        return version

    async def catalog_stamp(self) -> int:
        """The catalog's version (``Store.catalog_stamp``)."""
        return self.catalog_version()

    async def get_products(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The known products among ``ids`` (each a fresh dict), parsed once per catalog version."""
        return self._products(ids, copy=True)

    async def read_products(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """``get_products`` without the copies: the kept rows themselves, which nobody may change.
        Why: a recommendation slot reads ~30 candidates a page to show four (``rank`` copies those),
        and the same row object while the version holds lets a reader key work on it once."""
        return self._products(ids, copy=False)

    def _products(self, ids: Iterable[str], copy: bool) -> dict[str, dict[str, Any]]:
        ids = list(dict.fromkeys(str(i) for i in ids))
        if not ids:
            return {}
        if self._kept_products is None:
            self._kept_products = KeptProducts()
        version = self.catalog_version()  # before the rows: what is kept is never older than its version
        found, missing = self._kept_products.lookup(version, ids, copy)
        if missing:
            rows = self.db.query(f"SELECT id, data FROM products WHERE id IN ({','.join('?' * len(missing))})",
                                 tuple(missing))
            read = {r[0]: json.loads(r[1]) for r in rows}
            kept = self._kept_products.keep(version, read, missing)
            found.update(read if copy else {**read, **kept})
        return {pid: found[pid] for pid in ids if pid in found}

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
