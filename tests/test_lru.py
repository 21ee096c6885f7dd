"""``slotwise.lru.LRUCache`` behaves as ``cachetools.LRUCache`` did where the product used it.

The model is cachetools' own class: the same operations on both, in any
order, leave the same entries in the same recency order, with the same
``currsize``, the same answers and the same errors — counted bounds and
bounds in a size per value alike.
"""

from __future__ import annotations

import cachetools
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.lru import LRUCache

KEYS = st.sampled_from(["a", "b", "c", "d", "e", "f", ("t", 1), ("t", 2)])
SIZED = st.text(max_size=12)

OPS = st.one_of(
    st.tuples(st.just("set"), KEYS, SIZED),
    st.tuples(st.just("get"), KEYS),
    st.tuples(st.just("get_default"), KEYS),
    st.tuples(st.just("item"), KEYS),
    st.tuples(st.just("in"), KEYS),
    st.tuples(st.just("pop"), KEYS),
    st.tuples(st.just("pop_default"), KEYS),
    st.tuples(st.just("del"), KEYS),
    st.tuples(st.just("popitem")),
    st.tuples(st.just("clear")),
)


def _apply(cache: object, op: tuple[object, ...]) -> object:
    """One operation; its answer, or the type of the error it raised."""
    name = op[0]
    try:
        if name == "set":
            cache[op[1]] = op[2]  # type: ignore[index]
            return None
        if name == "get":
            return cache.get(op[1])  # type: ignore[attr-defined]
        if name == "get_default":
            return cache.get(op[1], "dflt")  # type: ignore[attr-defined]
        if name == "item":
            return cache[op[1]]  # type: ignore[index]
        if name == "in":
            return op[1] in cache  # type: ignore[operator]
        if name == "pop":
            return cache.pop(op[1])  # type: ignore[attr-defined]
        if name == "pop_default":
            return cache.pop(op[1], None)  # type: ignore[attr-defined]
        if name == "del":
            del cache[op[1]]  # type: ignore[attr-defined]
            return None
        if name == "popitem":
            return cache.popitem()  # type: ignore[attr-defined]
        cache.clear()  # type: ignore[attr-defined]
        return None
    except (KeyError, ValueError) as exc:
        return type(exc)


def _state(cache: object) -> tuple[object, ...]:
    """Which entries, how many, their size (the recency order shows in what ``popitem`` and a full
    cache's evictions take: cachetools iterates in insertion order, not in recency)."""
    return sorted(map(repr, cache)), len(cache), cache.currsize  # type: ignore[arg-type, attr-defined]


@settings(max_examples=400, deadline=None)
@given(maxsize=st.integers(0, 5), ops=st.lists(OPS, max_size=60))
def test_a_counted_bound_gives_what_cachetools_gives(maxsize: int, ops: list[tuple[object, ...]]) -> None:
    ours, model = LRUCache(maxsize), cachetools.LRUCache(maxsize)
    for op in ops:
        assert _apply(ours, op) == _apply(model, op), op
        assert _state(ours) == _state(model), op


@settings(max_examples=400, deadline=None)
@given(maxsize=st.integers(0, 30), ops=st.lists(OPS, max_size=60))
def test_a_bound_in_size_gives_what_cachetools_gives(maxsize: int, ops: list[tuple[object, ...]]) -> None:
    """Values weigh their length plus one: an empty one still counts, one over the bound is refused."""
    ours, model = LRUCache(maxsize, getsizeof=lambda v: len(v) + 1), cachetools.LRUCache(maxsize, getsizeof=lambda v: len(v) + 1)
    for op in ops:
        assert _apply(ours, op) == _apply(model, op), op
        assert _state(ours) == _state(model), op


def test_a_hit_makes_the_entry_the_most_recently_used_and_the_oldest_goes_first() -> None:
    cache: LRUCache[str, int] = LRUCache(2)
    cache["a"], cache["b"] = 1, 2
    assert cache.get("a") == 1
    cache["c"] = 3
    assert list(cache) == ["a", "c"] and "b" not in cache


def test_a_value_over_the_bound_is_refused_and_changes_nothing() -> None:
    cache: LRUCache[str, bytes] = LRUCache(10, getsizeof=len)
    cache["a"] = b"12345"
    with pytest.raises(ValueError):
        cache["b"] = b"x" * 11
    assert list(cache) == ["a"] and cache.currsize == 5
    with pytest.raises(ValueError):
        LRUCache(-1)
