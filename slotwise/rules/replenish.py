"""Replenishment: when will this visitor need a consumable again?

Pure. From a person's own purchase history (online orders and in-store
imports alike) each consumable gets an interval in *days per unit* — the gap
between two purchases divided by the units bought at the first — and the
next purchase is expected that many days per unit after the last one. With
fewer than two purchases of it, the category's typical interval (the median
of every buyer's own interval, computed from all visitors by the store) is
used instead. Every interval is clamped to the rules' bounds, so one odd
order (a gift, a stock-up) cannot push a reminder years away or to tomorrow.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

DAY = 86_400.0
STOCK_UP_DAYS = 1.0  # orders closer than this are one stock-up (a forgotten item, a split order)
MAX_KEYS = 50  # a person's own intervals sent to the store: the most recently bought keys


@dataclass(frozen=True)
class ReplenishSettings:
    """The rules' ``replenish`` section: what is consumable and how reminders are timed."""

    categories: frozenset[str] = frozenset()
    products: frozenset[str] = frozenset()
    per: str = "category"  # estimate per category (any product of it refills it) or per product
    due_within_days: float = 3.0  # due from this many days before the expected date
    min_days: float = 3.0  # bounds on every interval
    max_days: float = 365.0
    min_buyers: int = 3  # a typical interval needs this many buyers' own intervals
    enabled: bool = False  # no `replenish` section: nothing is consumable

    def consumable(self, line: Mapping[str, Any], catalog: Mapping[str, Mapping[str, Any]]) -> bool:
        product = str(line.get("product") or "")
        if line.get("category") in self.categories or product in self.products:
            return True
        return bool((catalog.get(product) or {}).get("consumable"))

    def key_of(self, line: Mapping[str, Any]) -> str:
        if self.per == "category" and line.get("category"):
            return f"category:{line['category']}"
        return f"product:{line['product']}"

    def clamp(self, days: float) -> float:
        return min(self.max_days, max(self.min_days, days))


@dataclass(frozen=True)
class Estimate:
    """When one consumable is expected to be bought again."""

    key: str
    product: str
    category: str | None
    size: str | None
    qty: int
    last_bought: float
    next_date: float
    interval_days: float  # days per unit
    basis: str  # "own" (this person's history) or "typical" (the category's)
    own: Sequence[float] = field(default=(), repr=False)

    def days_left(self, now: float) -> float:
        return (self.next_date - now) / DAY


def _key(line: Mapping[str, Any], per_category: bool) -> str:
    if per_category and line.get("category"):
        return f"category:{line['category']}"
    return f"product:{line['product']}"


def _buys(lines: Iterable[Mapping[str, Any]], key_of: Any) -> dict[str, list[dict[str, Any]]]:
    """Per key, one entry per stock-up (orders within ``STOCK_UP_DAYS`` of the first one of it):
    its time, units and latest line, oldest first."""
    by_key: dict[str, list[Mapping[str, Any]]] = {}
    for line in lines:
        by_key.setdefault(key_of(line), []).append(line)
    out: dict[str, list[dict[str, Any]]] = {}
    for key, found in by_key.items():
        buys: list[dict[str, Any]] = []
        for line in sorted(found, key=lambda x: float(x.get("ts") or 0.0)):
            ts, qty = float(line.get("ts") or 0.0), max(1, int(line.get("qty") or 1))
            if buys and ts - buys[-1]["ts"] < STOCK_UP_DAYS * DAY:
                buys[-1]["qty"] += qty
                buys[-1]["line"] = line
            else:
                buys.append({"ts": ts, "qty": qty, "line": line})
        out[key] = buys
    return out


def own_rates(buys: Sequence[Mapping[str, Any]]) -> list[float]:
    """Days per unit between consecutive stock-ups: the gap over the units the earlier one bought."""
    return [(later["ts"] - earlier["ts"]) / DAY / max(1, int(earlier["qty"])) for earlier, later in zip(buys, buys[1:])]


def own_intervals(purchases: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """A person's own interval (median days per unit) for every category and product bought at
    least twice: what the store keeps so a category's typical interval covers all visitors."""
    purchases = list(purchases)
    out: dict[str, tuple[float, float]] = {}
    for per_category in (True, False):
        for key, buys in _buys(purchases, lambda line: _key(line, per_category)).items():
            rates = own_rates(buys)
            if rates:
                out[key] = (statistics.median(rates), buys[-1]["ts"])
    latest = sorted(out, key=lambda k: -out[k][1])[:MAX_KEYS]
    return {key: round(out[key][0], 4) for key in sorted(latest)}


def typical_interval(sample: Sequence[float], settings: ReplenishSettings) -> float | None:
    """The category's typical days per unit: the median buyer's, bounded; None with too few buyers."""
    values = [v for v in sample if v > 0]
    if len(values) < max(1, settings.min_buyers):
        return None
    return settings.clamp(statistics.median(values))


def estimates(
    purchases: Iterable[Mapping[str, Any]],
    settings: ReplenishSettings,
    catalog: Mapping[str, Mapping[str, Any]],
    typical: Mapping[str, float],
) -> list[Estimate]:
    """The next purchase of every consumable this person has bought, soonest first."""
    if not settings.enabled:
        return []
    lines = [line for line in purchases if line.get("product") and settings.consumable(line, catalog)]
    out = []
    for key, buys in _buys(lines, settings.key_of).items():
        rates = own_rates(buys)
        if rates:
            days, basis = settings.clamp(statistics.median(rates)), "own"
        elif key in typical:
            days, basis = settings.clamp(float(typical[key])), "typical"
        else:
            continue  # bought once, and nobody's history says how long it lasts
        last = buys[-1]
        line = last["line"]
        out.append(Estimate(
            key=key, product=str(line["product"]), category=line.get("category"), size=line.get("size"),
            qty=int(last["qty"]), last_bought=last["ts"], next_date=last["ts"] + days * last["qty"] * DAY,
            interval_days=days, basis=basis, own=tuple(rates),
        ))
    return sorted(out, key=lambda e: (e.next_date, e.key))


def due(estimates_: Iterable[Estimate], settings: ReplenishSettings, now: float) -> list[Estimate]:
    """Estimates whose date is within ``due_within`` days, and not lapsed: once a whole interval past
    the date has gone by without a purchase, the person is taken to have stopped buying it."""
    out = []
    for e in estimates_:
        left = e.days_left(now)
        if left <= settings.due_within_days and -left <= e.interval_days * e.qty:
            out.append(e)
    return out
