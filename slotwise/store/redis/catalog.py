"""The product catalog with view and co-view counts, in hashes and sorted sets.

Keys::

    sw:prod         hash id -> product JSON
    sw:pcat         hash id -> category ('' when none): the index each product is in
    sw:pids         zset of every id, score 0 (lexicographic order, for listing)
    sw:pc:<cat>     zset of a category's ids, score 0
    sw:pv           zset id -> views (every known product, from 0)
    sw:pv:<cat>     zset id -> views within the category (ZINCRBY with the global one)
    sw:cv:<a>       zset b -> times a and b were viewed together
    sw:catv         counter: changes with every change of a product row (``catalog_stamp``)

A write merges each row into the stored one (``slotwise.store.catalog_merge``,
the rule SQLite applies too): the rows are read, merged here, and written by
one script per chunk that first checks that none it writes changed since it
was read (else the chunk is read again), as the bulk import does.

Ties in popularity break by id ascending, as on SQLite.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, Iterable, Mapping

from slotwise.store.base import StoreError
from slotwise.store.catalog_merge import folded, merge_rows
from slotwise.store.redis.client import RedisBase, guarded
from slotwise.store.redis.profiles import MAX_ATTEMPTS, _backoff

# ARGV: P, then (id, category or '', json, SHA-1 of the JSON it was merged from or '', the parent it is folded
# into or '') per changed product. Writes nothing (returns -1) unless every row is still what it was read as.
# A category change moves the product and its views; a fold moves the row's views and co-views to its parent
# (``catalog_merge.folded``), as SQLite's ``move_counts`` does.
_UPSERT = """
local P = ARGV[1]
for i = 2, #ARGV, 5 do
  local stored = redis.call('HGET', P..'prod', ARGV[i])
  if (stored and redis.sha1hex(stored) or '') ~= ARGV[i + 3] then return -1 end
end
for i = 2, #ARGV, 5 do
  local id, cat, data = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local old = redis.call('HGET', P..'pcat', id)
  local views = redis.call('ZSCORE', P..'pv', id) or 0
  if old and old ~= cat and old ~= '' then
    redis.call('ZREM', P..'pc:'..old, id)
    redis.call('ZREM', P..'pv:'..old, id)
  end
  redis.call('HSET', P..'prod', id, data)
  redis.call('HSET', P..'pcat', id, cat)
  redis.call('ZADD', P..'pids', 0, id)
  redis.call('ZADD', P..'pv', 'NX', 0, id)
  if cat ~= '' then
    redis.call('ZADD', P..'pc:'..cat, 0, id)
    redis.call('ZADD', P..'pv:'..cat, views, id)
  end
end
for i = 2, #ARGV, 5 do
  local id, parent = ARGV[i], ARGV[i + 4]
  if parent ~= '' then
    local views = tonumber(redis.call('ZSCORE', P..'pv', id) or 0)
    local pcat = redis.call('HGET', P..'pcat', parent)
    if views > 0 and pcat then
      redis.call('ZINCRBY', P..'pv', views, parent)
      if pcat ~= '' then redis.call('ZINCRBY', P..'pv:'..pcat, views, parent) end
      redis.call('ZADD', P..'pv', 0, id)
      if ARGV[i + 1] ~= '' then redis.call('ZADD', P..'pv:'..ARGV[i + 1], 0, id) end
    end
    local pairs = redis.call('ZRANGE', P..'cv:'..id, 0, -1, 'WITHSCORES')
    for j = 1, #pairs, 2 do
      local other, n = pairs[j], pairs[j + 1]
      redis.call('ZREM', P..'cv:'..other, id)
      if other ~= parent then
        redis.call('ZINCRBY', P..'cv:'..parent, n, other)
        redis.call('ZINCRBY', P..'cv:'..other, n, parent)
      end
    end
    redis.call('DEL', P..'cv:'..id)
  end
