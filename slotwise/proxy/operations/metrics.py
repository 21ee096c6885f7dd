"""Prometheus metrics of the edge, and the helpers other parts use to feed them.

With several worker processes, ``server.run`` sets ``PROMETHEUS_MULTIPROC_DIR``
before the workers start; ``/_sw/metrics`` then aggregates all workers.
The personalizer reports through ``observe_rewrite`` and ``count_fail_open``.

The per-request counters and histograms are counted in the process first
(``Pending``) and added to prometheus-client's values every ``FLUSH_S`` by a
thread of the process, before each exposition, at the app's shutdown and at
the process's exit. Why: in multiprocess mode every ``inc``/``observe``
writes a memory-mapped file (and checks the process id): several writes a
request on the event loop. A scrape sees its own worker's counts at once and
the other workers' as of their last flush (at most ``FLUSH_S`` old).
"""

from __future__ import annotations

import atexit
import bisect
import functools
import glob
import logging
import os
import threading
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess

from slotwise.store.outage import OUTAGE
from slotwise.rules.signed_identity import OUTCOMES as SIGNED_OUTCOMES

log = logging.getLogger("slotwise.metrics")

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
UPSTREAM_UP = Gauge(
    "slotwise_upstream_up", "1 while the store (the upstream) answers, 0 while it is failing (see /_sw/health's "
    "upstream); the most recent view of any worker", registry=REGISTRY, multiprocess_mode="livemostrecent",
)
UPSTREAM_FAILING_SINCE = Gauge(
    "slotwise_upstream_failing_since_seconds", "Unix time the store started failing; 0 while it answers",
    registry=REGISTRY, multiprocess_mode="livemostrecent",
)
WEBHOOK_PENDING = Gauge(
    "slotwise_webhook_pending", "Webhook messages (sign-ups, mails) not delivered yet, in the store's outbox; "
    "sampled by each health check and scrape, only with --webhook-url", registry=REGISTRY,
    multiprocess_mode="livemostrecent",
)
WEBHOOK_FAILING = Gauge(
    "slotwise_webhook_failing", "Of the pending webhook messages, those whose receiver refused or did not answer "
    "at least once", registry=REGISTRY, multiprocess_mode="livemostrecent",
)
WEBHOOK_OLDEST = Gauge(
    "slotwise_webhook_oldest_seconds", "Age of the oldest webhook message not delivered yet; 0 when none waits",
    registry=REGISTRY, multiprocess_mode="livemostrecent",
)
WEBHOOK_ATTEMPTS = Counter(
    "slotwise_webhook_attempts", "Webhook delivery attempts by outcome: delivered (2xx), refused (the receiver "
    "answered anything else), error (no answer: connection refused, timeout)", ["outcome"], registry=REGISTRY,
)
SIGNED_IDENTITY = Counter(
    "slotwise_signed_identity", "Customer ids the tag sent (tag-only), by outcome: verified (the store's signature "
    "matched: trusted, merges), forged (a signature that matches no secret), missing (no signature), off (a "
    "signature, but the rules name no secret): all but verified are claims", ["outcome"], registry=REGISTRY,
)
FEED_PRODUCTS = Gauge(
    "slotwise_feed_products", "Products the rules' product feed (catalog.feed) listed at its last read that "
    "loaded, as its reader saved it in the store; 0 before any has (or without a feed)", registry=REGISTRY,
    multiprocess_mode="livemostrecent",
)
FEED_LAST_SUCCESS = Gauge(
    "slotwise_feed_last_success_timestamp_seconds", "Unix time the rules' product feed last loaded (by whichever "
    "process read it); 0 before it has (or without a feed)", registry=REGISTRY, multiprocess_mode="livemostrecent",
)
FEED_FAILURES = Gauge(
    "slotwise_feed_failures", "Reads of the rules' product feed failed in a row since the last that loaded",
    registry=REGISTRY, multiprocess_mode="livemostrecent",
)
STORE_ERRORS = Counter(
    "slotwise_store_errors", "Store calls that failed, by kind (unavailable: unreachable or slow; refused: e.g. maxmemory)",
    ["kind"], registry=REGISTRY,
)
ORDERS_UNCONVERTED = Counter(
    "slotwise_orders_unconverted", "Orders in a currency the rules' revenue.rates give no rate for: counted as "
    "orders (purchase goals), adding no revenue (revenue and margin goals learn nothing from them, reports add "
    "nothing); the log names each such currency once", registry=REGISTRY,
)
SLOT_ABSENT = Counter(
    "slotwise_slot_absent", "Pages a slot applied to where its selector found no element (behind the proxy: the "
    "page's HTML; tag-only: the page after the slot's wait), by slot", ["slot"], registry=REGISTRY,
)

