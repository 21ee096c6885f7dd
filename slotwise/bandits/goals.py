"""What counts as success for a slot, and how a rewarding event becomes a number.

A slot's ``goal`` names one rewarding event. Binary goals reward 1 when the
event happens inside the attribution window; real-valued goals reward the
order value (``revenue``) or the order value minus the coupon's cost
(``margin``). Either way a decision that never sees its event teaches 0.
"""

from __future__ import annotations

BINARY_GOALS: dict[str, str] = {
    "click": "click",
    "add_to_cart": "add_to_cart",
    "purchase": "purchase",
    "signup": "signup",
}
REAL_GOALS: dict[str, str] = {
    "revenue": "purchase",
    "margin": "purchase",
}
GOALS: tuple[str, ...] = (*BINARY_GOALS, *REAL_GOALS)

# Goals whose reward only makes sense if the visitor saw the element: a click
# on something never rendered in view is noise, and learning "0" from a
# never-seen element would punish the arm for the page layout.
EXPOSURE_REQUIRED_BY_DEFAULT: frozenset[str] = frozenset({"click"})


def check_goal(goal: str) -> None:
    """Raise ``ValueError`` naming the allowed goals."""
    if goal not in BINARY_GOALS and goal not in REAL_GOALS:
        raise ValueError(f"unknown goal {goal!r}; allowed: {', '.join(GOALS)}")


def is_binary(goal: str) -> bool:
    check_goal(goal)
    return goal in BINARY_GOALS


def rewarding_event(goal: str) -> str:
    """The event type (as the tag sends it) that rewards this goal."""
    check_goal(goal)
    return BINARY_GOALS.get(goal) or REAL_GOALS[goal]


def reward_of(goal: str, value: float | None, cost: float = 0.0) -> float:
    """The reward a rewarding event is worth for this goal."""
    if is_binary(goal):
        return 1.0
    amount = float(value or 0.0)
    return amount - float(cost or 0.0) if goal == "margin" else amount