end
if #ARGV > 1 then redis.call('INCR', P..'catv') end
return (#ARGV - 1) / 5
"""

# ARGV: P, product, co-viewed... Views count only for known products; co-views for any pair.
_VIEW = """
local P, product = ARGV[1], ARGV[2]
local cat = redis.call('HGET', P..'pcat', product)
if cat then
  redis.call('ZINCRBY', P..'pv', 1, product)
  if cat ~= '' then redis.call('ZINCRBY', P..'pv:'..cat, 1, product) end
end
for i = 3, #ARGV do
  local other = ARGV[i]
  if other ~= product then
    redis.call('ZINCRBY', P..'cv:'..product, 1, other)
    redis.call('ZINCRBY', P..'cv:'..other, 1, product)
  end
end
return 1
"""


UPSERT_CHUNK = 1000
"""Rows merged and written per script at most: a feed's refresh never holds Redis for long."""
STAMP_S = 1.0
"""How long a store object answers ``catalog_stamp`` from its last read (its own writes: at once)."""


class CatalogMixin(RedisBase):
    _stamp: tuple[int, float] | None = None  # (catalog stamp, monotonic time read)

    @guarded
    async def upsert_products(self, products: Iterable[Mapping[str, Any]], now: float,
                              own_currency: str | None = None) -> int:
        """Merges each row into the stored one (``catalog_merge``), a chunk of rows at a time."""
        rows = list(products)
        for start in range(0, len(rows), UPSERT_CHUNK):
            await self._upsert_chunk(rows[start:start + UPSERT_CHUNK], own_currency)
        return len(rows)

    async def _upsert_chunk(self, rows: list[Mapping[str, Any]], own_currency: str | None) -> None:
        ids = list(dict.fromkeys(str(p["id"]) for p in rows))
        for attempt in range(MAX_ATTEMPTS):
            raw = dict(zip(ids, await self.redis.hmget(self.key("prod"), ids)))
            changed = merge_rows(raw, rows, own_currency)
            if not changed:
                return
            folds = dict(folded(raw, changed))
            args: list[str] = []
            for pid, (p, data) in changed.items():
                read = raw[pid]
                args += [pid, str(p.get("category") or ""), data, hashlib.sha1(read.encode()).hexdigest() if read else "",
                         folds.get(pid, "")]
            if int(await self.run_script(_UPSERT, *args)) >= 0:
                self._stamp = None  # this store's own write: seen at once
                return
            await _backoff(attempt)
        raise StoreError(f"upsert_products: gave up after {MAX_ATTEMPTS} conflicting writes")

    @guarded
    async def catalog_stamp(self) -> int:
        """Changes with every change of a product row (read at most once per ``STAMP_S``)."""
        kept = self._stamp
        if kept is not None and time.monotonic() - kept[1] < STAMP_S:
            return kept[0]
        stamp = int(await self.redis.get(self.key("catv")) or 0)
        self._stamp = (stamp, time.monotonic())
        return stamp

    @guarded
    async def get_products(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = list(dict.fromkeys(str(i) for i in ids))
        if not ids:
            return {}
        rows = await self.redis.hmget(self.key("prod"), ids)
        return {i: json.loads(raw) for i, raw in zip(ids, rows) if raw}

    @guarded
    async def list_products(self, category: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        if limit <= 0:
            return []
        index = self.key("pids") if category is None else self.key("pc", category)
        ids = await self.redis.zrange(index, 0, limit - 1)
        if not ids:
            return []
        rows = await self.redis.hmget(self.key("prod"), ids)
        return [json.loads(raw) for raw in rows if raw]

    @guarded
    async def record_product_view(self, product: str, co_viewed: Iterable[str]) -> None:
        await self.run_script(_VIEW, str(product), *(str(o) for o in co_viewed))

    async def record_product_view_soon(self, product: str, co_viewed: Iterable[str]) -> None:
        """Written at once (one script call: counters on the instance-shared keys)."""
        await self.record_product_view(product, co_viewed)

    @guarded
    async def popular(self, category: str | None, limit: int) -> list[str]:
        return await self._top(self.key("pv") if category is None else self.key("pv", category), limit)

    @guarded
    async def co_viewed(self, product: str, limit: int) -> list[str]:
        return await self._top(self.key("cv", str(product)), limit)

    async def _top(self, key: str, limit: int) -> list[str]:
        """The ``limit`` highest-scored members, ties by member ascending (ZREVRANGE alone gives descending)."""
        if limit <= 0:
            return []
        top = await self.redis.zrevrange(key, 0, limit - 1, withscores=True)
        ranked = sorted(top, key=lambda ms: (-ms[1], ms[0]))
        if len(top) < limit:
            return [m for m, _ in ranked]
        lowest = top[-1][1]
        above = [m for m, s in ranked if s > lowest]
        ties = await self.redis.zrangebyscore(key, lowest, lowest, start=0, num=limit - len(above))
        return above + list(ties)
