"""The proxy draws each decision from its id: what it logs is reproducible and independent."""

from __future__ import annotations

from typing import Any

from slotwise.bandits.exploration import sample
from slotwise.bandits.randomness import decision_uniform


def test_each_logged_arm_is_the_draw_of_its_decision_id(edge: Any) -> None:
    e = edge()
    for _ in range(30):
        e.visitor(holdout=False).view()
    hero = e.decisions(slot="hero")
    assert len(hero) == 30
    arms = e.learner.slots["hero"].arms
    for rec in hero:  # nothing learned yet: Thompson's probabilities are exactly uniform
        assert rec["propensity"] == 1 / 3
        assert sample({a: 1 / 3 for a in arms}, decision_uniform(rec["decision_id"])) == rec["arm"]
    assert len({rec["arm"] for rec in hero}) == 3
