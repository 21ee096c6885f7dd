"""What the personalizer decided for a page: each slot's choice and the page's work.

Its own module so the steps that read these (the tag's ``/decide``, the admin
page, the preview bar, the learner's configuration) need not import the
personalizer itself: no import circle through ``personalize``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slotwise.bandits.learner import SlotConfig
from slotwise.html import Edit
from slotwise.profile import Profile
from slotwise.rules import RuleSet
from slotwise.rules.actions import popup_place
from slotwise.rules.ruleset import Slot, Variant

HOLDOUT_ARM = "__holdout__"


@dataclass
class SlotChoice:
    """What one slot shows this visitor, and the decision behind it."""

    slot: Slot
    variant: Variant | None  # None: the visitor is in the holdout
    decision_id: str
    record: dict[str, Any] | None = None  # a new decision to log (None when sticky or preview)
    edit: Edit | None = None  # what it does on the page (``mark_only`` when it shows nothing); None until decided
    propensity: float | None = None  # a policy's draw: the chance it had of showing this variant
    reason: str = "decision"  # why this variant (a code of ``preview_bar.REASONS``): forced, sticky, holdout...


@dataclass
class PageWork:
    """Everything the page's steps computed (kept on ``flow.state['page']``)."""

    ruleset: RuleSet
    profile: Profile | None = None
    choices: list[SlotChoice] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    waiting: list[SlotChoice] = field(default_factory=list)  # absent from the HTML, applied by the browser (``wait``)
    skipped: dict[str, str] = field(default_factory=dict)  # slot id -> why it shows nothing here (when, killed)
    page_reason: str | None = None  # why nothing on the page is personalized (gpc, consent, off, all-off)


def slot_configs(ruleset: RuleSet) -> dict[str, SlotConfig]:
    """What the learner needs of each slot (arms, goal, policy, attribution window)."""
    window_s, window_mode = ruleset.attribution_window
    configs: dict[str, SlotConfig] = {}
    for slot in ruleset.slots:
        configs[slot.id] = SlotConfig(
            arms=tuple(v.id for v in slot.variants),
            goal=slot.goal,
            policy=slot.policy_spec,
            window=float(window_s),
            window_mode=window_mode,
        )
    return configs



def mark_only(slot: Slot, decision_id: str) -> Edit:
    """The edit of a decision with nothing to show (the holdout, a control, a variant with nothing to change
    for this visitor). It still goes where the slot's variants go, so that it counts on exactly the pages a
    variant would: where the slot's element is not, the rewriter (or the tag) finds nothing and the decision
    is dropped as absent, whatever the arm, or the baseline would be measured on pages the variants never
    reach. It marks the element with its decision id, so the tag can report that it was seen and clicked:
    otherwise a click goal could never reward the store's own version. A popup's (its no-popup arm) marks
    nothing, since a popup's decision is its ``<template>``'s and a marked ``<body>`` would take every click
    on the page: an empty append where its popup would be appended (its ``selector``, ``body`` by default),
    found on the pages the popup is, no other."""
    if slot.action == "popup":
        return popup_place(slot.id, slot.selector, "", decision_id=decision_id)
    return Edit(slot=slot.id, selector=slot.selector, action="set-attribute", attributes={},
                decision_id=decision_id, limit=slot.limit)


def variant_costs(variant: Variant) -> tuple[float, float]:
    """A coupon's cost per rewarded order, as (amount, fraction of the order), for the margin goal."""
    cost = getattr(variant, "coupon_cost", None)
    if cost is None:
        return 0.0, 0.0
    return (float(cost.value), 0.0) if cost.kind == "amount" else (0.0, float(cost.value))