FLUSH_S = 0.5
"""How often a process adds what it counted to the values a scrape reads."""


class Pending:
    """What this process counted since its last flush: counters' increments, histograms' bucket
    counts and sums, gauges' last values. Counting takes a lock and adds to a dict (no file write);
    ``flush`` applies it all to the prometheus-client values, as the same calls one by one would."""

    def __init__(self, interval: float | None = FLUSH_S) -> None:
        self.interval = interval  # None: no thread, no exit hooks (flushed by hand)
        self._lock = threading.Lock()
        self._counts: dict[Any, float] = {}  # a counter (a labelled child) -> its increment
        self._observed: dict[Any, list[float]] = {}  # a histogram -> per bucket (not cumulative), then the sum
        self._gauges: dict[Any, float] = {}  # a gauge -> its last value
        self._flusher: threading.Thread | None = None
        self._stop = threading.Event()
        if interval is not None:
            os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        """A forked worker starts with nothing counted (its parent's counts are the parent's to flush)
        and without the parent's flusher thread."""
        self._lock = threading.Lock()
        self._counts, self._observed, self._gauges = {}, {}, {}
        self._flusher = None
        self._stop = threading.Event()

    def inc(self, counter: Any, amount: float = 1.0) -> None:
        with self._lock:
            self._counts[counter] = self._counts.get(counter, 0.0) + amount
        if self._flusher is None:
            self.start()

    def observe(self, histogram: Any, value: float) -> None:
        bounds: list[float] = histogram._upper_bounds  # ends with +Inf: every value has a bucket
        with self._lock:
            pending = self._observed.get(histogram)
            if pending is None:
                pending = self._observed[histogram] = [0.0] * (len(bounds) + 1)
            if value == value:  # NaN: in no bucket (as ``Histogram.observe``), only in the sum
                pending[bisect.bisect_left(bounds, value)] += 1  # the first bucket whose bound is >= value
            pending[-1] += value
        if self._flusher is None:
            self.start()

    def set(self, gauge: Any, value: float) -> None:
        with self._lock:
            self._gauges[gauge] = value
        if self._flusher is None:
            self.start()

    def flush(self) -> None:
        with self._lock:
            counts, self._counts = self._counts, {}
            observed, self._observed = self._observed, {}
            gauges, self._gauges = self._gauges, {}
        for counter, amount in counts.items():
            counter.inc(amount)
        for histogram, pending in observed.items():  # prometheus-client's own layout (pinned version)
            for bucket, n in zip(histogram._buckets, pending):
                if n:
                    bucket.inc(n)
            histogram._sum.inc(pending[-1])
        for gauge, value in gauges.items():
            gauge.set(value)

    def start(self) -> None:
        if self.interval is None:
            return
        with self._lock:
            if self._flusher is not None:
                return
            self._flusher = threading.Thread(target=self._run, args=(self._stop,), name="sw-metrics", daemon=True)
            self._flusher.start()
        import multiprocessing.util  # here: ~40 ms to import, only for a process that counts something

        atexit.register(self.flush)  # a process that exits normally
        multiprocessing.util.Finalize(None, self.flush, exitpriority=100)  # a worker process (it skips atexit)

    def _run(self, stop: threading.Event) -> None:
        assert self.interval is not None
        while not stop.wait(self.interval):
            try:
                self.flush()
            except Exception:  # never the end of the counting: what it took is lost, the next flush goes on
                log.exception("metrics: a flush failed")


PENDING = Pending()

_STATUS_CLASS = {i: REQUESTS.labels(f"{i}xx") for i in range(1, 6)}


_SLOT_ABSENT: dict[str, Any] = {}


def count_slot_absent(slot: str) -> None:
    """A page where ``slot``'s element was not found (``slotwise_slot_absent_total``)."""
    child = _SLOT_ABSENT.get(slot)
    if child is None:
        if len(_SLOT_ABSENT) >= 1000:  # slot ids come from the rules; a bound all the same
            return
        child = _SLOT_ABSENT[slot] = SLOT_ABSENT.labels(slot)
    PENDING.inc(child)


