"""What one decision costs per slot, as the proxy makes it (target: < 0.1 ms).

    python bench/decide.py [--arms 3] [--history 5000] [--repeat 2000]

For each policy the rules can name, a slot with ``--arms`` arms and
``--history`` learned rewards, then per slot: the decision alone
(``Learner.decide`` with the visitor's one-hot features and a decision id, as
``SlotwisePersonalizer._choose`` calls it), the same plus the decision record
the proxy logs, an update alone (what the learning loop pays per reward),
and an update before each decision (the model moving under the proxy:
Thompson's propensity refresh). LinUCB also without its short memory and with
it in use (``policies/recent.py``): what holding it costs. Median and 99th
percentile in microseconds, and the verdict against the target. Baseline in
the same run: ``uuid.uuid4().hex``, a cost every decision pays anyway.

This replaces a timed unit test (timing belongs in benches, not in the suite).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slotwise.bandits.features import VisitorContext  # noqa: E402
from slotwise.bandits.learner import Learner, SlotConfig  # noqa: E402
from slotwise.bandits.policies.recent import POOLED_KEY, LeaderStream  # noqa: E402
from slotwise.rules.schema import POLICIES  # noqa: E402

TARGET_US = 100.0
# the features the proxy computes (``VisitorContext``, with its bias term), over visitors that differ,
# so that LinUCB's pull per feature group (``group_prior``) has levels to weigh, as in a store
CONTEXTS = [VisitorContext(is_new=visits == 1, visit_count=visits, device=device, top_category=category,
                           has_cart=cart, source=source).features()
            for visits in (1, 4) for device in ("mobile", "desktop", "tablet")
            for category in ("bags", "shoes", None) for cart in (False, True)
            for source in ("search", "direct", "social")]
FEATURES = VisitorContext(is_new=False, visit_count=4, device="mobile", top_category="bags", has_cart=True,
                          source="search").features()


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(median, p99) in µs."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


# LinUCB with and without its short memory (``policies/recent.py``), and with it in use: what it costs
VARIANTS = {
    "linucb, no short memory": {"name": "linucb", "params": {"recent_half_life": None}},
    "linucb, short memory in use": {"name": "linucb"},
}


def learner_for(policy: str | dict, arms: int, history: int, seed: int = 3) -> Learner:
    names = tuple(f"a{i}" for i in range(arms))
    learner = Learner({"s": SlotConfig(arms=names, goal="click", policy=policy)})
    rng = random.Random(seed)
    for _ in range(history):
        learner.policies["s"].update(rng.choice(names), float(rng.random() < 0.1), rng.choice(CONTEXTS))
    return learner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arms", type=int, default=3)
    parser.add_argument("--history", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args(argv)
    print(f"`python bench/decide.py --arms {args.arms} --history {args.history} --repeat {args.repeat}`, "
          f"load average {os.getloadavg()[0]:.2f}\n")
    base, _ = timed(lambda: uuid.uuid4().hex, args.repeat)
    print(f"baseline uuid4().hex: {base:.1f} µs\n")
    print("| policy | decide µs (median / p99) | + record µs | update µs | update + decide µs | < 100 µs |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    worst = 0.0
    for policy in [*POLICIES, *VARIANTS]:
        learner = learner_for(VARIANTS.get(policy, policy), args.arms, args.history)
        if policy == "linucb, short memory in use":
            memory = learner.policies["s"].recent
            stream = memory.streams[POOLED_KEY] = LeaderStream()  # a fall so strong that the short
            stream.on, stream.score, stream.hold = True, 1e6, 1e6  # memory stays in use through the updates below
            memory.active = True
        rng = random.Random(5)
        arms = learner.slots["s"].arms

        def decide() -> object:
            return learner.decide("s", features=FEATURES, decision_id=uuid.uuid4().hex)

        def decide_and_record() -> object:
            decision_id = uuid.uuid4().hex
            decision = learner.decide("s", features=FEATURES, decision_id=decision_id)
            return decision.record(decision_id, 1000.0, "visitor", "s").to_dict()

        def update() -> object:
            return learner.policies["s"].update(rng.choice(arms), float(rng.random() < 0.1), rng.choice(CONTEXTS))

        def update_and_decide() -> object:
            learner.policies["s"].update(rng.choice(arms), float(rng.random() < 0.1), rng.choice(CONTEXTS))
            return decide()

        d, d99 = timed(decide, args.repeat)
        r, r99 = timed(decide_and_record, args.repeat)
        p, p99 = timed(update, args.repeat)
        u, u99 = timed(update_and_decide, args.repeat)
        worst = max(worst, r)
        print(f"| {policy} | {d:.1f} / {d99:.1f} | {r:.1f} / {r99:.1f} | {p:.1f} / {p99:.1f} | {u:.1f} / {u99:.1f} | "
              f"{'yes' if r < TARGET_US else 'NO'} |")
    print(f"\nslowest median decision with its record: {worst:.1f} µs (target < {TARGET_US:.0f} µs per slot)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
