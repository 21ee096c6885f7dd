"""Replenishment estimates (rules/replenish.py): properties over purchase histories, and examples."""

from __future__ import annotations

import statistics

from hypothesis import HealthCheck, example, given, settings, strategies as st

from slotwise.rules.replenish import (
    DAY, ReplenishSettings, _buys, due, estimates, own_intervals, own_rates, typical_interval,
)

NOW = 1_800_000_000.0
SETTINGS = ReplenishSettings(categories=frozenset({"dog-food"}), enabled=True, min_days=3.0, max_days=120.0,
                             due_within_days=3.0, min_buyers=3)


def buy(order: str, days_ago: float, qty: int = 1, product: str = "df1", category: str = "dog-food",
        channel: str = "online") -> dict:
    return {"order_id": order, "channel": channel, "product": product, "category": category, "size": None,
            "qty": qty, "price": 10.0, "ts": NOW - days_ago * DAY}


def test_own_rhythm_predicts_the_next_purchase_and_units_stretch_it() -> None:
    history = [buy("o1", 90), buy("o2", 60), buy("o3", 30, qty=2, channel="store")]  # in-store counts alike
    (e,) = estimates(history, SETTINGS, {}, {})
    assert e.basis == "own" and e.interval_days == 30.0
    assert e.next_date == NOW + 30 * DAY  # two bags bought 30 days ago last 60 days
    assert e.key == "category:dog-food" and e.product == "df1" and e.qty == 2


def test_one_purchase_falls_back_to_the_categorys_typical_interval_bounded() -> None:
    history = [buy("o1", 20)]
    assert estimates(history, SETTINGS, {}, {}) == []  # nobody knows how long it lasts
    (e,) = estimates(history, SETTINGS, {}, {"category:dog-food": 500.0})
    assert e.basis == "typical" and e.interval_days == 120.0  # clamped to interval.max


def test_not_consumable_is_never_estimated_unless_the_catalog_says_so() -> None:
    history = [buy("o1", 60, category="shoes", product="s1"), buy("o2", 30, category="shoes", product="s1")]
    assert estimates(history, SETTINGS, {}, {}) == []
    (e,) = estimates(history, SETTINGS, {"s1": {"consumable": True}}, {})
    assert e.key == "category:shoes"


def test_due_within_the_window_and_lapsed_after_a_whole_interval() -> None:
    history = [buy("o1", 58), buy("o2", 30)]  # every 28 days: next in -2 days
    (e,) = estimates(history, SETTINGS, {}, {})
    assert due([e], SETTINGS, NOW) == [e]
    assert due([e], SETTINGS, NOW - 10 * DAY) == []  # 8 days early: not yet
    assert due([e], SETTINGS, NOW + 30 * DAY) == []  # a whole interval overdue: they stopped buying it


def test_typical_interval_needs_enough_buyers() -> None:
    assert typical_interval([30.0, 20.0], SETTINGS) is None
    assert typical_interval([30.0, 20.0, 40.0], SETTINGS) == 30.0
    assert typical_interval([1.0, 1.0, 1.0], SETTINGS) == 3.0  # bounded below


histories = st.lists(
    st.tuples(st.floats(min_value=0, max_value=2000, allow_nan=False), st.integers(min_value=1, max_value=12),
              st.sampled_from(["dog-food", "socks", None]), st.sampled_from(["a", "b", "c"])),
    max_size=30,
)


def as_lines(raw: list) -> list[dict]:
    return [buy(f"o{i}", days, qty, product=product, category=category) for i, (days, qty, category, product) in enumerate(raw)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories)
def test_estimates_stay_in_bounds_and_after_the_last_purchase(raw: list) -> None:
    cfg = ReplenishSettings(categories=frozenset({"dog-food", "socks"}), products=frozenset({"a"}), enabled=True,
                            min_days=3.0, max_days=120.0)
    lines = as_lines(raw)
    for e in estimates(lines, cfg, {}, {"category:dog-food": 0.5, "category:socks": 9999.0}):
        assert cfg.min_days <= e.interval_days <= cfg.max_days
        assert e.next_date >= e.last_bought + cfg.min_days * DAY - 1e-6
        latest = max(float(line["ts"]) for line in lines if cfg.key_of(line) == e.key)
        assert latest - DAY < e.last_bought <= latest  # the start of the last stock-up


def stock_ups(lines: list[dict]) -> list[tuple[float, int]]:
    """The reference grouping: an order within a day of a stock-up's first order joins it."""
    out: list[list] = []
    for line in sorted(lines, key=lambda x: x["ts"]):
        if out and line["ts"] - out[-1][0] < DAY:
            out[-1][1] += line["qty"]
        else:
            out.append([line["ts"], line["qty"]])
    return [(t, q) for t, q in out]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories)
@example([(0.0, 1, "dog-food", "a"), (1.0, 1, "dog-food", "a"), (1.0, 6, "dog-food", "a"), (1.0, 6, "dog-food", "a")])
def test_own_intervals_are_medians_of_gaps_per_unit_between_stock_ups(raw: list) -> None:
    lines = as_lines(raw)
    own = own_intervals(lines)
    for key, days in own.items():
        kind, _, name = key.partition(":")
        lines_of_key = [line for line in lines if (line["category"] if kind == "category" else line["product"]) == name]
        # stock-ups at least a day apart, and one holds at most every unit of the key (orders within a day add up)
        assert days >= round(1.0 / sum(line["qty"] for line in lines_of_key), 4)
        mine = stock_ups(lines_of_key)
        gaps = [(b[0] - a[0]) / DAY / a[1] for a, b in zip(mine, mine[1:])]
        assert abs(days - round(statistics.median(gaps), 4)) < 1e-6


def test_an_order_the_next_hour_is_the_same_stock_up() -> None:
    history = [buy("o1", 60), buy("o2", 59.99), buy("o3", 30)]
    (e,) = estimates(history, SETTINGS, {}, {})
    assert e.interval_days == 15.0  # 30 days for the two units bought together


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), max_size=20))
def test_rates_are_positive(times: list) -> None:
    lines = [buy(f"o{i}", t / DAY) for i, t in enumerate(times)]
    assert all(r > 0 for r in own_rates(_buys(lines, lambda line: "k").get("k", [])))
