"""The visitor context a contextual policy sees, and its one-hot features: one definition.

Everything that decides or evaluates with a context goes through here: the
proxy and the tag's ``/decide`` (``rules.context.Context.visitor_context``
fills a ``VisitorContext`` from the profile and the request), the bandit bench
(it describes its simulated visitors as ``VisitorContext``), ``slotwise
replay`` (it groups logged features with ``feature_group``). A context the
proxy builds and one the bench builds for the same visitor are the same
features — ``tests/e2e_bandits/test_context.py`` sends a page view through the
proxy and compares.

Categorical values are bucketed so the feature space stays small and stable:
a linear model per arm needs the same names to come back visit after visit.
Missing values get an explicit ``unknown`` level, so "we don't know" is
learnable too.

==============  ============  =====================================================
field           feature       levels
==============  ============  =====================================================
``is_new``      ``visitor``   ``new`` (first visit), ``returning``
``device``      ``device``    ``mobile``, ``tablet``, ``desktop`` (others: ``other``)
``top_category`` ``category`` the visitor's most viewed category (slugified, cut to 40;
                              ``none`` before any)
``has_cart``    ``cart``      ``yes``, ``no``
``visit_count`` ``visits``    ``1``, ``2-3``, ``4-9``, ``10+``
``source``      ``source``    ``direct``, ``search``, ``social``, ``email``, ``paid``,
                              ``referral`` (others: ``other``)
==============  ============  =====================================================

plus ``bias`` (always 1).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

BIAS = "bias"
DEVICES = ("mobile", "tablet", "desktop")
SOURCES = ("direct", "search", "social", "email", "paid", "referral")
GROUPS = ("visitor", "device", "category", "cart", "visits", "source")
ALL = "all"  # ``replay.best_per_segment(..., ALL)``: one variant for everyone
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class VisitorContext:
    """What a contextual policy knows about the visitor of one decision."""

    is_new: bool | None = None
    visit_count: int | None = None
    device: str | None = None
    top_category: str | None = None
    has_cart: bool | None = None
    source: str | None = None

    def features(self) -> dict[str, float]:
        """The one-hot features (see the module docstring)."""
        return features(asdict(self))


CONTEXT_KEYS = tuple(f.name for f in fields(VisitorContext))


def _visit_bucket(count: Any) -> str:
    try:
        n = int(count)
    except (TypeError, ValueError):
        return "unknown"
    if n <= 1:
        return "1"
    if n <= 3:
        return "2-3"
    if n <= 9:
        return "4-9"
    return "10+"


def _level(value: Any, allowed: tuple[str, ...]) -> str:
    if value is None or value == "":
        return "unknown"
    text = str(value).strip().lower()
    return text if text in allowed else "other"


def _category(value: Any) -> str:
    if value is None or value == "":
        return "none"
    slug = _SLUG.sub("-", str(value).strip().lower()).strip("-")[:40]
    return slug or "none"


def _flag(value: Any) -> str:
    if value is None:
        return "unknown"
    return "yes" if bool(value) else "no"


def features(context: Mapping[str, Any] | VisitorContext | None) -> dict[str, float]:
    """One-hot features of a visitor context (a ``VisitorContext`` or a dict with its field names)."""
    if isinstance(context, VisitorContext):
        context = asdict(context)
    ctx = context or {}
    is_new = ctx.get("is_new")
    return {
        BIAS: 1.0,
        "visitor=" + ("unknown" if is_new is None else ("new" if is_new else "returning")): 1.0,
        "device=" + _level(ctx.get("device"), DEVICES): 1.0,
        "category=" + _category(ctx.get("top_category")): 1.0,
        "cart=" + _flag(ctx.get("has_cart")): 1.0,
        "visits=" + _visit_bucket(ctx.get("visit_count")): 1.0,
        "source=" + _level(ctx.get("source"), SOURCES): 1.0,
    }


def feature_group(name: str) -> tuple[str, str] | None:
    """``("device", "mobile")`` for ``device=mobile``; None for ``bias`` and names not ours."""
    group, sep, level = name.partition("=")
    return (group, level) if sep and group in GROUPS else None


def segment_of(feats: Mapping[str, float], group: str) -> str | None:
    """The level of ``group`` a logged feature vector holds (None: the group is not in it)."""
    for name, value in feats.items():
        found = feature_group(name)
        if found is not None and found[0] == group and value:
            return found[1]
    return None
