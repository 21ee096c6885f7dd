"""Hostile JSON is a 4xx at the door of every JSON endpoint under /_sw/, never a 500.

Nesting 5,000 deep used to raise RecursionError (500); ``"ts": Infinity`` was
stored and then broke that visitor's export (a 500 from the admin API).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from slotwise.proxy.config import Settings
from slotwise.tag.orders import signature
from slotwise.tag.testing import ADMIN_TOKEN, SECRET, event

ORDER_SECRET = "order-secret-for-tests"
DEEP = "[" * 5000 + "]" * 5000
FAIRLY_DEEP = "[" * 200 + "]" * 200  # parses in Python, still far deeper than any real body


def body_with(endpoint: str, value: str) -> str:
    """A body ``endpoint`` would accept, with the JSON text ``value`` as one of its values."""
    return {
        "events": '{"events": [{"type": "custom", "event_id": "bad000001", "props": {"name": "x", "v": %s}}]}',
        "signup": '{"email": "a@example.com", "x": %s}',
        "decide": '{"url": "/", "extract": {"x": %s}}',
        "orders": '{"order_id": "o1", "customer_id": "c1", "lines": [{"product": "p1"}], "x": %s}',
    }[endpoint] % value


def bodies(nested: str) -> dict[str, str]:
    """The sign-up body is at most 4 KB: 2,000 deep there (still past Python's recursion limit)."""
    signup = nested[len(nested) // 2 - 2000:len(nested) // 2 + 2000]
    return {endpoint: body_with(endpoint, signup if endpoint == "signup" else nested)
            for endpoint in ("events", "signup", "decide", "orders")}


def send(client: Any, endpoint: str, body: str) -> Any:
    headers = {"content-type": "application/json"}
    if endpoint == "orders":
        headers["x-slotwise-signature"] = signature(ORDER_SECRET, body.encode())
    return client.post(f"/_sw/{endpoint}", content=body.encode(), headers=headers)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(secret=SECRET, data=str(tmp_path), admin_token=ADMIN_TOKEN, order_secret=ORDER_SECRET)


@pytest.fixture
def client(make_client: Callable[..., Any]) -> Any:
    async def decide(request: Any, visitor: str, url: str, extract: Any = None) -> dict[str, Any]:
        return {"decisions": [], "complete": True}

    return make_client(decide=decide)


@pytest.mark.parametrize("endpoint", ["events", "signup", "decide", "orders"])
@pytest.mark.parametrize("nested", [DEEP, FAIRLY_DEEP], ids=["5000-deep", "200-deep"])
def test_deep_nesting_is_a_400_naming_the_problem(client: Any, endpoint: str, nested: str) -> None:
    response = send(client, endpoint, bodies(nested)[endpoint])
    assert response.status_code == (422 if endpoint == "orders" else 400), (response.status_code, response.text[:300])
    assert "nested too deeply" in response.text


@pytest.mark.parametrize("endpoint", ["events", "signup", "decide", "orders"])
@pytest.mark.parametrize("number", ["Infinity", "-Infinity", "NaN", "1e999"])
def test_non_finite_numbers_are_a_400(client: Any, endpoint: str, number: str) -> None:
    response = send(client, endpoint, body_with(endpoint, number))
    assert response.status_code == (422 if endpoint == "orders" else 400), (response.status_code, response.text[:300])
    assert "numbers must be finite" in response.text


def test_an_infinite_timestamp_never_reaches_the_export(client: Any) -> None:
    ok = client.post("/_sw/events", content=json.dumps({"events": [event("page_view")]}))
    assert ok.status_code == 200
    bad = '{"events": [{"type": "page_view", "event_id": "inf000002", "ts": Infinity, "props": {}}]}'
    assert client.post("/_sw/events", content=bad).status_code == 400
    visitor = client.cookies.get("sw_vid").split(".")[0]
    export = client.get(f"/_sw/admin/api/visitors/{visitor}", headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
    assert export.status_code == 200 and len(export.json()["log"]) == 1


@pytest.mark.parametrize("endpoint", ["events", "signup", "decide", "orders"])
@pytest.mark.parametrize("where", ["value", "key"])
def test_a_lone_surrogate_is_a_400(client: Any, endpoint: str, where: str) -> None:
    text = '"\\ud800x"'  # a JSON escape of half a UTF-16 pair: no UTF-8 (nor Redis's cjson) can carry it
    value = f'{{{text}: 1}}' if where == "key" else text
    response = send(client, endpoint, body_with(endpoint, value))
    assert response.status_code == (422 if endpoint == "orders" else 400), (response.status_code, response.text[:300])
    assert "lone surrogate" in response.text


def test_a_surrogate_pair_and_other_text_pass(client: Any) -> None:
    body = '{"events": [{"type": "custom", "event_id": "sur000002", "props": {"name": "\\ud83d\\ude00 caf\\u00e9 \\u2028"}}]}'
    assert client.post("/_sw/events", content=body.encode(), headers={"content-type": "application/json"}).status_code == 200
