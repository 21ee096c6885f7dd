"""Whether the store (the upstream) answers: what ``/_sw/health`` and the metrics say about it.

A store that is down used to show only as visitors' 502/504 pages and a
rate-limited log line, while ``/_sw/health`` said "ok". It says more now,
without making Slotwise's own health depend on the store's:

- every request to the store tells ``UpstreamHealth`` whether it got an
  answer (any status: a 500 is the store answering) or not (refused, reset,
  no response head in time: what visitors get as a 502/504);
- ``/_sw/health`` reports ``upstream``: ``ok``, or ``failing`` since when,
  after how many failed requests, and the last error; a check asks the store
  itself (``HEAD --upstream-health-path``, ``/`` by default; within ``PROBE_TIMEOUT_S``, waited for ``WAIT_S`` at most) only while it is failing or
  when no request has told anything for ``FRESH_S`` (an idle instance, or a
  worker that has just started), so a recovery shows without visitors and a
  busy store gets no extra requests;
- the status code stays Slotwise's own: a store that is down is not a reason
  for a balancer to take Slotwise out (every instance would fail at once, for
  a fault none of them has). Alert on ``slotwise_upstream_up`` instead.

Each worker keeps its own view (its own requests, its own checks); the
gauges are the most recent view of any worker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable

from slotwise.proxy.forwarding.errors import UpstreamError, UpstreamTimeout
from slotwise.proxy.operations import metrics

log = logging.getLogger("slotwise.proxy")

FRESH_S = 10.0
"""How long what the requests to the store saw stands for its state, before a health check asks it."""
PROBE_TIMEOUT_S = 1.5
"""The health check's own request to the store: an answer's head within this, or the store is failing."""
WAIT_S = 0.25
"""How long ``/_sw/health`` waits for that request before it answers with what is known."""


def iso(ts: float | None) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)) if ts is not None else None


class UpstreamHealth:
    """What this worker's requests to the store saw: its last answer, or failing since when and why.

    ``answered`` is on every request's path: one clock read, nothing else unless the store was failing."""

    def __init__(self, upstream: str, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.upstream = upstream
        self.clock, self.monotonic = clock, monotonic
        self.seen: float | None = None  # monotonic time of the last request's outcome, either way
        self.answered_at: float | None = None  # monotonic time of the last answer
        self.failing_since: float | None = None  # wall time of the first failure of the current outage
        self.failures = 0  # failed requests since then
        self.last_error: str | None = None  # kept after a recovery, with its time
        self.last_error_at: float | None = None
        self.probing: asyncio.Future[None] | None = None  # the health check's request to the store, under way

    @property
    def failing(self) -> bool:
        return self.failing_since is not None

    def answered(self) -> None:
        """The store sent a response head."""
        self.seen = self.answered_at = self.monotonic()
        if self.failing_since is not None:
            self._recovered()

    def failed(self, error: BaseException) -> None:
        """A request got no answer (``UpstreamError`` other than a refused upgrade)."""
        self.seen = self.monotonic()
        now = self.clock()
        detail = getattr(error, "detail", None) or str(error)
        self.last_error, self.last_error_at = f"{type(error).__name__}: {detail}", now
        self.failures += 1
        if self.failing_since is None:
            self.failing_since = now
            self.publish()

    def _recovered(self) -> None:
        since, failures = self.failing_since, self.failures
        self.failing_since, self.failures = None, 0
        log.warning("the store at %s answers again, after %d failed request%s since %s (last: %s)", self.upstream,
                    failures, "" if failures == 1 else "s", iso(since), self.last_error)
        self.publish()

    def fresh(self, within_s: float = FRESH_S) -> bool:
        """A request told the store's state within ``within_s`` seconds."""
        return self.seen is not None and self.monotonic() - self.seen <= within_s

    def publish(self) -> None:
        """The gauges (``slotwise_upstream_up``, ``slotwise_upstream_failing_since_seconds``)."""
        metrics.set_upstream(not self.failing, self.failing_since)

    def body(self) -> dict[str, Any]:
        """``/_sw/health``'s ``upstream``."""
        now, mono = self.clock(), self.monotonic()
        out: dict[str, Any] = {"url": self.upstream, "status": "failing" if self.failing else "ok"}
        if self.failing_since is not None:
            out.update(failing_since=iso(self.failing_since), failing_for_seconds=round(now - self.failing_since, 1),
                       failed_requests=self.failures)
        out["last_answer"] = iso(now - (mono - self.answered_at)) if self.answered_at is not None else None
        if self.last_error is not None:
            out.update(last_error=self.last_error, last_error_at=iso(self.last_error_at))
        return out


async def check_upstream(health: UpstreamHealth, probe: Callable[[], Awaitable[Any]],
                         timeout_s: float = PROBE_TIMEOUT_S, wait_s: float = WAIT_S) -> dict[str, Any]:
    """The store's state for ``/_sw/health``: asked with ``probe`` (which records its outcome in
    ``health``) while failing or when nothing fresh is known; the gauges refreshed either way.

    The probe runs as a task of its own (one at a time) and the check waits for it at most ``wait_s``:
    a store that accepts connections and never answers must not hold ``/_sw/health`` up to the probe's
    timeout (a balancer would time out on Slotwise for the store's fault). What the probe finds later
    is in the next check's answer."""
    if (health.failing or not health.fresh()) and health.probing is None:
        health.probing = asyncio.ensure_future(_probe(health, probe, timeout_s))
    if health.probing is not None:
        await asyncio.wait([health.probing], timeout=wait_s)
    health.publish()
    return health.body()


async def _probe(health: UpstreamHealth, probe: Callable[[], Awaitable[Any]], timeout_s: float) -> None:
    try:
        async with asyncio.timeout(timeout_s):
            await probe()
    except TimeoutError:
        health.failed(UpstreamTimeout(f"the health check's request got no answer within {timeout_s:g} s"))
    except UpstreamError:  # ``probe`` recorded it
        pass
    except Exception:  # a fault of ours, not the store's: what is known stands
        log.warning("the health check's request to the store at %s failed", health.upstream, exc_info=True)
    finally:
        health.probing = None
        health.publish()
