"""Coupon codes in Redis: a pool loaded from a file, claimed one per person.

Keys::

    sw:cp:pool          list of free pool codes, in the order they were added
    sw:cp:c:<code>      hash {source, owner, claimed, added}
    sw:cp:o:<owner>     the code an owner holds
    sw:cp:stats         hash {pool_claimed, generated}

A code is claimed at most once (``claimed`` is never cleared, even when the
person is erased: only ``owner`` is) and an owner holds at most one code.
Each step is one Lua script, so two instances never hand out the same code.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

from slotwise.store.base import StoreError
from slotwise.store.redis.client import RedisBase, guarded

# ARGV: P, now, codes...
_ADD = """
local P, now, added = ARGV[1], ARGV[2], 0
for i = 3, #ARGV do
  local code = ARGV[i]
  if redis.call('HSETNX', P..'cp:c:'..code, 'source', 'pool') == 1 then
    redis.call('HSET', P..'cp:c:'..code, 'added', now)
    redis.call('RPUSH', P..'cp:pool', code)
    added = added + 1
  end
end
return added
"""

# ARGV: P, owner, now. -> {code, 1} newly claimed, {code, 0} already held, false when the pool is empty.
_CLAIM = """
local P, owner, now = ARGV[1], ARGV[2], ARGV[3]
local held = redis.call('GET', P..'cp:o:'..owner)
if held then return {held, 0} end
local code = redis.call('LPOP', P..'cp:pool')
if not code then return false end
redis.call('HSET', P..'cp:c:'..code, 'owner', owner, 'claimed', now)
redis.call('SET', P..'cp:o:'..owner, code)
redis.call('HINCRBY', P..'cp:stats', 'pool_claimed', 1)
return {code, 1}
"""

# ARGV: P, owner, now, code. -> {code, 1}, {held, 0}, or false on a code collision.
_CLAIM_GENERATED = """
local P, owner, now, code = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local held = redis.call('GET', P..'cp:o:'..owner)
if held then return {held, 0} end
if redis.call('EXISTS', P..'cp:c:'..code) == 1 then return false end
redis.call('HSET', P..'cp:c:'..code, 'source', 'generated', 'owner', owner, 'claimed', now, 'added', now)
redis.call('SET', P..'cp:o:'..owner, code)
redis.call('HINCRBY', P..'cp:stats', 'generated', 1)
return {code, 1}
"""

# ARGV: P, ids... -> flat {code, source, owner, claimed, ...}; with ERASE set, forget the owners.
_PERSON = """
local P, out = ARGV[1], {}
for i = 3, #ARGV do
  local owner = ARGV[i]
  local code = redis.call('GET', P..'cp:o:'..owner)
  if code then
    local f = redis.call('HMGET', P..'cp:c:'..code, 'source', 'claimed')
    out[#out + 1] = code; out[#out + 1] = f[1] or ''; out[#out + 1] = owner; out[#out + 1] = f[2] or ''
    if ARGV[2] == 'erase' then
      redis.call('HDEL', P..'cp:c:'..code, 'owner')
      redis.call('DEL', P..'cp:o:'..owner)
    end
  end
end
return out
"""


async def _person(store: RedisBase, ids: Sequence[str], mode: str) -> list[dict[str, Any]]:
    flat = await store.run_script(_PERSON, mode, *ids)
    rows = [
        {"code": c, "source": s, "owner": o, "claimed": float(t) if t else None}
        for c, s, o, t in zip(flat[::4], flat[1::4], flat[2::4], flat[3::4])
    ]
    return sorted(rows, key=lambda r: r["claimed"] or 0.0)


async def erase_coupons(store: RedisBase, ids: Sequence[str]) -> None:
    """Forgets who holds a code; the code stays claimed so it is never handed out again."""
    await _person(store, ids, "erase")


async def export_coupons(store: RedisBase, ids: Sequence[str]) -> dict[str, Any]:
    return {"coupons": await _person(store, ids, "export")}


class CouponsMixin(RedisBase):
    @guarded
    async def add_coupons(self, codes: Iterable[str], now: float) -> int:
        codes = [str(c) for c in codes]
        return int(await self.run_script(_ADD, repr(float(now)), *codes)) if codes else 0

    @guarded
    async def claim_coupon(self, owner: str, now: float, generate: Callable[[], str]) -> tuple[str, bool]:
        claimed = await self.run_script(_CLAIM, owner, repr(float(now)))
        for _ in range(8):
            if claimed:
                return claimed[0], bool(claimed[1])
            claimed = await self.run_script(_CLAIM_GENERATED, owner, repr(float(now)), generate())
        if claimed:
            return claimed[0], bool(claimed[1])
        raise StoreError("could not generate an unused coupon code")

    @guarded
    async def coupon_stats(self) -> dict[str, int]:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.llen(self.key("cp", "pool"))
            pipe.hgetall(self.key("cp", "stats"))
            free, stats = await pipe.execute()
        return {
            "pool_free": int(free),
            "pool_claimed": int(stats.get("pool_claimed", 0)),
            "generated": int(stats.get("generated", 0)),
        }
