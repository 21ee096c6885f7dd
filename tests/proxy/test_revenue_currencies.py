"""A store selling in EUR and GBP: every order's value reaches the rewards and the report in the rules'
``revenue.currency``, at the rules' rate; an order in a currency with no rate is an order worth no amount.

The real proxy (uvicorn thread, SQLite) in front of a tiny origin; each visitor's page and purchase go over
HTTP as the tag sends them; ``slotwise report`` reads the same store.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from sw_servers import BROWSER

from slotwise.cli import main
from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer

RULES = """
holdout: 0
revenue: {currency: EUR, rates: {GBP: 1.2}}
slots:
  - id: hero
    pages: "/"
    selector: h1
    action: replace
    goal: revenue
    policy: uniform
    variants:
      - {id: calm, html: "<h1>Calm</h1>"}
      - {id: loud, html: "<h1>Loud</h1>"}
  - id: basket
    pages: "/cart"
    selector: h1
    action: replace
    html: "<h1 id=value>{{ visitor.cart_value }}</h1>"
"""


@pytest.fixture
def server(asgi_server: Any, tmp_path: Path) -> Any:
    page = HTMLResponse("<html><body><h1>Shop</h1></body></html>")
    origin = asgi_server(Starlette(routes=[Route("/", lambda r: page), Route("/cart", lambda r: page)]))
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    settings = Settings(upstream=origin.url, rules=str(rules), data=str(tmp_path / "data"),
                        personalize_budget_ms=5000.0)  # a loaded CI machine must not fail the slot open
    proxy = asgi_server(create_app(settings, SlotwisePersonalizer(settings)))
    proxy.data = tmp_path / "data"
    return proxy


def buys(server: Any, total: float, currency: str, *, retried: bool = False) -> str:
    """A new visitor sees the slot, then orders ``total`` in ``currency`` (as the tag posts it; ``retried``: the
    tag sends the batch again, a duplicate); their decision."""
    with closing(httpx.Client(base_url=server.url, headers=BROWSER, timeout=20)) as client:
        page = client.get("/").text
        decision = re.search(r'data-sw-decision="([0-9a-f]+)"', page)
        assert decision, page
        order = {"order_id": uuid.uuid4().hex, "total": total, "currency": currency,
                 "lines": [{"product": "p1", "qty": 1, "price": total}]}
        batch = {"events": [{"event_id": uuid.uuid4().hex, "type": "purchase", "props": order}]}
        answer = client.post("/_sw/events", json=batch)
        assert answer.status_code == 200 and answer.json()["stored"] == 1, answer.text
        if retried:
            assert client.post("/_sw/events", json=batch).json()["duplicates"] == 1
        return decision.group(1)


def metric(server: Any, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} (\S+)$", httpx.get(server.url + "/_sw/metrics", timeout=20).text, re.M)
    return float(found.group(1)) if found else 0.0


def test_orders_in_two_currencies_are_rewarded_and_reported_in_the_revenue_currency(
        server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    before = metric(server, "slotwise_orders_unconverted_total")
    caplog.set_level(logging.WARNING, logger="slotwise.tag")
    pounds = buys(server, 85.0, "GBP")
    euros = buys(server, 100.0, "EUR")
    yen = [buys(server, 5000.0, "JPY", retried=True), buys(server, 7000.0, "JPY")]  # no rate: orders, no amount

    export = tmp_path / "decisions.jsonl"
    assert main(["report", "--data", str(server.data), "--format", "json", "--export", str(export)]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {row["decision_id"]: row for row in map(json.loads, export.read_text().splitlines())}
    assert rows[pounds]["reward"] == pytest.approx(102.0)  # £85 at 1.2, not 85
    assert rows[euros]["reward"] == pytest.approx(100.0)
    assert [rows[d]["reward"] for d in yen] == [None, None]  # never a wrong amount (not 5000, not 0)
    [hero] = report
    assert hero["goal"] == "revenue" and hero["currencies"] == ["EUR"]
    arms = hero["arms"]
    assert sum(a["closed"] for a in arms) == 2  # the yen orders' decisions are not measured
    assert sum((a["mean"] or 0.0) * a["closed"] for a in arms) == pytest.approx(202.0)

    assert main(["report", "--data", str(server.data)]) == 0
    assert "Slot hero - goal: revenue, in EUR (order value per decision)" in capsys.readouterr().out

    assert metric(server, "slotwise_orders_unconverted_total") == before + 2  # the retried one counted once
    said = [r.getMessage() for r in caplog.records if "JPY" in r.getMessage()]
    assert len(said) == 1 and "add no revenue" in said[0] and "EUR" in said[0]  # once, not per order


def test_the_cart_value_adds_its_lines_in_the_revenue_currency(server: Any) -> None:
    with closing(httpx.Client(base_url=server.url, headers=BROWSER, timeout=20)) as client:
        client.get("/")
        lines = [{"product": "scarf", "price": 85.0, "currency": "GBP"}, {"product": "hat", "price": 20.0, "qty": 2},
                 {"product": "kimono", "price": 9000.0, "currency": "JPY"}]  # no rate: adds nothing
        answer = client.post("/_sw/events", json={"events": [
            {"event_id": uuid.uuid4().hex, "type": "add_to_cart", "props": line} for line in lines]})
        assert answer.status_code == 200 and answer.json()["stored"] == 3, answer.text
        assert re.search(r'<h1 id=value[^>]*>142.0</h1>', client.get("/cart").text)  # 85 × 1.2 + 2 × 20 (EUR)
