"""Where a contextual policy's share of the oracle goes: the twin's loss, decision by decision, by cause.

    .venv/bin/python -m bench.bandits_loss --seeds 20 --rates 3000            # steady store, seeds 1-20
    .venv/bin/python -m bench.bandits_loss --seeds 5 --params alpha=0.2,epsilon=0.02

The twin's runs (``bandits_twin``: the HTTP bench's shoppers fed to a ``Learner``), with each
decision's probability vector read just before it is drawn, and every variant's true click rate
for that visitor at that time. A decision's expected loss against the visitor's best variant
splits exactly into three parts:

* **wrong leader**: the best variant's rate minus that of the variant the model's *mean* estimate
  ranks first (LinUCB without its bonus) — what the model still has wrong;
* **UCB bonus**: the mean leader's rate minus that of the variant the bonus puts first (``alpha``);
* **uniform exploration**: the share explored (``epsilon``, or what the context's evidence left of it:
  ``epsilon_evidence``) x (the bonus leader's rate minus the mean of all variants').

Ties at the top are spread as the policy spreads them. Each part is reported as points of the
oracle (the sum of the best variants' rates): the three add up to 100% minus the *expected*
share, which differs from the realised share (the variant actually drawn) only by the draws'
noise. Also: the wrong leader by segment, decisions taken with the short memory (its switch
fired in a steady store) and what they lost, and the loss in the first ``--early`` decisions
against the rest. The twin's shopper views one home page a session, so ``sticky: session``
(the proxy's) changes nothing here: every decision is a new session's first.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bandits_shoppers import ARMS, Shopper, simulate  # noqa: E402
from bench.bandits_twin import T0, LearnerShop, param_value  # noqa: E402
from slotwise.bandits.exploration import argmax_probabilities  # noqa: E402

PARTS = ("wrong leader", "UCB bonus", "uniform exploration")


@dataclass
class Loss:
    """Sums over a run's decisions: the oracle, the parts of the expected loss, and where they fell."""

    early: int
    oracle: float = 0.0
    earned: float = 0.0  # realised: the rate of the variant drawn
    parts: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PARTS, 0.0))
    by_segment: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    first: float = 0.0  # expected loss in the first ``early`` decisions
    short: float = 0.0  # expected loss of decisions taken with the short memory
    short_n: int = 0
    short_full: float = 0.0  # what the full memory would have lost on those decisions
    restarts: int = 0  # learning restarts (change detection): false ones, in a steady store
    n: int = 0
    timeline: list[list[float]] = field(default_factory=list)  # per block of ``early`` decisions: [oracle, parts...]

    def add(self, segment: str, rates: dict[str, float], greedy: dict[str, float], ucb: dict[str, float],
            probs: dict[str, float], epsilon: float, shown: str, full: dict[str, float] | None) -> None:
        """One decision; ``full``: the full memory's probabilities when it was decided with the short one."""
        best = max(rates.values())
        mean = sum(rates.values()) / len(rates)
        r_greedy = sum(p * rates[a] for a, p in greedy.items())
        r_ucb = sum(p * rates[a] for a, p in ucb.items())
        parts = (best - r_greedy, r_greedy - r_ucb, epsilon * (r_ucb - mean))
        for name, value in zip(PARTS, parts):
            self.parts[name] += value
        self.by_segment[segment] += parts[0]
        loss = best - sum(p * rates[a] for a, p in probs.items())
        if self.n < self.early:
            self.first += loss
        if full is not None:
            self.short += loss
            self.short_n += 1
            self.short_full += best - sum(p * rates[a] for a, p in full.items())
        if self.n % self.early == 0:
            self.timeline.append([0.0] * (1 + len(PARTS)))
        block = self.timeline[-1]
        block[0] += best
        for i, value in enumerate(parts, 1):
            block[i] += value
        self.oracle += best
        self.earned += rates[shown]
        self.n += 1

    def points(self, value: float) -> float:
        return 100.0 * value / self.oracle


