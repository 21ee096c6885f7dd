"""``stages:``, ``interests:`` and ``mail:`` of the main rules file → ``Signals``.

Each key is optional and overrides only what it names; every value is
checked (a number in range) and reported at its line, like the rest of the
file.

```yaml
stages:
  consideration: {views: 3, products: 2}
  decision: {compares: 3, repeat_views: 3, add_to_cart: 1}
  purchase: {days: 3}
  evaluation: {days: 60}
  active_days: 30
interests:
  view: 1
  cart: 3
  purchase: 5
  half_life_days: 30
  min_share: 0.05
mail:
  picks: {strategy: mixed, limit: 4}
```
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from slotwise.rules import schema as s
from slotwise.rules.checker import Checker, Entry
from slotwise.rules.interests import INTEREST_KEYS, InterestRules
from slotwise.rules.signals import DEFAULT_PICKS, Signals
from slotwise.rules.stage import THRESHOLDS, StageRules
from slotwise.rules.yaml_marks import Node, kind_of

SIGNAL_KEYS = ("stages", "interests", "mail")
"""Top-level keys this module reads."""

MAIL_KEYS = ("picks",)
_INT_THRESHOLDS = {"views", "products", "compares", "repeat_views", "add_to_cart"}


def _number(check: Checker, node: Node, what: str, *, whole: bool, maximum: float) -> float | int | None:
    value = check.scalar(node)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= maximum
    if ok and whole and not isinstance(value, int):
        ok = False
    if not ok:
        kind = "a whole number" if whole else "a number"
        check.error(node, f"{what} must be {kind} from 0 to {maximum:g}, got {kind_of(node)}")
        return None
    return value  # type: ignore[return-value]


def parse_stages(check: Checker, node: Node) -> StageRules:
    entries = check.mapping(node, (*THRESHOLDS, "active_days"), "'stages'")
    if entries is None:
        return StageRules()
    changes: dict[str, Any] = {}
    for stage, entry in entries.items():
        if stage == "active_days":
            value = _number(check, entry.node, "'stages.active_days'", whole=False, maximum=3650)
            if value is not None:
                changes["active_days"] = float(value)
            continue
        fields = check.mapping(entry.node, THRESHOLDS[stage], f"'stages.{stage}'")
        for name, field_entry in (fields or {}).items():
            whole = name in _INT_THRESHOLDS
            value = _number(check, field_entry.node, f"'stages.{stage}.{name}'", whole=whole,
                            maximum=10_000 if whole else 3650)
            if value is not None:
                changes[f"{stage}_{name}"] = int(value) if whole else float(value)
    rules = replace(StageRules(), **changes)
    if rules.purchase_days > rules.evaluation_days and "evaluation" in entries:
        check.error(entries["evaluation"].node,
                    f"'stages.evaluation.days' ({rules.evaluation_days:g}) must not be shorter than "
                    f"'stages.purchase.days' ({rules.purchase_days:g}): evaluation follows the purchase")
    return rules


def parse_interests(check: Checker, node: Node) -> InterestRules:
    entries = check.mapping(node, INTEREST_KEYS, "'interests'")
    if entries is None:
        return InterestRules()
    changes: dict[str, float] = {}
    for name, entry in entries.items():
        maximum = 1.0 if name == "min_share" else (3650.0 if name == "half_life_days" else 1000.0)
        value = _number(check, entry.node, f"'interests.{name}'", whole=False, maximum=maximum)
        if value is not None:
            changes[name] = float(value)
    return replace(InterestRules(), **changes)


def parse_mail(check: Checker, node: Node) -> s.RecommendSpec:
    entries = check.mapping(node, MAIL_KEYS, "'mail'")
    if not entries or "picks" not in entries:
        return DEFAULT_PICKS
    fields = check.mapping(entries["picks"].node, s.RECOMMEND_KEYS, "'mail.picks'")
    if fields is None:
        return DEFAULT_PICKS
    strategy = (check.choice(fields["strategy"].node, s.STRATEGIES, "'mail.picks.strategy'")
                if "strategy" in fields else DEFAULT_PICKS.strategy)
    limit = (check.integer(fields["limit"].node, "'mail.picks.limit'", minimum=0, maximum=24)
             if "limit" in fields else DEFAULT_PICKS.limit)
    if strategy is None or limit is None:
        return DEFAULT_PICKS
    return s.RecommendSpec(strategy, limit)


def parse_signals(check: Checker, entries: Mapping[str, Entry]) -> Signals | None:
    """The signals the file sets, or None when it sets none of them (the defaults apply)."""
    if not any(key in entries for key in SIGNAL_KEYS):
        return None
    return Signals(
        stages=parse_stages(check, entries["stages"].node) if "stages" in entries else StageRules(),
        interests=parse_interests(check, entries["interests"].node) if "interests" in entries else InterestRules(),
        mail_picks=parse_mail(check, entries["mail"].node) if "mail" in entries else DEFAULT_PICKS,
    )
