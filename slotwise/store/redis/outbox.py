"""A durable outbox in Redis: messages (webhooks) delivered at least once.

Keys::

    sw:ob:seq          last message id (INCR)
    sw:ob:m:<id>       hash {topic, subject (JSON list), payload, created, attempts, last_error}
    sw:ob:due          zset of ids (zero-padded: ties go by id) -> due time
    sw:ob:made         zset of the same ids -> created (the oldest pending message, for ``outbox_state``)
    sw:ob:fail         zset of the ids with a failed attempt -> the time of the last one (``outbox_state``)
    sw:ob:s:<subject>  set of ids of messages about that visitor id / alias (erase, export)

Claiming moves a message's due time ``lease_s`` ahead in the same script, so
two instances never lease one message at once; done deletes it (the payload
may hold an e-mail address). Durability is Redis's: use AOF (appendfsync
everysec or always) when webhooks must survive a Redis crash.

``outbox_state`` is one script of bounded reads: ZCARD of ``due`` and
``fail``, the first of ``made``, the last of ``fail`` and that message's
``last_error``; no SCAN, no payload. A message queued before ``made``
existed joins it when it is next claimed (within the back-off's cap, an hour).
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from slotwise.store.base import OutboxItem, OutboxState
from slotwise.store.redis.client import RedisBase, guarded

_DROP = """
local function drop(P, member)
  local id = tostring(tonumber(member))
  local subject = redis.call('HGET', P..'ob:m:'..id, 'subject')
  if subject then
    for _, s in ipairs(cjson.decode(subject)) do redis.call('SREM', P..'ob:s:'..s, member) end
  end
  redis.call('DEL', P..'ob:m:'..id)
  redis.call('ZREM', P..'ob:due', member)
  redis.call('ZREM', P..'ob:made', member)
  redis.call('ZREM', P..'ob:fail', member)
end
"""

# ARGV: P, topic, subject JSON, payload JSON, now, subjects...
_PUT = """
local P = ARGV[1]
local id = redis.call('INCR', P..'ob:seq')
local member = string.format('%015d', id)
redis.call('HSET', P..'ob:m:'..id, 'topic', ARGV[2], 'subject', ARGV[3], 'payload', ARGV[4],
  'created', ARGV[5], 'attempts', 0)
