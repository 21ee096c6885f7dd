"""Stock per physical store in Redis (``slotwise import inventory``).

Keys::

    sw:inv:p:<product>   hash "<store>\\x1f<size>" -> units (what a product page reads: one HGETALL)
    sw:inv:s:<store>     set of "<product>\\x1f<size>" (what replacing a store's stock walks)
    sw:inv:names         hash store -> display name

A replacement is one Lua script: nothing half-applied, and a second instance
reads the old stock or the new, never a mix.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from slotwise.store.base import InventoryChange, InventoryRow
from slotwise.store.redis.client import RedisBase, guarded

SEP = "\x1f"

# ARGV: P, number of stores, (store, name)..., then (store, product, size, qty)... -> {added, changed, removed, unchanged}
_REPLACE = """
local P, n = ARGV[1], tonumber(ARGV[2])
local i, stores, wanted = 3, {}, {}
local added, changed, removed, unchanged = 0, 0, 0, 0
for _ = 1, n do
  stores[#stores + 1] = ARGV[i]
  redis.call('HSET', P..'inv:names', ARGV[i], ARGV[i + 1])
  i = i + 2
end
while i <= #ARGV do
  local store, product, size, qty = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local member = product..'\\31'..size
  wanted[store..'\\31'..member] = true
  local old = redis.call('HGET', P..'inv:p:'..product, store..'\\31'..size)
  if not old then added = added + 1 elseif old ~= qty then changed = changed + 1 else unchanged = unchanged + 1 end
  if old ~= qty then redis.call('HSET', P..'inv:p:'..product, store..'\\31'..size, qty) end
  redis.call('SADD', P..'inv:s:'..store, member)
  i = i + 4
end
for _, store in ipairs(stores) do
  for _, member in ipairs(redis.call('SMEMBERS', P..'inv:s:'..store)) do
    if not wanted[store..'\\31'..member] then
      local sep = string.find(member, '\\31', 1, true)
      local product, size = string.sub(member, 1, sep - 1), string.sub(member, sep + 1)
      redis.call('HDEL', P..'inv:p:'..product, store..'\\31'..size)
      redis.call('SREM', P..'inv:s:'..store, member)
      removed = removed + 1
    end
  end
end
return {added, changed, removed, unchanged}
"""


class InventoryMixin(RedisBase):
    @guarded
    async def replace_inventory(self, stores: Mapping[str, str], rows: Iterable[InventoryRow],
                                now: float) -> InventoryChange:
        args: list[str] = [str(len(stores))]
        for store, name in stores.items():
            args += [store, name]
        for row in rows:
            args += [row.store, row.product, row.size or "", str(int(row.qty))]
        added, changed, removed, unchanged = await self.run_script(_REPLACE, *args)
        return InventoryChange(int(added), int(changed), int(removed), int(unchanged))

    @guarded
    async def store_stock(self, products: Iterable[str]) -> list[InventoryRow]:
        products = list(dict.fromkeys(str(p) for p in products))
        if not products:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for product in products:
            pipe.hgetall(self.key("inv", "p", product))
        out: list[InventoryRow] = []
        for product, fields in zip(products, await pipe.execute()):
            for field, qty in fields.items():
                store, _, size = field.partition(SEP)
                out.append(InventoryRow(store, product, size or None, int(qty)))
        return sorted(out, key=lambda r: (r.store, r.product, r.size or ""))

    @guarded
    async def inventory_stores(self) -> dict[str, str]:
        return dict(sorted((await self.redis.hgetall(self.key("inv", "names"))).items()))
