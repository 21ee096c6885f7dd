"""``deadline`` behaves as ``asyncio.timeout`` where the proxy uses it: the block is cut when its time is up,
and only then; a cancellation from elsewhere is never turned into a timeout; nothing fires after the block."""

from __future__ import annotations

import asyncio
import time

import pytest

from slotwise.proxy.forwarding.deadline import deadline

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "uvloop"])
def anyio_backend(request: pytest.FixtureRequest) -> object:
    return ("asyncio", {"use_uvloop": True}) if request.param == "uvloop" else "asyncio"


async def test_a_block_past_its_time_raises_timeout_error() -> None:
    started = time.perf_counter()
    with pytest.raises(TimeoutError):
        with deadline(0.05) as d:
            await asyncio.sleep(5)
    assert d.expired()
    assert 0.04 < time.perf_counter() - started < 1.0
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]  # the cancel was taken back
    await asyncio.sleep(0)  # the task goes on as usual


async def test_a_block_within_its_time_is_untouched_and_nothing_fires_later() -> None:
    with deadline(0.05) as d:
        assert await asyncio.sleep(0, "done") == "done"
    assert not d.expired()
    await asyncio.sleep(0.1)  # past the deadline: the task is not cancelled
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_no_limit_until_rescheduled_and_only_the_one_that_expired_says_so() -> None:
    loop = asyncio.get_running_loop()
    with pytest.raises(TimeoutError):
        with deadline(None) as d:
            await asyncio.sleep(0.02)  # no limit yet
            d.reschedule(loop.time() + 0.02)
            with deadline(None) as inner:  # nested, without a limit: the outer one's cancel passes through it
                await asyncio.sleep(5)
    assert d.expired() and not inner.expired()


async def test_a_deadline_moved_away_does_not_fire() -> None:
    loop = asyncio.get_running_loop()
    with deadline(0.02) as d:
        d.reschedule(None)
        await asyncio.sleep(0.05)
        d.reschedule(loop.time() + 5)
        await asyncio.sleep(0)
    assert not d.expired()


async def test_rescheduling_outside_the_block_is_refused() -> None:
    with deadline(1) as d:
        pass
    with pytest.raises(RuntimeError):
        d.reschedule(None)


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    entered = asyncio.Event()

    async def guarded() -> None:
        with deadline(5):
            entered.set()
            await asyncio.sleep(5)

    task = asyncio.create_task(guarded())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_outer_timeout_is_not_taken_by_an_inner_deadline() -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.03) as outer:
            with deadline(5) as inner:
                await asyncio.sleep(5)
    assert outer.expired() and not inner.expired()


async def test_an_error_in_the_block_passes_through() -> None:
    with pytest.raises(KeyError):
        with deadline(5):
            await asyncio.sleep(0)
            raise KeyError("x")


async def test_a_deadline_already_past_cuts_at_the_first_wait() -> None:
    with pytest.raises(TimeoutError):
        with deadline(0):
            await asyncio.sleep(1)


def test_outside_a_task_it_is_refused() -> None:
    with pytest.raises(RuntimeError):
        with deadline(1):
            pass


async def test_many_deadlines_share_the_loop_timer_and_the_heap_stays_small() -> None:
    """Deadlines that end before their time leave no live timer behind: a burst of them, then one that
    expires among many that do not, then the heap holds about what is still in progress."""
    from slotwise.proxy.forwarding import deadline as module

    for _ in range(5000):
        with deadline(60):
            await asyncio.sleep(0)
    timers = module._timers(asyncio.get_running_loop())
    assert len(timers.heap) <= 2 * module._COMPACT_AT + 2  # dead entries were dropped, not kept 60 s

    async def one(i: int) -> str:
        try:
            with deadline(0.05 if i == 7 else 30):
                await asyncio.sleep(0.2)
            return "done"
        except TimeoutError:
            return "timeout"

    results = await asyncio.gather(*(one(i) for i in range(20)))
    assert results == ["timeout" if i == 7 else "done" for i in range(20)]


def test_each_loop_has_its_own_timers_and_a_closed_loop_is_not_kept() -> None:
    import gc
    import weakref

    from slotwise.proxy.forwarding import deadline as module

    async def cut() -> bool:
        try:
            with deadline(0.01):
                await asyncio.sleep(1)
        except TimeoutError:
            return True
        return False

    gone = []
    for _ in range(2):
        loop = asyncio.new_event_loop()
        assert loop.run_until_complete(cut())  # a new loop's deadlines work from scratch
        loop.close()
        gone.append(weakref.ref(loop))
        del loop
    module._last = (None, None)  # the last loop used is kept by the module until another comes
    gc.collect()
    assert [ref() for ref in gone] == [None, None]
