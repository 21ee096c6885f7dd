"""The plain records that flow between the proxy, the event stream and the learner.

They are dataclasses with ``to_dict``/``from_dict`` so they can travel as
JSON (a Redis stream entry, a JSONL log line) without pickles.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping


@dataclass(frozen=True, slots=True)  # slots: the learner holds one per pending decision
class DecisionRecord:
    """One decision as logged by the proxy (principle 2).

    ``arm`` is ``None`` and ``holdout`` true for a visitor in the global
    holdout: nothing was personalized, but the reward is still joined so the
    report can measure lift. ``context`` holds the *features* the policy saw.
    """

    decision_id: str
    ts: float  # seconds since the epoch (any monotone clock works)
    visitor_id: str
    slot: str
    arm: str | None
    propensity: float = 1.0
    policy: str = ""
    model_version: str = ""
    context: dict[str, float] = field(default_factory=dict)
    holdout: bool = False
    cost: float = 0.0  # what showing this arm costs per rewarded order (a coupon), for the margin goal
    cost_rate: float = 0.0  # the same as a fraction of the order value (a 10% coupon: 0.1)

    def to_dict(self) -> dict[str, Any]:
        """The fields, with the context copied (``asdict``'s deep copy cost ~20 µs per decision)."""
        out = {name: getattr(self, name) for name in _DECISION_FIELDS}
        out["context"] = dict(self.context)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "DecisionRecord":
        return cls(
            decision_id=str(d["decision_id"]),
            ts=float(d["ts"]),
            visitor_id=str(d["visitor_id"]),
            slot=str(d["slot"]),
            arm=None if d.get("arm") is None else str(d["arm"]),
            propensity=float(d.get("propensity", 1.0)),
            policy=str(d.get("policy", "")),
            model_version=str(d.get("model_version", "")),
            context={str(k): float(v) for k, v in (d.get("context") or {}).items()},
            holdout=bool(d.get("holdout", False)),
            cost=float(d.get("cost") or 0.0),
            cost_rate=float(d.get("cost_rate") or 0.0),
        )


# Why a pending decision left the learner.
REWARDED = "rewarded"  # its rewarding event arrived inside the window
EXPIRED = "expired"  # the window closed without it: reward 0
UNEXPOSED = "unexposed"  # the goal needs exposure and it never happened: not learned
ARM_REMOVED = "arm_removed"  # the slot's arms changed: dropped, not learned
ERASED = "erased"  # the person was erased: dropped, not learned
SLOT_REMOVED = "slot_removed"
UNKNOWN_SLOT = "unknown_slot"  # a decision for a slot/arm the learner is not configured with
UNPRICED = "unpriced"  # a revenue/margin decision followed by an order of no known amount: not learned
NOT_HELD = "not_held"  # ``max_pending`` decisions were already waiting: not held, not learned (never a wrong reward)


_DECISION_FIELDS = tuple(f.name for f in fields(DecisionRecord))


@dataclass(frozen=True)
class Outcome:
    """What became of one decision. ``taught`` says whether the policy learned from it.

    Holdout decisions get a reward (for the report) but never teach a policy.
    The caller writes ``reward``/``ts`` back to the decision log as
    ``reward``/``rewarded_at``.
    """

    decision_id: str
    slot: str
    arm: str | None
    visitor_id: str
    reason: str
    reward: float | None
    ts: float
    taught: bool
    holdout: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Restart:
    """Change detection restarted a slot's learning at ``ts``.

    ``arm`` is the variant whose stream shifted ("" for all variants together);
    ``watched`` says what shifted: ``reward`` (its mean went from ``before`` to
    ``after``) or ``error`` (reward minus the model's prediction, on average);
    ``told`` when no detector did (``Learner.restart``: asked for on the admin page, ``by`` says
    who, or the bandit bench's).
    """

    ts: float
    arm: str
    watched: str = "reward"
    before: float = float("nan")
    after: float = float("nan")
    by: str = ""
