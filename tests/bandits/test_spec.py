import pytest

from slotwise.bandits import POLICY_NAMES, parse_policy_spec, validate_policy_spec


@pytest.mark.parametrize("name", POLICY_NAMES)
@pytest.mark.parametrize("goal", ["click", "revenue"])
def test_every_policy_valid_with_defaults(name, goal):
    assert validate_policy_spec({"name": name}, goal) == []
    assert validate_policy_spec(name, goal) == []


def test_default_is_thompson():
    assert parse_policy_spec(None, "purchase").name == "thompson"
    assert parse_policy_spec({"params": {"prior_alpha": 2}}, "purchase").params["prior_alpha"] == 2


@pytest.mark.parametrize("spec, goal, needle", [
    ({"name": "thomson"}, "click", "did you mean 'thompson'"),
    ({"name": "ucb", "params": {"delta": -1}}, "click", "param 'delta' must be a number > 0 and <= 100, got -1"),
    ({"name": "epsilon-greedy", "params": {"epsilon": 1.5}}, "click", "'epsilon' must be a number >= 0 and <= 1"),
    ({"name": "epsilon-greedy", "params": {"epsilon": True}}, "click", "'epsilon' must be"),
    ({"name": "exp3", "params": {"gama": 0.1}}, "click", "unknown param 'gama' (did you mean 'gamma'?); allowed: gamma, half_life, change_detection"),
    ({"name": "thompson", "params": {"prior_mean": 3}}, "click", "only applies to real-valued goals"),
    ({"name": "thompson", "params": {"prior_alpha": 3}}, "revenue", "only applies to binary-valued goals"),
    ({"name": "ucb", "params": {"bound": "kl"}}, "click", "one of 'ucb-v', 'ucb1'"),
    ({"name": "linucb", "params": {"half_life": 0}}, "click", "'half_life' must be a number >= 1 or null"),
    ({"name": "linucb", "params": {"max_features": 3.5}}, "click", "'max_features' must be an integer"),
    ({"name": "ucb", "params": [1]}, "click", "params must be a mapping"),
    ({"name": "ucb", "param": {}}, "click", "unknown key(s) 'param'"),
    ({"name": "ucb"}, "ctr", "unknown goal 'ctr'"),
])
def test_errors_name_param_and_allowed(spec, goal, needle):
    errors = validate_policy_spec(spec, goal)
    assert any(needle in e for e in errors), errors


def test_parse_raises_with_all_errors():
    with pytest.raises(ValueError, match="delta.*bound"):
        parse_policy_spec({"name": "ucb", "params": {"delta": 0, "bound": "x"}}, "click")
