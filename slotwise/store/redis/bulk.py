"""Bulk profile updates for imports over Redis: a chunk of people in three round trips.

What a row does to profiles and aliases is ``slotwise.store.bulk``'s, as on
SQLite. Up to ``bulk_chunk`` rows (people) are read in two round trips (the
owners and claims of their aliases, then the profiles those name), worked out
in Python, and written by one script that first checks that nothing it relies
on changed since (else the chunk is read again, as ``update_profile``'s
compare-and-set does): a chunk lands whole or not at all, and another
instance never sees a half-merged person. A row naming an alias a browser
only claimed takes the row-by-row path alone (``update_by_aliases``: release
the claim, link, update, a dozen round trips), which the chunks must match
(tests/store/test_redis_import.py).
"""

from __future__ import annotations

import hashlib
from typing import Sequence

from slotwise.profile import Profile
from slotwise.store.base import ProfileUpdate, StoreError
from slotwise.store.bulk import BulkItem, BulkResult, apply_bulk
from slotwise.store.profile_json import encode_profile
from slotwise.store.redis.client import RedisBase, guarded
from slotwise.store.redis.profiles import _SAVE, MAX_ATTEMPTS, _backoff, _ids

# ARGV: P, then five sections, each led by its count: aliases read (alias, owner or ''), profiles read
# (id, SHA-1 of its JSON or ''), folds (from, into), links (alias, profile), saves (id, json, n, ids x n).
# Writes nothing unless every read still holds and none of those names is claimed.
_WRITE = _SAVE + """
local P, i = ARGV[1], 2
local function section(width)
  local first = i + 1
  i = first + tonumber(ARGV[i]) * width
  return first, i - 1
end
local first, last = section(2)
for j = first, last, 2 do
  if (redis.call('GET', P..'a:'..ARGV[j]) or '') ~= ARGV[j + 1] then return 0 end
  if redis.call('EXISTS', P..'c:'..ARGV[j]) == 1 then return 0 end
end
first, last = section(2)
for j = first, last, 2 do
  local json = redis.call('GET', P..'p:'..ARGV[j])
  if (json and redis.sha1hex(json) or '') ~= ARGV[j + 1] then return 0 end
  if redis.call('EXISTS', P..'c:'..ARGV[j]) == 1 then return 0 end
end
first, last = section(2)
for j = first, last, 2 do fold(P, ARGV[j], ARGV[j + 1]) end
first, last = section(2)
for j = first, last, 2 do attach(P, ARGV[j], ARGV[j + 1]) end
local n = tonumber(ARGV[i])
i = i + 1
for _ = 1, n do
  local pid, json, k = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local ids = {}
  for j = i + 3, i + 2 + k do ids[#ids + 1] = ARGV[j] end
  save(P, pid, json, 0, true, ids)
  i = i + 3 + k
end
return 1
"""


def _sha1(data: str | None) -> str:
    return hashlib.sha1(data.encode()).hexdigest() if data is not None else ""


class _Chunk:
    """``BulkSource`` over what one chunk read; its writes are kept for the script (``args``)."""

    def __init__(self, owners: dict[str, str | None], stored: dict[str, str | None]) -> None:
        self.owners, self.stored = owners, stored
        self.read_aliases: dict[str, None] = {}  # what the outcome rests on: the script checks it
        self.read_ids: dict[str, None] = {}
        self.points: dict[str, str] = {}  # alias -> profile, by this chunk
        self.folded: dict[str, str] = {}  # profile id -> the profile it was merged into
        self.folds: list[tuple[str, str]] = []

    def resolve(self, pid: str | None) -> str | None:
        while pid in self.folded:
            pid = self.folded[pid]
        return pid

    def owner(self, alias: str) -> str | None:
        self.read_aliases[alias] = None
        return self.resolve(self.points.get(alias) or self.owners[alias])

    def load(self, profile_id: str) -> str | None:
        self.read_ids[profile_id] = None
        return self.stored[profile_id]

    def fold(self, other_id: str, target: str) -> None:
        self.folded[other_id] = target
        self.folds.append((other_id, target))

    def link(self, alias: str, target: str) -> None:
        self.points[alias] = target

    def args(self, result: BulkResult) -> tuple[list[str], set[str]]:
        """The script's arguments, and the people it writes: those whose profile changed (it also
        saves those that only gained an alias, unchanged: an identified profile never expires)."""
        links = {alias: self.resolve(target) for alias, target in self.points.items()}
        changed = result.changed()
        saves = dict((p.id, (p, data)) for p, data in changed)
        for pid in [*links.values(), *(self.resolve(into) for _, into in self.folds)]:
            if pid not in saves:
                profile = result.profiles[pid]  # type: ignore[index]
                saves[profile.id] = (profile, encode_profile(profile))
        args: list[str] = [str(len(self.read_aliases))]
        for alias in self.read_aliases:
            args += [alias, self.owners[alias] or ""]
        args.append(str(len(self.read_ids)))
        for pid in self.read_ids:
            args += [pid, _sha1(self.stored[pid])]
        args.append(str(len(self.folds)))
        for pair in self.folds:
            args += pair
        args.append(str(len(links)))
        for alias, target in links.items():
            args += [alias, target or ""]
        args.append(str(len(saves)))
        for profile, data in saves.values():
            ids = _ids(profile)
            args += [profile.id, data, str(len(ids)), *ids]
        return args, {p.id for p, _ in changed}


