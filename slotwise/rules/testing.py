"""Test factories for rules (shipped with the code, like mitmproxy's ``tflow``).

Used by tests/rules and handy for other packages' tests that need a
context or a small rules set without writing files by hand.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, Iterable, Mapping

from slotwise.profile import Profile, add_to_cart, record_purchase, record_view
from slotwise.rules.context import Context, build_context
from slotwise.rules.facts import page_facts, request_facts
from slotwise.rules.loader import load_rules
from slotwise.rules.ruleset import RuleSet


def make_profile(
    profile_id: str = "v-test",
    *,
    views: Iterable[tuple[str | None, str | None]] = (),
    purchases: Iterable[Mapping[str, Any]] = (),
    cart: Iterable[Mapping[str, Any]] = (),
    visits: int | None = None,
    **fields: Any,
) -> Profile:
    """A profile: ``views`` are (category, product) pairs in time order, one second apart."""
    profile = Profile.new(profile_id, 1_000.0)
    now = 1_000.0
    for category, product in views:
        now += 1
        record_view(profile, now, category=category, product=product)
    for index, line in enumerate(purchases):
        now += 1
        record_purchase(profile, str(line.get("order_id", f"o{index}")), [line], now, channel=line.get("channel", "online"))
    for line in cart:
        add_to_cart(profile, line)
    if visits is not None:
        profile.visits = visits
    for name, value in fields.items():
        setattr(profile, name, value)
    return profile


def make_context(
    profile: Profile | None = None,
    *,
    path: str = "/",
    query: str | Mapping[str, str] | None = None,
    html: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    ruleset: RuleSet | None = None,
    visitor_id: str = "v-test",
) -> Context:
    """A context as the proxy would build it for one request."""
    page = page_facts(path, query, html, ruleset)
    request = request_facts(headers or {}, query)
    return build_context(profile, page, request, visitor_id, ruleset.signals if ruleset is not None else None)


def rules_from_text(directory: Path, text: str, *, name: str = "rules.yaml", files: Mapping[str, str] | None = None) -> RuleSet:
    """Write a rules file (and extra files: includes, templates) and load it."""
    for rel, body in (files or {}).items():
        target = directory / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(body), encoding="utf-8")
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_rules(path)
