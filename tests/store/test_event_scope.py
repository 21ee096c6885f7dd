"""Event ids are de-duplicated per visitor: nobody can cancel another visitor's events.

A purchase's event id is often derived from the order id (``purchase-1001``);
when ids were unique across the whole log, whoever sent that id first made
the real buyer's purchase a "duplicate". Runs on SQLite and on a real Redis,
through the real tag API over HTTP (ASGI).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.identity import VisitorCookies
from slotwise.tag.api import TagAPI
from slotwise.tag.testing import ADMIN_TOKEN, SECRET

pytestmark = pytest.mark.anyio


@pytest.fixture
async def app(store: Any, tmp_path: Path) -> Starlette:
    settings = Settings(secret=SECRET, data=str(tmp_path), admin_token=ADMIN_TOKEN)
    api = TagAPI(settings, store, VisitorCookies(SECRET.encode()), webhook="")
    return Starlette(routes=[Mount("/_sw", routes=api.routes())])


@pytest.fixture
async def clients(app: Starlette) -> AsyncIterator[list[httpx.AsyncClient]]:
    made = [httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shop.test") for _ in range(2)]
    yield made
    for c in made:
        await c.aclose()


def purchase(event_id: str, product: str) -> dict[str, Any]:
    return {"type": "purchase", "event_id": event_id, "ts": 1_700_000_000.0,
            "props": {"order_id": "1001", "lines": [{"product": product, "qty": 1, "price": 20}]}}


async def send(client: httpx.AsyncClient, events: list[dict[str, Any]]) -> dict[str, Any]:
    response = await client.post("/_sw/events", content=json.dumps({"events": events}))
    assert response.status_code == 200, response.text
    return response.json()


async def test_another_visitor_cannot_squat_an_event_id(clients: list[httpx.AsyncClient], store: Any) -> None:
    squatter, buyer = clients
    await send(squatter, [{"type": "page_view", "event_id": "pv-000001", "props": {}}])
    assert (await send(squatter, [purchase("purchase-1001", "fake")]))["stored"] == 1

    await send(buyer, [{"type": "page_view", "event_id": "pv-000002", "props": {}}])
    answer = await send(buyer, [purchase("purchase-1001", "real")])
    assert answer["stored"] == 1 and answer["duplicates"] == 0
    buyer_id = buyer.cookies.get("sw_vid").split(".")[0]
    profile = await store.get_profile(buyer_id)
    assert [p["product"] for p in profile.purchases] == ["real"]

    # a retry by the same visitor is still a duplicate
    again = await send(buyer, [purchase("purchase-1001", "real")])
    assert again["stored"] == 0 and again["duplicates"] == 1
    log = [r for r in await store.read_log(0) if r.data.get("type") == "purchase"]
    assert len(log) == 2 and {r.visitor for r in log} == {buyer_id, squatter.cookies.get("sw_vid").split(".")[0]}


async def test_a_popup_sign_up_is_recorded_for_each_visitor(clients: list[httpx.AsyncClient], store: Any) -> None:
    """Whoever signs up with an address first does not cancel the next visitor's sign-up (the popup's reward)."""
    first, second = clients
    for client in (first, second):
        r = await client.post("/_sw/signup", json={"email": "shared@example.com", "decision_id": "d-popup"})
        assert r.status_code == 200, r.text
    signups = [r for r in await store.read_log(0) if r.data.get("type") == "signup"]
    assert {r.visitor for r in signups} == {c.cookies.get("sw_vid").split(".")[0] for c in clients}
