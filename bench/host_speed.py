"""How fast this host's cores run *while* a benchmark case runs: a small fixed unit of Python, timed
in the CPU time of the thread that runs it.

Why: on a shared 2-core VM (an AMD EPYC under KVM, 2026-12-03) the same code's CPU time for the same
work moved by up to 2x within seconds — Lexbor's parse, plain Python, JSON and copies alike —
with no steal, no other process and the load average blind to it. The same tree's four-slot page
cost 0.83 ms of CPU in one run and 1.50 ms in another (docs/benchmarks.md, "Re-measured on the
EPYC host in a later session"). A probe taken before a case missed it (the speed changes faster
than cases do); the same small unit sampled all through the case follows it: in eight runs of the
four-slot page, a median of 224 µs a unit against 168–191 µs came with 1.43 ms of CPU a page
against 0.97–1.17 ms.

``Monitor`` runs ``small_unit`` every 50 ms in a thread of the bench's own process (which only waits
on wrk meanwhile: ~0.5% of a core) and times each unit with that thread's CPU clock: the time it
waits for a core does not count, only how fast the core is when it runs. Under a case's own load
a unit is slower than on an idle host (the case's processes share the caches), so a figure only
compares with the same case in other rounds and runs.

    python -m bench.host_speed [--seconds 5]        # the idle host's figure, printed
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

SPREAD_WARN = 1.2
"""Rounds of one case whose speeds differ by more than this factor (slowest ÷ fastest) ran on a host
whose speed moved: they differ by the host as well as by the code. Seven of eight runs of the
four-slot page stayed within 1.14 (168–191 µs); the eighth, at 224 µs, cost 1.31x their CPU a page."""


def _profile() -> dict[str, dict[str, float | bool | str]]:
    """A returning visitor's products, about as many as a profile keeps."""
    return {f"p{i}": {"n": i % 5, "seen": i % 2 == 0, "size": "M"} for i in range(40)}


def small_unit(rounds: int = 4) -> int:
    """Dicts, sorting and strings, the rules' and the decide loop's kind of code: ~0.2–0.3 ms."""
    products = _profile()
    weights = {key: (float(value["n"]) + 1) / 7 for key, value in products.items()}
    total = 0
    for _ in range(rounds):
        ranked = sorted(products, key=lambda key: (weights[key], key))
        total += len(",".join(f"{key}={weights[key]:.2f}" for key in ranked[:12]).upper())
    return total


class Monitor:
    """Samples the host's speed in a thread while the ``with`` block runs (see the module's text)."""

    def __init__(self, every_s: float = 0.05) -> None:
        self.every_s = every_s
        self.samples: list[float] = []  # µs of the thread's CPU a small unit
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="host-speed", daemon=True)

    def _run(self) -> None:
        small_unit()
        while not self._stop.wait(self.every_s):
            start = time.thread_time()
            small_unit()
            self.samples.append((time.thread_time() - start) * 1e6)

    def __enter__(self) -> "Monitor":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    @property
    def median_us(self) -> float:
        return statistics.median(self.samples) if self.samples else 0.0


def spread(speeds: list[float]) -> float | None:
    """Slowest ÷ fastest of one case's rounds (None without two measured ones)."""
    measured = [s for s in speeds if s > 0]
    return max(measured) / min(measured) if len(measured) >= 2 else None


def at_median_speed(costs: list[float], speeds: list[float]) -> list[float]:
    """Each round's CPU a request as if the host had run at the rounds' median speed (cost x median /
    speed): a page's CPU follows the host's speed (eight runs: a unit 1.30x slower, a page 1.31x
    dearer; ten `tail` runs: pages/s x speed within ±10% while pages/s moved ±17%). Empty unless every
    round has both figures."""
    if not costs or any(c <= 0 for c in costs) or len(speeds) != len(costs) or any(s <= 0 for s in speeds):
        return []
    middle = statistics.median(speeds)
    return [cost * middle / speed for cost, speed in zip(costs, speeds)]


def summary(by_case: dict[str, list[float]]) -> str:
    """One line for a bench's output: each case's speeds over its rounds, and whether they moved."""
    parts, moved = [], []
    for name, speeds in by_case.items():
        measured = [s for s in speeds if s > 0]
        if not measured:
            continue
        ratio = spread(measured)
        parts.append(f"{name} {min(measured):.0f}–{max(measured):.0f}" if ratio else f"{name} {measured[0]:.0f}")
        if ratio is not None and ratio > SPREAD_WARN:
            moved.append(f"{name} (×{ratio:.2f})")
    if not parts:
        return "host speed: not measured"
    line = "host speed while each case ran (CPU µs of a small unit; more is slower): " + "; ".join(parts)
    if moved:
        line += (f" — **the host's speed moved between rounds of {', '.join(moved)}: those rounds differ by "
                 "the host as well as by the code**")
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    with Monitor() as monitor:
        time.sleep(args.seconds)
    samples = sorted(monitor.samples)
    print(f"{monitor.median_us:.0f} µs of CPU a small unit (median of {len(samples)}; "
          f"{samples[0]:.0f}–{samples[-1]:.0f})" if samples else "no sample")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
