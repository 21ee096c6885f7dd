"""The proxy draws each decision from its id: what it logs is reproducible and independent."""

from __future__ import annotations

import uuid
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


def test_the_decision_ids_the_proxy_is_given_are_the_ones_it_marks_logs_and_draws_from(edge: Any) -> None:
    """The bench pairs two codes by handing the proxy a seeded id source: every new decision must take
    its id from it, in order, and its arm from that id's draw."""
    made: list[str] = []

    def ids() -> str:
        made.append(f"{0xbe0c << 112 | len(made):032x}")
        return made[-1]

    e = edge(decision_ids=ids)
    marked = [set(e.visitor(holdout=False).view().values()) for _ in range(6)]
    logged = [rec["decision_id"] for rec in e.decisions()]
    assert len(made) == len(logged) >= 6 * 3  # new visitors: every slot on every page decides afresh
    assert logged == made
    assert set().union(*marked) == set(made)
    arms = e.learner.slots["hero"].arms
    for rec in e.decisions(slot="hero"):  # nothing learned: uniform probabilities, the arm is the id's draw
        assert sample({a: 1 / 3 for a in arms}, decision_uniform(rec["decision_id"])) == rec["arm"]


def test_by_default_decision_ids_are_random_uuids_different_in_every_proxy(edge: Any) -> None:
    first, second = edge(), edge()
    ids = []
    for e in (first, second):
        for _ in range(4):
            e.visitor(holdout=False).view()
        ids.append([rec["decision_id"] for rec in e.decisions()])
    assert all(len(batch) >= 4 for batch in ids)
    every = ids[0] + ids[1]
    assert len(set(every)) == len(every)
    assert all(uuid.UUID(hex=d).version == 4 and d == uuid.UUID(hex=d).hex for d in every)
