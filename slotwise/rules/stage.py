"""Funnel stage per category — awareness, consideration, decision, purchase, evaluation — from behaviour.

The stage is derived, never stored: it is read from the profile's own
summaries (category views, product views, the cart, purchase lines), which
are bounded in size, so one category's stage costs one pass over at most a
few hundred entries, and only when a rule reads ``visitor.stage``.

Every threshold is a number a marketer can read and override in the rules
file (``stages:``, see docs/rules.md); the defaults are ``StageRules()``.
A category is at the highest stage whose thresholds it meets (any one of a
stage's thresholds is enough):

- **purchase**: bought in the category at most ``purchase_days`` ago;
- **evaluation**: bought at most ``evaluation_days`` ago (and not in purchase);
  a cart line of the category again means a new cycle: **decision**;
- **decision**: ``add_to_cart`` items of it in the cart, or ``compares`` of its
  products viewed, or one of them viewed ``repeat_views`` times;
- **consideration**: ``views`` page views of the category, or ``products``
  of its products viewed;
- **awareness**: any view at all.

Browsing stages count only while the category was active within
``active_days``: after that a visitor who went quiet is back at awareness.
A threshold of 0 is switched off (``active_days: 0``: browsing never fades).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from slotwise.profile import Profile

STAGES = ("awareness", "consideration", "decision", "purchase", "evaluation")
"""The funnel, in order; a category with no activity has no stage (``none``)."""

NO_STAGE = "none"
DAY_S = 86_400.0


THRESHOLDS: dict[str, tuple[str, ...]] = {
    "consideration": ("views", "products"),
    "decision": ("compares", "repeat_views", "add_to_cart"),
    "purchase": ("days",),
    "evaluation": ("days",),
}
"""``stages:`` keys and the thresholds under each (``decision: {compares: 4}``); plus ``active_days``."""


@dataclass(frozen=True)
class StageRules:
    """The thresholds of each stage (``stages:`` in the rules file overrides any of them)."""

    consideration_views: int = 3  # page views of the category (its list and its product pages)
    consideration_products: int = 2  # distinct products of the category viewed
    decision_compares: int = 3  # distinct products of the category viewed: comparing them
    decision_repeat_views: int = 3  # views of one product of the category
    decision_add_to_cart: int = 1  # items of the category in the cart
    purchase_days: float = 3.0  # a purchase this recent: the purchase stage
    evaluation_days: float = 60.0  # after that, until this many days: evaluation (review, related products)
    active_days: float = 30.0  # browsing older than this no longer counts beyond awareness

    def as_dict(self) -> dict[str, Any]:
        """The thresholds as the rules file names them (``{stage: {threshold: value}, "active_days": n}``)."""
        out: dict[str, Any] = {stage: {name: getattr(self, f"{stage}_{name}") for name in names}
                               for stage, names in THRESHOLDS.items()}
        out["active_days"] = self.active_days
        return out




@dataclass
class CategoryActivity:
    """What the profile says about one category: the inputs of its stage."""

    views: int = 0
    last_view: float = 0.0
    products: int = 0  # distinct products viewed
    most_views_of_one: int = 0
    cart_items: int = 0
    last_purchase: float | None = None

    def last_active(self) -> float:
        return max(self.last_view, self.last_purchase or 0.0)


def activity(profile: Profile) -> dict[str, CategoryActivity]:
    """Per category, the activity summaries the stage is derived from (one pass over each list)."""
    out: dict[str, CategoryActivity] = {}
    for slug, entry in profile.categories.items():
        a = out.setdefault(slug, CategoryActivity())
        a.views = int(entry.get("count") or 0)
        a.last_view = float(entry.get("last") or 0.0)
    for entry in profile.products.values():
        slug = entry.get("category")
        if not slug:
            continue
        a = out.setdefault(slug, CategoryActivity())
        a.products += 1
        a.most_views_of_one = max(a.most_views_of_one, int(entry.get("count") or 0))
        a.last_view = max(a.last_view, float(entry.get("last") or 0.0))
    for line in profile.cart:
        slug = line.get("category")
        if slug:
            out.setdefault(slug, CategoryActivity()).cart_items += int(line.get("qty") or 1)
    for line in profile.purchases:
        slug = line.get("category")
        if slug:
            a = out.setdefault(slug, CategoryActivity())
            ts = float(line.get("ts") or 0.0)
            a.last_purchase = ts if a.last_purchase is None else max(a.last_purchase, ts)
    return out


def _meets(value: float, threshold: float) -> bool:
    """A threshold of 0 is switched off."""
    return threshold > 0 and value >= threshold


def stage_of(a: CategoryActivity, now: float, rules: StageRules = StageRules()) -> str:
    """One category's stage at ``now``."""
    in_cart = _meets(a.cart_items, rules.decision_add_to_cart)
    if a.last_purchase is not None:
        age = max(0.0, now - a.last_purchase)
        if rules.purchase_days > 0 and age <= rules.purchase_days * DAY_S:
            return "purchase"
        if rules.evaluation_days > 0 and age <= rules.evaluation_days * DAY_S and not in_cart:
            return "evaluation"
    if in_cart:
        return "decision"  # a cart is intent however long ago it was filled
    if a.views <= 0 and a.products <= 0:
        return "awareness" if a.last_purchase is not None else NO_STAGE  # bought long ago, not browsed since
    if rules.active_days > 0 and now - a.last_active() > rules.active_days * DAY_S:
        return "awareness"
    if _meets(a.products, rules.decision_compares) or _meets(a.most_views_of_one, rules.decision_repeat_views):
        return "decision"
    if _meets(a.views, rules.consideration_views) or _meets(a.products, rules.consideration_products):
        return "consideration"
    return "awareness"


def stages(profile: Profile, rules: StageRules = StageRules(), now: float | None = None) -> dict[str, str]:
    """Every category the visitor touched → its stage; ``now`` defaults to the profile's last activity
    (the page view being served), which keeps this a pure function of the profile."""
    when = profile.last_seen if now is None else now
    return {slug: stage_of(a, when, rules) for slug, a in activity(profile).items()}


def stage_counts(profiles: Mapping[str, Profile] | Any, rules: StageRules = StageRules(),
                 now: float | None = None) -> dict[str, dict[str, int]]:
    """Per category, how many of these profiles are at each stage (the admin page's table)."""
    counts: dict[str, dict[str, int]] = {}
    for profile in (profiles.values() if isinstance(profiles, Mapping) else profiles):
        for slug, stage in stages(profile, rules, now).items():
            if stage != NO_STAGE:
                row = counts.setdefault(slug, dict.fromkeys(STAGES, 0))
                row[stage] += 1
    return counts