def count_response(status: int) -> None:
    PENDING.inc(_STATUS_CLASS.get(status // 100, _STATUS_CLASS[5]))


def observe_upstream(seconds: float) -> None:
    PENDING.observe(UPSTREAM_LATENCY, seconds)


def start() -> None:
    """Starts the flusher now (the app's start-up), not on the first count: the first page's."""
    forget_dead_processes()
    PENDING.start()


def forget_dead_processes() -> None:
    """Drops the live gauges of workers that are gone (killed and respawned, or replaced by a reload).

    prometheus-client keeps each process's ``live*`` gauge file until told the process died; the server
    restarting a worker never tells it, so a dead worker's HTML cache bytes were summed into
    ``slotwise_html_cache_bytes`` for ever. Counters stay: what a dead worker counted was counted.
    """
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    for path in glob.glob(os.path.join(directory, "gauge_live*_*.db")):
        pid = path.rsplit("_", 1)[-1][:-len(".db")]
        if pid.isdigit() and not _alive(int(pid)):
            multiprocess.mark_process_dead(int(pid), directory)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def observe_rewrite(seconds: float) -> None:
    """For the personalizer: time spent rewriting one page."""
    PENDING.observe(REWRITE_TIME, seconds)


@functools.cache
def _child(metric: Counter, label: str) -> Any:
    """``metric.labels(label)``, made once: ``labels`` takes a lock and builds a key on every call, which
    showed in the loop's profile when a loaded machine failed many pages open."""
    return metric.labels(label)


def count_fail_open(stage: str) -> None:
    """For the personalizer too: one page served unchanged because ``stage`` failed."""
    PENDING.inc(_child(FAIL_OPEN, stage))


_CACHE_OUTCOMES = {o: HTML_CACHE.labels(o) for o in ("hit", "revalidated", "miss", "uncacheable", "error")}


def count_cache(outcome: str, cache_bytes: int | None = None) -> None:
    """One page request through the HTML cache, and (when known) how many bytes the cache holds now."""
    PENDING.inc(_CACHE_OUTCOMES[outcome])
    if cache_bytes is not None:
        PENDING.set(HTML_CACHE_BYTES, cache_bytes)


def count_upstream_error(kind: str) -> None:
    PENDING.inc(_child(UPSTREAM_ERRORS, kind))


def flush() -> None:
    """What this process counted so far, into the values a scrape reads (the app's shutdown calls it)."""
    PENDING.flush()


def exposition() -> tuple[bytes, str]:
    """The Prometheus text format: all workers when multiprocess mode is on (this one's counts flushed first)."""
    PENDING.flush()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        forget_dead_processes()  # a worker that died and was not replaced (yet)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def count_store_error(kind: str) -> None:
    """``unavailable`` or ``refused`` (a write refused at Redis maxmemory); fed by the store's outage log."""
    PENDING.inc(_child(STORE_ERRORS, kind))


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


def set_upstream(up: bool, failing_since: float | None) -> None:
    """Whether the store answers, and since when it does not (set when that changes, and by each health check)."""
    PENDING.set(UPSTREAM_UP, 1 if up else 0)
    PENDING.set(UPSTREAM_FAILING_SINCE, failing_since or 0)


_WEBHOOK_OUTCOMES = {o: WEBHOOK_ATTEMPTS.labels(o) for o in ("delivered", "refused", "error")}


def count_webhook_attempt(outcome: str) -> None:
    """One delivery attempt of the outbox worker (``tag.outbox.OUTCOMES``)."""
    PENDING.inc(_WEBHOOK_OUTCOMES[outcome])


_IDENTITY_OUTCOMES = {o: SIGNED_IDENTITY.labels(o) for o in SIGNED_OUTCOMES}


def count_signed_identity(outcome: str) -> None:
    """One customer id the tag sent, checked against the store's signature (``rules.signed_identity.OUTCOMES``)."""
    PENDING.inc(_IDENTITY_OUTCOMES[outcome])


def count_unconverted_order(currency: str) -> None:
    """One order recorded without an amount: its currency has no rate to the rules' ``revenue.currency``."""
    PENDING.inc(ORDERS_UNCONVERTED)


def set_webhook(pending: int, failing: int, oldest_s: float) -> None:
    """What waits in the outbox, as the latest health check read it (not set while the store is away)."""
    PENDING.set(WEBHOOK_PENDING, pending)
    PENDING.set(WEBHOOK_FAILING, failing)
    PENDING.set(WEBHOOK_OLDEST, oldest_s)


def set_feed(products: int, loaded_at: float | None, failures: int) -> None:
    """The product feed's last read, as the latest health check read it from the store (not set while the
    store is away)."""
    PENDING.set(FEED_PRODUCTS, products)
    PENDING.set(FEED_LAST_SUCCESS, loaded_at or 0)
    PENDING.set(FEED_FAILURES, failures)
