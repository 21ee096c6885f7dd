"""river models in the live path: any classifier or regressor named in the rules, exact propensities,
state that survives processes, and a rebuild from the log when river's version changes."""

from __future__ import annotations

import json
import random

import pytest

from slotwise.bandits import features, make_policy, policy_from_state, validate_policy_spec
from slotwise.bandits.learner import Learner, SlotConfig, SnapshotFormatError
from slotwise.bandits.policies.river_model import IncompatibleState

ARMS = ["a", "b", "c"]
MOBILE, DESKTOP = features({"device": "mobile"}), features({"device": "desktop"})


def teach(policy, n: int = 1500, seed: int = 1) -> None:
    """b converts on mobile, a on desktop; learned one reward at a time, as rewards arrive."""
    rng = random.Random(seed)
    for _ in range(n):
        ctx = rng.choice([MOBILE, DESKTOP])
        arm = rng.choice(ARMS)
        best = "b" if ctx is MOBILE else "a"
        reward = float(rng.random() < (0.4 if arm == best else 0.05))
        policy.update(arm, reward if policy.binary else reward * 50.0, ctx, 1 / 3)


@pytest.mark.parametrize("spec, n", [
    ({"name": "river-model"}, 1500),  # logistic regression, bootstrapped Thompson sampling
    # a Hoeffding tree splits only on plenty of evidence (river's default delta needs far more)
    ({"name": "river-model", "params": {"model": "tree.HoeffdingTreeClassifier",
                                        "model_params": {"grace_period": 50, "delta": 1e-3},
                                        "exploration": "epsilon-greedy", "epsilon": 0.1}}, 9000),
    ({"name": "river-model", "params": {"model": "linear_model.LogisticRegression",
                                        "model_params": {"optimizer": {"name": "optim.SGD", "params": {"lr": 0.1}}},
                                        "preprocessing": ["preprocessing.StandardScaler"], "exploration": "softmax",
                                        "temperature": 0.02}}, 1500),
])
def test_a_named_river_model_learns_each_segments_variant(spec, n):
    policy = make_policy(spec, "click", seed=2)
    teach(policy, n)
    for ctx, best in ((MOBILE, "b"), (DESKTOP, "a")):
        probs = policy.probabilities(ARMS, ctx)
        assert sum(probs.values()) == pytest.approx(1.0)
        assert max(probs, key=probs.get) == best, (spec, ctx, probs)
        assert min(probs.values()) >= policy.params["epsilon"] / len(ARMS) - 1e-12  # exploration floor


def test_a_regressor_for_amounts():
    policy = make_policy({"name": "river-model", "params": {"exploration": "epsilon-greedy"}}, "revenue", seed=1)
    teach(policy)
    probs = policy.probabilities(ARMS, MOBILE)
    assert max(probs, key=probs.get) == "b"


def test_bootstrap_propensities_are_the_share_of_replicas_that_pick_each_variant():
    policy = make_policy({"name": "river-model", "params": {"bootstrap": 6, "epsilon": 0.0}}, "click", seed=3)
    teach(policy, n=300)
    preds = policy.predictions(ARMS, MOBILE)
    wins = [ARMS[int(col.argmax())] for col in preds.T]
    probs = policy.probabilities(ARMS, MOBILE)
    for arm in ARMS:
        assert probs[arm] == pytest.approx(wins.count(arm) / 6)


def test_state_survives_json_and_another_process_decides_the_same():
    policy = make_policy("river-model", "click", seed=4)
    teach(policy, n=400)
    copy = policy_from_state(json.loads(json.dumps(policy.state())), seed=4)
    for ctx in (MOBILE, DESKTOP):
        assert copy.probabilities(ARMS, ctx) == policy.probabilities(ARMS, ctx)
    for p in (policy, copy):  # and both keep learning the same way (bootstrap weights from seed and version)
        p.update("c", 1.0, MOBILE, 1 / 3)
    assert copy.probabilities(ARMS, MOBILE) == policy.probabilities(ARMS, MOBILE)


def test_a_state_pickled_by_another_river_version_is_rebuilt_from_the_log():
    learner = Learner({"s": SlotConfig(arms=tuple(ARMS), goal="click", policy="river-model", window=60.0)})
    learner.policies["s"].update("a", 1.0, MOBILE)
    snapshot = learner.snapshot()
    snapshot["policies"]["s"]["river"] = "0.0.1"
    with pytest.raises(IncompatibleState):
        policy_from_state(snapshot["policies"]["s"])
    with pytest.raises(SnapshotFormatError):  # the learning loop then replays the log instead
        Learner.from_snapshot(snapshot)


@pytest.mark.parametrize("spec, needle", [
    ({"name": "river-model", "params": {"model": "linear_model.LinearRegression"}}, "is not a classifier"),
    ({"name": "river-model", "params": {"model": "os.system"}}, "not in river's estimator modules"),
    ({"name": "river-model", "params": {"model": "tree.NoSuchTree"}}, "has no class 'NoSuchTree'"),
    ({"name": "river-model", "params": {"model_params": {"l3": 1}}}, "has no parameter(s) 'l3'"),
    ({"name": "river-model", "params": {"preprocessing": ["linear_model.LogisticRegression"]}},
     "is not a river transformer"),
    ({"name": "river-model", "params": {"exploration": "greedy"}}, "must be one of"),
])
def test_the_rules_checker_explains_a_model_river_cannot_build(spec, needle):
    errors = validate_policy_spec(spec, "click")
    assert errors and needle in errors[0], errors


def test_rules_yaml_names_a_river_model(tmp_path):
    from slotwise.rules import load_rules

    path = tmp_path / "rules.yaml"
    path.write_text("""
slots:
  - id: hero
    pages: "/"
    selector: ".hero"
    action: replace
    goal: click
    policy:
      name: river-model
      model: tree.HoeffdingTreeClassifier
      model_params: {grace_period: 100}
      exploration: bootstrap
      bootstrap: 4
    variants:
      - id: a
        html: "<b>A</b>"
      - id: b
        html: "<b>B</b>"
""")
    (slot,) = load_rules(str(path)).slots
    assert slot.policy_spec["params"]["model"] == "tree.HoeffdingTreeClassifier"
    path.write_text(path.read_text().replace("tree.HoeffdingTreeClassifier", "tree.HoeffdingTreeRegressor"))
    with pytest.raises(Exception, match="is not a classifier"):
        load_rules(str(path))
