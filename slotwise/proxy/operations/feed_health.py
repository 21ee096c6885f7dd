"""The product feed's last read, as the process that read it saved it (``FeedRead``): ``/_sw/health``'s
``feed``, the gauges, the admin page's line and its API.

One process of all reads the feed (the holder of its lease, ``catalog_feed``), so what a loader object
knows (``FeedLoader.count``, ``error``) is known in that one alone; a health check answered by any other
worker said nothing. Every check reads the saved outcome of the rules' feed from the store instead: the
same from every worker and instance.

Never a degraded reason: a store's product API that is down is no fault of this instance (the catalog
keeps what it has). Alert on ``slotwise_feed_last_success_timestamp_seconds``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slotwise.proxy.forwarding.upstream_health import iso
from slotwise.proxy.operations import metrics
from slotwise.proxy.operations.admin_html import utc_text
from slotwise.proxy.operations.webhook_health import ago, receiver
from slotwise.proxy.personalization.feed_lease import lease_name
from slotwise.store.base import FeedRead, Store, StoreError

log = logging.getLogger("slotwise.proxy")

_URL = re.compile(r"\bhttps?://[^\s'\"()<>]+|(?<![^\s'\"(])/[^\s'\"()<>]*")


def rules_lease(ruleset: Any) -> str | None:
    """The lease of the rules' ``catalog.feed`` (None: the rules read none)."""
    catalog = ruleset.catalog if ruleset is not None else None
    if catalog is None or catalog.feed is None:
        return None
    return lease_name(catalog.feed, catalog.feed_mapping)


def public(text: str) -> str:
    """``text`` with each URL cut to its origin, and each path (a relative URL, a file) to ``/…``:
    ``/_sw/health`` answers anyone, and a feed URL's path or query may hold a token (a page's error names
    its URL). The admin API has the whole text."""
    return _URL.sub(lambda m: receiver(m.group(0)) if "://" in m.group(0) else "/…", text)


def status(read: FeedRead | None) -> str:
    """``ok`` (the last read loaded), ``failing`` (it failed) or ``pending`` (not read yet)."""
    return "pending" if read is None else "failing" if read.error is not None else "ok"


def body(read: FeedRead | None, lease: str, now: float, *, private: bool = False) -> dict[str, Any]:
    """``/_sw/health``'s ``feed`` (``private``: the admin API's, with the feed's URL, the reader and the
    error as it was)."""
    out: dict[str, Any] = {"configured": True, "digest": lease.removeprefix("feed:"), "status": status(read)}
    if read is None:
        return out
    out.update(products=read.products, last_read=iso(read.at), failures=read.failures)
    if read.loaded_at is not None:
        out.update(loaded=iso(read.loaded_at), loaded_seconds=round(max(0.0, now - read.loaded_at), 1))
    if read.error is not None:
        out["error"] = read.error if private else public(read.error)
    if private:
        out.update(feed=read.feed, reader=read.reader)
    return out


def unknown(lease: str) -> dict[str, Any]:
    """``feed`` while the store cannot be read (its own degraded reason says why)."""
    return {"configured": True, "digest": lease.removeprefix("feed:"), "status": "unknown",
            "error": "the store could not be read"}


async def read_state(store: Store, lease: str) -> tuple[bool, FeedRead | None]:
    """``(True, store.feed_read(lease))``, or ``(False, None)`` when the store cannot say (logged unless it
    is an outage, which the store logs once)."""
    try:
        return True, await store.feed_read(lease)
    except StoreError:
        return False, None
    except Exception:
        log.exception("reading the product feed's last read failed")
        return False, None


async def check_feed(store: Store, lease: str | None, now: float) -> dict[str, Any]:
    """``/_sw/health``'s ``feed``, and the gauges set from the same read (left as they were when the store
    cannot be read; zero without a feed)."""
    if lease is None:
        metrics.set_feed(0, None, 0)
        return {"configured": False}
    known, read = await read_state(store, lease)
    if not known:
        return unknown(lease)
    metrics.set_feed(read.products if read else 0, read.loaded_at if read else None, read.failures if read else 0)
    return body(read, lease, now)


def feed_line(read: FeedRead | None, now: float) -> tuple[str, bool]:
    """The admin page's line (plain text; the page escapes it), and whether it is a warning."""
    if read is None:
        return "Product feed: not read yet (the first read is under way, or the store's API has not answered).", False
    if read.loaded_at is not None:
        loaded = (f"{read.products} products, loaded {utc_text(read.loaded_at)}"
                  f" ({ago(now - read.loaded_at)} ago)")
    else:
        loaded = "never loaded"
    if read.error is None:
        return f"Product feed: {loaded}.", False
    times = "once" if read.failures == 1 else f"{read.failures} times in a row"
    return (f"Product feed: the last read failed ({read.error}), {times}, last at "
            f"{utc_text(read.at)}; retried soon, the catalog keeps "
            f"what it has: {loaded}.", True)
