"""Each buyer's own reorder interval per consumable, in Redis.

Keys::

    sw:ri:<key>          hash person -> days per unit (a category's sample, read with HRANDFIELD)
    sw:ri:who:<person>   set of the keys a person has a value under (for replacing and erasing)
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from slotwise.store.redis.client import RedisBase, guarded

# ARGV: P, then per person: person, n, (key, days) x n. Each person's old values go, the new ones are set.
_SET = """
local P, i = ARGV[1], 2
while i <= #ARGV do
  local person, n = ARGV[i], tonumber(ARGV[i + 1])
  for _, key in ipairs(redis.call('SMEMBERS', P..'ri:who:'..person)) do
    redis.call('HDEL', P..'ri:'..key, person)
  end
  redis.call('DEL', P..'ri:who:'..person)
  for j = i + 2, i + 2 * n, 2 do
    redis.call('HSET', P..'ri:'..ARGV[j], person, ARGV[j + 1])
    redis.call('SADD', P..'ri:who:'..person, ARGV[j])
  end
  i = i + 2 + 2 * n
end
return 1
"""
BATCH = 500  # people per script call: a long import never holds Redis for long

# ARGV: P, mode ('erase' | 'export'), persons... -> flat {key, days, ...}
_PERSON = """
local P, out = ARGV[1], {}
for i = 3, #ARGV do
  local person = ARGV[i]
  for _, key in ipairs(redis.call('SMEMBERS', P..'ri:who:'..person)) do
    local days = redis.call('HGET', P..'ri:'..key, person)
    if days then out[#out + 1] = key; out[#out + 1] = days end
    if ARGV[2] == 'erase' then redis.call('HDEL', P..'ri:'..key, person) end
  end
  if ARGV[2] == 'erase' then redis.call('DEL', P..'ri:who:'..person) end
end
return out
"""


async def erase_reorder(store: RedisBase, ids: Sequence[str]) -> None:
    await store.run_script(_PERSON, "erase", *ids)


async def export_reorder(store: RedisBase, ids: Sequence[str]) -> dict[str, Any]:
    flat = await store.run_script(_PERSON, "export", *ids)
    return {"reorder_intervals": dict(sorted((k, float(d)) for k, d in zip(flat[::2], flat[1::2])))}


class ReorderMixin(RedisBase):
    @guarded
    async def set_reorder_intervals(self, by_person: Mapping[str, Mapping[str, float]]) -> None:
        people = list(by_person.items())
        for start in range(0, len(people), BATCH):
            args: list[str] = []
            for person, own in people[start:start + BATCH]:
                args += [person, str(len(own))]
                for key, days in own.items():
                    args += [key, repr(float(days))]
            await self.run_script(_SET, *args)

    @guarded
    async def reorder_intervals(self, keys: Iterable[str], limit: int = 1000) -> dict[str, list[float]]:
        keys = list(dict.fromkeys(keys))
        if not keys or limit <= 0:
            return {}
        pipe = self.redis.pipeline(transaction=False)
        for key in keys:
            pipe.hrandfield(self.key("ri", key), limit, withvalues=True)  # a random sample of distinct buyers
        out: dict[str, list[float]] = {}
        for key, flat in zip(keys, await pipe.execute()):
            if flat:
                out[key] = [float(v) for v in flat[1::2]]
        return out
