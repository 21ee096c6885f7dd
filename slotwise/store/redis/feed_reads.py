"""A product feed's last read in Redis: ``sw:feed-read:<lease name>`` → JSON of ``FeedRead``, so every
instance shows what the one that read it saw; it expires ``FEED_READ_KEPT_S`` after the last read."""

from __future__ import annotations

import json
import math

from slotwise.store.base import FEED_READ_KEPT_S, FeedRead
from slotwise.store.redis.client import RedisBase, guarded


class FeedReadsMixin(RedisBase):
    @guarded
    async def save_feed_read(self, name: str, read: FeedRead) -> None:
        await self.redis.set(self.key("feed-read", name), json.dumps(read.as_dict(), separators=(",", ":")),
                             ex=math.ceil(FEED_READ_KEPT_S))

    @guarded
    async def feed_read(self, name: str) -> FeedRead | None:
        raw = await self.redis.get(self.key("feed-read", name))
        return FeedRead.of(json.loads(raw)) if raw is not None else None