class BulkMixin(RedisBase):
    bulk_chunk = 500  # rows (people) per script at most: a long import never holds Redis for long
    bulk_bytes = 2_000_000  # profile JSON a chunk reads, about: long histories make smaller chunks, so that
    # no read or script comes near the socket timeout (0.5 s)

    @guarded
    async def bulk_update(self, items: Sequence[BulkItem], now: float) -> int:
        """Applies each update to the profile its aliases name; returns the number of people written,
        as SQLite counts them: once each, however many chunks of ``items`` wrote them, and not one
        a later chunk merged into another (its profile is gone: the one it went into counts)."""
        todo = [(list(dict.fromkeys(aliases)), update) for aliases, update in items if aliases]
        written: set[str] = set()
        start = 0
        size = min(50, self.bulk_chunk)  # until the profiles' size is known
        while start < len(todo):
            chunk = todo[start:start + size]
            done, folded, saved, read = await self._bulk_chunk(chunk, now)
            start += done
            written = (written - folded) | saved
            size = max(1, min(self.bulk_chunk, self.bulk_bytes * len(chunk) // max(read, 1)))
        return len(written)

    async def _bulk_chunk(self, chunk: list[tuple[list[str], ProfileUpdate]],
                          now: float) -> tuple[int, set[str], set[str], int]:
        """Writes the rows of ``chunk`` up to the first that names a claimed alias (or a profile held
        under one) in one script, or that row alone by the row-by-row path; (rows done, profiles merged
        into others, people written, bytes of profiles read)."""
        for attempt in range(MAX_ATTEMPTS):
            names = list(dict.fromkeys(a for aliases, _ in chunk for a in aliases))
            found = await self.redis.mget([self.key("a", n) for n in names] + [self.key("c", n) for n in names])
            owners = dict(zip(names, found))
            claimed = {n for n, mark in zip(names, found[len(names):]) if mark is not None}
            ids = list(dict.fromkeys([*(o for o in owners.values() if o), *(aliases[0] for aliases, _ in chunk)]))
            found = await self.redis.mget([self.key("p", i) for i in ids] + [self.key("c", i) for i in ids])
            stored = dict(zip(ids, found))
            claimed.update(i for i, mark in zip(ids, found[len(ids):]) if mark is not None)
            read = sum(len(data) for data in stored.values() if data)
            run = next((k for k, (aliases, _) in enumerate(chunk)
                        if any(a in claimed or owners[a] in claimed for a in aliases)), len(chunk))
            if run == 0:
                held = {o for a in chunk[0][0] if (o := owners[a])}
                profile = await self.update_by_aliases(*chunk[0], now)
                return 1, held - {profile.id}, {profile.id}, read
            source = _Chunk(owners, stored)
            args, saved = source.args(apply_bulk(chunk[:run], source, now))
            if await self.run_script(_WRITE, *args):
                return run, set(source.folded), saved, read
            await _backoff(attempt)
        raise StoreError(f"bulk_update: gave up after {MAX_ATTEMPTS} conflicting writes")

    @guarded
    async def update_by_aliases(self, aliases: Sequence[str], update: ProfileUpdate, now: float) -> Profile:
        """One row the row-by-row way, from ``link_identity`` and ``update_profile`` (each atomic on its
        own): the path of a row naming a claimed alias, and what a chunk must come to."""
        aliases = list(dict.fromkeys(aliases))
        await self.release_claims(aliases, now)  # type: ignore[attr-defined]  # an import voids a browser's claim
        owned = await self.redis.mget([self.key("a", a) for a in aliases])
        holders = [(alias, owner) for alias, owner in zip(aliases, owned) if owner]
        if holders:
            anchor, target = holders[0]
        else:
            anchor = target = aliases[0]
            await self.link_identity(target, target, now)  # type: ignore[attr-defined]  # its own first alias
        for alias, owner in holders[1:]:
            if owner != target and await self.resolve(alias) != target:  # type: ignore[attr-defined]
                await self.link_identity(owner, anchor, now)  # type: ignore[attr-defined]  # folds it in
        for alias, owner in zip(aliases, owned):
            if not owner:
                await self.link_identity(target, alias, now)  # type: ignore[attr-defined]
        return await self.update_profile(target, update, now)  # type: ignore[attr-defined,no-any-return]
