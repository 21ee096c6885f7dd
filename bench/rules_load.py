"""How long a rules set takes to load (every worker's start, every reload, ``rules check``).

    .venv/bin/python -m bench.rules_load [--slots 1000] [--repeat 3]

A generated set of ``--slots`` small slots (an inline template, a condition,
two variants: the shape of ``RulesLimits.max_slots``' worst case) and the
bundled demo rules, each loaded with the YAML parser ``compose`` picks
(libyaml) and, as the baseline in the same run, with the pure-Python parser
it falls back to (``yaml_marks._PURE_PYTHON_ONLY``). Best of ``--repeat``, CPU
time of this process, and the ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Callable

import yaml

from slotwise.rules import load_rules
from slotwise.rules import yaml_marks

ROOT = Path(__file__).resolve().parents[1]
SLOT = """  - id: s{i}
    description: Slot number {i}, a tile under the hero
    pages: "/c/x{i}"
    selector: "nav.category-nav ul, .category-tiles"
    action: after
    when: visitor.visits > 1
    html: "<p>Welcome back, {{{{ visitor.visits }}}} visits ({i})</p>"
    goal: click
    variants:
      - id: shown
      - id: control
        control: true
"""


def best_cpu(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slots", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        generated = Path(tmp) / "generated.yaml"
        generated.write_text("slots:\n" + "".join(SLOT.format(i=i) for i in range(args.slots)))
        sets = {f"{args.slots:,} generated slots ({generated.stat().st_size / 1024:.0f} KB)": generated,
                "the demo rules (10 files)": ROOT / "slotwise/rules/examples/demo.yaml"}
        print("| rules | libyaml (chosen) s | pure-Python parser s | ratio |")
        print("| --- | ---: | ---: | ---: |")
        chosen_loader = yaml_marks._loader_for
        for name, path in sets.items():
            assert chosen_loader(path.read_text()) is not yaml.SafeLoader, f"{name}: not on libyaml's path"
            fast = best_cpu(lambda: load_rules(path), args.repeat)
            yaml_marks._loader_for = lambda text: yaml.SafeLoader  # the baseline: the fallback parser
            try:
                slow = best_cpu(lambda: load_rules(path), args.repeat)
            finally:
                yaml_marks._loader_for = chosen_loader
            print(f"| {name} | {fast:.3f} | {slow:.3f} | {fast / slow:.2f} |")


if __name__ == "__main__":
    main()
