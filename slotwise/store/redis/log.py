"""The append-only log in a Redis Stream, with the learner's consumer-group helpers.

Keys::

    sw:log            the stream; entry id ``<seq>-0``, fields seq, kind, key, visitor, ts, data
    sw:seq            the last seq handed out (INCR)
    sw:k:<kind>:<key> idempotency mark -> stream id (expires after ``dedup_ttl``)
    sw:lv:<visitor>   the stream ids of one visitor's entries, for export and erase

One Lua script checks the mark, INCRs the seq and XADDs, so seqs are dense
integers in append order on every instance and ``read_log(after_seq)`` means
what it means on SQLite. Using the seq as the entry id makes ``after_seq``
a plain XRANGE and lets ``ack`` take the seqs the learner already has.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Iterable, Sequence

from redis.exceptions import ResponseError

from slotwise.store.base import LogRecord
from slotwise.store.redis.client import RedisBase, connect, guarded

# ARGV: P, anon ttl, dedup ttl, maxlen, then (kind, key, visitor, ts, data) per record.
_APPEND = """
local P = ARGV[1]
local stream, seqkey = P..'log', P..'seq'
local anon, dedup, maxlen = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local out = {}
for i = 5, #ARGV, 5 do
  local kind, key, visitor = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local mark = P..'k:'..kind..':'..key
  if redis.call('EXISTS', mark) == 1 then
    out[#out + 1] = 0
  else
    local seq = redis.call('INCR', seqkey)
    if seq == 1 and redis.call('EXISTS', stream) == 1 then
      -- the counter was lost but the stream was not: carry on after its last id
      local info = redis.call('XINFO', 'STREAM', stream)
      for j = 1, #info, 2 do
        if info[j] == 'last-generated-id' then
          seq = math.max(seq, tonumber(string.match(info[j + 1], '^(%d+)')) + 1)
        end
      end
      redis.call('SET', seqkey, seq)
    end
    local id = string.format('%d-0', seq)
    local fields = {'seq', tostring(seq), 'kind', kind, 'key', key, 'visitor', visitor, 'ts', ARGV[i + 3], 'data', ARGV[i + 4]}
    if maxlen > 0 then
      redis.call('XADD', stream, 'MAXLEN', '~', maxlen, id, unpack(fields))
    else
      redis.call('XADD', stream, id, unpack(fields))
    end
    if dedup > 0 then redis.call('SET', mark, id, 'EX', dedup) else redis.call('SET', mark, id) end
    local lv = P..'lv:'..visitor
    redis.call('SADD', lv, id)
    if anon > 0 then
      local pid = redis.call('GET', P..'a:'..visitor) or visitor
      if redis.call('PTTL', P..'p:'..pid) ~= -1 then redis.call('EXPIRE', lv, anon) end
    end
    out[#out + 1] = 1
  end
end
return out
"""


# ARGV: P, n. Lifts the seq counter to at least n; returns the counter.
_RAISE_SEQ = """
local key = ARGV[1]..'seq'
local n = tonumber(ARGV[2])
local cur = tonumber(redis.call('GET', key) or '0')
if cur < n then
  redis.call('SET', key, n)
  return n
end
return cur
"""


def stream_id(seq: int) -> str:
    return f"{int(seq)}-0"


def to_record(fields: dict[str, str]) -> LogRecord:
    return LogRecord(
        kind=fields["kind"],
        key=fields["key"],
        visitor=fields["visitor"],
        ts=float(fields["ts"]),
        data=json.loads(fields["data"]),
        seq=int(fields["seq"]),
    )


def _records(entries: Iterable[Any] | None) -> list[LogRecord]:
    """Stream entries (id, fields) → records; entries erased since delivery come back as None."""
    return [to_record(fields) for _id, fields in entries or () if fields]


class LogMixin(RedisBase):
    _blocking: Any

    @property
    def stream_name(self) -> str:
        """The stream the learner reads (``sw:log`` with the default prefix)."""
        return self.key("log")

    @guarded
    async def append(self, records: Sequence[LogRecord]) -> list[bool]:
        if not records:
            return []
        args: list[Any] = [self.anon_ttl, int(self.options.dedup_ttl_s or 0), self.options.log_maxlen]
        for r in records:
            args += [r.kind, r.key, r.visitor, repr(float(r.ts)), json.dumps(dict(r.data), separators=(",", ":"))]
        return [bool(x) for x in await self.run_script(_APPEND, *args)]

    @guarded
    async def read_log(self, after_seq: int, limit: int = 1000) -> list[LogRecord]:
        if limit <= 0:
            return []
        start = f"{max(0, int(after_seq))}-1"  # ids are <seq>-0, so this is "after after_seq"
        return _records(await self.redis.xrange(self.stream_name, min=start, max="+", count=limit))

    @guarded
    async def raise_seq(self, at_least: int) -> int:
        """Make the next seqs follow ``at_least`` (Redis lost its data but the learner kept its models).

        Returns the counter. Seqs stay increasing for the learner and the
        serving instances, which ignore anything at or below what they have.
        """
        return int(await self.run_script(_RAISE_SEQ, int(at_least)))

    # -- consumer groups: what a separate learner process uses ------------------
    @guarded
    async def create_group(self, group: str, after_seq: int = 0) -> bool:
        """Create ``group`` delivering entries after ``after_seq``; False if it already exists."""
        try:
            await self.redis.xgroup_create(self.stream_name, group, id=stream_id(after_seq), mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" in str(exc):
                return False
            raise
        return True

    @guarded
    async def consume(self, group: str, consumer: str, count: int = 100, block_ms: int = 0) -> list[LogRecord]:
        """New entries for ``consumer`` (XREADGROUP >); they stay pending until :meth:`ack`.

        ``block_ms`` > 0 waits that long for entries on a connection of its own
        (without the short socket timeout), bounded by its own deadline.
        """
        streams = {self.stream_name: ">"}
        if block_ms <= 0:
            reply = await self.redis.xreadgroup(group, consumer, streams, count=count)
        else:
            if self._blocking is None:
                self._blocking = connect(self.url, self.options, socket_timeout=None)
            deadline = block_ms / 1000 + self.options.timeout_s + self.options.connect_timeout_s
            async with asyncio.timeout(deadline):
                reply = await self._blocking.xreadgroup(group, consumer, streams, count=count, block=block_ms)
        return [r for _stream, entries in reply or () for r in _records(entries)]

    @guarded
    async def ack(self, group: str, seqs: Iterable[int]) -> int:
        """Acknowledge processed records by their seq; returns how many were pending."""
        ids = [stream_id(s) for s in seqs]
        return int(await self.redis.xack(self.stream_name, group, *ids)) if ids else 0

    @guarded
    async def reclaim(self, group: str, consumer: str, min_idle_ms: int, count: int = 100) -> list[LogRecord]:
        """Take over entries another consumer left pending for ``min_idle_ms`` (it crashed)."""
        out: list[LogRecord] = []
        start = "0-0"
        while len(out) < count:
            reply = await self.redis.xautoclaim(
                self.stream_name, group, consumer, min_idle_ms, start_id=start, count=count - len(out)
            )
            start, entries = reply[0], reply[1]
            out += _records(entries)
            if start in ("0-0", b"0-0"):
                break
        return out
