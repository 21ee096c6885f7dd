"""``asyncio.timeout`` for the per-request hot path, at a fraction of its cost.

A personalized page goes through five or six timeouts (the origin's response
head, a silent body, the personalization budget of ``on_request``,
``on_html`` and the decision log), almost all of which end long before their
time. ``asyncio.timeout`` cost ~6 µs each on uvloop (a ``Timeout`` object,
two coroutines for ``async with``, a loop timer made and cancelled: uvloop's
``call_at`` alone is ~2–4 µs). ``deadline`` is a plain context manager, and
the deadlines of a loop share one loop timer (``_Timers``): entering one is a
push on a heap, leaving it marks its entry dead, and the timer, set for the
earliest entry, cancels the tasks of the live ones whose time has come.

The behaviour is ``asyncio.timeout``'s: when the time is up the task is
cancelled and ``TimeoutError`` comes out of the block; a cancellation from
anywhere else passes through untouched (the count of ``Task.cancelling``
tells them apart, as in ``asyncio.timeout``). Dead entries leave the heap
when they reach its top, or all at once when they outnumber the live ones
(the heap stays within twice the deadlines in progress, plus a little).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import weakref
from types import TracebackType

_COMPACT_AT = 1024
"""Dead entries tolerated before the heap is rebuilt without them (when they also outnumber the live ones)."""

_order = itertools.count()  # ties of equal deadlines, so that entries never compare their deadlines


class _Timers:
    """The deadlines of one event loop: a heap of [when, order, deadline or None (dead)] under one timer."""

    __slots__ = ("loop", "heap", "handle", "armed", "dead")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = weakref.ref(loop)  # the loop's entry in ``_loops`` must not keep it alive
        self.heap: list[list[object]] = []
        self.handle: asyncio.TimerHandle | None = None
        self.armed = float("inf")
        self.dead = 0

    def add(self, when: float, owner: "deadline") -> list[object]:
        entry: list[object] = [when, next(_order), owner]
        heapq.heappush(self.heap, entry)
        if when < self.armed:
            self._arm(when)
        return entry

    def remove(self, entry: list[object]) -> None:
        entry[2] = None
        self.dead += 1
        if self.dead > _COMPACT_AT and self.dead * 2 > len(self.heap):
            self.heap = [e for e in self.heap if e[2] is not None]
            heapq.heapify(self.heap)
            self.dead = 0

    def _arm(self, when: float) -> None:
        if self.handle is not None:
            self.handle.cancel()
        loop = self.loop()
        if loop is not None:
            self.armed = when
            self.handle = loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self.handle = None
        self.armed = float("inf")
        loop = self.loop()
        if loop is None:
            return
        heap, now = self.heap, loop.time()
        while heap and (heap[0][2] is None or heap[0][0] <= now):  # type: ignore[operator]
            _, _, owner = heapq.heappop(heap)
            if owner is None:
                self.dead -= 1
            else:
                owner._expire()  # type: ignore[attr-defined]
        if heap:
            self._arm(heap[0][0])  # type: ignore[arg-type]


_loops: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Timers]" = weakref.WeakKeyDictionary()
_last: tuple[asyncio.AbstractEventLoop | None, _Timers | None] = (None, None)


def _timers(loop: asyncio.AbstractEventLoop) -> _Timers:
    global _last
    if _last[0] is loop:
        return _last[1]  # type: ignore[return-value]
    timers = _loops.get(loop)
    if timers is None:
        timers = _loops[loop] = _Timers(loop)
    _last = (loop, timers)
    return timers


class deadline:  # noqa: N801 — used like asyncio.timeout
    """``with deadline(seconds):`` inside a task: ``TimeoutError`` if the block is still waiting after
    ``seconds`` (None: no limit, until ``reschedule``)."""

    __slots__ = ("_delay", "_task", "_timers", "_entry", "_expired", "_cancelling", "_done")

    def __init__(self, delay: float | None) -> None:
        self._delay = delay
        self._task: asyncio.Task[object] | None = None
        self._timers: _Timers | None = None
        self._entry: list[object] | None = None
        self._expired = False
        self._cancelling = 0
        self._done = False

    def __enter__(self) -> "deadline":
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("deadline() must be used inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        loop = asyncio.get_running_loop()
        self._timers = timers = _timers(loop)
        if self._delay is not None:
            self._entry = timers.add(loop.time() + self._delay, self)
        return self

    def reschedule(self, when: float | None) -> None:
        """Moves the deadline to ``when`` (the loop's clock; None: no limit); only inside the block."""
        if self._task is None or self._done or self._expired:
            raise RuntimeError("deadline is not active")
        assert self._timers is not None
        if self._entry is not None:
            self._timers.remove(self._entry)
            self._entry = None
        if when is not None:
            self._entry = self._timers.add(when, self)

    def expired(self) -> bool:
        """The time ran out (the block was cancelled for it)."""
        return self._expired

    def _expire(self) -> None:
        self._entry = None
        if self._done:
            return
        self._expired = True
        assert self._task is not None
        self._task.cancel()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._done = True
        if self._entry is not None:
            assert self._timers is not None
            self._timers.remove(self._entry)
            self._entry = None
        task, self._task = self._task, None
        if self._expired:
            assert task is not None
            if task.uncancel() <= self._cancelling and kind is asyncio.CancelledError:
                raise TimeoutError from exc
        return None