redis.call('ZADD', P..'ob:due', ARGV[5], member)
redis.call('ZADD', P..'ob:made', ARGV[5], member)
for i = 6, #ARGV do redis.call('SADD', P..'ob:s:'..ARGV[i], member) end
return id
"""

# ARGV: P, now, leased-until, limit -> flat {id, topic, payload, attempts, created, ...}
_CLAIM = """
local P, now, until_ = ARGV[1], ARGV[2], ARGV[3]
local out = {}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', P..'ob:due', '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))) do
  local id = tostring(tonumber(member))
  local f = redis.call('HMGET', P..'ob:m:'..id, 'topic', 'payload', 'created')
  local attempts = redis.call('HINCRBY', P..'ob:m:'..id, 'attempts', 1)
  redis.call('ZADD', P..'ob:due', until_, member)
  if f[3] then redis.call('ZADD', P..'ob:made', 'NX', f[3], member) end
  out[#out + 1] = id; out[#out + 1] = f[1]; out[#out + 1] = f[2]; out[#out + 1] = attempts; out[#out + 1] = f[3]
end
return out
"""

_DONE = _DROP + """
drop(ARGV[1], ARGV[2])
return 1
"""

# ARGV: P, member, due, error, now
_RETRY = """
local P, member = ARGV[1], ARGV[2]
local id = tostring(tonumber(member))
if redis.call('EXISTS', P..'ob:m:'..id) == 0 then return 0 end
redis.call('ZADD', P..'ob:due', ARGV[3], member)
redis.call('ZADD', P..'ob:fail', ARGV[5], member)
redis.call('HSET', P..'ob:m:'..id, 'last_error', ARGV[4])
return 1
"""

# ARGV: P -> {pending, oldest created or nil, failing, last failure time or nil, its error or nil}
_STATE = """
local P = ARGV[1]
local oldest = redis.call('ZRANGE', P..'ob:made', 0, 0, 'WITHSCORES')
local last = redis.call('ZRANGE', P..'ob:fail', -1, -1, 'WITHSCORES')
local err = false
if last[1] then err = redis.call('HGET', P..'ob:m:'..tostring(tonumber(last[1])), 'last_error') end
return {redis.call('ZCARD', P..'ob:due'), oldest[2] or false, redis.call('ZCARD', P..'ob:fail'), last[2] or false,
        err}
"""

# ARGV: P, mode ('export' or 'erase'), ids... -> flat {id, topic, payload, created, attempts, ...}
_PERSON = _DROP + """
local P, seen, out = ARGV[1], {}, {}
for i = 3, #ARGV do
  for _, member in ipairs(redis.call('SMEMBERS', P..'ob:s:'..ARGV[i])) do
    if not seen[member] then
      seen[member] = true
      local id = tostring(tonumber(member))
      local f = redis.call('HMGET', P..'ob:m:'..id, 'topic', 'payload', 'created', 'attempts')
      if f[1] then
        out[#out + 1] = id; out[#out + 1] = f[1]; out[#out + 1] = f[2]; out[#out + 1] = f[3]; out[#out + 1] = f[4]
      end
      if ARGV[2] == 'erase' then drop(P, member) end
    end
  end
  if ARGV[2] == 'erase' then redis.call('DEL', P..'ob:s:'..ARGV[i]) end
end
return out
"""


def _member(item_id: int) -> str:
    return f"{int(item_id):015d}"


async def _person(store: RedisBase, ids: Sequence[str], mode: str) -> list[dict[str, Any]]:
    flat = await store.run_script(_PERSON, mode, *ids)
    rows = [
        {"id": int(i), "topic": t, "payload": json.loads(p), "created": float(c), "attempts": int(a)}
        for i, t, p, c, a in zip(flat[::5], flat[1::5], flat[2::5], flat[3::5], flat[4::5])
    ]
    return sorted(rows, key=lambda r: r["id"])


async def erase_outbox(store: RedisBase, ids: Sequence[str]) -> None:
    await _person(store, ids, "erase")


async def export_outbox(store: RedisBase, ids: Sequence[str]) -> dict[str, Any]:
    return {"outbox": await _person(store, ids, "export")}


class OutboxMixin(RedisBase):
    @guarded
    async def outbox_put(self, topic: str, subjects: Sequence[str], payload: Mapping[str, Any], now: float) -> int:
        """Queues a message; ``subjects`` are the visitor ids/aliases it is about (for erase)."""
        subjects = [str(s) for s in subjects]
        return int(await self.run_script(
            _PUT, topic, json.dumps(subjects), json.dumps(dict(payload), separators=(",", ":")),
            repr(float(now)), *subjects,
        ))

    @guarded
    async def outbox_claim(self, now: float, lease_s: float, limit: int = 10) -> list[OutboxItem]:
        """Due messages, leased for ``lease_s`` (they come due again if not settled)."""
        flat = await self.run_script(_CLAIM, repr(float(now)), repr(float(now) + float(lease_s)), int(limit))
        return [
            OutboxItem(id=int(i), topic=t, payload=json.loads(p), attempts=int(a), created=float(c))
            for i, t, p, a, c in zip(flat[::5], flat[1::5], flat[2::5], flat[3::5], flat[4::5])
        ]

    @guarded
    async def outbox_done(self, item_id: int) -> None:
        await self.run_script(_DONE, _member(item_id))

    @guarded
    async def outbox_retry(self, item_id: int, due: float, error: str, now: float) -> None:
        await self.run_script(_RETRY, _member(item_id), repr(float(due)), error[:500], repr(float(now)))

    @guarded
    async def outbox_state(self) -> OutboxState:
        """One script of bounded reads (the module's docstring)."""
        pending, oldest, failing, failed_at, error = await self.run_script(_STATE)
        return OutboxState(int(pending), float(oldest) if oldest is not None else None, int(failing),
                           error, float(failed_at) if failed_at is not None else None)

    @guarded
    async def outbox_next_due(self) -> float | None:
        first = await self.redis.zrange(self.key("ob", "due"), 0, 0, withscores=True)
        return float(first[0][1]) if first else None
