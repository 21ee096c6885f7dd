"""What a worker pays to pick up the learner's published models, by policy: CPU, and how long its event loop stalls.

    .venv/bin/python -m bench.learner_reload [--rewards 20000] [--loads 5]

While rewards arrive, the learner publishes its models (``bandits.policies``)
and every worker loads them (``LearningLoop.load_snapshot``, the follower's
path). A river tree's or forest's state is megabytes of pickle in the JSON: a
load that runs on the event loop stalls every page of that worker while it
runs. Through the real parts: a SQLite store in a temporary directory, a
``Learner`` whose slot is taught ``--rewards`` rewards (the policy's own
``update``, as the learner applies a reward), its models saved as the leader
publishes them, then a follower ``LearningLoop`` loading each new seq while a
ticker on the same loop records the longest gap between its ticks (the
stall a page would have seen). The baseline in the same run is LinUCB, the
default contextual policy, whose state is small.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import tempfile
import time
from pathlib import Path

from slotwise.bandits import features
from slotwise.bandits.learner import Learner, SlotConfig
from slotwise.proxy.operations.learning import COPY_SHARE, POLICIES_NAME, LearningLoop
from slotwise.store import open_store

from .machine import describe

ARMS = ("a", "b", "c")
POLICIES = {
    "linucb (default)": {"name": "linucb"},
    "river LogisticRegression": {"name": "river-model"},
    "river HoeffdingTreeClassifier": {"name": "river-model", "params": {
        "model": "tree.HoeffdingTreeClassifier", "model_params": {"grace_period": 50, "delta": 1e-3}}},
    "river ARFClassifier (5 trees)": {"name": "river-model", "params": {
        "model": "forest.ARFClassifier", "model_params": {"n_models": 5}}},
}


def taught(spec: dict, rewards: int, seed: int = 1) -> Learner:
    """A learner whose one slot learned ``rewards`` rewards: b converts on mobile, a on desktop."""
    learner = Learner()
    learner.configure_local({"hero": SlotConfig(arms=ARMS, policy=spec)})
    policy = learner.policies["hero"]
    rng = random.Random(seed)
    contexts = [features({"device": d, "is_new": n}) for d in ("mobile", "desktop", "tablet") for n in (True, False)]
    for _ in range(rewards):
        ctx = rng.choice(contexts)
        arm = rng.choice(ARMS)
        best = "b" if ctx is contexts[0] else "a"
        policy.update(arm, float(rng.random() < (0.3 if arm == best else 0.05)), ctx, 1 / len(ARMS))
    return learner


async def follower_loads(data: Path, spec: dict, learner: Learner, loads: int) -> dict[str, float]:
    store = open_store("", data)  # SQLite, as `slotwise serve` opens it
    # its clock jumps a day per reading: each load here is due (``load_snapshot`` paces them by their cost)
    follower = LearningLoop(store, follower=True, clock=itertools.count(0, 86400).__next__)
    follower.slots = {"hero": SlotConfig(arms=ARMS, policy=spec)}
    state = learner.policies_snapshot()
    stall = 0.0
    running = True

    async def ticker() -> None:
        nonlocal stall
        last = time.perf_counter()
        while running:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            stall = max(stall, now - last - 0.001)
            last = now

    tick = asyncio.create_task(ticker())
    cpu = wall = worst = 0.0
    size = 0
    try:
        for seq in range(1, loads + 1):
            await store.save_snapshot(POLICIES_NAME, state, seq)  # the leader's publish of a new seq
            size = len(getattr(store, "inner", store).db.query("SELECT data FROM snapshots WHERE name = ?", (POLICIES_NAME,))[0][0])
            await asyncio.sleep(0.05)
            stall = 0.0  # the save above stalls the loop too: only the load's stall is the follower's
            c0, w0 = time.process_time(), time.perf_counter()
            assert await follower.load_snapshot(), "the follower did not load the new seq"
            cpu += time.process_time() - c0
            wall += time.perf_counter() - w0
            await asyncio.sleep(0.01)  # the ticker's tick after the load
            worst = max(worst, stall)
    finally:
        running = False
        await tick
        await store.close()
    return {"cpu_ms": cpu * 1000 / loads, "wall_ms": wall * 1000 / loads, "stall_ms": worst * 1000, "kb": size / 1024}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rewards", type=int, default=20000, help="rewards each policy learned before the loads")
    parser.add_argument("--loads", type=int, default=5, help="loads of a new seq measured per policy")
    args = parser.parse_args(argv)
    print(f"`python -m bench.learner_reload --rewards {args.rewards} --loads {args.loads}`; {describe()}; "
          f"load average at the start {os.getloadavg()[0]:.2f}")
    print()
    print("| policy | published state | load CPU ms | load wall ms | longest stall of the loop ms | × linucb CPU "
          "| next load after (s) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    base = None
    for name, spec in POLICIES.items():
        learner = taught(spec, args.rewards if "ARF" not in name else args.rewards // 4)
        with tempfile.TemporaryDirectory(prefix="sw-reload-") as tmp:
            r = asyncio.run(follower_loads(Path(tmp), spec, learner, args.loads))
        base = base or r["cpu_ms"]
        print(f"| {name} | {r['kb']:,.0f} KB | {r['cpu_ms']:.1f} | {r['wall_ms']:.1f} | {r['stall_ms']:.1f} | "
              f"{r['cpu_ms'] / base:.0f}× | {max(1.0, r['wall_ms'] / 1000 / COPY_SHARE):.1f} |", flush=True)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
