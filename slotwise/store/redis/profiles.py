"""Profiles and identity aliases in Redis.

Keys (``sw:`` is the configurable prefix)::

    sw:p:<id>      the profile, JSON of Profile.to_dict() (store/profile_json.py)
    sw:a:<alias>   alias or merged visitor id -> canonical profile id
    sw:pa:<id>     set of the aliases pointing at profile <id> (to re-point and erase them)
    sw:c:<alias>   present while the alias is held only by a browser's claim (``merge=False``):
                   a trusted link takes it from the claimant instead of merging into it

Writes are optimistic compare-and-set: read the profile, apply the update in
Python, then a Lua script writes only if the alias and the stored JSON are
still what was read; otherwise read again. Updates to one visitor from the
same instance queue on a local lock first, so retries only happen between
instances. ``update`` may therefore run more than once: it must be pure.

Retention: with ``anon_ttl`` set, a profile with no customer id, no e-mail
hash and no alias expires that long after its last write (its log index with
it); identified profiles and aliases never expire.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any, Sequence

from slotwise.profile import Profile, forget_alias
from slotwise.profile import merge as merge_profiles
from slotwise.store.base import ProfileUpdate, StoreError, owners
from slotwise.store.profile_json import decode_profile, encode_profile, loads
from slotwise.store.redis.client import KeyedLocks, RedisBase, guarded

MAX_ATTEMPTS = 64

# A profile's lifetime: identified or aliased -> no TTL, else anon TTL; the log indexes follow.
_SAVE = """
local function save(P, pid, json, ttl, known, ids)
  if ttl > 0 and not known and redis.call('SCARD', P..'pa:'..pid) == 0 then
    redis.call('SET', P..'p:'..pid, json, 'EX', ttl)
    for _, id in ipairs(ids) do redis.call('EXPIRE', P..'lv:'..id, ttl) end
  else
    redis.call('SET', P..'p:'..pid, json)
    for _, id in ipairs(ids) do redis.call('PERSIST', P..'lv:'..id) end
  end
end
local function tail(from)
  local out = {}
  for i = from, #ARGV do out[#out + 1] = ARGV[i] end
  return out
end
local function attach(P, alias, pid)
  redis.call('SET', P..'a:'..alias, pid)
  redis.call('SADD', P..'pa:'..pid, alias)
end
-- profile `from` is merged into `into`: it goes; its id and its aliases point at `into`
local function fold(P, from, into)
  redis.call('DEL', P..'p:'..from)
  for _, a in ipairs(redis.call('SMEMBERS', P..'pa:'..from)) do attach(P, a, into) end
  redis.call('DEL', P..'pa:'..from)
  attach(P, from, into)
