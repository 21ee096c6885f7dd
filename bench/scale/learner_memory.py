"""The learner process's memory at its bound: ``MAX_PENDING`` decisions waiting, and the full snapshot of them.

    python -m bench.scale.learner_memory [--decisions 300000] [--max-pending 100000]

One pure ``Learner`` (the rules of ``bench/proxy/rules-4-slots.yaml``) is fed
``--decisions`` decisions as the log holds them (distinct visitors, the
contexts the proxy logs, none rewarded: the worst case, every one waits for
its whole window) and its RSS is read as they arrive; then its full snapshot
is encoded as the store saves it (JSON), which is the learner's peak. Past
``--max-pending`` decisions the RSS must stop growing: what comes after is
not held (counted in ``not_held``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

RULES = ROOT / "bench" / "proxy" / "rules-4-slots.yaml"


def rss_mb() -> float:
    match = re.search(r"^VmRSS:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    return int(match.group(1)) / 1024 if match else float("nan")


def hwm_mb() -> float:
    match = re.search(r"^VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    return int(match.group(1)) / 1024 if match else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decisions", type=int, default=300_000)
    parser.add_argument("--max-pending", type=int, default=None, help="default: learning.MAX_PENDING")
    args = parser.parse_args(argv)

    from slotwise.bandits import features
    from slotwise.bandits.learner import Learner
    from slotwise.proxy.operations.learning import MAX_PENDING
    from slotwise.proxy.personalization.choices import slot_configs
    from slotwise.rules import load_rules

    cap = args.max_pending or MAX_PENDING
    slots = slot_configs(load_rules(RULES))
    bandits = [(name, cfg) for name, cfg in slots.items()]
    learner = Learner(slots, max_pending=cap)
    rng = random.Random(1)
    contexts = [features({"device": d, "is_new": n, "source": s, "category": c})
                for d in ("mobile", "desktop") for n in (True, False) for s in ("direct", "search", "email")
                for c in ("socks", "bags", "shoes", "hats")]
    gc.collect()
    start = rss_mb()
    print(f"`python -m bench.scale.learner_memory --decisions {args.decisions} --max-pending {cap}`; "
          f"load average {os.getloadavg()[0]:.2f}\n")
    print("| decisions fed | held | not held | RSS MB |")
    print("| ---: | ---: | ---: | ---: |")
    t0 = 1_800_000_000.0
    marks = {args.decisions * k // 6 for k in range(1, 7)} | {cap}
    started = time.perf_counter()
    for i in range(1, args.decisions + 1):
        name, cfg = bandits[i % len(bandits)]
        learner.on_decision({
            "decision_id": f"{i:08x}-{rng.getrandbits(64):016x}", "ts": t0 + i / 100, "visitor_id": f"v{i // 2:011d}",
            "slot": name, "arm": cfg.arms[i % len(cfg.arms)], "propensity": 1 / len(cfg.arms),
            "context": contexts[i % len(contexts)], "policy": "thompson",
        }, seq=i)
        if i in marks:
            gc.collect()
            print(f"| {i:,} | {learner.pending_count:,} | {learner.not_held:,} | {rss_mb():.1f} |", flush=True)
    fed = time.perf_counter() - started
    encoded = json.dumps(learner.snapshot(), separators=(",", ":"))
    print(f"\nstarted at {start:.1f} MB; {fed:.1f} s to feed; the full snapshot: {len(encoded) / 1e6:.1f} MB of JSON, "
          f"peak RSS while encoding it {hwm_mb():.1f} MB; "
          f"~{(rss_mb() - start) * 1e6 / max(1, learner.pending_count):.0f} bytes per held decision after it")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
