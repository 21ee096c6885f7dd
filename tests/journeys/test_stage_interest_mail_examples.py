"""Each journey's example file passes `slotwise rules check`, alone and in the demo's rules, with a
bandit-tested slot: at least two variants, a control, and a goal."""

from __future__ import annotations

from pathlib import Path

import pytest

from slotwise.cli import main
from slotwise.rules import load_rules
from slotwise.rules.interests import InterestRules
from slotwise.rules.schema import RecommendSpec
from slotwise.rules.stage import StageRules

EXAMPLES = Path(__file__).resolve().parents[2] / "slotwise" / "rules" / "examples"
JOURNEYS = {"demo-stage.yaml": ("stage-banner", "purchase"), "demo-interest.yaml": ("interest-hero", "click"),
            "demo-mail.yaml": ("decision-coupon", "signup")}


@pytest.mark.parametrize("name", sorted(JOURNEYS))
def test_each_journey_file_checks_alone(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", str(EXAMPLES / name)]) == 0
    slot_id, goal = JOURNEYS[name]
    out = capsys.readouterr().out
    assert f"{slot_id}: " in out and f"goal {goal}" in out
    slot = load_rules(EXAMPLES / name).slot(slot_id)
    treated = [v for v in slot.variants if not v.control]
    assert len(treated) >= 2 and any(v.control for v in slot.variants)


def test_the_demo_rules_carry_the_journeys_with_the_documented_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", str(EXAMPLES / "demo.yaml")]) == 0
    out = capsys.readouterr().out
    for slot_id, _ in JOURNEYS.values():
        assert f"  {slot_id}: " in out
    demo = load_rules(EXAMPLES / "demo.yaml")
    # demo.yaml writes the defaults out for the marketer: they must be the defaults
    assert demo.signals.stages == StageRules()
    assert demo.signals.interests == InterestRules()
    assert demo.signals.mail_picks == RecommendSpec("mixed", 4)
    assert demo.holdout > 0  # the report's lift over the holdout needs one
