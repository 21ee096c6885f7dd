"""Kill switches are stored (SQLite and Redis alike) and reach every instance within a second."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest

from slotwise.proxy.operations.kill_switch import ALL, KillSwitches

pytestmark = pytest.mark.anyio


async def test_a_switch_round_trips_with_who_and_when(store: Any) -> None:
    assert await store.get_switches() == {}
    await store.set_switch("hero", True, 1000.0, "admin at 10.0.0.1")
    await store.set_switch(ALL, False, 1001.0, "admin at 10.0.0.2")
    assert await store.get_switches() == {
        "hero": {"off": True, "at": 1000.0, "who": "admin at 10.0.0.1"},
        ALL: {"off": False, "at": 1001.0, "who": "admin at 10.0.0.2"},
    }
    await store.set_switch("hero", False, 1002.0, "admin at 10.0.0.1")
    assert (await store.get_switches())["hero"]["off"] is False


async def test_a_flip_on_one_instance_takes_effect_on_another_within_a_second(backend: Any,
                                                                             caplog: pytest.LogCaptureFixture) -> None:
    here, there = KillSwitches(backend.open()), KillSwitches(backend.open())
    assert not (await there.current()).slot_off("hero")  # read once: cached from now on
    with caplog.at_level(logging.WARNING, logger="slotwise.admin"):
        await here.flip("hero", True, time.time(), "admin at 192.0.2.1")
    assert "kill switch: slot 'hero' turned OFF by admin at 192.0.2.1" in caplog.text  # audited
    assert (await here.current()).slot_off("hero")  # the flipping process: at once
    started = time.monotonic()
    while not (await there.current()).slot_off("hero"):
        await asyncio.sleep(0.02)
    assert time.monotonic() - started <= 1.0
    await here.flip(ALL, True, time.time(), "admin at 192.0.2.1")
    await asyncio.sleep(0.6)
    assert (await there.current()).all_off
    for opened in backend.opened:
        await opened.close()


async def test_an_unreadable_store_keeps_the_last_known_switches(backend: Any) -> None:
    store = backend.open()
    switches = KillSwitches(store, refresh_s=0.0)
    await switches.flip("hero", True, time.time(), "admin")
    assert (await switches.current()).slot_off("hero")

    async def broken() -> Any:
        raise ConnectionError("store away")

    store.get_switches = broken
    assert (await switches.current()).slot_off("hero")  # fail open on the last known state
    await store.close()
