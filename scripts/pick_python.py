"""Which Python 3.11 a new ``.venv`` gets: of those on the machine, the fastest, measured.

Why measured: how an interpreter was built moves the CPU of personalization by ~17% on the same
machine, and of a whole served page by 3–8% (docs/benchmarks.md, Proxy: Debian's ``/usr/bin/python3.11``, built with profile-guided
and link-time optimization, against pyenv's default build), and nothing an interpreter says about
itself tells that reliably (``sysconfig`` describes the shared library's build, not the
executable's). So each candidate runs the same small pure-Python workload — calls, dicts,
attributes, strings, the kind of code a page's personalization is — and the first one on ``PATH``
is kept unless another takes clearly less CPU for it (``MARGIN``).

Prints the chosen interpreter (nothing when there is none); says on stderr what it measured.
Standard library only: it runs before any ``.venv`` exists.
"""

from __future__ import annotations

import os
import subprocess
import sys

MARGIN = 0.93
"""Another interpreter is taken only when its CPU for the workload is at most this share of the first's:
a closer figure is within what a busy machine moves from run to run."""

PLACES = ("/usr/bin/python3.11", "/usr/local/bin/python3.11")

USABLE = ("import sys, ensurepip, venv; "
          "sys.exit(3) if sys.version_info[:2] != (3, 11) else print(sys.executable)")

WORKLOAD = r"""
import time

class Item:
    __slots__ = ("key", "value")
    def __init__(self, key, value):
        self.key, self.value = key, value

def score(item, weights):
    return weights.get(item.key, 0.5) * item.value + len(item.key)

def page(n):
    weights = {f"k{i}": i / 7 for i in range(40)}
    items = [Item(f"k{i % 50}", i % 13) for i in range(n)]
    ranked = sorted(items, key=lambda it: score(it, weights))
    return ",".join(f"{it.key}={it.value}" for it in ranked[:20]).upper().count("K")

best = float("inf")
for _ in range(5):
    start = time.process_time()
    for _ in range(150):
        page(400)
    best = min(best, time.process_time() - start)
print(best)
"""


def candidates() -> list[str]:
    """python3.11 wherever it is on ``PATH``, the usual places, then python3 on ``PATH``."""
    found = [*_on_path("python3.11"), *PLACES, *_on_path("python3")]
    return [c for c in dict.fromkeys(found) if os.path.isfile(c) and os.access(c, os.X_OK)]


def _on_path(name: str) -> list[str]:
    return [os.path.join(directory or ".", name) for directory in os.environ.get("PATH", "").split(os.pathsep)]


def usable(python: str) -> str | None:
    """The interpreter's own executable if it is a 3.11 that can make a venv, else None."""
    try:
        done = subprocess.run([python, "-c", USABLE], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return os.path.realpath(done.stdout.strip()) if done.returncode == 0 and done.stdout.strip() else None


def cpu_seconds(python: str) -> float | None:
    """The workload's CPU time under this interpreter (the best of five runs of it), or None if it failed."""
    try:
        done = subprocess.run([python, "-c", WORKLOAD], capture_output=True, text=True, timeout=120)
        return float(done.stdout.strip()) if done.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def choose(order: list[str], seconds: dict[str, float]) -> str | None:
    """The first of ``order``, unless the fastest measured one takes at most ``MARGIN`` of its CPU."""
    measured = [p for p in order if p in seconds]
    if not measured:
        return order[0] if order else None
    first = measured[0]
    fastest = min(measured, key=lambda p: seconds[p])
    return fastest if seconds[fastest] <= MARGIN * seconds[first] else first


def main() -> int:
    order: list[str] = []
    executables: set[str] = set()
    for python in candidates():
        executable = usable(python)
        if executable is not None and executable not in executables:  # a shim and its target: one
            executables.add(executable)
            order.append(python)
    seconds: dict[str, float] = {}
    if len(order) > 1:
        for python in order + order[::-1]:  # two rounds, the second reversed: a burst of load hits both
            took = cpu_seconds(python)
            if took is not None:
                seconds[python] = min(took, seconds.get(python, took))
        for python in order:
            print(f"pick_python: {python}: {seconds.get(python, float('nan')) * 1000:.0f} ms of CPU for the workload",
                  file=sys.stderr)
    chosen = choose(order, seconds)
    if chosen is None:
        return 1
    print(chosen)
    return 0


if __name__ == "__main__":
    sys.exit(main())

