"""CPU-heavy page work (parsing, scanning, rewriting) off the event loop, in a small bounded pool.

Work on the event loop cannot be interrupted by the personalization budget:
while one page is parsed, ``/_sw/health`` and every other request of the
worker wait. Lexbor releases the GIL while it parses, so a page in a pool
thread leaves the loop free; the bounds of ``slotwise.html.bounds`` keep each
page's work short regardless. Two threads per worker: a flood of heavy pages
queues here instead of taking every core, and a page whose budget ran out
while queued is never started. Small pages run inline (a thread hop costs
more than their work).
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

T = TypeVar("T")

INLINE_BYTES = 16 * 1024
THREADS = 2
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="sw-page")
    return _pool


async def page_work(size: int, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` for a page of ``size`` bytes: inline if small, else in the pool."""
    if size <= INLINE_BYTES:
        return fn(*args, **kwargs)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor(), functools.partial(fn, *args, **kwargs))
