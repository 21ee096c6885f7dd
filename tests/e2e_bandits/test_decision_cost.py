"""Thompson's propensity refresh: not paid on every page view, and exact when it is.

What a decision costs in time is measured by ``bench/decide.py`` (timing is not a test).
"""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from slotwise.bandits.policies import thompson as policies_module
from slotwise.bandits.learner import Learner, SlotConfig


@pytest.fixture
def mc_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the Monte Carlo propensity computations (the expensive step of Thompson sampling)."""
    calls: list[int] = []
    real = policies_module.monte_carlo_best

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(policies_module, "monte_carlo_best", counted)
    return calls


def test_a_rewarded_slot_does_not_pay_the_monte_carlo_step_on_every_page_view(edge: Any, mc_calls: list[int]) -> None:
    e = edge()
    rng = random.Random(1)

    async def warm() -> None:  # a slot with history: 3000 learned decisions
        for name in ("hero", "recs"):
            policy = e.learner.policies[name]
            for _ in range(3000):
                arm = rng.choice(("a", "b", "c") if name == "hero" else ("top", "new"))
                policy.update(arm, float(rng.random() < 0.1) if name == "hero" else rng.random() * 50)

    e.run(warm())
    e.visitor().view()  # compute once
    mc_calls.clear()
    durations = []
    for _ in range(30):  # every page view is followed by a click that teaches the hero slot
        v = e.visitor()
        response = v.client.get("/")
        durations.append(float(re.search(r"sw;dur=([\d.]+)", response.headers["server-timing"]).group(1)))
        hero = [d for d in e.decisions(v.id, "hero")][0]["decision_id"]
        v.click(hero)
        e.learn()
    assert e.learner.policies["hero"].version >= 3030
    # before: one recompute per page view per Thompson slot (30+); now about one per 1% of new evidence
    assert len(mc_calls) <= 3, len(mc_calls)
    print(f"page personalization (4 slots): median {sorted(durations)[len(durations) // 2]:.2f} ms")


def test_refreshed_propensities_are_the_probabilities_used_and_survive_a_snapshot() -> None:
    slots = {"s": SlotConfig(arms=("a", "b", "c"), goal="click", window=10.0)}
    straight = Learner(slots, seed=5)
    rng = random.Random(2)
    rates = {"a": 0.05, "b": 0.1, "c": 0.2}
    records = []
    lags = []
    for i in range(1500):
        decision = straight.decide("s", {"device": "mobile"}, rng=random.Random(i))
        policy = straight.policies["s"]
        probs = policy.probabilities(["a", "b", "c"])
        assert decision.propensity == probs[decision.arm] > 0  # logged = used
        assert abs(sum(probs.values()) - 1) < 1e-9
        assert decision.model_version == policy.model_version  # names the basis that decided
        rec = decision.record(f"d{i}", float(i), f"v{i}", "s").to_dict()
        records.append({"type": "decision", **rec})
        if rng.random() < rates[decision.arm]:
            records.append({"type": "event", "visitor_id": f"v{i}", "event_type": "click", "value": None,
                            "ts": float(i) + 0.5, "decision_ids": [f"d{i}"]})
        else:
            records.append({"type": "exposure", "decision_id": f"d{i}", "ts": float(i) + 0.5})
        for r in records[-2:]:
            straight.apply(r)
        lags.append(policy.version - policy.basis_version)
        n = sum(st[0] for st in policy.arms.values())
        assert lags[-1] < max(1, int(0.01 * n)) + 1  # the basis lags by at most 1% of the evidence
    assert policy.version > 1000 and max(lags) > 1  # it does lag (by design), and stays within bounds
    # a restarted process (snapshot + the rest) decides exactly like the one that never stopped
    restored = Learner.from_snapshot(straight.snapshot())
    for i in range(5):
        a = straight.decide("s", None, rng=random.Random(100 + i))
        b = restored.decide("s", None, rng=random.Random(100 + i))
        assert (a.arm, a.propensity, a.model_version) == (b.arm, b.propensity, b.model_version)
    # the exact mode is one knob away
    exact = Learner({"s": SlotConfig(arms=("a", "b"), goal="click",
                                     policy={"name": "thompson", "params": {"refresh": 0}})})
    for _ in range(500):
        exact.policies["s"].update("a", 1.0)
        assert exact.policies["s"].basis_version == exact.policies["s"].version

