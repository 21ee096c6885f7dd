"""The HTTP bench's store fed to the ``Learner`` directly: a fast twin, for sweeps over defaults.

    .venv/bin/python -m bench.bandits_twin --sweep            # exploration defaults, ~10-15 min
    .venv/bin/python -m bench.bandits_twin --policy linucb --seeds 5 --visits 12000

The same shoppers, click rates, daily swing, swap and common random numbers as
``bench.bandits_http`` (``bandits_shoppers.py``), and the features the proxy
would build (``Shopper.expected_context``, checked against the proxy by
``tests/e2e_bandits/test_context.py``), but decisions, exposures and clicks
go straight into one ``Learner`` on a simulated clock: no HTTP, no store, no
learning lag. Figures here are *direct feed*; the HTTP bench's are the ones a
store would see. The twin is for what needs hundreds of runs: choosing the
exploration defaults over many seeds, traffic rates and conversion levels.
"""

from __future__ import annotations

import argparse
import heapq
import random
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bandits_shoppers import (  # noqa: E402
    ARMS, BROWSE_FIRST, CATEGORIES, RETURN_MEAN_S, RETURN_SHARE, best_arm, new_shopper,
)
from slotwise.bandits.learner import Learner, SlotConfig  # noqa: E402

T0 = 1_767_225_600.0
WINDOW_S = 1800.0


@dataclass
class TwinRun:
    spec: Any
    seed: int
    per_hour: float
    scale: float
    swap: bool
    earned: list[float]
    oracle: list[float]
    restarts: list[int]
    wrong_segments: int  # segments whose last-quarter traffic is mostly not on their best variant
    changes: list[dict]

    def share(self, start: int = 0, end: int | None = None) -> float:
        return sum(self.earned[start:end]) / max(sum(self.oracle[start:end]), 1e-12)

    def back_at(self, level: float = 0.8, window: int = 1000) -> int | None:
        start = len(self.earned) // 2
        got, best = sum(self.earned[start:start + window]), sum(self.oracle[start:start + window])
        for end in range(start + window, len(self.earned) + 1):
            if got >= level * best:
                return end - start
            if end == len(self.earned):
                return None
            got += self.earned[end] - self.earned[end - window]
            best += self.oracle[end] - self.oracle[end - window]
        return None


