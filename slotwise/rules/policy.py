"""Checking a slot's bandit policy spec at load time.

``slotwise.bandits.validate_policy_spec(spec, goal)`` is the one authority: it
knows every policy, parameter and which goals they suit, and the rules loader
puts its messages at the line of the parameter they name. Specs are
``{"name": ..., "params": {...}}``.
"""

from __future__ import annotations

from typing import Any, Callable

from slotwise.bandits.spec import validate_policy_spec

PolicyValidator = Callable[[dict[str, Any], str], list[str]]


def default_validator() -> PolicyValidator:
    """The bandits package's validator (a loader may be given another, e.g. in tests)."""
    return validate_policy_spec
