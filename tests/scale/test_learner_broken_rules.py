"""``slotwise learner`` on a rules file it cannot load says what that means for the learner, and keeps
what it learned.

It logged the proxy's words, "no rules serve (pages pass through unchanged)", which tell nothing of
learning. And the embedded learner (the one ``slotwise serve --workers N`` starts beside the workers)
configured its models for no slot at all: every slot's policy and waiting decisions were dropped, so a
restart on a broken file lost all that was learned. Real parts: the SQLite store under ``--data``, the
learner as a subprocess.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from scale_helpers import PYTHON, Proc

from slotwise.bandits.learner import Learner, SlotConfig
from slotwise.proxy.config import Settings
from slotwise.proxy.operations.learning import SNAPSHOT_NAME, LearningLoop
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.store import open_store
from slotwise.store.base import LogRecord

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(90)]


def decision(slot: str, arm: str) -> LogRecord:
    now, decision_id, visitor = time.time(), uuid.uuid4().hex, uuid.uuid4().hex
    return LogRecord("decision", decision_id, visitor, now, {
        "decision_id": decision_id, "ts": now, "visitor_id": visitor, "slot": slot, "arm": arm,
        "propensity": 0.5, "policy": "thompson", "model_version": "1.0", "context": {}})


async def saved_learner(data: Path) -> Learner:
    store = open_store("", data)
    try:
        found = await store.load_snapshot(SNAPSHOT_NAME)
    finally:
        await store.close()
    assert found is not None, "no snapshot saved"
    return Learner.from_snapshot(found[0])


def run_learner_until(tmp_path: Path, line: str, *args: str) -> str:
    """``slotwise learner ARGS`` on a broken rules file (``tmp_path/rules.yaml``) until it logs ``line``, then
    stopped (SIGTERM, status 0): what it logged."""
    (tmp_path / "rules.yaml").write_text("slots:\n  - id: hero\n    selector: [unclosed\n")
    learner = Proc("learner", [PYTHON, "-m", "slotwise.cli", "learner", *args], tmp_path).spawn()
    try:
        deadline = time.monotonic() + 60
        while line not in learner.tail(10**6):
            assert learner.alive() and time.monotonic() < deadline, learner.tail()
            time.sleep(0.1)
    finally:
        learner.stop(timeout=30)
    said = learner.tail(10**6)
    assert learner.proc is not None and learner.proc.returncode == 0, said
    return said


async def learned_something(data: Path) -> None:
    """A learner's snapshot under ``data`` with slot hero and two decisions waiting for their reward."""
    store = open_store("", data)
    learning = LearningLoop(store, dedicated=True)
    await learning.start({"hero": SlotConfig(arms=("a", "b"))})
    await store.append([decision("hero", "a"), decision("hero", "b")])
    await learning.step()
    await learning.stop()
    await store.close()
    before = await saved_learner(data)
    assert "hero" in before.policies and before.pending_count == 2


async def test_the_embedded_learner_on_broken_rules_says_so_in_its_words_and_keeps_its_models(tmp_path: Path) -> None:
    data = tmp_path / "data"
    await learned_something(data)
    rules = tmp_path / "rules.yaml"
    said = run_learner_until(tmp_path, "slotwise learner: learning from", "--data", str(data), "--rules", str(rules))
    assert f"rules {rules} rejected, until it is fixed the learner keeps the slots it has learned and learns them on" \
        in said, said
    assert "pages pass through" not in said, said
    after = await saved_learner(data)  # its final snapshot, saved as it stopped
    assert "hero" in after.policies and after.pending_count == 2, after.snapshot()


async def test_a_proxy_that_learns_itself_keeps_its_models_over_a_start_on_broken_rules(tmp_path: Path) -> None:
    """One worker on SQLite learns itself: started on a broken file it dropped every slot's model too."""
    data = tmp_path / "data"
    await learned_something(data)
    rules = tmp_path / "rules.yaml"
    rules.write_text("slots: [unclosed\n")
    personalizer = SlotwisePersonalizer(Settings(upstream="http://127.0.0.1:9", rules=str(rules), data=str(data)))
    await personalizer.startup()
    try:
        assert personalizer.rules is not None and personalizer.rules.current is None
        assert personalizer.learning.leading
    finally:
        await personalizer.shutdown()
    after = await saved_learner(data)
    assert "hero" in after.policies and after.pending_count == 2, after.snapshot()


def test_the_stream_learner_on_broken_rules_says_what_it_learns_meanwhile(tmp_path: Path, redis_url: str) -> None:
    rules = tmp_path / "rules.yaml"
    said = run_learner_until(tmp_path, "slotwise learner: consuming", "--store", redis_url, "--rules", str(rules),
                             "--consumer", "t")
    assert f"rules {rules} rejected, until it is fixed the learner learns every slot its decisions name, as " \
           "without --rules" in said, said
    assert "pages pass through" not in said, said


async def test_the_learner_learns_the_shopify_examples_slots_without_the_identity_secret(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The identity secret is the workers' (they check the tag's signatures): a separate learner host given
    the Shopify example's --rules without it rejected them ("SLOTWISE_IDENTITY_SECRET is not set") and
    learned only the slots its decisions named, as without --rules."""
    monkeypatch.delenv("SLOTWISE_IDENTITY_SECRET", raising=False)  # Proc.spawn starts from os.environ
    rules = Path(__file__).resolve().parents[2] / "slotwise" / "rules" / "examples" / "shopify.yaml"
    data = tmp_path / "data"
    learner = Proc("learner", [PYTHON, "-m", "slotwise.cli", "learner", "--data", str(data), "--rules", str(rules)],
                   tmp_path).spawn()
    try:
        deadline = time.monotonic() + 60
        while "slotwise learner: learning from" not in learner.tail(10**6):
            assert learner.alive() and time.monotonic() < deadline, learner.tail()
            time.sleep(0.1)
    finally:
        learner.stop(timeout=30)
    said = learner.tail(10**6)
    assert "rejected" not in said and "IDENTITY_SECRET" not in said, said
    after = await saved_learner(data)
    assert {"home-collections", "size-preset", "product-recommendations", "exit-coupon"} <= set(after.policies)
