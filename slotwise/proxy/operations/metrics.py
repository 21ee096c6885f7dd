"""Prometheus metrics of the edge, and the helpers other parts use to feed them.

With several worker processes, ``server.run`` sets ``PROMETHEUS_MULTIPROC_DIR``
before the workers start; ``/_sw/metrics`` then aggregates all workers.
The personalizer reports through ``observe_rewrite`` and ``count_fail_open``.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess

from slotwise.store.outage import OUTAGE

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_REWRITE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)

# One registry for the process: tests build many apps, metric names must register once.
REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "slotwise_requests", "Proxied responses by status class", ["status_class"], registry=REGISTRY
)
UPSTREAM_LATENCY = Histogram(
    "slotwise_upstream_latency_seconds",
    "Time from sending the request upstream to its response headers",
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
REWRITE_TIME = Histogram(
    "slotwise_rewrite_seconds", "Time personalization spent on one HTML page", buckets=_REWRITE_BUCKETS, registry=REGISTRY
)
FAIL_OPEN = Counter(
    "slotwise_fail_open", "Pages served unchanged because personalization failed, by stage", ["stage"], registry=REGISTRY
)
UPSTREAM_ERRORS = Counter(
    "slotwise_upstream_errors", "Upstream failures by kind", ["kind"], registry=REGISTRY
)

# Health (refreshed by /_sw/health and each /_sw/metrics scrape; with several workers the
# most recent check wins, whichever worker ran it): alert on these.
DEGRADED = Gauge(
    "slotwise_degraded", "1 while /_sw/health reports degraded, by reason", ["reason"],
    registry=REGISTRY, multiprocess_mode="livemostrecent",
)
LEARNER_LAG_SECONDS = Gauge(
    "slotwise_learner_lag_seconds", "Age of the oldest log record the learner's models do not include yet",
    registry=REGISTRY, multiprocess_mode="livemostrecent",
)
LEARNER_LAG_RECORDS = Gauge(
    "slotwise_learner_lag_records", "Log records the learner's models do not include yet",
    registry=REGISTRY, multiprocess_mode="livemostrecent",
)
LEARNER_NOT_HELD = Gauge(
    "slotwise_learner_not_held",
    "Decisions the learner did not hold, so never learned from, because its bound of decisions waiting for their "
    "reward was reached (MAX_PENDING); a running total, as of the models this process has",
    registry=REGISTRY, multiprocess_mode="max",
)
HTML_CACHE = Counter(
    "slotwise_html_cache",
    "Page requests that could use the upstream HTML cache, by outcome: hit, revalidated (the store answered 304), "
    "miss (fetched and stored), uncacheable (fetched, the store's answer may not be kept), error (the cache failed: "
    "served uncached)",
    ["outcome"], registry=REGISTRY,
)
HTML_CACHE_BYTES = Gauge(
    "slotwise_html_cache_bytes", "Bytes held by the upstream HTML cache (summed over workers)",
    registry=REGISTRY, multiprocess_mode="livesum",
)
STORE_ERRORS = Counter(
    "slotwise_store_errors", "Store calls that failed, by kind (unavailable: unreachable or slow; refused: e.g. maxmemory)",
    ["kind"], registry=REGISTRY,
)

_STATUS_CLASS = {i: REQUESTS.labels(f"{i}xx") for i in range(1, 6)}


def count_response(status: int) -> None:
    _STATUS_CLASS.get(status // 100, _STATUS_CLASS[5]).inc()


def observe_upstream(seconds: float) -> None:
    UPSTREAM_LATENCY.observe(seconds)


def observe_rewrite(seconds: float) -> None:
    """For the personalizer: time spent rewriting one page."""
    REWRITE_TIME.observe(seconds)


def count_fail_open(stage: str) -> None:
    """For the personalizer too: one page served unchanged because ``stage`` failed."""
    FAIL_OPEN.labels(stage).inc()


_CACHE_OUTCOMES = {o: HTML_CACHE.labels(o) for o in ("hit", "revalidated", "miss", "uncacheable", "error")}


def count_cache(outcome: str, cache_bytes: int | None = None) -> None:
    """One page request through the HTML cache, and (when known) how many bytes the cache holds now."""
    _CACHE_OUTCOMES[outcome].inc()
    if cache_bytes is not None:
        HTML_CACHE_BYTES.set(cache_bytes)


def count_upstream_error(kind: str) -> None:
    UPSTREAM_ERRORS.labels(kind).inc()


def exposition() -> tuple[bytes, str]:
    """The Prometheus text format: all workers when multiprocess mode is on."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def count_store_error(kind: str) -> None:
    """``unavailable`` or ``refused`` (a write refused at Redis maxmemory); fed by the store's outage log."""
    STORE_ERRORS.labels(kind).inc()


OUTAGE.listeners.append(count_store_error)


HEALTH_REASONS = ("store_unavailable", "store_unwritable", "store_error", "learner_behind", "rules_invalid",
                  "personalizer_failed")


def set_health(reasons: list[str], lag_seconds: float | None, lag_records: int | None) -> None:
    """One gauge per known reason (0 or 1), so an alert can name what is wrong."""
    for reason in HEALTH_REASONS:
        DEGRADED.labels(reason).set(1 if reason in reasons else 0)
    if lag_seconds is not None:
        LEARNER_LAG_SECONDS.set(lag_seconds)
    if lag_records is not None:
        LEARNER_LAG_RECORDS.set(lag_records)
