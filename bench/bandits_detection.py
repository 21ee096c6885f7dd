"""Change detection alone: false restarts per million decisions, and how soon a halving is found.

    .venv/bin/python -m bench.bandits_detection                  # ~6-8 min
    .venv/bin/python -m bench.bandits_detection --seeds 20 --values 250000 --baseline-seeds 3

One variant's 0/1 stream at a conversion rate of 0.5, 1, 3 or 10%, with every
rate swinging +-30% over the day (``--amp``), at ``--per-day`` decisions a day
for that variant. *Steady*: nothing else changes; every alarm is a false
restart (the detector starts over after each, as a policy's does). *Halving*:
after 2.5 days the rate halves; how many of that variant's decisions pass
before the alarm. Detectors:

* Slotwise's (``slotwise/bandits/change.py``): a Poisson GLR of a level shift
  over a smooth daily profile (the default, ``daily="profile"``); the same
  test comparing the same hours of the day only (``"hours"``: the
  "same hours of the day before" baseline); and with one level for all hours
  (``"none"``: no time of day);
* river's drift detectors, maintained and tested, with their defaults:
  ``ADWIN``, ``binary.HDDMA`` (two-sided), ``binary.DDM`` (fed non-conversions:
  it watches an error rate for increases), ``PageHinkley``. None of them knows
  the time of day.

Direct feed: the values go straight to the detector, in decision order.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slotwise.bandits.change import ChangeDetector  # noqa: E402

RATES = (0.005, 0.01, 0.03, 0.10)
T0 = 1_767_225_600.0
WARM_DAYS = 2.5
THRESHOLD = 8.0


def stream(rate: float, n: int, seed: int, per_day: float, amp: float, halve_at: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """0/1 values and their decision times."""
    rng = np.random.default_rng(seed)
    at = T0 + np.arange(n) * (86_400.0 / per_day)
    p = rate * (1.0 + amp * np.sin(2.0 * np.pi * (at % 86_400.0) / 86_400.0))
    if halve_at is not None:
        p[halve_at:] *= 0.5
    return (rng.random(n) < p).astype(float), at


class Ours:
    def __init__(self, daily: str) -> None:
        self.daily = daily
        self.d = ChangeDetector(THRESHOLD, daily=daily)

    def add(self, value: float, at: float) -> bool:
        if self.d.add(value, 1.0, at):
            self.d = ChangeDetector(THRESHOLD, daily=self.daily)
            return True
        return False


class River:
    """A river drift detector behind the same interface (restarted after each alarm)."""

    def __init__(self, make: Callable[[], Any], flip: bool = False) -> None:
        self.make, self.flip = make, flip
        self.d = make()

    def add(self, value: float, at: float) -> bool:
        x = 1.0 - value if self.flip else value
        self.d.update(bool(x) if self.flip or isinstance(self.d, _binary()) else x)
        if self.d.drift_detected:
            self.d = self.make()
            return True
        return False


def _binary() -> tuple[type, ...]:
    from river.drift import binary

    return (binary.DDM, binary.EDDM, binary.HDDMA, binary.HDDMW, binary.FHDDM)


def detectors() -> dict[str, Callable[[], Any]]:
    from river import drift

    return {
        "slotwise: daily profile (default)": lambda: Ours("profile"),
        "slotwise: same hours only": lambda: Ours("hours"),
        "slotwise: one level (no time of day)": lambda: Ours("none"),
        "river ADWIN": lambda: River(drift.ADWIN),
        "river HDDM_A (two-sided)": lambda: River(lambda: drift.binary.HDDMA(two_sided_test=True)),
        "river DDM (on non-conversions)": lambda: River(drift.binary.DDM, flip=True),
        "river PageHinkley": lambda: River(drift.PageHinkley),
    }


def false_alarms(make: Callable[[], Any], rate: float, seeds: int, values: int, per_day: float, amp: float) -> int:
    alarms = 0
    for seed in range(seeds):
        x, at = stream(rate, values, seed, per_day, amp)
        d = make()
        for v, t in zip(x.tolist(), at.tolist()):
            alarms += d.add(v, t)
    return alarms


def halving_delay(make: Callable[[], Any], rate: float, seed: int, per_day: float, amp: float,
                  after: int) -> tuple[int | None, int]:
    """Decisions after the halving until the first alarm (None: not within ``after``), and alarms before it."""
    start = int(WARM_DAYS * per_day)
    x, at = stream(rate, start + after, 10_000 + seed, per_day, amp, halve_at=start)
    d = make()
    early = 0
    for i, (v, t) in enumerate(zip(x.tolist(), at.tolist())):
        if d.add(v, t):
            if i >= start:
                return i - start, early
            early += 1
    return None, early


def main(argv: list[str] | None = None) -> int:
    global THRESHOLD
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20, help="steady streams per rate for Slotwise's detectors")
    ap.add_argument("--baseline-seeds", type=int, default=2, help="steady streams per rate for river's detectors")
    ap.add_argument("--values", type=int, default=150_000, help="decisions per steady stream")
    ap.add_argument("--halving-seeds", type=int, default=10)
    ap.add_argument("--per-day", type=float, default=50_000, help="decisions a day on the variant")
    ap.add_argument("--amp", type=float, default=0.3)
    ap.add_argument("--only", default="", help="comma-separated substrings of detector names")
    ap.add_argument("--threshold", type=float, default=THRESHOLD, help="Slotwise's change_threshold")
    args = ap.parse_args(argv)
    THRESHOLD = args.threshold
    started = time.perf_counter()
    print(f"### Change detection (direct feed): {args.per_day:,.0f} decisions a day on the variant, "
          f"+-{args.amp:.0%} daily swing, change_threshold {THRESHOLD:g}\n")
    print("False restarts per million decisions in steady streams (alarms / streams x decisions), and "
          "decisions of the variant from a halving of its rate to the alarm (median, slowest of the "
          f"{args.halving_seeds} streams, 'never' past 150,000):\n")
    head = ["detector"] + [f"false @ {r:.1%}" for r in RATES] + [f"halving @ {r:.1%}" for r in RATES]
    print("| " + " | ".join(head) + " |")
    print("| --- |" + " ---: |" * (len(head) - 1))
    wanted = [w for w in args.only.split(",") if w]
    for name, make in detectors().items():
        if wanted and not any(w in name for w in wanted):
            continue
        ours = name.startswith("slotwise")
        seeds = args.seeds if ours else args.baseline_seeds
        halvings = args.halving_seeds if ours else max(2, args.baseline_seeds)
        cells = []
        for rate in RATES:
            alarms = false_alarms(make, rate, seeds, args.values, args.per_day, args.amp)
            cells.append(f"{alarms / (seeds * args.values) * 1e6:.2f} ({alarms}/{seeds}x{args.values // 1000}k)")
        for rate in RATES:
            found = [halving_delay(make, rate, s, args.per_day, args.amp, 150_000)[0] for s in range(halvings)]
            known = sorted(f if f is not None else math.inf for f in found)
            med, worst = statistics.median(known), known[-1]
            cells.append(f"{'never' if math.isinf(med) else f'{med:,.0f}'} / {'never' if math.isinf(worst) else f'{worst:,.0f}'}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    print(f"\n_total runtime {time.perf_counter() - started:.0f} s_")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
