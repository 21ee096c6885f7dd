"""The HTTP bench's store fed to the ``Learner`` directly: a fast twin, for sweeps over defaults.

    .venv/bin/python -m bench.bandits_twin --sweep            # exploration defaults, ~10-15 min
    .venv/bin/python -m bench.bandits_twin --policy linucb --seeds 5 --visits 12000

The same shopper loop as ``bench.bandits_http`` (``bandits_shoppers.simulate``:
one seed, the same shoppers, sessions and click draws on both; the pairing is
``tests/e2e_bandits/test_bench_pairing.py``), and the features the proxy
would build (``Shopper.expected_context``, checked against the proxy by
``tests/e2e_bandits/test_context.py``), but decisions, exposures and clicks
go straight into one ``Learner`` on a simulated clock: no HTTP, no store, no
learning lag. Figures here are *direct feed*; the HTTP bench's are the ones a
store would see. The twin is for what needs hundreds of runs: choosing the
exploration defaults over many seeds, traffic rates and conversion levels.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
if __name__ == "__main__":  # before numpy loads: one BLAS kernel on every host (bench/blas.py)
    from bench.blas import pin

    pin()

from bench.bandits_shoppers import ARMS, Shopper, Visit, back_at, seeded_decision_ids, share, simulate  # noqa: E402
from bench.blas import kernel as blas_kernel  # noqa: E402
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
    visits: list[Visit]
    restarts: list[int]  # visit index at which learning restarted
    changes: list[dict]
    switched: list[int]  # visit index at which the short memory (LinUCB) began to decide

    def share(self, start: int = 0, end: int | None = None) -> float:
        return share(self.visits, start, end)

    def back_at(self, level: float = 0.8, window: int = 1000) -> int | None:
        return back_at(self.visits, level, window)

    @property
    def wrong_segments(self) -> int:
        """Segments whose last-quarter traffic is mostly not on their best variant."""
        tail = self.visits[len(self.visits) * 3 // 4:]
        wrong = 0
        for segment in {v.segment for v in tail}:
            hits = [v.shown == v.best for v in tail if v.segment == segment]
            if len(hits) >= 50 and sum(hits) < 0.5 * len(hits):
                wrong += 1
        return wrong


class LearnerShop:
    """The twin's shop: decisions, exposures and clicks straight into one ``Learner`` on the simulated clock.

    Decision ids come from the seed (``seeded_decision_ids``), as in an in-process HTTP run's proxy."""

    def __init__(self, spec: Any, seed: int, watch: Callable[[int, Learner, Shopper, str], None] | None = None,
                 restart_at: int | None = None) -> None:
        self.restart_at = restart_at  # the view before which learning restarts (``--restart-after-swap``)
        self.learner = Learner({"hero": SlotConfig(arms=ARMS, goal="click", policy=spec, window=WINDOW_S)}, seed=seed)
        self.decision_ids = seeded_decision_ids(seed)
        self.at = T0
        self.views = 0
        self.restarts: list[int] = []
        self.switched: list[int] = []
        self._short = False  # the short memory decides (last view)
        self.watch = watch

    @property
    def policy(self) -> Any:
        return self.learner.policies["hero"]

    def advance_to(self, at: float) -> None:
        self.at = max(self.at, at)

    def now(self) -> float:
        return self.at

    def browse(self, shopper: Shopper, category: str) -> None:
        pass

    def home(self, shopper: Shopper, browsed: str | None, at: float) -> tuple[str, str]:
        if self.views == self.restart_at:
            self.learner.restart("hero", at)
        before = self.policy.restarts
        decision_id = self.decision_ids()
        feats = shopper.expected_context(browsed_first=browsed is not None).features()
        d = self.learner.decide("hero", features=feats, decision_id=decision_id)
        self.learner.on_decision(d.record(decision_id, at, f"s{shopper.id}", "hero"))
        self.learner.on_exposure(decision_id, at + 1.0)
        if self.watch is not None:
            self.watch(self.views, self.learner, shopper, d.arm)
        self.views += 1
        if self.policy.restarts != before:
            self.restarts.append(self.views)
        recent = getattr(self.policy, "recent", None)
        short = bool(recent is not None and recent.active)
        if short and not self._short:
            self.switched.append(self.views)
        self._short = short
        return decision_id, d.arm

    def click(self, shopper: Shopper, decision_id: str, at: float) -> None:
        before = self.policy.restarts
        self.learner.on_event(f"s{shopper.id}", "click", None, at, [decision_id])
        if self.policy.restarts != before:
            self.restarts.append(self.views)


def twin(spec: Any, seed: int, visits: int, per_hour: float, swap: bool = False, amp: float = 0.3,
         scale: float = 1.0, watch: Callable[[int, Learner, Shopper, str], None] | None = None,
         restart_after_swap: int | None = None) -> TwinRun:
    """One run; ``scale`` multiplies every click rate (0.25: a store converting four times less);
    ``watch(view index, learner, shopper, variant shown)`` after each decision (per-seed traces);
    ``restart_after_swap``: the policy learns over that many decisions after the swap (0: at its first
    view), as a detector that saw the swap with that delay would make it (``--restart-after-swap``)."""
    restart_at = visits // 2 + restart_after_swap if swap and restart_after_swap is not None else None
    shop = LearnerShop(spec, seed, watch, restart_at)
    out = simulate(shop, seed, visits, per_hour, swap, amp, scale, start=T0)
    return TwinRun(spec, seed, per_hour, scale, swap, out, shop.restarts, list(shop.policy.changes), shop.switched)


