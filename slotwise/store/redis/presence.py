"""Slots' presence on their pages in Redis: one hash, ``sw:slot-presence``, slot -> ``SlotPresence`` as JSON.
Merged in Python (``slot_presence.merge``, as SQLite does) and written only if no other instance wrote
those slots since the read (compare by digest, as the catalog's upsert does); else read and merged again."""

from __future__ import annotations

import hashlib
import json
from typing import Collection, Mapping

from slotwise.store.base import StoreError
from slotwise.store.redis.client import RedisBase, guarded
from slotwise.store.slot_presence import SlotPresence, merge

# ARGV: P, then (slot, data, sha1 of the value read or '') per slot: all written, or none (-1)
_WRITE = """
local P = ARGV[1]
for i = 2, #ARGV, 3 do
  local stored = redis.call('HGET', P..'slot-presence', ARGV[i])
  if (stored and redis.sha1hex(stored) or '') ~= ARGV[i + 2] then return -1 end
end
for i = 2, #ARGV, 3 do redis.call('HSET', P..'slot-presence', ARGV[i], ARGV[i + 1]) end
return 1
"""
TRIES = 5


class PresenceMixin(RedisBase):
    @guarded
    async def add_slot_presence(self, counts: Mapping[str, SlotPresence]) -> None:
        slots = list(counts)
        if not slots:
            return
        for _ in range(TRIES):
            stored = await self.redis.hmget(self.key("slot-presence"), slots)
            args: list[str] = []
            for slot, raw in zip(slots, stored):
                old = SlotPresence.of(json.loads(raw)) if raw is not None else None
                data = json.dumps(merge(old, counts[slot]).as_dict(), separators=(",", ":"))
                args += [slot, data, hashlib.sha1(raw.encode()).hexdigest() if raw is not None else ""]
            if int(await self.run_script(_WRITE, *args)) > 0:
                return
        raise StoreError(f"slot presence: other writers kept changing it ({TRIES} tries)")

    @guarded
    async def slot_presence(self) -> dict[str, SlotPresence]:
        raw = await self.redis.hgetall(self.key("slot-presence"))
        return {slot: SlotPresence.of(json.loads(v)) for slot, v in raw.items()}  # the client decodes: str

    @guarded
    async def forget_slot_presence(self, keep: Collection[str]) -> None:
        gone = [slot for slot in await self.redis.hkeys(self.key("slot-presence")) if slot not in keep]
        if gone:  # a worker still on the old rules may add one back: its next rules load drops it again
            await self.redis.hdel(self.key("slot-presence"), *gone)
