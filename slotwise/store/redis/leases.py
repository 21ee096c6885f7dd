"""Leases in Redis: one key per job, ``sw:lease:<name>`` → its holder, taken with ``SET NX PX`` so one
process of all the instances does the job at a time (a product feed's refresh); it expires on Redis's
own clock (no two instances' clocks compared), so a holder that died loses it and nothing is cleaned up.
``sw:lease-group:<group>``: the lease of the group (``feed``) the rules last switched to."""

from __future__ import annotations

import math

from slotwise.store.redis.client import RedisBase, guarded

# compare and delete (or shorten): a holder whose time ran out must not free another's lease
_RELEASE = """
local key = ARGV[1]..'lease:'..ARGV[2]
if redis.call('GET', key) ~= ARGV[3] then return 0 end
if tonumber(ARGV[4]) > 0 then redis.call('PEXPIRE', key, ARGV[4]) else redis.call('DEL', key) end
return 1
"""

_SWITCH = """
local group = ARGV[1]..'lease-group:'..ARGV[2]
if redis.call('GET', group) == ARGV[3] then return 0 end
redis.call('SET', group, ARGV[3])
redis.call('SET', ARGV[1]..'lease:'..ARGV[3], ARGV[4], 'PX', ARGV[5])
return 1
"""


def _ms(ttl_s: float) -> int:
    return max(1, math.ceil(ttl_s * 1000))


class LeasesMixin(RedisBase):
    @guarded
    async def take_lease(self, name: str, holder: str, now: float, ttl_s: float) -> bool:
        return bool(await self.redis.set(self.key("lease", name), holder, nx=True, px=_ms(ttl_s)))

    @guarded
    async def hold_lease(self, name: str, holder: str, now: float, ttl_s: float) -> None:
        await self.redis.set(self.key("lease", name), holder, px=_ms(ttl_s))

    @guarded
    async def release_lease(self, name: str, holder: str, now: float, after_s: float = 0.0) -> bool:
        return bool(await self.run_script(_RELEASE, name, holder, _ms(after_s) if after_s > 0 else 0))

    @guarded
    async def switch_lease(self, group: str, name: str, holder: str, now: float, ttl_s: float) -> bool:
        if await self.redis.get(self.key("lease-group", group)) == name:
            return False  # the usual round: one read
        return bool(await self.run_script(_SWITCH, group, name, holder, _ms(ttl_s)))
