"""CPU-heavy page work (parsing, scanning, rewriting) off the event loop, in a small bounded pool.

Work on the event loop cannot be interrupted by the personalization budget:
while one page is parsed, ``/_sw/health`` and every other request of the
worker wait. Lexbor releases the GIL while it parses, so a page in a pool
thread leaves the loop free; the bounds of ``slotwise.html.bounds`` keep each
page's work short regardless. Two threads per worker: a flood of heavy pages
queues here instead of taking every core, and a page whose budget ran out
while queued is never started.

Only a real parse is worth the hop. Small pages run inline, and so does work
the caller knows is cached (``cached=True``: a kept reading, a splice of kept
targets): that is Python code, which holds the interpreter in a pool thread as
much as on the loop, and the hop itself cost more than the work — two GIL
hand-offs per hop, each up to the interpreter's switch interval (5 ms) while
another thread runs.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

from slotwise.html.digest import PageDigests

T = TypeVar("T")

INLINE_BYTES = 16 * 1024
DIGEST_INLINE_BYTES = 512 * 1024
"""Pages up to this size are hashed on the loop (SHA-256: ~0.4 ms for 512 KB); larger ones in the pool
(hashlib releases the GIL)."""
THREADS = 2
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="sw-page")
    return _pool


async def page_work(size: int, fn: Callable[..., T], *args: Any, cached: bool = False, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` for a page of ``size`` bytes: inline if small or ``cached``, else in the pool."""
    if cached or size <= INLINE_BYTES:
        return fn(*args, **kwargs)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor(), functools.partial(fn, *args, **kwargs))


async def digest_of(html: bytes, digests: PageDigests) -> bytes:
    """``page_digest(html)`` (remembered by ``digests``): on the loop for a page up to
    ``DIGEST_INLINE_BYTES``, else in the pool."""
    if len(html) <= DIGEST_INLINE_BYTES:
        return digests.digest(html)
    return await page_work(len(html), digests.digest, html)