class LossShop(LearnerShop):
    """The twin's shop, reading each decision's probabilities (and the model's mean ranking) first."""

    def __init__(self, spec: Any, seed: int, amp: float, scale: float, early: int) -> None:
        super().__init__(spec, seed)
        self.amp, self.scale = amp, scale
        self.loss = Loss(early)

    def home(self, shopper: Shopper, browsed: str | None, at: float) -> tuple[str, str]:
        policy = self.policy
        feats = shopper.expected_context(browsed_first=browsed is not None).features()
        arms = list(ARMS)
        epsilon = policy.exploration(arms, feats)
        alpha = policy.params["alpha"]
        ucb = argmax_probabilities(arms, policy.scores(arms, feats))
        policy.params["alpha"] = 0.0
        try:
            greedy = argmax_probabilities(arms, policy.scores(arms, feats))
        finally:
            policy.params["alpha"] = alpha
        probs = policy.probabilities(arms, feats)
        full = None
        if policy._recent_active():
            policy.recent.active = False
            full = policy.probabilities(arms, feats)
            policy.recent.active = True
        decision_id, shown = super().home(shopper, browsed, at)
        rates = {a: self.scale * shopper.click_rate(a, at, False, self.amp) for a in arms}
        segment = f"{shopper.device}/{'returning' if shopper.returning else 'new'}"
        self.loss.add(segment, rates, greedy, ucb, probs, epsilon, shown, full)
        return decision_id, shown


def run(spec: Any, seed: int, visits: int, per_hour: float, amp: float, scale: float, early: int) -> LossShop:
    shop = LossShop(spec, seed, amp, scale, early)
    simulate(shop, seed, visits, per_hour, False, amp, scale, start=T0)
    shop.loss.restarts = len(shop.restarts)
    return shop


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--visits", type=int, default=12_000)
    ap.add_argument("--rates", default="3000")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--amp", type=float, default=0.3)
    ap.add_argument("--early", type=int, default=2000, help="decisions counted as the learning phase")
    ap.add_argument("--params", default="", help="LinUCB params over the defaults, e.g. alpha=0.2,epsilon=0.02")
    args = ap.parse_args(argv)
    params = {k: param_value(v) for k, v in (p.split("=", 1) for p in args.params.split(",") if p)}
    spec = {"name": "linucb", "params": params}
    started = time.perf_counter()
    print(f"policy {spec}; points of the oracle lost, per run (expected: from the probabilities; "
          f"realised: the variants drawn)")
    header = ("| seed | rate | realised share | expected share | " + " | ".join(PARTS)
              + f" | first {args.early} | short memory against full (decisions) | restarts | wrong leader by segment |")
    print(header)
    print("| " + " | ".join(["---"] * (header.count("|") - 1)) + " |")
    rows: list[Loss] = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for rate in (float(r) for r in args.rates.split(",")):
            loss = run(spec, seed, args.visits, rate, args.amp, args.scale, args.early).loss
            rows.append(loss)
            lost = sum(loss.parts.values())
            segs = ", ".join(f"{s} {loss.points(v):.2f}" for s, v in sorted(loss.by_segment.items()) if v > 0)
            print(f"| {seed} | {rate:,.0f} | {100 * loss.earned / loss.oracle:.1f}% | {100 - loss.points(lost):.1f}% | "
                  + " | ".join(f"{loss.points(loss.parts[p]):.2f}" for p in PARTS)
                  + f" | {loss.points(loss.first):.2f} | {loss.points(loss.short):.2f} against {loss.points(loss.short_full):.2f} "
                  f"({loss.short_n}) | {loss.restarts} | {segs} |",
                  flush=True)
    print()
    print(f"mean over {len(rows)} runs: realised {statistics.mean(100 * r.earned / r.oracle for r in rows):.2f}%, "
          f"expected {statistics.mean(100 - r.points(sum(r.parts.values())) for r in rows):.2f}%; points lost: "
          + ", ".join(f"{p} {statistics.mean(r.points(r.parts[p]) for r in rows):.2f}" for p in PARTS)
          + f"; in the first {args.early} decisions {statistics.mean(r.points(r.first) for r in rows):.2f}"
          + f"; with the short memory {statistics.mean(r.points(r.short) for r in rows):.2f} (the full memory "
          f"would have lost {statistics.mean(r.points(r.short_full) for r in rows):.2f}; "
          f"{sum(r.short_n for r in rows)} decisions in {sum(1 for r in rows if r.short_n)} runs); "
          f"restarts {sum(r.restarts for r in rows)}")
    segments = sorted({s for r in rows for s in r.by_segment})
    print("wrong leader by segment (mean points): "
          + ", ".join(f"{s} {statistics.mean(r.points(r.by_segment.get(s, 0.0)) for r in rows):.2f}" for s in segments))
    blocks = min(len(r.timeline) for r in rows)
    print(f"per block of {args.early} decisions, % of the block's oracle lost (wrong leader / UCB bonus / uniform): "
          + "; ".join(f"{b * args.early}-: " + " / ".join(
              f"{statistics.mean(100 * r.timeline[b][i] / r.timeline[b][0] for r in rows):.1f}" for i in range(1, 4))
              for b in range(blocks)))
    print(f"_total {time.perf_counter() - started:.0f} s_")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
