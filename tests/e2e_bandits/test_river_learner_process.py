"""A river model gets a learner process of its own, even behind one worker: whoever learns pickles the models
at each save (a tree's or a forest's: megabytes, 0.3–0.4 s), and that must not be the worker's event loop —
whether the river model is in the rules ``serve`` starts with or comes with a reload.

Real processes: ``slotwise serve --workers 1`` (granian) with rules naming ``river-model``.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from polling import wait_for
from scale.scale_helpers import PYTHON, Proc, free_port

from slotwise.proxy.config import Settings
from slotwise.proxy.operations.learner_supervisor import (may_want_learner_process,
                                                          wants_learner_process)
from tests.edge.processes import children

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

    def may_want(**kw: object) -> bool:
        return may_want_learner_process(Settings(data=str(tmp_path / "data"), **kw))

    # one worker whose rules do not name a river model (yet): its rules are watched for one
    assert may_want(rules=linear, workers=1) and may_want(rules=str(broken), workers=1)
    assert not may_want(rules=river, workers=1) and not may_want(rules=linear, workers=2)  # started already
    assert not may_want(workers=1) and not may_want(rules=linear, workers=1, store="redis://127.0.0.1:9")


def serve_one_worker(tmp_path: Path, rules_file: str, *extra: str) -> Proc:
    port = free_port()
    return Proc("serve", [
        PYTHON, "-m", "slotwise.cli", "serve", "--upstream", "http://127.0.0.1:9", "--workers", "1",
        "--server", "granian", "--port", str(port), "--data", str(tmp_path / "data"),
        "--rules", rules_file, "--log-level", "warning", *extra,
    ], tmp_path, port).start(wait=60)


def learner_of(serve: Proc) -> int | None:
    """The pid of the ``slotwise learner`` child of ``serve``, if it runs."""
    assert serve.proc is not None
    for pid in children(serve.proc.pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"learner" in command:
            return pid
    return None


def test_one_worker_with_a_river_model_decides_from_a_learner_process(tmp_path: Path) -> None:
    serve = serve_one_worker(tmp_path, rules(tmp_path, RIVER_TREE))
    try:
        wait_for(lambda: learner_of(serve), 30, what="the learner process beside the one worker")
        health = httpx.get(f"{serve.url}/_sw/health", timeout=5).json()
        assert health["pid"] != learner_of(serve)  # the worker serves; the learner is another process
    finally:
        serve.stop(timeout=10)


def test_a_river_model_that_comes_with_a_reload_moves_learning_out_of_the_worker(tmp_path: Path) -> None:
    token = "river-reload-token"
    path = rules(tmp_path, "{name: linucb, sticky: session}")
    serve = serve_one_worker(tmp_path, path, "--admin-token", token)

    def status() -> dict:
        response = httpx.get(f"{serve.url}/_sw/admin/api/status", headers={"authorization": f"Bearer {token}"},
                             timeout=5)
        response.raise_for_status()
        return response.json()

    try:
        wait_for(lambda: status()["learns"], 30, what="the one worker learning its linear models itself")
        assert learner_of(serve) is None  # small models: no extra process
        version = status()["rules"]["version"]
        Path(path).write_text(RULES.replace("{POLICY}", RIVER_TREE) + "\n")  # a marketer's edit, picked up live
        wait_for(lambda: status()["rules"]["version"] > version, 30, what="the worker serving the new rules")
        wait_for(lambda: learner_of(serve), 30, what="the learner process started for the river model")
        # the worker hands learning over (it asks the lock's holder to let go) and goes on deciding
        wait_for(lambda: not status()["learns"], 30, what="the worker handing learning over")
        assert "policy river-model" in status()["slots"][0]
        assert httpx.get(f"{serve.url}/_sw/health", timeout=5).json()["pid"] != learner_of(serve)
    finally:
        serve.stop(timeout=10)
