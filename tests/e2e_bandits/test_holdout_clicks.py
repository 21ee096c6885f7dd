"""The holdout is measured for click goals: its element is marked, so its views and clicks count."""

from __future__ import annotations

from typing import Any

from slotwise.commands.report import render_text
from slotwise.proxy.operations.reporting import slot_reports


def test_the_report_measures_the_holdout_of_a_click_slot(edge: Any) -> None:
    e = edge()
    clicked = {"holdout": 0, "personalized": 0}
    for i in range(24):
        v = e.visitor(holdout=i % 2 == 0)
        group = "holdout" if i % 2 == 0 else "personalized"
        hero = v.view()["hero"]  # the holdout's page carries the decision id too
        v.expose(hero, "hero")
        if i % 4 < 2:  # every other visitor of each group clicks
            v.click(hero)
            clicked[group] += 1
        v.close()
    e.clock.advance(2000)  # every window closes
    e.learn()
    (hero,) = [r for r in slot_reports(e.decision_log()) if r.slot == "hero"]
    assert hero.holdout is not None
    assert hero.holdout.decisions == 12 and hero.holdout.exposures == 12
    assert hero.holdout.closed == 12 and hero.holdout.rewarded == clicked["holdout"] == 6
    assert hero.lift is not None and hero.lift.n_holdout == 12
    text = render_text([hero])
    assert "not enough measured decisions" not in text
    holdout_row = next(line for line in text.splitlines() if "holdout (baseline)" in line)
    assert "50.00%" in holdout_row
    # holdout decisions never teach the policy
    assert sum(st[0] for st in e.stats("hero").values()) == 12
