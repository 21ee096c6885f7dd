"""How long ``slotwise --help`` and every sub-command's ``--help`` take to start (target: < 0.5 s).

    python bench/startup.py [--repeat 3] [--imports]

Each command runs as a user runs it (the ``slotwise`` console script beside
this interpreter, this tree first on ``PYTHONPATH``) ``--repeat`` times; the
median wall time and CPU time (the command's own, which hardly moves when
other work shares the cores) are reported, with the bare interpreter's start
(``python -c pass``) measured in the same run as the baseline. Sub-commands
(and their own sub-commands) are found by walking the CLI's argparse tree.
``--imports`` also prints the slowest imports of ``slotwise --help``
(``python -X importtime``), to see what to make lazy.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 0.5


def command_lines() -> list[list[str]]:
    """Every command path of the CLI: [], ["serve"], ["rules", "check"], ..."""
    sys.path.insert(0, str(ROOT))
    from slotwise.cli import build_parser

    found: list[list[str]] = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        found.append(path)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*path, name])

    walk(build_parser(), [])
    return found


def slotwise() -> list[str]:
    script = Path(sys.executable).with_name("slotwise")
    return [str(script)] if script.exists() else [sys.executable, "-c", "import sys; from slotwise.cli import main; sys.exit(main())"]


def timed(argv: list[str], repeat: int) -> tuple[float, float, int]:
    """(median wall s, median CPU s of the command, exit status): CPU time hardly moves with other load."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    walls, cpus = [], []
    code = 0
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        code = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True).returncode or code
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus), code


def slowest_imports(limit: int = 15) -> list[tuple[int, str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", "from slotwise.cli import main; main(['--help'])"],
                         env=env, cwd=ROOT, capture_output=True, text=True).stderr
    rows = []
    for line in err.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = (part.strip() for part in line[len("import time:"):].split("|"))
            if cumulative.isdigit():
                rows.append((int(cumulative), name))
    return sorted(rows, reverse=True)[:limit]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--imports", action="store_true")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    base, base_cpu, _ = timed([sys.executable, "-c", "pass"], args.repeat)
    print(f"`python bench/startup.py --repeat {args.repeat}`, load average {load:.2f}; "
          f"baseline `python -c pass` {base * 1000:.0f} ms wall, {base_cpu * 1000:.0f} ms CPU\n")
    print("| command | median wall s | median CPU s | < 0.5 s (wall) |")
    print("| --- | ---: | ---: | --- |")
    worst = 0.0
    for path in command_lines():
        seconds, cpu, code = timed([*slotwise(), *path, "--help"], args.repeat)
        worst = max(worst, seconds)
        verdict = "yes" if seconds < TARGET_S else "NO"
        failed = f" (exit {code})" if code else ""
        print(f"| `slotwise {' '.join(path)} --help`{failed} | {seconds:.3f} | {cpu:.3f} | {verdict} |")
    print(f"\nslowest: {worst:.3f} s wall (target < {TARGET_S} s; on a loaded machine the CPU column is the steadier one)")
    if args.imports:
        print("\nslowest imports of `slotwise --help` (cumulative µs):\n")
        for micros, name in slowest_imports():
            print(f"    {micros:>9,}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
