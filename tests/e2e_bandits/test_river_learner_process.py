"""A river model gets a learner process of its own, even behind one worker: whoever learns pickles the models
at each save (a tree's or a forest's: megabytes, 0.3–0.4 s), and that must not be the worker's event loop.

Real processes: ``slotwise serve --workers 1`` (granian) with rules naming ``river-model``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: scale helpers

from scale.scale_helpers import PYTHON, Proc, free_port, wait_until  # noqa: E402

from slotwise.proxy.config import Settings  # noqa: E402
from slotwise.proxy.operations.learner_supervisor import wants_learner_process  # noqa: E402
from tests.edge.processes import children  # noqa: E402

RULES = """\
slots:
  - id: hero
    pages: "/"
    selector: ".hero"
    action: replace
    goal: click
    policy: {POLICY}
    variants:
      - id: a
        html: "<b>A</b>"
      - id: b
        html: "<b>B</b>"
"""
RIVER_TREE = "{name: river-model, model: tree.HoeffdingTreeClassifier, sticky: session}"


def rules(tmp_path: Path, policy: str, name: str = "rules.yaml") -> str:
    path = tmp_path / name
    path.write_text(RULES.replace("{POLICY}", policy))
    return str(path)


def test_which_serves_get_a_learner_process(tmp_path: Path) -> None:
    def wants(**kw: object) -> bool:
        return wants_learner_process(Settings(data=str(tmp_path / "data"), **kw))

    river, linear = rules(tmp_path, RIVER_TREE, "river.yaml"), rules(tmp_path, "{name: linucb}", "linucb.yaml")
    assert wants(rules=river, workers=1)  # one worker, a river model: the worker must not pickle it
    assert not wants(rules=linear, workers=1)  # one worker, small models: it learns itself, no extra process
    assert wants(rules=linear, workers=2)  # several workers over SQLite: as before
    assert not wants(workers=1) and not wants(workers=2)  # no rules: nothing is learned
    assert not wants(rules=river, workers=1, store="redis://127.0.0.1:9")  # Redis: `slotwise learner` is separate
    broken = tmp_path / "broken.yaml"
    broken.write_text("slots: [")
    assert not wants(rules=str(broken), workers=1)  # the worker reports the file; no learner for it


def test_one_worker_with_a_river_model_decides_from_a_learner_process(tmp_path: Path) -> None:
    port = free_port()
    serve = Proc("serve", [
        PYTHON, "-m", "slotwise.cli", "serve", "--upstream", "http://127.0.0.1:9", "--workers", "1",
        "--server", "granian", "--port", str(port), "--data", str(tmp_path / "data"),
        "--rules", rules(tmp_path, RIVER_TREE), "--log-level", "warning",
    ], tmp_path, port).start(wait=60)
    try:
        assert serve.proc is not None
        master = serve.proc.pid

        def learner() -> int | None:
            for pid in children(master):
                command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                if b"learner" in command:
                    return pid
            return None

        wait_until(learner, 30, what="the learner process beside the one worker")
        health = httpx.get(f"http://127.0.0.1:{port}/_sw/health", timeout=5).json()
        assert health["pid"] != learner()  # the worker serves; the learner is another process
    finally:
        serve.stop(timeout=10)
