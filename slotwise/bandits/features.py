"""Visitor context -> one-hot features for contextual policies.

The proxy hands us a plain dict built from the visitor's profile; we turn it
into sparse ``{"name=value": 1.0}`` features plus a bias term. Categorical
values are bucketed so the feature space stays small and stable: a linear
model per arm needs the same names to come back visit after visit.

Accepted context keys (all optional; missing ones get an explicit "unknown"
level so "we don't know" is learnable too):

=================  ==========================================================
``is_new``         bool — first visit (else ``returning``)
``device``         str — ``mobile``, ``tablet``, ``desktop`` (others: ``other``)
``top_category``   str — the visitor's most viewed category (slugified, cut to 40)
``has_cart``       bool — cart not empty
``visit_count``    int — bucketed: ``1``, ``2-3``, ``4-9``, ``10+``
``source``         str — ``direct``, ``search``, ``social``, ``email``, ``paid``,
                   ``referral`` (others: ``other``)
=================  ==========================================================
"""

from __future__ import annotations

import re
from typing import Any, Mapping

BIAS = "bias"
DEVICES = ("mobile", "tablet", "desktop")
SOURCES = ("direct", "search", "social", "email", "paid", "referral")
_SLUG = re.compile(r"[^a-z0-9]+")


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


def features(context: Mapping[str, Any] | None) -> dict[str, float]:
    """One-hot features of a visitor context (see module docstring)."""
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
