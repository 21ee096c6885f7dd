"""Machine-readable catalog exports: the JSON product feed and a large streamed CSV.

The feed is one way the proxy learns the catalog (the other is JSON-LD on
product pages). The CSV exists to exercise the proxy with a big, streamed,
non-HTML body (about 1 MB, no Content-Length, sent in chunks).
"""

from __future__ import annotations

import csv
import hashlib
import io
from typing import AsyncIterator

from .catalog import CURRENCY, Catalog, Product

STORES = (
    "Amsterdam Centraal", "Berlin Mitte", "Brussels Louise", "Copenhagen Strøget", "Dublin Grafton",
    "Hamburg Altona", "Lisbon Chiado", "Lyon Part-Dieu", "Madrid Sol", "Milan Brera",
    "Munich Marienplatz", "Oslo Aker Brygge", "Paris Marais", "Prague Old Town", "Rotterdam Markthal",
    "Stockholm Södermalm", "Utrecht Hoog Catharijne", "Vienna Neubau", "Warsaw Śródmieście", "Zurich Bahnhofstrasse",
)
CSV_COLUMNS = (
    "sku", "product_id", "name", "brand", "category", "category_slug", "size", "store",
    "stock", "price", "currency", "description",
)


def product_json(product: Product, base_url: str) -> dict[str, object]:
    """One feed entry; ``base_url`` without the trailing slash."""
    return {
        "id": product.id,
        "name": product.name,
        "brand": product.brand,
        "category": product.category.name,
        "category_slug": product.category_slug,
        "price": float(product.price),
        "currency": CURRENCY,
        "image": base_url + product.image_path,
        "url": base_url + product.path,
        "in_stock": product.in_stock,
        "sizes": list(product.sizes),
        "sizes_available": list(product.available_sizes),
        "stock": online_stock(product),
    }


def feed(catalog: Catalog, base_url: str) -> dict[str, object]:
    return {
        "currency": CURRENCY,
        "categories": [{"name": c.name, "slug": c.slug} for c in catalog.categories],
        "products": [product_json(p, base_url) for p in catalog.products],
    }


LOW_STOCK = {"203": 1, "402": 2}
"""Products the web shop has almost sold out of (the "only one left!" story), by id."""


def online_stock(product: Product) -> int:
    """Units the web shop has (the feed's ``stock``, the page's ``inventoryLevel``): deterministic,
    0 when every size is sold out."""
    if not product.in_stock:
        return 0
    if product.id in LOW_STOCK:
        return LOW_STOCK[product.id]
    digest = hashlib.blake2b(f"{product.id}|web".encode(), digest_size=2).digest()
    return 5 + int.from_bytes(digest, "big") % 60


def _stock(product: Product, size: str, store: str) -> int:
    """Deterministic per-store stock: zero for sold-out sizes."""
    if size in product.sold_out:
        return 0
    digest = hashlib.blake2b(f"{product.id}|{size}|{store}".encode(), digest_size=2).digest()
    return int.from_bytes(digest, "big") % 25


def csv_rows(catalog: Catalog) -> list[tuple[object, ...]]:
    return [
        (
            f"{p.id}-{size}-{store_no:02d}", p.id, p.name, p.brand, p.category.name, p.category_slug, size,
            store, _stock(p, size, store), p.price_str, CURRENCY, p.description,
        )
        for p in catalog.products
        for size in p.sizes
        for store_no, store in enumerate(STORES, start=1)
    ]


async def catalog_csv(catalog: Catalog, *, chunk_size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """Yield the per-store stock CSV (~1 MB: product x size x store) in ~64 KiB chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in csv_rows(catalog):
        writer.writerow(row)
        if buffer.tell() >= chunk_size:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")
