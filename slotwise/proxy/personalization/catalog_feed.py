"""The catalog from a product feed, and product URLs made to point at the proxy.

Products learned from pages (JSON-LD) and from feeds often carry absolute
URLs naming the storefront's own host — the upstream behind the proxy. A
recommendation card must link through the proxy, so such URLs become
site-relative paths.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import urljoin, urlsplit

import httpx

from slotwise import lenient_json
from slotwise.keys import category_key, product_key
from slotwise.proxy.forwarding.encoding import Decoder, streamable
from slotwise.proxy.forwarding.errors import DecodeError
from slotwise.rules.actions import safe_link
from slotwise.rules.jsonld import stock_count, usable_price
from slotwise.store.base import Store

log = logging.getLogger("slotwise.catalog")

REFRESH_S = 600.0
MAX_FEED_BYTES = 50 * 1024 * 1024


def relative_to_upstream(url: Any, upstream_netloc: str) -> Any:
    """``http://upstream/p/1?x`` → ``/p/1?x``; other URLs unchanged."""
    if not isinstance(url, str) or not upstream_netloc:
        return url
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc.lower() == upstream_netloc.lower():
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return url


def localize(product: Mapping[str, Any], upstream_netloc: str) -> dict[str, Any]:
    """Links through the proxy, and only links a template may use (``actions.safe_link``)."""
    out = dict(product)
    for key in ("url", "image"):
        out[key] = safe_link(relative_to_upstream(out.get(key), upstream_netloc))
    return out


def _in_stock(item: Mapping[str, Any]) -> bool | None:
    if isinstance(item.get("in_stock"), bool):
        return item["in_stock"]
    availability = str(item.get("availability") or "").rsplit("/", 1)[-1].lower()
    if availability in ("instock", "in stock", "in_stock", "limitedavailability", "onlineonly"):
        return True
    if availability in ("outofstock", "out of stock", "out_of_stock", "soldout", "discontinued"):
        return False
    return None


def normalize_feed_item(item: Mapping[str, Any], upstream_netloc: str) -> dict[str, Any] | None:
    """One feed entry as a catalog product (the keys JSON-LD products have), or None."""
    pid = item.get("id") or item.get("sku") or item.get("product_id")
    if pid is None or str(pid).strip() == "":
        return None
    category_name = item.get("category_name") or item.get("category")
    category = category_key(item.get("category_slug") or category_name)
    price = item.get("price")
    try:
        price = usable_price(float(price)) if price is not None else None
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer past float's range
        price = None
    extra: dict[str, Any] = {}
    stock = stock_count(next((item[k] for k in ("stock", "quantity", "inventory_quantity") if k in item), None))
    if stock is not None:  # the store's own count: what "only N left" may say
        extra["stock"] = stock
    if isinstance(item.get("consumable"), bool):  # replenishment: the feed marks what runs out
        extra["consumable"] = item["consumable"]
    return localize(
        {
            **extra,
            "id": product_key(pid),
            "name": item.get("name") or item.get("title"),
            "url": item.get("url") or item.get("link"),
            "image": item.get("image") or item.get("image_link"),
            "price": price,
            "currency": item.get("currency") or item.get("priceCurrency"),
            "category": category,
            "category_name": category_name,
            "brand": item.get("brand"),
            "in_stock": _in_stock(item),
        },
        upstream_netloc,
    )


def parse_feed(data: Any, upstream_netloc: str) -> list[dict[str, Any]]:
    """A JSON feed: a list of products, or an object with a ``products`` (or ``items``) list."""
    items: Iterable[Any]
    if isinstance(data, list):
        items = data
    elif isinstance(data, dict):
        items = data.get("products") or data.get("items") or []
    else:
        raise ValueError("a product feed is a JSON list, or an object with a 'products' list")
    products = []
    for item in items:
        if isinstance(item, Mapping):
            product = normalize_feed_item(item, upstream_netloc)
            if product is not None:
                products.append(product)
    return products


async def _bounded_body(response: httpx.Response, limit: int) -> bytes:
    """The decoded body, read and inflated piece by piece: a gzip bomb stops at ``limit``, not in memory."""
    coding = response.headers.get("content-encoding")
    if not streamable(coding):
        raise ValueError(f"feed content-encoding {coding!r} not supported")
    decoder, out = Decoder(coding), bytearray()
    try:
        async for chunk in response.aiter_raw():
            for piece in decoder.pieces(chunk):
                out += piece
                if len(out) > limit:
                    raise ValueError(f"feed larger than {limit} bytes")
        decoder.finish()
    except DecodeError as exc:
        raise ValueError(f"feed does not decode: {exc}") from exc
    return bytes(out)


class FeedLoader:
    """Loads the rules' ``catalog.feed`` now and every ``REFRESH_S`` seconds."""

    def __init__(self, store: Store, upstream: str, clock: Any) -> None:
        self.store = store
        self.upstream = upstream
        self.upstream_netloc = urlsplit(upstream).netloc
        self.clock = clock
        self.feed: Path | str | None = None
        self.loaded_at = 0.0
        self.count = 0
        self.error: str | None = None

    async def _read(self, feed: Path | str) -> bytes:
        if isinstance(feed, Path):
            return await asyncio.to_thread(feed.read_bytes)
        url = urljoin(self.upstream, feed) if feed.startswith("/") else feed
        async with httpx.AsyncClient(trust_env=False, follow_redirects=False, timeout=10.0) as client:
            async with client.stream("GET", url, headers={"accept": "application/json"}) as response:
                response.raise_for_status()
                return await _bounded_body(response, MAX_FEED_BYTES)

    async def refresh(self, feed: Path | str | None, *, force: bool = False) -> int:
        """Upserts the feed's products; a failing feed keeps the catalog as it was."""
        if feed is None:
            self.feed = None
            return 0
        if not force and feed == self.feed and self.clock() - self.loaded_at < REFRESH_S:
            return 0
        self.feed = feed
        self.loaded_at = self.clock()
        try:
            products = parse_feed(lenient_json.loads(await self._read(feed)), self.upstream_netloc)
        except Exception as exc:  # unreachable, not JSON, wrong shape: keep what we have, say why
            self.error = f"{feed}: {exc}"
            log.warning("product feed %s not loaded: %s", feed, exc)
            return 0
        self.error = None
        self.count = await self.store.upsert_products(products, self.clock())
        log.info("product feed %s: %d products", feed, self.count)
        return self.count
