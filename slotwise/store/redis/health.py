"""What ``/_sw/health`` asks Redis: can we still write, and how far the log has got.

A Redis at ``maxmemory`` (noeviction) still answers reads and PING but refuses
every write with OOM: the probe is a real write (one small key with a TTL),
so health sees what the event endpoint and the learner's snapshots see.
"""

from __future__ import annotations

import time

from slotwise.store.redis.client import RedisBase, guarded


class HealthMixin(RedisBase):
    @guarded
    async def probe_write(self) -> None:
        """Raises StoreError (e.g. OOM at maxmemory) or StoreUnavailable when Redis takes no writes."""
        await self.redis.set(self.key("health"), repr(time.time()), ex=60)

    @guarded
    async def log_head(self) -> int:
        """The last seq handed out (0 for an empty log)."""
        return int(await self.redis.get(self.key("seq")) or 0)
