"""Bandits: per-slot policies, propensities, reward attribution, reports, offline evaluation.

Pure: no files, no network, no clock. The proxy calls ``Learner.decide`` (or
``decide``) and logs the ``Decision``; it feeds decisions, exposures and
events to a ``Learner`` — in process, or in a separate consumer of the event
stream — which returns ``Outcome``s to write back to the decision log.
"""

import importlib
from typing import TYPE_CHECKING, Any

from .assignment import bucket, even_split, in_holdout
from .decision_log import DecisionLogError, LoggedDecision, format_decision_log, parse_decision_log
from .features import VisitorContext, features
from .goals import GOALS, is_binary, rewarding_event
from .records import DecisionRecord, Outcome
from .spec import POLICY_NAMES, PolicySpec, parse_policy_spec, validate_policy_spec

if TYPE_CHECKING:
    from .decide import Decision
    from .learner import Learner, SlotConfig
    from .policies import POLICIES, Policy, make_policy, policy_from_state

# The policies (numpy, scipy) are imported on first use: ``slotwise --help``, the rules checker and
# the CLI's other light paths must not pay for them. ``from slotwise.bandits import Learner`` works as before.
# The function ``decide`` is imported from ``slotwise.bandits.decide``: its module has the same name, and
# once imported the module would shadow a lazily loaded function of the package.
_LAZY = {
    "Decision": ".decide", "Learner": ".learner", "SlotConfig": ".learner",
    "POLICIES": ".policies", "Policy": ".policies", "make_policy": ".policies", "policy_from_state": ".policies",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "GOALS", "POLICIES", "POLICY_NAMES", "Decision", "DecisionLogError", "DecisionRecord", "Learner",
    "LoggedDecision", "Outcome", "Policy", "PolicySpec", "SlotConfig", "bucket", "even_split",
    "VisitorContext", "features", "format_decision_log", "in_holdout", "is_binary", "make_policy", "parse_decision_log",
    "parse_policy_spec", "policy_from_state", "rewarding_event", "validate_policy_spec",
]
