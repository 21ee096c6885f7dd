"""Bandit benchmark, direct feed: simulated store traffic through the real Learner, fixed seeds.

    .venv/bin/python bench/bandits.py            # ~6-8 min, prints markdown
    .venv/bin/python bench/bandits.py --visitors 20000 --quick
    .venv/bin/python bench/bandits.py http [bench.bandits_http options]   # through the real proxy over HTTP
    .venv/bin/python bench/bandits.py detection [options]                 # change detection alone

*Direct feed*: decisions and rewards go straight into a ``Learner`` — no
proxy, no HTTP, no learning lag. It compares every policy on one long stream
(and the contextual ones on more streams); the figures a store would see come
from ``bench.bandits_http``, which drives the real proxy over HTTP as the tag
does. Change detection on its own: ``bench.bandits_detection``.

The store: four top categories with different shares, four variants of one
slot; each category has its own best variant (+3.5 points of conversion over
a 0.8-1.5% base that depends on the device). Conversions (goal ``purchase``)
arrive 1-20 minutes after the decision and are joined by the ``Learner``
through its 30-minute attribution window on a simulated clock, so policies
learn with the delay they will have in production. Halfway the best variant
of every category changes, and every rate swings +-30% over each day (``--amp``).
All policies see the same visitors and the same
random numbers (common random numbers), so the differences are the policies';
the contextual policy is also run on eleven more visitor streams, next to a
reference that is told the segments.
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
if __name__ == "__main__":  # before numpy loads: one BLAS kernel on every host (bench/blas.py)
    from bench.blas import pin

    pin()

from slotwise.bandits import Learner, VisitorContext, features, make_policy  # noqa: E402
from slotwise.bandits.decide import decide  # noqa: E402
from slotwise.bandits.decision_log import LoggedDecision  # noqa: E402
from slotwise.bandits.replay import evaluate  # noqa: E402

ARMS = ["v0", "v1", "v2", "v3"]
CATEGORIES = ["shoes", "bags", "kids", "sport"]
CATEGORY_SHARE = [0.55, 0.25, 0.12, 0.08]
DEVICES = [("mobile", 0.6, 0.010), ("desktop", 0.3, 0.015), ("tablet", 0.1, 0.008)]
SOURCES = ["direct", "search", "social", "email", "paid", "referral"]
LIFT = 0.035  # the best variant's extra conversion rate
ARM_OFFSET = [0.0, 0.001, 0.002, 0.0]  # small differences between the other variants
WINDOW = 1800.0
MEAN_GAP = 12.0  # seconds between visitors (50,000 visitors ~ 7 days)
DAY = 86_400.0
AMP = 0.3  # every conversion rate swings +-30% over the day (main --amp)


@dataclass
class Visitor:
    ts: float
    category: int
    device: int
    context: VisitorContext  # what the proxy would hand the policy (the one context definition)
    u: float  # common random number: converts if u < rate
    delay: float


def best_arm(category: int, phase: int) -> int:
    return (category + phase) % len(ARMS)


def rate(v: Visitor, arm: int, phase: int) -> float:
    base = DEVICES[v.device][2] + ARM_OFFSET[arm] + (LIFT if arm == best_arm(v.category, phase) else 0.0)
    return base * (1.0 + AMP * math.sin(2.0 * math.pi * (v.ts % DAY) / DAY))


def overall_best(phase: int) -> int:
    def mean_rate(arm: int) -> float:
        return sum(cs * (ARM_OFFSET[arm] + (LIFT if arm == best_arm(c, phase) else 0.0))
                   for c, cs in enumerate(CATEGORY_SHARE))
    return max(range(len(ARMS)), key=mean_rate)


def make_visitors(n: int, seed: int) -> list[Visitor]:
    rng = random.Random(seed)
    out, ts = [], 0.0
    for _ in range(n):
        ts += rng.expovariate(1.0 / MEAN_GAP)
        c = rng.choices(range(4), CATEGORY_SHARE)[0]
        d = rng.choices(range(3), [x[1] for x in DEVICES])[0]
        visits = rng.choice([1, 1, 2, 3, 5, 12])
        ctx = VisitorContext(is_new=visits == 1, visit_count=visits, device=DEVICES[d][0], top_category=CATEGORIES[c],
                             has_cart=rng.random() < 0.2, source=rng.choice(SOURCES))
        out.append(Visitor(ts, c, d, ctx, rng.random(), rng.uniform(60, 1200)))
    return out


def time_to_share(on_target: list[bool], start: int, end: int, window: int = 1000, share: float = 0.8) -> int | None:
    """Visitors after ``start`` until the rolling share on the target arm reaches ``share``."""
    hits = 0
    for i in range(start, end):
        hits += on_target[i]
        if i - start >= window:
            hits -= on_target[i - window]
        if i - start + 1 >= window and hits >= share * window:
            return i - start + 1
    return None


class Learners:
    """The slot's learning as ``run`` drives it: one ``Learner``, as in the proxy, or with
    ``per_category`` one Thompson-sampling slot per category: a reference that is told the
    segments (not a Slotwise policy: a store does not know which features matter). It shows
    what learning costs when the structure is known, a bound besides the oracle.
    """

    def __init__(self, spec: dict, seed: int, per_category: bool = False):
        config = {"slot": {"arms": ARMS, "goal": "purchase", "policy": spec, "window": WINDOW}}
        segments = range(len(CATEGORIES)) if per_category else range(1)
        self.per_category = per_category
        self.learners = {c: Learner(config, seed=seed + c) for c in segments}
        self.segment_of: dict[str, int] = {}

    @property
    def restarts(self) -> int:
        return sum(lr.policies["slot"].restarts for lr in self.learners.values())

    def _for(self, v: Visitor) -> Learner:
        return self.learners[v.category if self.per_category else 0]

    def decide(self, v: Visitor, rng: random.Random):
        return self._for(v).decide("slot", v.context, rng)

    def on_decision(self, v: Visitor, record) -> None:
        self.segment_of[record.visitor_id] = v.category if self.per_category else 0
        self._for(v).on_decision(record)

    def on_event(self, visitor_id: str, ts: float) -> None:
        self.learners[self.segment_of[visitor_id]].on_event(visitor_id, "purchase", None, ts)

    def tick(self, ts: float) -> None:
        for lr in self.learners.values():
            lr.tick(ts)


def run(name: str, spec, visitors: list[Visitor], contextual_target: bool, seed: int = 7,
        change: bool = True, segments: bool = False) -> dict:
    """One policy over all visitors; ``spec`` None = the oracle, "single" = best single variant;
    ``segments``: one learner per category (the reference that knows the segments)."""
    n = len(visitors)
    half = n // 2 if change else n
    learner: Learners | None = None
    if isinstance(spec, dict):
        learner = Learners(spec, seed, per_category=segments)
    rng = random.Random(seed)
    events: list[tuple[float, int, str]] = []
    expected = realized = oracle_expected = 0.0
    exp_phase = [0.0, 0.0]
    orc_phase = [0.0, 0.0]
    last_quarter = [0.0, 0.0]
    on_target: list[bool] = []
    restarts: list[int] = []  # visitor index at which learning restarted (a detected change)
    decide_time = 0.0
    for i, v in enumerate(visitors):
        phase = 0 if i < half else 1
        if learner is not None:
            while events and events[0][0] <= v.ts:
                ts, _, vid = heapq.heappop(events)
                learner.on_event(vid, ts)
            if learner.restarts > len(restarts):
                restarts.append(i)
            t0 = time.perf_counter()
            d = learner.decide(v, rng)
            decide_time += time.perf_counter() - t0
            arm = ARMS.index(d.arm)
            learner.on_decision(v, d.record(f"d{i}", v.ts, f"u{i}", "slot"))
        elif spec == "single":
            arm = overall_best(phase)
        else:
            arm = best_arm(v.category, phase)
        r = rate(v, arm, phase)
        best_r = rate(v, best_arm(v.category, phase), phase)
        expected += r
        oracle_expected += best_r
        exp_phase[phase] += r
        orc_phase[phase] += best_r
        if i >= n * 3 // 4:
            last_quarter[0] += r
            last_quarter[1] += best_r
        converted = v.u < r
        realized += converted
        if converted and learner is not None:
            heapq.heappush(events, (v.ts + v.delay, i, f"u{i}"))
        target = best_arm(v.category, phase) if contextual_target else overall_best(phase)
        on_target.append(arm == target)
    last = on_target[n * 3 // 4:]
    if learner is not None:
        learner.tick(visitors[-1].ts + 2 * WINDOW)
    return {
        "name": name, "realized": realized, "expected": expected, "oracle": oracle_expected,
        "pct": expected / oracle_expected, "regret": oracle_expected - expected,
        "pct_first": exp_phase[0] / orc_phase[0],
        "pct_second": exp_phase[1] / orc_phase[1] if orc_phase[1] else math.nan,
        "share_last": sum(last) / len(last),
        "pct_last_quarter": last_quarter[0] / last_quarter[1],
        "find": time_to_share(on_target, 0, half), "refind": time_to_share(on_target, half, n),
        "target": "segment best" if contextual_target else "overall best",
        "decide_us": decide_time / n * 1e6, "restarts": restarts,
    }


def decide_cost(n_arms: int = 10, repeats: int = 2000) -> list[tuple[str, float, float]]:
    """Median µs of decide() per slot with ``n_arms`` arms after 5,000 updates."""
    rng = random.Random(3)
    arms = [f"a{i}" for i in range(n_arms)]
    visitors = make_visitors(500, seed=11)
    out = []
    for name in ("uniform", "epsilon-greedy", "ucb", "exp3", "thompson", "linucb", "river-model"):
        policy = make_policy(name, "purchase", seed=1)
        for k in range(5000):
            v = visitors[k % len(visitors)]
            arm = rng.choice(arms)
            policy.update(arm, float(rng.random() < 0.03), features(v.context) if policy.contextual else None, 0.1)
        samples = []
        for k in range(repeats):
            ctx = visitors[k % len(visitors)].context
            t0 = time.perf_counter()
            decide(policy, arms, ctx, rng)
            samples.append(time.perf_counter() - t0)
        # Thompson after every update: a new model version, so a fresh Monte Carlo estimate
        fresh = []
        if name in ("thompson", "linucb", "river-model"):
            for k in range(200):
                policy.update(rng.choice(arms), 0.0, features(visitors[k].context) if policy.contextual else None, 0.1)
                t0 = time.perf_counter()
                decide(policy, arms, visitors[k].context, rng)
                fresh.append(time.perf_counter() - t0)
        out.append((name, statistics.median(samples) * 1e6, statistics.median(fresh) * 1e6 if fresh else math.nan))
    return out


def ope_check(n: int, seed: int = 5) -> list[str]:
    """Log a uniform-random policy; estimate it and a static per-category policy offline."""
    visitors = make_visitors(n, seed=seed)
    rng = random.Random(seed)
    logs = []
    truth_static = 0.0
    for i, v in enumerate(visitors):
        arm = rng.randrange(len(ARMS))
        r = float(v.u < rate(v, arm, 0))
        logs.append(LoggedDecision(f"d{i}", v.ts, f"u{i}", "slot", ARMS[arm], 1 / len(ARMS), "uniform", "0.0",
                                   features(v.context), r, v.ts))
        truth_static += rate(v, best_arm(v.category, 0), 0)
    truth_static /= n

    def static(arms, ctx):  # always the category's phase-1 best variant
        cat = next(c for c in CATEGORIES if ctx.get(f"category={c}"))
        best = ARMS[best_arm(CATEGORIES.index(cat), 0)]
        return {a: float(a == best) for a in arms}

    lines = ["| candidate | truth | IPS (95% CI) | SNIPS (95% CI) | replay (95% CI) | replay rows |",
             "| --- | --- | --- | --- | --- | --- |"]
    for label, cand, truth in (("uniform random (= logging)", "uniform", None),
                               ("static best-per-category", static, truth_static)):
        rep = evaluate(logs, cand, "purchase", ARMS, seed=seed)
        truth_txt = f"{rep.logged.value:.4f} (logged mean)" if truth is None else f"{truth:.4f} (expected)"

        def fmt(e):
            return f"{e.value:.4f} [{e.interval.low:.4f}, {e.interval.high:.4f}]"
        covered = all(e.interval.low <= (truth if truth is not None else rep.logged.value) <= e.interval.high
                      for e in (rep.ips, rep.snips, rep.replay))
        lines.append(f"| {label} | {truth_txt} | {fmt(rep.ips)} | {fmt(rep.snips)} | {fmt(rep.replay)} | "
                     f"{rep.replay.n:,} | " + ("" if covered else "**not covered**"))
    return lines


HL = 5000
OFF = {"change_detection": False}
POLICIES = [
    ("even A/B split (uniform)", {"name": "uniform"}, False),
    ("best single variant (knows it)", "single", False),
    ("thompson", {"name": "thompson"}, False),
    ("thompson, no change detection", {"name": "thompson", "params": OFF}, False),
    (f"thompson, no detection, half_life {HL}", {"name": "thompson", "params": {**OFF, "half_life": HL}}, False),
    ("ucb (ucb-v)", {"name": "ucb"}, False),
    ("ucb (ucb-v), no change detection", {"name": "ucb", "params": OFF}, False),
    ("ucb1 (river's bound)", {"name": "ucb", "params": {"bound": "ucb1"}}, False),
    ("epsilon-greedy 0.1", {"name": "epsilon-greedy"}, False),
    ("epsilon-greedy 0.1, no change detection", {"name": "epsilon-greedy", "params": OFF}, False),
    ("exp3 0.1", {"name": "exp3"}, False),
    ("exp3 0.1, no change detection", {"name": "exp3", "params": OFF}, False),
    ("linucb (defaults)", {"name": "linucb"}, True),
    ("linucb, no change detection", {"name": "linucb", "params": OFF}, True),
    (f"linucb, no detection, half_life {HL}", {"name": "linucb", "params": {**OFF, "half_life": HL}}, True),
    ("river-model (logistic regression, bootstrap)", {"name": "river-model"}, True),
    ("river-model (Hoeffding tree, bootstrap)", {"name": "river-model", "params": {
        "model": "tree.HoeffdingTreeClassifier", "model_params": {"grace_period": 100, "delta": 1e-3}}}, True),
    ("thompson per category (told the segments)", {"name": "thompson"}, True),
    ("oracle (best variant per category)", None, True),
]
SEGMENTS = "thompson per category (told the segments)"
STATIONARY = [p for p in POLICIES if "no " not in p[0] and "ucb1" not in p[0]]  # the defaults
CONTEXTUAL = "linucb (defaults)"
ROBUSTNESS_SEEDS = [7, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]  # other visitor streams for the contextual policy


def when(x: int | None) -> str:
    return f"{x:,}" if x is not None else "never"


def restarts_text(r: dict, half: int) -> str:
    """Where learning restarted, relative to the change (``+1,040``: 1,040 visitors after it)."""
    return ", ".join(f"{i - half:+,}" for i in r["restarts"]) or "none"


MODES = {"http": "bench.bandits_http", "detection": "bench.bandits_detection", "twin": "bench.bandits_twin"}


def main(argv: list[str] | None = None) -> int:
    global AMP
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in MODES:  # the other modes: through the proxy, the detector alone, the twin
        import importlib

        return int(importlib.import_module(MODES[argv[0]]).main(argv[1:]))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visitors", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--quick", action="store_true", help="skip the decide() timing and the OPE check")
    ap.add_argument("--amp", type=float, default=AMP, help="daily swing of every conversion rate (0.3: +-30%%)")
    args = ap.parse_args(argv)
    AMP = args.amp
    started = time.perf_counter()
    visitors = make_visitors(args.visitors, args.seed)
    print(f"### Direct feed: every policy on one stream\n\n`.venv/bin/python bench/bandits.py` (seed {args.seed}, "
          f"{args.visitors:,} visitors, 4 variants, goal purchase, 30 min window, +-{AMP:.0%} daily swing, best "
          f"variant per category changes at visitor {args.visitors // 2:,})\n")
    results = []
    for name, spec, ctx_target in POLICIES:
        results.append(run(name, spec, visitors, ctx_target, segments=name == SEGMENTS))
    even = results[0]["expected"]
    half = args.visitors // 2
    print("| policy | conversions | expected | regret | % of oracle | 1st half | 2nd half | last quarter "
          "| vs even split | to 80% on best | again after change | on best, last quarter | restarts "
          "| decide µs |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | --- | ---: |")
    for r in results:
        print(f"| {r['name']} | {r['realized']:,.0f} | {r['expected']:,.0f} | {r['regret']:,.0f} | {r['pct']:.1%} "
              f"| {r['pct_first']:.1%} | {r['pct_second']:.1%} | {r['pct_last_quarter']:.1%} "
              f"| {r['expected'] / even - 1:+.1%} | {when(r['find'])} ({r['target']}) | {when(r['refind'])} "
              f"| {r['share_last']:.0%} | {restarts_text(r, half)} | {r['decide_us']:.0f} |")
    print("\n\"to 80% on best\": visitors until 80% of a rolling 1,000-visitor window gets the best variant "
          "(per category for contextual policies, the best single variant for the others). \"restarts\": "
          "where change detection restarted learning, in visitors relative to the change.")
    print("\nThe same visitors without the change (stationary; a restart here is a false alarm):\n")
    print("| policy | expected | % of oracle | vs even split | to 80% on best | restarts |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    stationary = [run(name, spec, visitors, ctx, change=False, segments=name == SEGMENTS)
                  for name, spec, ctx in STATIONARY]
    for r in stationary:
        print(f"| {r['name']} | {r['expected']:,.0f} | {r['pct']:.1%} "
              f"| {r['expected'] / stationary[0]['expected'] - 1:+.1%} | {when(r['find'])} "
              f"| {', '.join(f'{i:,}' for i in r['restarts']) or 'none'} |")
    print(f"\nThe contextual policy on other visitor streams (seeds {', '.join(map(str, ROBUSTNESS_SEEDS))}; "
          "the change at the same point), next to the reference that is told the segments:\n")
    print("| seed | % of oracle | 1st half | 2nd half | again after change | restarts | stationary "
          "| told the segments |")
    print("| --- | ---: | ---: | ---: | --- | --- | ---: | ---: |")
    linucb = next(p for p in POLICIES if p[0] == CONTEXTUAL)
    segments = next(p for p in POLICIES if p[0] == SEGMENTS)
    pcts = [next(r["pct"] for r in results if r["name"] == CONTEXTUAL)]
    refs = [next(r["pct"] for r in results if r["name"] == SEGMENTS)]
    for seed in ROBUSTNESS_SEEDS:
        other = make_visitors(args.visitors, seed)
        r = run(linucb[0], linucb[1], other, True)
        s = run(linucb[0], linucb[1], other, True, change=False)
        ref = run(segments[0], segments[1], other, True, segments=True)
        pcts.append(r["pct"])
        refs.append(ref["pct"])
        print(f"| {seed} | {r['pct']:.1%} | {r['pct_first']:.1%} | {r['pct_second']:.1%} | {when(r['refind'])} "
              f"| {restarts_text(r, half)} | {s['pct']:.1%}" + (" (false alarm)" if s["restarts"] else "")
              + f" | {ref['pct']:.1%} |")
    print(f"\nOver the {len(pcts)} streams (with seed {args.seed}): linucb mean {statistics.mean(pcts):.1%} "
          f"of the oracle (lowest {min(pcts):.1%}); told the segments, mean {statistics.mean(refs):.1%} "
          f"(lowest {min(refs):.1%}).")
    if not args.quick:
        print("\n### decide() cost per slot, 10 arms, after 5,000 updates (median µs)\n")
        print("| policy | same model version | right after an update |\n| --- | ---: | ---: |")
        for name, us, fresh in decide_cost():
            print(f"| {name} | {us:.1f} | {'' if math.isnan(fresh) else f'{fresh:.1f}'} |")
        print("\n### Offline evaluation on a logged uniform-random policy (20,000 rows)\n")
        print("\n".join(ope_check(20_000)))
    print(f"\n_total runtime {time.perf_counter() - started:.0f} s_")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
