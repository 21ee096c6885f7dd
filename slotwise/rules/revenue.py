"""``revenue``: the one currency every order's (and cart's) value is counted in, and the marketer's rates to it.

A store selling in EUR and GBP gets a £85 order and a €100 order; a revenue
goal that learns 85 and 100 from them, and a report that adds them up, are
off by the exchange rate without saying so. The rules name the store's
reporting currency and a rate to it for each other currency it sells in:

    revenue: {currency: EUR, rates: {GBP: 1.17, USD: 0.92}}

An order's value is converted when it is recorded (``valued``), so the log
holds the amount every reader — the learner, the report, a replay — takes,
at the rate of the day it arrived. An order in a currency with no rate is
still an order (a conversion) but has no amount: no number is better than a
wrong one. Without ``revenue`` nothing is converted, as before. The rates are
the rules' own: never fetched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from slotwise.rules.checker import AnyKey, Checker
from slotwise.rules.parse_fields import parse_currency_code
from slotwise.rules.product_facts import currency_code
from slotwise.rules.yaml_marks import Node, kind_of

REVENUE_KEYS = ("currency", "rates")


@dataclass(frozen=True)
class Revenue:
    """The reporting currency and, per other currency, what one unit of it is worth in that currency."""

    currency: str
    rates: Mapping[str, float] = field(default_factory=dict)

    def rate(self, currency: Any) -> float | None:
        """The rate from ``currency`` to the reporting one: 1 for it (or an order naming none: read as the
        store's, as before), the rules' rate, else None (no amount is known)."""
        code = currency_code(currency)
        if not code or code == self.currency:
            return 1.0
        return self.rates.get(code)


def order_value(props: Mapping[str, Any]) -> float | None:
    """An order's value in its own currency: its total, else the sum of its lines."""
    if props.get("total") is not None:
        try:
            return float(props["total"])
        except (TypeError, ValueError):
            return None
    lines = props.get("lines") or ()
    try:
        return sum(float(line.get("price") or 0) * int(line.get("qty") or 1) for line in lines) or None
    except (TypeError, ValueError, AttributeError):
        return None


def valued(props: Mapping[str, Any], revenue: Revenue) -> dict[str, Any]:
    """What an order is worth in the reporting currency, as the log keeps it next to the order.

    ``amount`` (None: the order says no value) and ``discount`` converted; an order in a currency with no
    rate has ``amount`` None and ``unconverted`` naming that currency: it counts, but adds nothing."""
    rate = revenue.rate(props.get("currency"))
    out: dict[str, Any] = {"currency": revenue.currency, "amount": None}
    if rate is None:
        out["unconverted"] = str(currency_code(props.get("currency")))
        return out
    value = order_value(props)
    if value is not None:
        out["amount"] = round(value * rate, 2)
    try:
        if props.get("discount") is not None:
            out["discount"] = round(float(props["discount"]) * rate, 2)
    except (TypeError, ValueError):
        pass
    return out


def cart_value(lines: Iterable[Mapping[str, Any]], revenue: Revenue) -> float:
    """The cart's value in the reporting currency: each line at its price's currency's rate (a line naming
    none: the reporting one, as before); a line in a currency with no rate adds nothing (never a wrong amount)."""
    total = 0.0
    for line in lines:
        rate = revenue.rate(line.get("currency"))
        if rate is not None:
            total += float(line.get("price") or 0) * int(line.get("qty") or 1) * rate
    return total


def parse_revenue(check: Checker, node: Node) -> Revenue | None:
    """``revenue: {currency: EUR, rates: {GBP: 1.17}}``; every mistake on its ``file:line:column``."""
    entries = check.mapping(node, REVENUE_KEYS, "'revenue'")
    if entries is None:
        return None
    if "currency" not in entries:
        check.error(node, "'revenue' needs 'currency': the one currency orders are counted in, like EUR")
        return None
    currency = parse_currency_code(check, entries["currency"].node, "'revenue.currency'")
    rates: dict[str, float] = {}
    if "rates" in entries:
        given = check.mapping(entries["rates"].node, AnyKey(), "'revenue.rates'") or {}
        for entry in given.values():
            code = parse_currency_code(check, entry.key_node, "a currency of 'revenue.rates'")
            rate = check.scalar(entry.node)
            if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate < math.inf:
                check.error(entry.node, f"'revenue.rates.{entry.key}' must be a number above 0 (what one {code or entry.key} "
                                        f"is worth in {currency or 'the revenue currency'}, like 1.17), got {kind_of(entry.node)}")
                continue
            if code is None:
                continue
            if code == currency:
                check.error(entry.key_node, f"'revenue.rates' names {code}, the revenue currency itself: it needs no rate")
                continue
            if code in rates:
                check.error(entry.key_node, f"'revenue.rates' names {code} twice")
                continue
            rates[code] = float(rate)
    return None if currency is None else Revenue(currency, rates)
