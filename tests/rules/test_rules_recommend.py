"""recommend.rank: strategies, and the exclusions every block keeps."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.rules.recommend import rank
from slotwise.rules.testing import make_profile


def _catalog(n: int = 12, out_of_stock: set[str] = frozenset()) -> dict[str, dict[str, Any]]:  # type: ignore[assignment]
    return {
        str(i): {"id": str(i), "name": f"P{i}", "url": f"/p/{i}", "image": None, "price": float(i), "currency": "EUR",
                 "category": "shoes" if i < 6 else "bags", "in_stock": str(i) not in out_of_stock}
        for i in range(n)
    }


def test_viewed_together_keeps_order_and_limit() -> None:
    out = rank("viewed_together", 3, current_product="0", profile=None, catalog=_catalog(), popular=[], co_viewed=["5", "3", "4", "2"])
    assert [p["id"] for p in out] == ["5", "3", "4"]


def test_exclusions_current_out_of_stock_bought_in_cart_and_duplicates() -> None:
    profile = make_profile(purchases=[{"product": "2", "category": "shoes"}], cart=[{"product": "4", "price": 1}])
    out = rank(
        "viewed_together", 10, current_product={"id": "1", "category": "shoes"}, profile=profile,
        catalog=_catalog(out_of_stock={"3"}), popular=[], co_viewed=["1", "2", "3", "4", "5", "5", "99", "6"],
    )
    assert [p["id"] for p in out] == ["5", "6"]  # 1 current, 2 bought, 3 sold out, 4 in cart, 5 once, 99 unknown


def test_recently_viewed_uses_the_profile() -> None:
    profile = make_profile(views=[("shoes", "1"), ("shoes", "2"), ("bags", "7")])
    out = rank("recently_viewed", 4, current_product="2", profile=profile, catalog=_catalog(), popular=[], co_viewed=[])
    assert [p["id"] for p in out] == ["7", "1"]


def test_popular_in_category_of_the_current_product_then_top_category() -> None:
    catalog = _catalog()
    popular = ["8", "1", "9", "2", "3"]
    on_product = rank("popular_in_category", 2, current_product="0", profile=None, catalog=catalog, popular=popular, co_viewed=[])
    assert [p["id"] for p in on_product] == ["1", "2"]
    bag_lover = make_profile(views=[("bags", None), ("bags", None), ("shoes", None)])
    at_home = rank("popular_in_category", 5, current_product=None, profile=bag_lover, catalog=catalog, popular=popular, co_viewed=[])
    assert [p["id"] for p in at_home] == ["8", "9"]
    anyone = rank("popular_in_category", 5, current_product=None, profile=None, catalog=catalog, popular=popular, co_viewed=[])
    assert [p["id"] for p in anyone] == popular


def test_mixed_interleaves_then_fills_with_popular() -> None:
    profile = make_profile(views=[("bags", "10"), ("bags", "11")])
    out = rank("mixed", 6, current_product="0", profile=profile, catalog=_catalog(), popular=["1", "7", "2"], co_viewed=["5", "4"])
    assert [p["id"] for p in out] == ["5", "11", "1", "4", "10", "2"]


def test_bad_strategy_and_zero_limit() -> None:
    with pytest.raises(ValueError, match="bestsellers"):
        rank("bestsellers", 4, current_product=None, profile=None, catalog={}, popular=[], co_viewed=[])
    assert rank("mixed", 0, current_product=None, profile=None, catalog=_catalog(), popular=["1"], co_viewed=[]) == []


ids = st.lists(st.sampled_from([str(i) for i in range(15)]), max_size=20)


@settings(max_examples=200, deadline=None)
@given(
    strategy=st.sampled_from(["viewed_together", "recently_viewed", "popular_in_category", "mixed"]),
    limit=st.integers(0, 8), current=st.sampled_from([None, "0", "3", "14"]), popular=ids, co_viewed=ids,
    viewed=ids, bought=ids, sold_out=st.sets(st.sampled_from([str(i) for i in range(15)])),
)
def test_rank_invariants(strategy, limit, current, popular, co_viewed, viewed, bought, sold_out) -> None:  # type: ignore[no-untyped-def]
    profile = make_profile(
        views=[("shoes", v) for v in viewed],
        purchases=[{"product": b, "category": "shoes", "order_id": f"o{i}"} for i, b in enumerate(bought)],
    )
    out = rank(strategy, limit, current_product=current, profile=profile, catalog=_catalog(12, sold_out),
               popular=popular, co_viewed=co_viewed)
    got = [p["id"] for p in out]
    assert len(got) <= limit and len(got) == len(set(got))
    assert current not in got
    assert not set(got) & set(bought)
    assert not set(got) & sold_out
    assert all(g in _catalog(12) for g in got)
