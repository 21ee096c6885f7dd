"""A page view as data (``ViewRecord``) does exactly what the proxy's closure did, and the co-views read
from the end of the profile are the ones the whole walk found (property tests against the old code)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.profile import MAX_CATEGORIES, MAX_PRODUCTS, Profile, ViewRecord, touch
from slotwise.proxy.personalization.pageviews import _this_visit


def _old_bump(entries: dict[str, dict[str, Any]], key: str, now: float, limit: int, **extra: Any) -> None:
    entry = entries.setdefault(key, {"count": 0, "last": 0.0})
    entry["count"] += 1
    entry["last"] = max(entry["last"], now)
    entry.update({k: v for k, v in extra.items() if v})
    if len(entries) > limit:
        oldest = min(entries, key=lambda k: entries[k]["last"])
        del entries[oldest]


def _old_record_view(profile: Profile, now: float, *, category: str | None = None, product: str | None = None,
                     offer: Any = None) -> None:
    """``record_view`` before this change (with ``touch``'s ``max``), as the proxy's closure called it."""
    new_visit = not profile.in_session(now)
    if new_visit:
        profile.visits += 1
        profile.session_start = now
    if not profile.first_seen:
        profile.first_seen = now
    profile.last_seen = max(profile.last_seen, now)
    if category:
        _old_bump(profile.categories, category, now, MAX_CATEGORIES)
    if product:
        _old_bump(profile.products, str(product), now, MAX_PRODUCTS, category=category)
        entry = profile.products.get(str(product))
        if offer is not None and entry is not None:
            entry["seen"] = {"price": offer.get("price"), "in_stock": offer.get("in_stock")}


views = st.lists(st.tuples(
    st.sampled_from([0.0, 1.0, 1.0, 5.0, 4000.0, -3.0]),  # time steps: repeats, new visits, a clock going back
    st.one_of(st.none(), st.sampled_from(["", "socks", "bags"])),
    st.one_of(st.none(), st.sampled_from(["", "p1", "p2"]), st.integers(0, 260).map(lambda i: f"p{i}")),
    st.one_of(st.none(), st.floats(allow_nan=True), st.integers(-2, 2**40), st.text(max_size=3)),
    st.one_of(st.none(), st.booleans()),
), max_size=300)


@settings(max_examples=150, deadline=None)
@given(views)
def test_a_view_record_is_the_closure_it_replaced(steps: list[tuple[Any, ...]]) -> None:
    mine, theirs = Profile.new("v", 1000.0), Profile.new("v", 1000.0)
    now = 1000.0
    for step, category, product, price, in_stock in steps:
        now += step
        ViewRecord(now, category, product, price, in_stock)(mine)
        offer = {"price": price, "in_stock": in_stock} if product else None
        _old_record_view(theirs, now, category=category, product=product, offer=offer)
        assert repr(mine.to_dict()) == repr(theirs.to_dict())
        assert list(mine.products) == list(theirs.products)
    assert touch(mine, now + 1) == touch(theirs, now + 1)


@settings(max_examples=150, deadline=None)
@given(views, st.integers(0, 260).map(lambda i: f"p{i}"))
def test_this_visits_products_are_the_whole_walks_last_twenty(steps: list[tuple[Any, ...]], product: str) -> None:
    profile, now = Profile.new("v", 1000.0), 1000.0
    for step, category, viewed, _, _ in steps:
        now += step
        ViewRecord(now, category, viewed)(profile)
    walked = [pid for pid, entry in profile.products.items()
              if pid != product and entry["last"] >= profile.session_start][-20:]
    assert _this_visit(profile, product) == walked
