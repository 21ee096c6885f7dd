"""Orders' values in one currency: ``rules.revenue.valued`` as the recorder logs it, the learner's reading of
it (``learning.learner_record``) and the rewards of each goal; an order of no known amount adds nothing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.bandits import Learner
from slotwise.bandits.records import REWARDED, UNPRICED
from slotwise.proxy.operations.learning import learner_record
from slotwise.rules.revenue import Revenue, order_value, valued
from slotwise.store.base import LogRecord

EUR = Revenue("EUR", {"GBP": 1.17, "USD": 0.92})


def order_record(props: dict, revenue: Revenue | None, *, seq: int = 1, visitor: str = "v", ts: float = 10.0) -> LogRecord:
    """A purchase as the recorder logs it (``revenue`` stamped under the rules' ``revenue``, else as before)."""
    data = {"type": "purchase", "props": props, "received": ts}
    if revenue is not None:
        data["revenue"] = valued(props, revenue)
    return LogRecord(kind="event", key=f"k{seq}", visitor=visitor, ts=ts, data=data, seq=seq)


def test_an_order_is_valued_in_the_revenue_currency_at_the_rules_rate() -> None:
    assert valued({"total": 85.0, "currency": "GBP"}, EUR) == {"currency": "EUR", "amount": 99.45}
    assert valued({"total": 100.0, "currency": "EUR"}, EUR) == {"currency": "EUR", "amount": 100.0}
    assert valued({"total": 100.0, "currency": "eur"}, EUR)["amount"] == 100.0  # one spelling per currency
    assert valued({"total": 50.0}, EUR)["amount"] == 50.0  # naming none: the store's, as before
    assert valued({"lines": [{"price": 10.0, "qty": 2}], "currency": "USD"}, EUR)["amount"] == 18.4  # its lines
    assert valued({"total": 60.0, "discount": 10.0, "currency": "GBP", "coupon": "X"}, EUR) == {
        "currency": "EUR", "amount": 70.2, "discount": 11.7}
    assert valued({"total": 5000.0, "currency": "JPY"}, EUR) == {"currency": "EUR", "amount": None,
                                                                  "unconverted": "JPY"}


def test_the_learner_reads_the_converted_value_and_discount() -> None:
    stamped = learner_record(order_record({"total": 60.0, "discount": 10.0, "coupon": "X", "currency": "GBP",
                                           "lines": [{"product": "p", "price": 70.0}]}, EUR))
    assert stamped is not None
    assert (stamped["value"], stamped["discount"], stamped["redeemed"]) == (70.2, 11.7, True)
    assert "priced" not in stamped
    unpriced = learner_record(order_record({"total": 5000.0, "currency": "JPY"}, EUR))
    assert unpriced is not None and unpriced["value"] is None and unpriced["priced"] is False


def test_without_revenue_an_order_is_read_exactly_as_before() -> None:
    props = {"total": 85.0, "currency": "GBP", "coupon": "X", "discount": 5.0}
    converted = learner_record(order_record(props, None))
    assert converted is not None
    assert (converted["value"], converted["discount"], converted["redeemed"]) == (85.0, 5.0, True)
    assert "priced" not in converted


def test_an_order_of_no_known_amount_is_a_conversion_but_teaches_no_revenue(record) -> None:
    lrn = Learner({"buy": {"arms": ["a"], "goal": "purchase", "window": 100},
                   "rev": {"arms": ["a"], "goal": "revenue", "window": 100},
                   "mar": {"arms": ["a"], "goal": "margin", "window": 100}})
    for slot in ("buy", "rev", "mar"):
        lrn.on_decision(record(slot=slot, visitor="v", ts=0))
    out = {o.slot: o for o in lrn.apply(learner_record(order_record({"total": 5000.0, "currency": "JPY"}, EUR, seq=10)))}
    assert (out["buy"].reason, out["buy"].reward, out["buy"].taught) == (REWARDED, 1.0, True)
    for slot in ("rev", "mar"):  # neither 5000 nor 0: nothing learned, and nothing left pending to expire as 0
        assert (out[slot].reason, out[slot].reward, out[slot].taught) == (UNPRICED, None, False)
        assert lrn.policies[slot].arms["a"][0] == 0.0
    assert lrn.pending_count == 0


AMOUNTS = st.floats(min_value=0.01, max_value=100_000, allow_nan=False, allow_infinity=False)
CURRENCIES = st.sampled_from(["EUR", "GBP", "USD", "JPY", "CHF", None])  # JPY, CHF: no rate
RATES = st.dictionaries(st.sampled_from(["GBP", "USD", "SEK"]), st.floats(min_value=0.001, max_value=1000),
                        max_size=3)


@settings(max_examples=200, deadline=None)
@given(orders=st.lists(st.tuples(AMOUNTS, CURRENCIES), min_size=1, max_size=30), rates=RATES)
def test_conversion_never_mixes_an_amount_of_unknown_currency_into_a_sum(
        orders: list[tuple[float, str | None]], rates: dict[str, float]) -> None:
    revenue = Revenue("EUR", rates)
    known = {"EUR": 1.0, None: 1.0, **rates}
    lrn = Learner({"rev": {"arms": ["a"], "goal": "revenue", "window": 1e9, "policy": "uniform"}})
    expected = 0.0
    for i, (total, currency) in enumerate(orders):
        props = {"order_id": str(i), "total": total, **({"currency": currency} if currency else {})}
        stamp = valued(props, revenue)
        if currency in known:
            assert stamp["amount"] == pytest.approx(round(total * known[currency], 2))
            expected += stamp["amount"]
        else:  # never an amount: not the order's own, not 0
            assert stamp["amount"] is None and stamp["unconverted"] == currency
        lrn.on_decision({"decision_id": f"d{i}", "visitor_id": f"v{i}", "slot": "rev", "arm": "a", "ts": i,
                         "propensity": 1.0}, seq=2 * i + 1)
        lrn.apply(learner_record(order_record(props, revenue, seq=2 * i + 2, visitor=f"v{i}", ts=i + 0.5)))
    n, total_reward = lrn.policies["rev"].arms["a"][:2]
    assert n == sum(1 for _, c in orders if c in known)
    assert total_reward == pytest.approx(expected)
    assert order_value({"total": 1.0}) == 1.0


def test_a_report_says_the_currency_and_warns_when_it_changed_under_the_slot() -> None:
    from slotwise.proxy.operations.reporting import build_decision_log, notices, slot_reports

    decision = {"decision_id": "d1", "visitor_id": "v", "slot": "rev", "arm": "a", "ts": 1.0, "goal": "revenue",
                "arms": ["a"], "window": 100.0}
    records = [LogRecord(kind="decision", key="d1", visitor="v", ts=1.0, data=decision, seq=1),
               order_record({"total": 10.0, "currency": "GBP"}, EUR, seq=2, ts=2.0)]
    [report] = slot_reports(build_decision_log(records, now=3.0))
    assert report.currencies == ["EUR"] and not [n for n in notices(report) if "counted in" in n[1]]
    records.append(order_record({"total": 10.0}, Revenue("GBP"), seq=3, ts=2.5))  # the rules' currency changed
    [report] = slot_reports(build_decision_log(records, now=3.0))
    assert report.currencies == ["EUR", "GBP"]
    assert ("warning", "Order values are counted in EUR and GBP: the rules' revenue.currency changed, so these "
            "amounts add different currencies. Restart the slot's learning, or report --since the change.") in notices(report)


def test_the_cart_value_converts_each_line_and_leaves_out_a_currency_without_rate() -> None:
    from slotwise.profile import Profile
    from slotwise.rules.signals import Signals
    from slotwise.rules.visitor import VisitorView

    cart = [{"product": "a", "price": 10.0, "qty": 2, "currency": "GBP"}, {"product": "b", "price": 5.0},
            {"product": "c", "price": 1000.0, "currency": "JPY"}]
    profile = Profile(id="v", cart=cart)
    assert VisitorView(profile, signals=Signals(revenue=EUR))["cart_value"] == 28.4  # 2 × 10 × 1.17 + 5
    assert VisitorView(profile)["cart_value"] == 1025.0  # without revenue: the lines' prices added, as before


def test_a_cart_line_names_the_currency_of_its_price() -> None:
    from slotwise.tag.events import Line
    from slotwise.tag.recorder import _resolved

    products = {"scarf": {"price": 100.0, "currency": "EUR", "prices": {"GBP": 85.0}}}
    assert _resolved(Line(product="scarf"), products).currency == "EUR"  # the catalog's price
    filled = _resolved(Line(product="scarf"), products, currency="GBP")
    assert (filled.price, filled.currency) == (85.0, "GBP")
    assert _resolved(Line(product="scarf", price=99.0), products).currency is None  # not known


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(st.tuples(AMOUNTS, st.integers(min_value=1, max_value=5), CURRENCIES), max_size=20), rates=RATES)
def test_a_cart_value_never_adds_a_line_of_unknown_currency(
        lines: list[tuple[float, int, str | None]], rates: dict[str, float]) -> None:
    from slotwise.rules.revenue import cart_value

    known = {"EUR": 1.0, None: 1.0, **rates}
    cart = [{"product": str(i), "price": price, "qty": qty, **({"currency": c} if c else {})}
            for i, (price, qty, c) in enumerate(lines)]
    expected = sum(price * qty * known[c] for price, qty, c in lines if c in known)
    assert cart_value(cart, Revenue("EUR", rates)) == pytest.approx(expected)
