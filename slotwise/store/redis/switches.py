"""Kill switches (a slot, or ``*`` for all personalization) in Redis: one hash, ``sw:switches``."""

from __future__ import annotations

import json
from typing import Any

from slotwise.store.redis.client import RedisBase, guarded


class SwitchesMixin(RedisBase):
    @guarded
    async def set_switch(self, name: str, off: bool, now: float, who: str) -> None:
        value = json.dumps({"off": bool(off), "at": float(now), "who": who}, separators=(",", ":"))
        await self.redis.hset(self.key("switches"), name, value)

    @guarded
    async def get_switches(self) -> dict[str, dict[str, Any]]:
        raw = await self.redis.hgetall(self.key("switches"))
        out = {}
        for name, value in raw.items():
            name = name.decode() if isinstance(name, bytes) else name
            out[name] = json.loads(value)
        return out
