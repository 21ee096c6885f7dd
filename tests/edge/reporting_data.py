"""A synthetic decision log, written into a store exactly as the proxy and the tag API write it."""

from __future__ import annotations

import random
import time
from typing import Any

from slotwise.store import open_store
from slotwise.store.base import LogRecord

DAY = 86400.0
HOLDOUT = 0.1
HERO_RATES = {"a": 0.05, "b": 0.10, "c": 0.20}  # click rate of exposed decisions
HOLDOUT_RATE = 0.04
BANNER_SPLIT = {"spring": 0.6, "summer": 0.4}  # a "uniform" slot whose traffic is not 50/50: SRM
BANNER_RATE = 0.08
CONTEXT = {"bias": 1.0, "device=desktop": 1.0}


def decision(i: int, ts: float, visitor: str, slot: str, arm: str | None, propensity: float, goal: str,
             policy: str = "uniform") -> LogRecord:
    data = {
        "decision_id": f"{slot}-{i:06d}", "ts": ts, "visitor_id": visitor, "slot": slot, "arm": arm,
        "propensity": propensity, "policy": policy if arm is not None else "holdout",
        "model_version": "1.0" if arm is not None else "", "context": CONTEXT if arm is not None else {},
        "holdout": arm is None, "cost": 0.0, "cost_rate": 0.0, "goal": goal, "window": 1800.0,
        "window_mode": "fixed", "holdout_share": HOLDOUT, "policy_spec": {"name": "uniform", "params": {}},
    }
    return LogRecord("decision", data["decision_id"], visitor, ts, data)


def event(key: str, visitor: str, ts: float, type_: str, props: dict[str, Any]) -> LogRecord:
    return LogRecord("event", key, visitor, ts, {"type": type_, "props": props, "received": ts})


def synthetic_records(n: int = 3000, start: float | None = None, seed: int = 7) -> list[LogRecord]:
    """``n`` visitors over two days: hero (click goal, uniform over 3 arms) and banner (purchase goal, 60/40)."""
    rng = random.Random(seed)
    start = time.time() - 3 * DAY if start is None else start
    records: list[LogRecord] = []
    for i in range(n):
        ts = start + 2 * DAY * i / n
        visitor = f"visitor{i:06d}xxxxxxxx"
        held = rng.random() < HOLDOUT
        arm = None if held else rng.choice(sorted(HERO_RATES))
        hero = decision(i, ts, visitor, "hero", arm, HOLDOUT if held else 1 / 3, "click")
        banner_arm = None if held else ("spring" if rng.random() < BANNER_SPLIT["spring"] else "summer")
        banner = decision(i, ts, visitor, "banner", banner_arm, HOLDOUT if held else 0.5, "purchase")
        records += [hero, banner]
        if rng.random() < 0.9:  # the tag saw the hero element
            records.append(event(f"x{i:06d}aaaa", visitor, ts + 1, "exposure", {"decision_id": hero.key}))
            rate = HOLDOUT_RATE if held else HERO_RATES[arm]  # type: ignore[index]
            if rng.random() < rate and not held:
                records.append(event(f"c{i:06d}aaaa", visitor, ts + 20, "click", {"decision_id": hero.key}))
        if rng.random() < (BANNER_RATE if not held else BANNER_RATE * 0.8):
            records.append(event(f"p{i:06d}aaaa", visitor, ts + 300, "purchase",
                                 {"order_id": f"o{i}", "total": 30.0, "lines": [{"product": "p1", "qty": 1, "price": 30.0}]}))
    return records


async def write_log(data_dir: str, **kwargs: Any) -> int:
    store = open_store("", data_dir)
    try:
        records = synthetic_records(**kwargs)
        await store.append(records)
        return len(records)
    finally:
        await store.close()
