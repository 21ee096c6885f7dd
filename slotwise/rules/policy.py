"""Checking a slot's bandit policy spec at load time.

``slotwise.bandits.validate_policy_spec(spec, goal)`` is the authority when
it is importable (it knows every policy, parameter and which goals they
suit). ``fallback_validator`` checks the documented policies without it, and
pins messages in tests/rules/broken. Specs are ``{"name": ..., "params": {...}}``.
"""

from __future__ import annotations

import importlib
import math
from typing import Any, Callable, Mapping

from slotwise.rules.checker import did_you_mean
from slotwise.rules.schema import POLICIES

PolicyValidator = Callable[[dict[str, Any], str], list[str]]

# name -> {param: (lower bound, upper bound, lower bound included)}; mirrors slotwise.bandits.spec
_HALF_LIFE = (1.0, math.inf, True)
_PARAMS: dict[str, dict[str, tuple[float, float, bool]]] = {
    "thompson": {"prior_alpha": (0, math.inf, False), "prior_beta": (0, math.inf, False), "half_life": _HALF_LIFE},
    "ucb": {"delta": (0, 100, False), "epsilon": (0, 1, True), "half_life": _HALF_LIFE},
    "epsilon-greedy": {"epsilon": (0, 1, True), "decay": (0, math.inf, True), "half_life": _HALF_LIFE},
    "exp3": {"gamma": (0, 1, False), "half_life": _HALF_LIFE},
    "linucb": {"alpha": (0, 100, True), "ridge": (0, math.inf, False), "epsilon": (0, 1, True), "half_life": _HALF_LIFE},
}


def fallback_validator(spec: dict[str, Any], goal: str) -> list[str]:
    """Problems with a policy spec, for the policies documented in docs/rules.md."""
    name = spec.get("name")
    params = spec.get("params") or {}
    if name not in _PARAMS:
        return [f"unknown policy {name!r}; use one of {', '.join(POLICIES)}{did_you_mean(str(name), POLICIES)}"]
    if not isinstance(params, Mapping):
        return [f"policy {name!r}: params must be a mapping, got {params!r}"]
    known = _PARAMS[name]
    problems = []
    for param, value in params.items():
        if param not in known:
            problems.append(f"policy {name!r} has no parameter {param!r}{did_you_mean(param, known)}; it takes {', '.join(known)}")
            continue
        low, high, inclusive = known[param]
        number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not number or not (value >= low if inclusive else value > low) or value > high:
            bound = f"{'>=' if inclusive else '>'} {low:g}" + (f" and <= {high:g}" if high != math.inf else "")
            problems.append(f"policy {name!r}: {param!r} must be a number {bound}, got {value!r}")
    return problems


def default_validator() -> PolicyValidator:
    """``slotwise.bandits.validate_policy_spec`` if it exists, else the fallback."""
    try:
        module = importlib.import_module("slotwise.bandits")
        validator = getattr(module, "validate_policy_spec", None)
        if validator is None:
            validator = getattr(importlib.import_module("slotwise.bandits.spec"), "validate_policy_spec", None)
    except ImportError:
        return fallback_validator
    return validator if callable(validator) else fallback_validator
