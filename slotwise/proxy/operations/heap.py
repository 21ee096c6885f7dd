"""A serving worker's heap, out of the cyclic garbage collector's way once it has started.

CPython's collector walks every tracked object of the old generation on a
full collection. A worker's start-up objects (modules, functions, classes,
the rules: ~70–80k) live as long as the worker, yet a full pass visited
them all: 45–65 ms of CPU on one worker's event loop, one to three times in
8 s of the four-slot bench, with every page in flight waiting behind it —
the p99 tail of a personalized page (docs/benchmarks-history.md, "Sixth pass"). ``settle`` collects once at the end of start-up, so garbage
is not kept, then ``gc.freeze()``s the survivors: later collections visit
only what serving made.

The young generation's threshold goes from 700 to ``YOUNG_THRESHOLD``: at
700, the objects of the ~16 pages a worker has in flight crossed it ~20
times a second, so each young pass walked live request state and promoted
it to the older generations (to be walked again there): ~1.5–2.5% of a
worker's CPU. At 10,000 a worker collected its young generation about once
in 8 s of the four-slot bench.

Rules replaced by a hot reload were frozen with the rest: ``resettle_soon``
gives the frozen objects back to the collector a few seconds after a reload
(requests that began with the old rules have ended), collects once and
freezes again, so a reload's cycles are not kept for the worker's life.

``SLOTWISE_GC_FREEZE=0`` leaves the collector as it is (for measuring).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os

log = logging.getLogger("slotwise.proxy")

RESETTLE_AFTER_S = 5.0
YOUNG_THRESHOLD = 10_000


def settle() -> int:
    """Collect, then freeze what survived; the number of objects frozen (0: turned off)."""
    if os.environ.get("SLOTWISE_GC_FREEZE", "1") == "0":
        return 0
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    frozen = gc.get_freeze_count()
    log.debug("heap settled: %d objects out of the collector's passes", frozen)
    return frozen


def resettle() -> int:
    """Unfreeze, collect, freeze again: what the frozen heap holds that is now garbage is freed.

    A no-op (0) in a process whose heap was never settled."""
    if not gc.get_freeze_count():
        return 0
    gc.unfreeze()
    return settle()


def resettle_soon(after_s: float = RESETTLE_AFTER_S) -> None:
    """``resettle`` once the running loop's current requests are done (now, without a loop)."""
    if not gc.get_freeze_count():
        return
    try:
        asyncio.get_running_loop().call_later(after_s, resettle)
    except RuntimeError:
        resettle()
