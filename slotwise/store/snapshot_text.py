"""A saved snapshot's JSON, decoded off the event loop when it is large.

Why: a river tree's or forest's models are megabytes of JSON after some
thousands of rewards (``bench/learner_reload.py``), and every worker decodes
the learner's published copy. Decoded on the event loop, that stalls every
page the worker serves meanwhile. Both stores read snapshots through this.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

INLINE_CHARS = 64 * 1024  # smaller ones (LinUCB's, Thompson's: ~15 KB) decode faster than a thread hop


async def decoded_snapshot(text: str | bytes) -> dict[str, Any]:
    if len(text) <= INLINE_CHARS:
        return json.loads(text)  # type: ignore[no-any-return]
    return await asyncio.to_thread(json.loads, text)  # type: ignore[no-any-return]