end
"""

_GET = """
local P = ARGV[1]
local pid = redis.call('GET', P..'a:'..ARGV[2]) or ARGV[2]
return {pid, redis.call('GET', P..'p:'..pid)}
"""

# ARGV: P, visitor, pid, old json ('' = none), new json, ttl, known, ids...
_UPDATE = _SAVE + """
local P, vid, pid = ARGV[1], ARGV[2], ARGV[3]
if (redis.call('GET', P..'a:'..vid) or vid) ~= pid then return 0 end
if (redis.call('GET', P..'p:'..pid) or '') ~= ARGV[4] then return 0 end
save(P, pid, ARGV[5], tonumber(ARGV[6]), ARGV[7] == '1', tail(8))
return 1
"""

_LINK_READ = """
local P = ARGV[1]
local mine = redis.call('GET', P..'a:'..ARGV[2]) or ARGV[2]
local owner = redis.call('GET', P..'a:'..ARGV[3])
local owner_json = false
if owner then owner_json = redis.call('GET', P..'p:'..owner) end
return {mine, redis.call('GET', P..'p:'..mine), owner, owner_json}
"""

# ARGV: P, mode, names... Trusted sources name them: a browser's claim on them is void, except the person's own,
# which is confirmed (its mark goes, the alias stays theirs).
# mode 'link': names are {visitor, alias}; the visitor's claim is void, the alias's unless it is the visitor's.
# mode 'person': the person holds the first name held by trust; claims pointing elsewhere are void.
# Returns {name, claimant, ...}.
_RELEASE = """
local P, mode = ARGV[1], ARGV[2]
local out = {}
local function claimed(n) return redis.call('EXISTS', P..'c:'..n) == 1 end
local function release(name)
  redis.call('DEL', P..'c:'..name)
  local owner = redis.call('GET', P..'a:'..name)
  redis.call('DEL', P..'a:'..name)
  if owner then
    redis.call('SREM', P..'pa:'..owner, name)
    out[#out + 1] = name
    out[#out + 1] = owner
  end
  -- a coupon issued to the claimed address stays the claimant's: the real person gets their own
  local code = redis.call('GET', P..'cp:o:'..name)
  if code then
    redis.call('DEL', P..'cp:o:'..name)
    local keeper = owner and ('profile:'..owner)
    if keeper and redis.call('SETNX', P..'cp:o:'..keeper, code) == 1 then
      redis.call('HSET', P..'cp:c:'..code, 'owner', keeper)
    else
      redis.call('HDEL', P..'cp:c:'..code, 'owner')
    end
  end
end
local anchor, first = false, 3
if mode == 'link' then
  if claimed(ARGV[3]) then release(ARGV[3]) end
  anchor = redis.call('GET', P..'a:'..ARGV[3]) or ARGV[3]
  first = 4
else
  for i = 3, #ARGV do
    local owner = redis.call('GET', P..'a:'..ARGV[i])
    if owner and not claimed(ARGV[i]) then anchor = owner; break end
  end
end
for i = first, #ARGV do
  if claimed(ARGV[i]) then
    if anchor and redis.call('GET', P..'a:'..ARGV[i]) == anchor then redis.call('DEL', P..'c:'..ARGV[i])
    else release(ARGV[i]) end
  end
end
return out
"""

# ARGV: P, visitor, alias, mine, owner ('' = none), old mine json, old owner json, new json, ttl, trusted, ids...
_LINK = _SAVE + """
local P, vid, alias, mine, owner = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if (redis.call('GET', P..'a:'..vid) or vid) ~= mine then return 0 end
if (redis.call('GET', P..'a:'..alias) or '') ~= owner then return 0 end
if (redis.call('GET', P..'p:'..mine) or '') ~= ARGV[6] then return 0 end
local ttl, trusted, ids = tonumber(ARGV[9]), ARGV[10] == '1', tail(11)
if owner == '' or owner == mine then
  if trusted then redis.call('DEL', P..'c:'..alias)
  elseif owner == '' then redis.call('SET', P..'c:'..alias, '1') end
  attach(P, alias, mine)
  save(P, mine, ARGV[8], ttl, true, ids)
  return 1
end
if redis.call('EXISTS', P..'c:'..alias) == 1 then return 0 end  -- claimed since the read: release it first
if (redis.call('GET', P..'p:'..owner) or '') ~= ARGV[7] then return 0 end
fold(P, mine, owner)
save(P, owner, ARGV[8], ttl, true, ids)
return 1
"""

# The person's ids: canonical id, the id asked about, aliases, anonymous ids.
_IDS = """
local function person(P, vid)
  local pid = redis.call('GET', P..'a:'..vid) or vid
  local json = redis.call('GET', P..'p:'..pid)
  local aliases = redis.call('SMEMBERS', P..'pa:'..pid)
  local seen, ids = {}, {}
  local function add(id) if not seen[id] then seen[id] = true; ids[#ids + 1] = id end end
  add(pid); add(vid)
  for _, a in ipairs(aliases) do add(a) end
  if json then for _, a in ipairs(cjson.decode(json)['anonymous_ids'] or {}) do add(tostring(a)) end end
  return pid, json, aliases, ids
end
"""

_EXPORT = _IDS + """
local P = ARGV[1]
local pid, json, aliases, ids = person(P, ARGV[2])
if not json then return false end
local entries = {}
for _, id in ipairs(ids) do
  for _, sid in ipairs(redis.call('SMEMBERS', P..'lv:'..id)) do
    local found = redis.call('XRANGE', P..'log', sid, sid)
    if found[1] then entries[#entries + 1] = found[1][2] end
  end
end
return {json, aliases, entries, ids}
"""

_ERASE = _IDS + """
local P = ARGV[1]
local pid, json, aliases, ids = person(P, ARGV[2])
local found = redis.call('DEL', P..'p:'..pid)
redis.call('DEL', P..'pa:'..pid)
for _, a in ipairs(aliases) do redis.call('DEL', P..'c:'..a) end
for _, id in ipairs(ids) do
  redis.call('DEL', P..'a:'..id)
  redis.call('DEL', P..'c:'..id)
  for _, sid in ipairs(redis.call('SMEMBERS', P..'lv:'..id)) do
    local entry = redis.call('XRANGE', P..'log', sid, sid)[1]
    if entry then
      local f = entry[2]
      local kind, key
      for i = 1, #f, 2 do
        if f[i] == 'kind' then kind = f[i + 1] elseif f[i] == 'key' then key = f[i + 1] end
      end
      if kind and key then redis.call('DEL', P..'k:'..kind..':'..key) end
      redis.call('XDEL', P..'log', sid)
    end
  end
  redis.call('DEL', P..'lv:'..id)
end
return {found, ids}
"""


def _load(raw: str | None) -> Profile | None:
    return decode_profile(raw) if raw else None


def _ids(profile: Profile) -> list[str]:
    return list(dict.fromkeys([profile.id, *profile.anonymous_ids]))


def fields_of(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2]))


async def _backoff(attempt: int) -> None:
    """Lost a race with another instance: wait a little, more each time, jittered."""
    await asyncio.sleep(random.uniform(0, min(0.05, 0.001 * (attempt + 1))))


class ProfilesMixin(RedisBase):
    _locks: KeyedLocks

    @guarded
    async def resolve(self, visitor_id: str) -> str:
        return await self.redis.get(self.key("a", visitor_id)) or visitor_id

    @guarded
    async def get_profile(self, visitor_id: str) -> Profile | None:
        _, raw = await self.run_script(_GET, visitor_id)
        return _load(raw)

    @guarded
    async def get_profiles(self, visitor_ids: Sequence[str]) -> list[Profile | None]:
        """``get_profile``'s script for each, pipelined: one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        for visitor_id in visitor_ids:
            await self.run_script(_GET, visitor_id, client=pipe)
        return [_load(raw) for _, raw in await pipe.execute()]

    @guarded
    async def update_profile(self, visitor_id: str, update: ProfileUpdate, now: float) -> Profile:
        async with self._locks.hold(visitor_id):
            return await self._update(visitor_id, update, now)

    async def update_profile_soon(self, visitor_id: str, update: ProfileUpdate, now: float) -> Profile:
        """Written at once: a compare-and-set on the profile's own key, no lock shared by instances."""
        return await self.update_profile(visitor_id, update, now)

    async def _update(self, visitor_id: str, update: ProfileUpdate, now: float) -> Profile:
        for attempt in range(MAX_ATTEMPTS):
            profile_id, raw = await self.run_script(_GET, visitor_id)
            profile = _load(raw) or Profile.new(profile_id, now)
            update(profile)
            known = "1" if (profile.customer_id or profile.email_hash) else "0"
            args = (visitor_id, profile_id, raw or "", encode_profile(profile), self.anon_ttl, known, *_ids(profile))
            if await self.run_script(_UPDATE, *args):
                return profile
            await _backoff(attempt)
        raise StoreError(f"update_profile({visitor_id!r}): gave up after {MAX_ATTEMPTS} conflicting writes")

    @guarded
    async def link_identity(self, visitor_id: str, alias: str, now: float, *, merge: bool = True) -> Profile:
        async with self._locks.hold(visitor_id):
            for attempt in range(MAX_ATTEMPTS):
                if merge:  # a trusted link: a browser's claim on either name is void
                    await self.release_claims([visitor_id, alias], now, linking=True)
                mine_id, mine_raw, owner_id, owner_raw = await self.run_script(_LINK_READ, visitor_id, alias)
                mine = _load(mine_raw) or Profile.new(mine_id, now)
                if owner_id and owner_id != mine_id and not merge:
                    return mine  # an untrusted claim on someone else's alias: attach nothing
                if not owner_id or owner_id == mine_id:
                    result = mine
                else:
                    result = merge_profiles(_load(owner_raw) or Profile.new(owner_id, now), mine)
                args = (
                    visitor_id, alias, mine_id, owner_id or "", mine_raw or "", owner_raw or "",
                    encode_profile(result), self.anon_ttl, "1" if merge else "0", *_ids(result),
                )
                if await self.run_script(_LINK, *args):
                    return result
                await _backoff(attempt)
        raise StoreError(f"link_identity({visitor_id!r}): gave up after {MAX_ATTEMPTS} conflicting writes")

    async def release_claims(self, names: list[str], now: float, *, linking: bool = False) -> None:
        """Takes claimed aliases from their claimants, and the facts they stood for from the claimants' profiles.

        One round trip when nothing is claimed (the usual case). ``linking``:
        ``names`` is ``[visitor, alias]`` and the alias stays if it is the
        visitor's own already; else the names are one person's, who holds the
        first of them held by trust, and a claim pointing at that person stays.
        A claim that stays is confirmed (its mark goes): the trusted source
        named it for its holder, so their other device merges with them
        instead of taking it.
        """
        found = await self.run_script(_RELEASE, "link" if linking else "person", *names)
        for name, claimant in zip(found[::2], found[1::2]):
            await self._update(claimant, lambda p, name=name: forget_alias(p, name), now)  # CAS: no lock needed

    @guarded
    async def delete_profile(self, visitor_id: str) -> bool:
        found, ids = await self.run_script(_ERASE, visitor_id)
        for hook in getattr(self, "_erase_hooks", ()):
            await hook(self, owners(ids))
        return bool(found)

    @guarded
    async def export_profile(self, visitor_id: str) -> dict[str, Any] | None:
        result = await self.run_script(_EXPORT, visitor_id)
        if not result:
            return None
        raw, aliases, entries, ids = result
        records = sorted((fields_of(e) for e in entries), key=lambda f: int(f["seq"]))
        log = [
            {"kind": f["kind"], "key": f["key"], "visitor": f["visitor"], "ts": float(f["ts"]), "data": json.loads(f["data"])}
            for f in records
        ]
        out: dict[str, Any] = {"profile": loads(raw), "aliases": sorted(aliases), "log": log}
        for hook in getattr(self, "_export_hooks", ()):
            out.update(await hook(self, owners(ids)))
        return out
