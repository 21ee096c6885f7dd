"""Bulk profile updates for imports (POS exports), the Redis twin of the SQLite one.

Same outcome as SQLite's ``bulk_update``: rows name their person by aliases;
an alias nobody holds yet attaches to the row's profile (created under the
first alias), aliases held by different profiles merge them into the first
holder; an alias a browser only claimed is first taken from its claimant.
Built from ``link_identity`` and ``update_profile``, each atomic on
its own, so concurrent proxies never see a half-merged person; the batch as
a whole is not one transaction (Redis has no multi-profile CAS here).
Cost: a few round trips per row, see docs/benchmarks.md (Scale-out).
"""

from __future__ import annotations

from typing import Sequence

from slotwise.store.base import ProfileUpdate
from slotwise.store.redis.client import RedisBase, guarded


class BulkMixin(RedisBase):
    @guarded
    async def bulk_update(self, items: Sequence[tuple[Sequence[str], ProfileUpdate]], now: float) -> int:
        """Applies each update to the profile its aliases name; returns the number of profiles written."""
        written: set[str] = set()
        for aliases, update in items:
            if not aliases:
                continue
            aliases = list(dict.fromkeys(aliases))
            await self.release_claims(aliases, now)  # an import is trusted: a browser's claim on these names is void
            owned = await self.redis.mget([self.key("a", a) for a in aliases])
            holders = [(alias, owner) for alias, owner in zip(aliases, owned) if owner]
            if holders:
                anchor, target = holders[0]
            else:
                anchor = target = aliases[0]
                await self.link_identity(target, target, now)  # the profile holds its own first alias
            for alias, owner in holders[1:]:
                if owner != target and await self.resolve(alias) != target:
                    await self.link_identity(owner, anchor, now)  # folds that profile into the target
                    written.discard(owner)
            for alias, owner in zip(aliases, owned):
                if not owner:
                    await self.link_identity(target, alias, now)
            profile = await self.update_profile(target, update, now)
            written.add(profile.id)
        return len(written)
