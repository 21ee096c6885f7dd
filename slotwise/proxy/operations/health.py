"""Is this instance healthy, and if not, why: what ``/_sw/health`` and the metrics report.

A proxy whose store refuses writes still serves pages (fail open), so it
used to say "ok" while every event got a 503 and the learner could save no
snapshot. The checks here are cheap (a few store round trips, bounded by a
deadline) and each failing one adds a reason:

- ``store_unavailable``: the store does not answer (Redis down or too slow);
- ``store_unwritable``: it answers but refuses a write (Redis at maxmemory, SQLite's data directory full or read-only);
- ``store_error``: it answers a read with an error (not an outage: a wrong type, a script error);
- ``learner_behind``: the oldest log record the models do not include is
  older than ``--health-max-lag`` seconds (no learner running, or stuck);
- ``rules_invalid``: the rules file on disk was rejected (the last good rules serve).
- ``personalizer_failed``: it failed to start; pages pass through unchanged (``app.py``).

Whether the store (the upstream) answers is reported beside them (``upstream``,
``upstream_health.py``) but is never a reason: Slotwise is not degraded by the store being down.
Nor by the store's webhook receiver refusing: ``webhook`` (``webhook_health.py``) says what waits.
Nor by its product feed failing: ``feed`` (``feed_health.py``) says how the last read went.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from slotwise.store.base import StoreError, StoreUnavailable

from slotwise.proxy.operations import metrics

DEADLINE_S = 2.0


@dataclass
class HealthReport:
    reasons: list[str] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)
    learner_lag_s: float | None = None
    learner_lag_records: int | None = None
    upstream: dict[str, Any] | None = None  # whether the store answers (``upstream_health``): never a reason
    webhook: dict[str, Any] | None = None  # what waits in the outbox (``webhook_health``): never a reason
    feed: dict[str, Any] | None = None  # the product feed's last read (``feed_health``): never a reason


    @property
    def status(self) -> str:
        return "degraded" if self.reasons else "ok"

    def add(self, reason: str, detail: str) -> None:
        if reason not in self.reasons:
            self.reasons.append(reason)
        self.details[reason] = detail

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "reasons": self.reasons, "details": self.details}
        if self.learner_lag_s is not None:
            out["learner_lag_seconds"] = round(self.learner_lag_s, 3)
        if self.learner_lag_records is not None:
            out["learner_lag_records"] = self.learner_lag_records
        if self.upstream is not None:
            out["upstream"] = self.upstream
        if self.webhook is not None:
            out["webhook"] = self.webhook
        if self.feed is not None:
            out["feed"] = self.feed
        return out


def _store_failure(report: HealthReport, exc: BaseException, what: str) -> None:
    if isinstance(exc, (StoreUnavailable, asyncio.TimeoutError, OSError)):
        report.add("store_unavailable", f"{what}: {exc}")
    else:
        report.add("store_unwritable" if what == "write" else "store_error", f"{what}: {exc}")


async def check_store(
    report: HealthReport,
    store: Any,
    position: Callable[[], Awaitable[int]],
    *,
    max_lag_s: float,
    now: Callable[[], float] = time.time,
) -> None:
    """Adds store and learner reasons to ``report``; ``position`` is the last seq the models include."""
    probe = getattr(store, "probe_write", None)
    if probe is not None:
        try:
            await probe()
        except StoreError as exc:
            _store_failure(report, exc, "write")
    if "store_unavailable" in report.reasons:
        return
    try:
        seq = await position()
        head_of = getattr(store, "log_head", None)
        if head_of is not None:
            report.learner_lag_records = max(0, int(await head_of()) - seq)
        pending = await store.read_log(seq, 1)
        report.learner_lag_s = max(0.0, now() - pending[0].ts) if pending else 0.0
    except StoreError as exc:
        _store_failure(report, exc, "read")
        return
    if report.learner_lag_s > max_lag_s:
        report.add("learner_behind", f"oldest record not in the models is {report.learner_lag_s:.0f}s old "
                                     f"(limit {max_lag_s:.0f}s); is the learner running?")


async def run_checks(checks: Callable[[HealthReport], Awaitable[None]], deadline_s: float = DEADLINE_S) -> HealthReport:
    """Runs ``checks`` under a deadline and publishes the outcome to the metrics."""
    report = HealthReport()
    try:
        async with asyncio.timeout(deadline_s):
            await checks(report)
    except TimeoutError:
        report.add("store_unavailable", f"health checks took over {deadline_s}s")
    metrics.set_health(report.reasons, report.learner_lag_s, report.learner_lag_records)
    return report