class Trace:
    """A per-seed trace (``--trace``): from ``before`` decisions ahead of the swap on, per block of ``block``
    decisions, how each segment's traffic splits over the variants, and the short memory's switch at the
    block's start (each stream's evidence and hold in nats, on or off, calibration). What issue 11's
    passes read to see why a swap run does not come back."""

    def __init__(self, visits: int, block: int = 500, before: int = 1000) -> None:
        self.start, self.block = visits // 2 - before, block
        self.shown: dict[int, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
        self.switch: dict[int, str] = {}
        self.half = visits // 2

    def __call__(self, view: int, learner: Learner, shopper: Shopper, arm: str) -> None:
        if view < self.start:
            return
        block = (view - self.half) // self.block
        self.shown[block][f"{shopper.device}/{'returning' if shopper.visits > 1 else 'new'}"][arm] += 1
        recent = getattr(learner.policies["hero"], "recent", None)
        if recent is not None and block not in self.switch:
            self.switch[block] = ("on " if recent.active else "off ") + " ".join(
                f"{key}:{s.score:.1f}/{s.hold:.1f}{'*' if s.on else ''}@{s.calibration():.2f}"
                for key, s in sorted(recent.streams.items()))

    def lines(self) -> list[str]:
        segments = sorted({seg for shown in self.shown.values() for seg in shown})
        out = [f"  block (after swap) | {' | '.join(segments)} (% {'/'.join(ARMS)}) | switch: stream evidence/hold"]
        for block in sorted(self.shown):
            cells = []
            for seg in segments:
                counts = self.shown[block][seg]
                n = sum(counts.values())
                cells.append("/".join(f"{100 * counts[a] // n}" for a in ARMS) + f" n{n}" if n else "-")
            out.append(f"  {block * self.block:+6d} | {' | '.join(cells)} | {self.switch.get(block, '')}")
        return out


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


def param_value(text: str) -> Any:
    """A ``--params`` value: null, a number, or a name."""
    if text.lower() in ("null", "none"):
        return None
    try:
        return float(text)
    except ValueError:
        return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", action="store_true", help="LinUCB alpha x epsilon over seeds, rates and scales")
    ap.add_argument("--policy", default="linucb")
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--first-seed", type=int, default=1, help="seeds first-seed .. first-seed+seeds-1 (21: held-out seeds)")
    ap.add_argument("--visits", type=int, default=12_000)
    ap.add_argument("--rates", default="600,3000")
    ap.add_argument("--scales", default="0.25,1", help="click-rate multipliers (0.25: ~0.5-1.5%% rates)")
    ap.add_argument("--swap", action="store_true")
    ap.add_argument("--restart-after-swap", type=int, default=None, metavar="N",
                    help="with --swap: the policy learns over N decisions after the swap (0: at it), as a "
                    "detector with that delay would make it: how late a restart may come and still bring a run back")
    ap.add_argument("--grid", default="", help="alpha:epsilon pairs for --sweep, e.g. 0.1:0,0.3:0.05")
    ap.add_argument("--trace", action="store_true", help="per seed: segments' variants and the switch, per 500 "
                    "decisions from 1,000 before the swap (Trace)")
    ap.add_argument("--params", default="", help="the policy's params over its defaults, e.g. epsilon_evidence=null")
    args = ap.parse_args(argv)
    policy: Any = args.policy
    if args.params:
        policy = {"name": args.policy, "params": {k: param_value(v) for k, v in
                                                  (p.split("=", 1) for p in args.params.split(","))}}
    started = time.perf_counter()
    rates = [float(x) for x in args.rates.split(",")]
    scales = [float(x) for x in args.scales.split(",")]
    if args.sweep:
        grid = [{"name": "linucb", "params": {"alpha": float(a), "epsilon": float(e)}}
                for a, e in (pair.split(":") for pair in args.grid.split(","))] if args.grid else SWEEP
        sweep(args.seeds, args.visits, rates, scales, grid)
    else:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            for rate in rates:
                for scale in scales:
                    trace = Trace(args.visits) if args.trace else None
                    r = twin(policy, seed, args.visits, rate, args.swap, scale=scale, watch=trace,
                             restart_after_swap=args.restart_after_swap)
                    back = r.back_at() if args.swap else None
                    print(f"seed {seed} rate {rate:,.0f} scale {scale}: {r.share():.1%} (halves {r.share(0, args.visits // 2):.1%}"
                          f" / {r.share(args.visits // 2):.1%}), wrong segments {r.wrong_segments}, restarts "
                          f"{r.restarts} {[(c['arm'], round(c['before'], 4), round(c['after'], 4)) for c in r.changes]}"
                          + f", short memory on at {r.switched}"
                          + (f", back at 80% after {back}" if args.swap else ""), flush=True)
                    if trace is not None:
                        print("\n".join(trace.lines()), flush=True)
    print(f"_total {time.perf_counter() - started:.0f} s; {blas_kernel()}_")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
