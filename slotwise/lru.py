"""A least-recently-used mapping bounded in entries or in a size per value: ``cachetools.LRUCache``'s
behaviour at a fraction of its cost on a hit.

Why: a served page looks up ~20 kept things (the HTML cache, the rewriter's
targets and plans, the page's reading, facts and nonce, the rendered cards,
the verified cookie). ``cachetools.LRUCache.get`` is four Python calls and
three hashes of the key (``in``, the lookup, ``move_to_end``): for the
rendered cards' key — every field of four products — the hashes alone were
~2 µs a page. Here a hit is one Python call, one lookup and one
``move_to_end`` in C.

Every LRU the product keeps is this one (the per-page caches, the profile cache and the writer's
kept copies, the catalog's rows, the page digests); ``cachetools`` still gives the TTL caches.

Same contract as ``cachetools.LRUCache(maxsize, getsizeof)`` for what the
product uses (``get``, ``[]``, ``in``, ``pop``, ``clear``, ``len``,
``currsize``, ``maxsize``): the least recently used entries go first, a
value larger than ``maxsize`` raises ``ValueError`` and stores nothing
(``tests/test_lru.py`` checks it against ``cachetools`` operation by
operation).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar, overload

K = TypeVar("K")
V = TypeVar("V")
D = TypeVar("D")

_MISSING: Any = object()


class LRUCache(Generic[K, V]):
    """At most ``maxsize`` entries, or values of ``getsizeof`` summing to at most ``maxsize``."""

    __slots__ = ("_data", "_sizes", "_getsizeof", "maxsize", "currsize")

    def __init__(self, maxsize: int, getsizeof: Callable[[V], int] | None = None) -> None:
        if maxsize < 0:
            raise ValueError("maxsize must be non-negative")
        self._data: OrderedDict[K, V] = OrderedDict()
        self._sizes: dict[K, int] | None = {} if getsizeof is not None else None
        self._getsizeof = getsizeof
        self.maxsize = maxsize
        self.currsize = 0

    @overload
    def get(self, key: K) -> V | None: ...

    @overload
    def get(self, key: K, default: D) -> V | D: ...

    def get(self, key: K, default: Any = None) -> Any:
        """The value (now the most recently used), or ``default``."""
        data = self._data
        value = data.get(key, _MISSING)
        if value is _MISSING:
            return default
        data.move_to_end(key)
        return value

    def __getitem__(self, key: K) -> V:
        value = self._data[key]
        self._data.move_to_end(key)
        return value

    def __setitem__(self, key: K, value: V) -> None:
        data, sizes = self._data, self._sizes
        if sizes is None:
            if self.maxsize < 1:
                raise ValueError("value too large")
            if key in data:
                data[key] = value
                data.move_to_end(key)
                return
            while self.currsize + 1 > self.maxsize:
                self.popitem()
            data[key] = value
            self.currsize += 1
            return
        assert self._getsizeof is not None
        size = self._getsizeof(value)
        if size > self.maxsize:
            raise ValueError("value too large")
        if size < 0:
            raise ValueError("value size must be non-negative")
        old = sizes.pop(key, None)
        if old is not None:
            del data[key]
            self.currsize -= old
        while self.currsize + size > self.maxsize:
            self.popitem()
        data[key] = value
        sizes[key] = size
        self.currsize += size

    def __delitem__(self, key: K) -> None:
        del self._data[key]
        self.currsize -= self._sizes.pop(key) if self._sizes is not None else 1

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def pop(self, key: K, default: Any = _MISSING) -> Any:
        if key in self._data:
            value = self._data[key]
            del self[key]
            return value
        if default is _MISSING:
            raise KeyError(key)
        return default

    def popitem(self) -> tuple[K, V]:
        """Removes and returns the least recently used entry."""
        try:
            key = next(iter(self._data))
        except StopIteration:
            raise KeyError("LRUCache is empty") from None
        value = self._data[key]
        del self[key]
        return key, value

    def clear(self) -> None:
        self._data.clear()
        if self._sizes is not None:
            self._sizes.clear()
        self.currsize = 0

    def __repr__(self) -> str:
        return f"LRUCache({dict(self._data)!r}, maxsize={self.maxsize!r}, currsize={self.currsize!r})"
