"""Admin sign-outs in Redis: one key per signed-out session id, ``sw:admin-signout:<id>``, expiring with
the cookie, so every instance refuses it and nothing needs cleaning up."""

from __future__ import annotations

import math

from slotwise.store.redis.client import RedisBase, guarded


class SignoutsMixin(RedisBase):
    @guarded
    async def revoke_admin_session(self, session: str, now: float, ttl_s: float) -> None:
        await self.redis.set(self.key("admin-signout", session), "1", ex=max(1, math.ceil(ttl_s)))

    @guarded
    async def admin_session_revoked(self, session: str, now: float) -> bool:
        return bool(await self.redis.exists(self.key("admin-signout", session)))
