"""A browser's purchase cannot poison a revenue slot: claimed order values are bounded where they are recorded.

Rule (docs/security.md): for a purchase only a browser claims (the tag, a
dataLayer push, a tag-only page), each line's price is at most the catalog's
price for that product, the order's value is at most 1.5 times its lines'
value (shipping, tax), and at most ``--max-claimed-order`` (5,000 by default). Trusted sources (the
store's order confirmation page through the proxy, the signed order
webhook, imports) count in full.
"""

from __future__ import annotations

from typing import Any

from bandit_helpers import WINDOW_S


def revenue_sum(e: Any) -> float:
    return sum(st[1] for st in e.stats("recs").values())


def test_a_claimed_huge_total_is_capped(edge: Any) -> None:
    e = edge()
    v = e.visitor()
    v.view()
    e.clock.advance(60)
    v.purchase(9_999_999.0)
    e.clock.advance(WINDOW_S)
    e.learn()
    assert 0 < revenue_sum(e) <= 5_000.0


def test_the_cap_is_configurable(edge: Any) -> None:
    e = edge(max_claimed_order=250.0)
    v = e.visitor()
    v.view()
    e.clock.advance(60)
    v.purchase(9_999_999.0)
    e.learn()
    assert revenue_sum(e) == 250.0


def test_claimed_prices_are_winsorised_against_the_catalog(edge: Any) -> None:
    e = edge()
    e.run(e.p.store.upsert_products([{"id": "p1", "name": "Runner", "category": "shoes", "price": 80.0}], e.clock()))
    v = e.visitor()
    v.view()
    e.clock.advance(60)
    v.purchase(9_999_999.0)  # one line of p1 at 9,999,999, total 9,999,999
    e.learn()
    assert revenue_sum(e) == 120.0  # the line at the catalog's 80, the total at most 1.5 times that
    (logged,) = [r for r in e.records() if r.kind == "event" and r.data["type"] == "purchase"]
    assert logged.data["props"]["total"] == 120.0 and logged.data["props"]["lines"][0]["price"] == 80.0


def test_an_honest_claim_counts_as_sent(edge: Any) -> None:
    e = edge()
    v = e.visitor()
    v.view()
    e.clock.advance(60)
    v.purchase(80.0)
    e.learn()
    assert revenue_sum(e) == 80.0


def test_a_signed_order_webhook_counts_in_full(edge: Any) -> None:
    import json

    import httpx

    from slotwise.tag.orders import signature

    e = edge(order_secret="order-secret")
    body = json.dumps({"order_id": "big-1", "customer_id": "c-9", "total": 12_000.0,
                       "lines": [{"product": "p1", "qty": 1, "price": 12_000.0}]}).encode()
    r = httpx.post(e.url + "/_sw/orders", content=body, headers={"x-slotwise-signature": signature("order-secret", body)})
    assert r.status_code == 200, r.text
    (logged,) = [r for r in e.records() if r.kind == "event" and r.data["type"] == "purchase"]
    assert logged.data["props"]["total"] == 12_000.0 and logged.data["source"] == "webhook"
