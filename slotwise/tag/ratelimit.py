"""A per-visitor token bucket, in memory, per process.

Good enough to stop a runaway tag or a script hammering the events API; not
a global quota (each worker process has its own buckets). Memory is bounded:
the least recently used keys are forgotten beyond ``max_keys``.
"""

from __future__ import annotations

from collections import OrderedDict


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up, per key."""

    def __init__(self, rate: float, burst: float, max_keys: int = 100_000) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError(f"rate and burst must be positive, got rate={rate!r} burst={burst!r}")
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    def wait(self, key: str, cost: float, now: float) -> float:
        """The seconds before ``cost`` tokens would be there; spends nothing."""
        tokens, at = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + max(0.0, now - at) * self.rate)
        cost = min(cost, self.burst)
        return 0.0 if tokens >= cost else (cost - tokens) / self.rate

    def take(self, key: str, cost: float, now: float) -> float:
        """Spends ``cost`` tokens; 0.0 when allowed, else the seconds to wait before retrying."""
        tokens, at = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + max(0.0, now - at) * self.rate)
        cost = min(cost, self.burst)  # a batch bigger than the burst is allowed on a full bucket
        if tokens >= cost:
            tokens -= cost
            wait = 0.0
        else:
            wait = (cost - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait

    def give(self, key: str, cost: float, now: float) -> None:
        """Returns ``cost`` tokens taken earlier (a reservation that was not needed), up to ``burst``."""
        entry = self._buckets.get(key)
        if entry is None:
            return
        tokens, at = entry
        tokens = min(self.burst, tokens + max(0.0, now - at) * self.rate + cost)
        self._buckets[key] = (tokens, now)

