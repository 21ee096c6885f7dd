"""A server worker's start-up objects leave the cyclic collector's passes; garbage is not kept.

Each case runs in a fresh interpreter: freezing is process-wide, and the test
process's own heap must not be frozen by it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import asyncio, gc, json, sys, weakref
    from slotwise.proxy.app import create_app, create_app_from_env
    from slotwise.proxy.config import Settings

    class Cycle:
        pass

    def garbage():
        a, b = Cycle(), Cycle()
        a.other, b.other = b, a  # only the cyclic collector frees these
        return weakref.ref(a)

    worker = sys.argv[1] == "worker"
    app = create_app_from_env() if worker else create_app(Settings.from_env())
    dead = garbage()
    gc.disable()  # no collection but the app's own from here on
    tracked_before = len(gc.get_objects())

    async def lifespan():
        sent = []
        messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
        async def receive():
            return next(messages)
        async def send(message):
            sent.append(message["type"])
            if message["type"] == "lifespan.startup.complete":
                result.update(frozen=gc.get_freeze_count(), young=gc.get_threshold()[0], tracked=len(gc.get_objects()),
                              garbage_kept=dead() is not None)
        await app({"type": "lifespan"}, receive, send)
        result["sent"] = sent

    result = {"tracked_before": tracked_before}
    asyncio.run(lifespan())
    print(json.dumps(result))
    """
)


def run(kind: str, tmp_path: Path, **env: str) -> dict[str, object]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SLOTWISE_")}
    environment.update(PYTHONPATH=str(ROOT), SLOTWISE_UPSTREAM="http://127.0.0.1:9", SLOTWISE_DATA=str(tmp_path), **env)
    out = subprocess.run([sys.executable, "-c", SCRIPT, kind], env=environment, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_worker_freezes_what_survived_start_up_and_collects_the_rest(tmp_path: Path) -> None:
    result = run("worker", tmp_path)
    assert result["sent"] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert result["garbage_kept"] is False  # collected before the freeze, not frozen with the rest
    assert result["frozen"] > 0.9 * result["tracked_before"]  # start-up's objects (modules, rules) are out
    assert result["tracked"] < 0.1 * result["frozen"]  # what a full collection still walks
    assert result["young"] == 10_000  # in-flight pages no longer cross the young generation's threshold


@pytest.mark.parametrize("kind,env", [("worker", {"SLOTWISE_GC_FREEZE": "0"}), ("app", {})])
def test_turned_off_or_not_a_worker_leaves_the_collector_alone(tmp_path: Path, kind: str, env: dict[str, str]) -> None:
    result = run(kind, tmp_path, **env)
    assert result["sent"] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert result["frozen"] == 0
    assert result["young"] == 700  # CPython's default, untouched
    assert result["garbage_kept"] is True  # gc disabled and nothing collected: the app did not touch the collector


RELOAD = textwrap.dedent(
    """
    import gc, json, weakref
    from pathlib import Path
    from slotwise.proxy.operations import heap
    from slotwise.proxy.operations.rules_watch import RulesHolder

    class Rules:
        pass

    def load(path):
        rules = Rules()
        rules.me = rules  # a cycle, as a rule set's templates and closures make
        return rules

    holder = RulesHolder("rules.yaml", load)
    holder.reload()
    heap.settle()  # a worker's start-up: the first rules frozen with the rest
    old = weakref.ref(holder.current)
    holder.reload()  # a hot reload, outside a loop: resettled at once
    print(json.dumps({"old_kept": old() is not None, "frozen": gc.get_freeze_count(),
                      "current_frozen": gc.is_tracked(holder.current) and holder.current not in gc.get_objects()}))
    """
)


def test_a_hot_reload_lets_the_frozen_rules_go(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SLOTWISE_")}
    out = subprocess.run([sys.executable, "-c", RELOAD], env={**environment, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["old_kept"] is False  # without the resettle, the frozen cycle would live as long as the worker
    assert result["frozen"] > 0 and result["current_frozen"] is True  # the new rules are settled in its place
