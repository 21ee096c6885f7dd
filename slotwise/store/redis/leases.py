"""Leases in Redis: one key per job, ``sw:lease:<name>`` → its holder, taken with ``SET NX PX`` so one
process of all the instances does the job at a time (a product feed's refresh); it expires on Redis's
own clock (no two instances' clocks compared), so a holder that died loses it and nothing is cleaned up."""

from __future__ import annotations

import math

from slotwise.store.redis.client import RedisBase, guarded


def _ms(ttl_s: float) -> int:
    return max(1, math.ceil(ttl_s * 1000))


class LeasesMixin(RedisBase):
    @guarded
    async def take_lease(self, name: str, holder: str, now: float, ttl_s: float) -> bool:
        return bool(await self.redis.set(self.key("lease", name), holder, nx=True, px=_ms(ttl_s)))

    @guarded
    async def hold_lease(self, name: str, holder: str, now: float, ttl_s: float) -> None:
        await self.redis.set(self.key("lease", name), holder, px=_ms(ttl_s))