def twin(spec: Any, seed: int, visits: int, per_hour: float, swap: bool = False, amp: float = 0.3,
         scale: float = 1.0) -> TwinRun:
    """One run; ``scale`` multiplies every click rate (0.25: a store converting four times less)."""
    rng = random.Random(seed)
    learner = Learner({"hero": SlotConfig(arms=ARMS, goal="click", policy=spec, window=WINDOW_S)}, seed=seed)
    queue: list[tuple[float, int, str, Any]] = []
    order = 0

    def push(at: float, kind: str, payload: Any) -> None:
        nonlocal order
        order += 1
        heapq.heappush(queue, (at, order, kind, payload))

    push(T0 + rng.expovariate(per_hour / 3600.0), "arrive", None)
    shoppers = 0
    earned: list[float] = []
    oracle: list[float] = []
    shown: list[tuple[str, str, bool]] = []  # (segment, arm, on its best)
    restart_at: list[int] = []
    while len(earned) < visits:
        at, _, kind, payload = heapq.heappop(queue)
        before = learner.policies["hero"].restarts
        if kind == "click":
            vid, decision_id = payload
            learner.on_event(vid, "click", None, at, [decision_id])
        else:
            if kind == "arrive":
                shoppers += 1
                shopper = new_shopper(rng, shoppers)
                push(at + rng.expovariate(per_hour / 3600.0), "arrive", None)
            else:
                shopper = payload
            browse, category = rng.random() < BROWSE_FIRST, rng.choice(CATEGORIES)
            u, delay = rng.random(), rng.uniform(5.0, 600.0)
            comes_back, after = rng.random() < RETURN_SHARE, max(3600.0, rng.expovariate(1.0 / RETURN_MEAN_S))
            shopper.visits += 1
            if browse:
                shopper.view_category(category)
            swapped = swap and len(earned) >= visits // 2
            rates = {arm: scale * shopper.click_rate(arm, at, swapped, amp) for arm in ARMS}
            decision_id = uuid.UUID(int=rng.getrandbits(128)).hex
            feats = shopper.expected_context(browsed_first=browse).features()
            d = learner.decide("hero", features=feats, decision_id=decision_id)
            vid = f"s{shopper.id}"
            learner.on_decision(d.record(decision_id, at, vid, "hero"))
            learner.on_exposure(decision_id, at + 1.0)
            best = best_arm(shopper, at, swapped)
            earned.append(rates[d.arm])
            oracle.append(rates[best])
            shown.append((f"{shopper.device}/{'returning' if shopper.returning else 'new'}", d.arm, d.arm == best))
            if u < rates[d.arm]:
                push(at + delay, "click", (vid, decision_id))
            if comes_back:
                push(at + after, "return", shopper)
        if learner.policies["hero"].restarts != before:
            restart_at.append(len(earned))
    tail = shown[len(shown) * 3 // 4:]
    wrong = 0
    for segment in {s for s, _, _ in tail}:
        hits = [ok for s, _, ok in tail if s == segment]
        if len(hits) >= 50 and sum(hits) < 0.5 * len(hits):
            wrong += 1
    policy = learner.policies["hero"]
    return TwinRun(spec, seed, per_hour, scale, swap, earned, oracle, restart_at, wrong, list(policy.changes))


SWEEP = [
    {"name": "linucb", "params": {"alpha": a, "epsilon": e}} for a in (0.1, 0.2, 0.3, 0.5) for e in (0.0, 0.05)
]


def sweep(seeds: int, visits: int, rates: list[float], scales: list[float], grid: list[dict] = SWEEP) -> None:
    print("| policy | params | runs | % of oracle: mean | worst | segments on a wrong variant (last quarter) | restarts |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for spec in grid:
        runs = [twin(spec, seed, visits, rate, scale=scale)
                for seed in range(1, seeds + 1) for rate in rates for scale in scales]
        shares = [r.share() for r in runs]
        print(f"| {spec['name']} | {spec['params']} | {len(runs)} | {statistics.mean(shares):.1%} | {min(shares):.1%} "
              f"| {sum(r.wrong_segments for r in runs)} | {sum(len(r.restarts) for r in runs)} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", action="store_true", help="LinUCB alpha x epsilon over seeds, rates and scales")
    ap.add_argument("--policy", default="linucb")
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--visits", type=int, default=12_000)
    ap.add_argument("--rates", default="600,3000")
    ap.add_argument("--scales", default="0.25,1", help="click-rate multipliers (0.25: ~0.5-1.5%% rates)")
    ap.add_argument("--swap", action="store_true")
    ap.add_argument("--grid", default="", help="alpha:epsilon pairs for --sweep, e.g. 0.1:0,0.3:0.05")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    rates = [float(x) for x in args.rates.split(",")]
    scales = [float(x) for x in args.scales.split(",")]
    if args.sweep:
        grid = [{"name": "linucb", "params": {"alpha": float(a), "epsilon": float(e)}}
                for a, e in (pair.split(":") for pair in args.grid.split(","))] if args.grid else SWEEP
        sweep(args.seeds, args.visits, rates, scales, grid)
    else:
        for seed in range(1, args.seeds + 1):
            for rate in rates:
                for scale in scales:
                    r = twin(args.policy, seed, args.visits, rate, args.swap, scale=scale)
                    back = r.back_at() if args.swap else None
                    print(f"seed {seed} rate {rate:,.0f} scale {scale}: {r.share():.1%} (halves {r.share(0, args.visits // 2):.1%}"
                          f" / {r.share(args.visits // 2):.1%}), wrong segments {r.wrong_segments}, restarts "
                          f"{r.restarts} {[(c['arm'], round(c['before'], 4), round(c['after'], 4)) for c in r.changes]}"
                          + (f", back at 80% after {back}" if args.swap else ""), flush=True)
    print(f"_total {time.perf_counter() - started:.0f} s_")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
