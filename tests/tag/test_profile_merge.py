"""``merge`` folds every field of the golden record; a new field without a case here fails."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import pytest

from slotwise.profile import (
    MAX_APPLIED_EVENTS, Profile, forget_alias, import_purchase_lines, mark_applied, merge, record_popup,
)


def _known() -> Profile:
    p = Profile.new("known", 100.0)
    p.customer_id, p.email_hash, p.last_seen, p.visits, p.session_start = "c1", None, 500.0, 3, 450.0
    p.customer_trusted = True  # c1 linked by trust (a signed id, the store's page)
    p.categories = {"shoes": {"count": 2, "last": 400.0}}
    p.products = {"p1": {"count": 1, "last": 400.0, "category": None}}
    p.cart = [{"product": "p1", "category": "shoes", "size": "42", "qty": 1, "price": 10.0}]
    p.cart_hint = 4
    p.pending = [{"key": "k1"}]
    p.purchases = [{"order_id": "o1", "channel": "store", "product": "p1", "category": "shoes", "size": "42", "qty": 1, "price": 10.0, "ts": 300.0}]
    p.subscribed, p.consent, p.coupon = False, "granted", None
    p.assignments = {"hero": {"arm": "a", "decision_id": "d1", "ts": 1.0}}
    p.popups = {"exit": {"shown": 1, "closed": 1, "converted": 0, "last": 200.0}}
    p.applied_events = ["e1", "e2"]
    p.saved_cart = [{"product": "p9", "qty": 1, "added": 420.0}]  # left in the cart at 420 (another device)
    p.chosen_store = {"id": "ams", "ts": 450.0}
    p.refused_claims = ["r1", "r2"]
    return p


def _other() -> Profile:
    p = Profile.new("anon", 50.0)
    p.email_hash, p.last_seen, p.visits, p.session_start = "h" * 64, 600.0, 2, 590.0
    p.email_trusted = True  # the address linked by trust (the store's page, an accepted login)
    p.categories = {"shoes": {"count": 1, "last": 600.0}, "hats": {"count": 1, "last": 550.0}}
    p.products = {"p1": {"count": 2, "last": 600.0, "category": "shoes"}}
    p.cart = [{"product": "p2", "category": "hats", "size": None, "qty": 2, "price": 5.0}]
    p.pending = [{"key": "k2"}]
    p.purchases = [
        {"order_id": "o1", "channel": "store", "product": "p1", "category": "shoes", "size": "42", "qty": 1, "price": 10.0, "ts": 300.0},
        {"order_id": "o2", "channel": "online", "product": "p3", "category": "hats", "size": "M", "qty": 1, "price": 7.0, "ts": 580.0},
    ]
    p.subscribed, p.consent, p.coupon = True, "denied", "SW-CODE"
    p.assignments = {"hero": {"arm": "b", "decision_id": "d2", "ts": 2.0}, "recs": {"arm": "x", "decision_id": "d3", "ts": 3.0}}
    p.popups = {"exit": {"shown": 1, "closed": 0, "converted": 1, "last": 590.0}, "other": {"shown": 1, "closed": 0, "converted": 0, "last": 1.0}}
    p.applied_events = ["e2", "e3"]
    p.saved_cart = [{"product": "p8", "qty": 1, "added": 100.0}]
    p.chosen_store = {"id": "ber", "ts": 595.0}
    p.refused_claims = ["r2", "r3"]
    return p


CASES: dict[str, Callable[[Profile], Any]] = {
    "id": lambda m: m.id == "known",
    "anonymous_ids": lambda m: m.anonymous_ids == ["known", "anon"],
    "customer_id": lambda m: m.customer_id == "c1",
    "customer_trusted": lambda m: m.customer_trusted is True,  # as the id it says of is
    "email_hash": lambda m: m.email_hash == "h" * 64,
    "email_trusted": lambda m: m.email_trusted is True,  # as the address it says of is
    "first_seen": lambda m: m.first_seen == 50.0,
    "last_seen": lambda m: m.last_seen == 600.0,
    "visits": lambda m: m.visits == 5,
    "session_start": lambda m: m.session_start == 590.0,
    "categories": lambda m: m.categories == {"shoes": {"count": 3, "last": 600.0}, "hats": {"count": 1, "last": 550.0}},
    "products": lambda m: m.products == {"p1": {"count": 3, "last": 600.0, "category": "shoes"}},
    "cart": lambda m: [line["product"] for line in m.cart] == ["p2"],  # the cart touched last wins
    "cart_hint": lambda m: m.cart_hint == 0,  # ... and its count with it
    "pending": lambda m: [p["key"] for p in m.pending] == ["k1", "k2"],
    "purchases": lambda m: [(p["order_id"], p["channel"]) for p in m.purchases] == [("o1", "store"), ("o2", "online")],
    "subscribed": lambda m: m.subscribed is True,
    "consent": lambda m: m.consent == "denied",  # the stricter answer
    "coupon": lambda m: m.coupon == "SW-CODE",
    "assignments": lambda m: m.assignments["hero"]["arm"] == "a" and "recs" in m.assignments,
    "popups": lambda m: m.popups == {"exit": {"shown": 2, "closed": 1, "converted": 1, "last": 590.0},
                                     "other": {"shown": 1, "closed": 0, "converted": 0, "last": 1.0}},
    "applied_events": lambda m: m.applied_events == ["e1", "e2", "e3"],
    "saved_cart": lambda m: [line["product"] for line in m.saved_cart] == ["p9"],  # the cart filled last
    "chosen_store": lambda m: m.chosen_store == {"id": "ber", "ts": 595.0},  # the latest choice
    "refused_claims": lambda m: m.refused_claims == ["r1", "r2", "r3"],  # either browser's claim, refused
}


def test_every_field_has_a_merge_case() -> None:
    assert {f.name for f in dataclasses.fields(Profile)} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_merge_field(name: str) -> None:
    merged = merge(_known(), _other())
    assert CASES[name](merged), f"{name}: {getattr(merged, name)!r}"


@pytest.mark.parametrize("held, trusted", [("customer_id", "customer_trusted"), ("email_hash", "email_trusted")])
def test_the_trusted_mark_says_of_the_id_kept(held: str, trusted: str) -> None:
    """Whether the merged profile's customer id (address) is held by trust is that id's own answer; a claim
    released (``forget_alias``) takes the mark with the id."""
    kind = held.split("_")[0]
    known, other = Profile.new("known", 1.0), Profile.new("anon", 1.0)
    setattr(other, held, "v2")
    setattr(other, trusted, True)
    assert getattr(merge(known, other), trusted) is True
    setattr(known, held, "v1")  # a claim: the id kept is v1
    assert getattr(merge(known, other), trusted) is False
    forget_alias(other, f"{kind}:v2")
    assert (getattr(other, held), getattr(other, trusted)) == (None, False)


def test_merge_does_not_mutate_its_inputs() -> None:
    known, other = _known(), _other()
    merge(known, other)
    assert known == _known() and other == _other()


def test_merge_round_trips_through_json() -> None:
    merged = merge(_known(), _other())
    assert Profile.from_dict(merged.to_dict()) == merged


def test_import_purchase_lines_is_idempotent_per_line() -> None:
    p = Profile.new("x", 0)
    lines = [{"product": "a", "size": "M", "qty": 1, "price": 2, "ts": 5}, {"product": "b", "qty": 2, "price": 1, "ts": 5}]
    assert import_purchase_lines(p, "o1", lines[:1], 5) == 1
    assert import_purchase_lines(p, "o1", lines, 5) == 1  # the order's second line arrived later
    assert import_purchase_lines(p, "o1", lines, 5) == 0
    assert [x["channel"] for x in p.purchases] == ["store", "store"]


def test_popups_and_applied_events() -> None:
    p = Profile.new("x", 0)
    record_popup(p, "exit", "shown", 10)
    record_popup(p, "exit", "converted", 12)
    assert p.popups["exit"] == {"shown": 1, "closed": 0, "converted": 1, "last": 12}
    with pytest.raises(ValueError):
        record_popup(p, "exit", "ignored", 1)
    assert mark_applied(p, "e1") and not mark_applied(p, "e1")
    for i in range(MAX_APPLIED_EVENTS + 5):
        mark_applied(p, f"x{i}")
    assert len(p.applied_events) == MAX_APPLIED_EVENTS
