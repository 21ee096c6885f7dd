"""Each slot's presence on its pages, kept in the store (SQLite and Redis alike): workers add their counts
and every instance reads the sum; a new selector starts over, a day-old window starts its counts over."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from slotwise.store.slot_presence import WINDOW_S, SlotPresence

pytestmark = pytest.mark.anyio


def counted(selector: str, since: float, pages: int, absent: int, paths: tuple[str, ...] = (),
            found: float | None = None) -> SlotPresence:
    return SlotPresence(selector, since, pages, absent, paths, since + 1 if absent else None, found)


async def test_workers_counts_add_up_and_every_instance_reads_them(backend: Any) -> None:
    here, there = backend.open(), backend.open()
    now = 1_000_000.0
    await here.add_slot_presence({"buy": counted(".buy-box", now, 3, 2, ("/p/a", "/p/b"), found=now)})
    # two workers at once: neither's counts are lost (SQLite: one transaction; Redis: compare and set)
    await asyncio.gather(*(w.add_slot_presence({"buy": counted(".buy-box", now + 5, 2, 2, (f"/p/{i}", "/p/a"))})
                           for i, w in enumerate((here, there))))
    got = (await there.slot_presence())["buy"]
    assert (got.pages, got.absent, got.since, got.last_found_at) == (7, 6, now, now)
    assert got.paths[-2:] in (("/p/0", "/p/a"), ("/p/1", "/p/a")) and len(got.paths) == 4  # each once, the last 5
    assert got.mostly_absent
    await here.add_slot_presence({"buy": counted(".product-form .buy", now + 10, 1, 0, found=now + 10)})
    fixed = (await here.slot_presence())["buy"]  # the selector changed in the rules: its own counts
    assert (fixed.selector, fixed.pages, fixed.absent, fixed.paths) == (".product-form .buy", 1, 0, ())
    await here.add_slot_presence({"buy": counted(".product-form .buy", now + WINDOW_S + 20, 4, 4, ("/p/z",))})
    day = (await there.slot_presence())["buy"]  # a new day: counts start over, the last time found is kept
    assert (day.pages, day.absent, day.since, day.last_found_at) == (4, 4, now + WINDOW_S + 20, now + 10)
    for opened in backend.opened:
        await opened.close()


async def test_the_slots_the_rules_no_longer_have_are_forgotten(backend: Any) -> None:
    """A slot taken out of the rules kept its record (and its warning) for ever: the rules' load drops it."""
    here, there = backend.open(), backend.open()
    now = 1_000_000.0
    await here.add_slot_presence({slot: counted(f".{slot}", now, 4, 3) for slot in ("buy", "gone", "hero")})
    await there.forget_slot_presence({"buy", "hero", "new-one"})  # the rules' slots, one never counted
    assert sorted(await here.slot_presence()) == ["buy", "hero"]
    assert (await here.slot_presence())["buy"].pages == 4  # the others keep their counts
    await there.forget_slot_presence({"buy", "hero"})  # nothing to drop: nothing changes
    await here.forget_slot_presence(())  # rules without slots
    assert await there.slot_presence() == {}
    for opened in backend.opened:
        await opened.close()
