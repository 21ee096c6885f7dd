"""Trimming the log: the stream and the per-visitor index shrink together.

Without it the stream and ``sw:lv:<visitor>`` grew forever (~1.5 KB of Redis
per page view). The learner calls :meth:`RetentionMixin.trim_log` after each
snapshot: entries are removed only when the saved snapshot already contains
them (a rebuild after a snapshot format change needs the log since the last
good snapshot) *and* they are older than the retention the reports need.
Each batch removes the entries' ids from their visitors' index sets in the
same Lua call, so export and erase never point at entries that are gone.
"""

from __future__ import annotations

from typing import Any

from slotwise.store.redis.client import RedisBase, guarded

# ARGV: P, last seq to trim, batch size. Returns {entries trimmed, seq of the last one}.
_TRIM = """
local P = ARGV[1]
local stream = P..'log'
local entries = redis.call('XRANGE', stream, '-', ARGV[2]..'-0', 'COUNT', tonumber(ARGV[3]))
local last = 0
for _, entry in ipairs(entries) do
  local id, fields = entry[1], entry[2]
  for j = 1, #fields, 2 do
    if fields[j] == 'visitor' then redis.call('SREM', P..'lv:'..fields[j + 1], id) end
  end
  last = tonumber(string.match(id, '^(%d+)'))
end
if last > 0 then redis.call('XTRIM', stream, 'MINID', string.format('%d-0', last + 1)) end
return {#entries, last}
"""


def _seq_ts(entry: Any) -> tuple[int, float]:
    entry_id, fields = entry
    return int(str(entry_id).split("-")[0]), float((fields or {}).get("ts", 0.0))


class RetentionMixin(RedisBase):
    @guarded
    async def log_start(self) -> tuple[int, float] | None:
        """(seq, ts) of the oldest entry still in the log: where reports start counting."""
        first = await self.redis.xrange(self.key("log"), "-", "+", count=1)
        return _seq_ts(first[0]) if first else None

    @guarded
    async def _last_seq_before(self, cutoff_ts: float, at_most: int) -> int:
        """The last seq ≤ ``at_most`` whose entry is older than ``cutoff_ts`` (0: none).

        A binary search over the seqs (entries are appended in time order; a
        skewed clock only moves the cut a little): a few XRANGE calls.
        """
        stream = self.key("log")
        first = await self.redis.xrange(stream, "-", "+", count=1)
        if not first:
            return 0
        lo, ts = _seq_ts(first[0])
        if ts >= cutoff_ts or lo > at_most:
            return 0
        hi = at_most
        while lo < hi:
            mid = (lo + hi + 1) // 2
            found = await self.redis.xrange(stream, f"{mid}-0", f"{hi}-0", count=1)
            if not found:
                hi = mid - 1
                continue
            seq, ts = _seq_ts(found[0])
            if ts >= cutoff_ts:
                hi = mid - 1
            else:
                lo = seq
        return lo

    @guarded
    async def trim_log(self, keep_after_seq: int, older_than_ts: float | None = None, batch: int = 1000) -> int:
        """Remove entries up to ``keep_after_seq`` (and older than ``older_than_ts``); returns how many.

        ``keep_after_seq`` is the seq the saved snapshot includes: nothing newer
        is ever trimmed. ``older_than_ts`` None trims everything up to it.
        """
        cut = int(keep_after_seq)
        if older_than_ts is not None:
            cut = await self._last_seq_before(older_than_ts, cut)
        trimmed = 0
        while cut > 0:
            count, _last = await self.run_script(_TRIM, cut, int(batch))
            trimmed += int(count)
            if int(count) < batch:
                break
        return trimmed
