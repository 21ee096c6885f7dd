"""The signed order webhook is trusted: it takes an address a browser only claimed, over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from slotwise.profile import hash_email
from slotwise.proxy.config import Settings
from slotwise.tag.orders import signature
from slotwise.tag.testing import ADMIN_TOKEN, SECRET, event, sync

ORDER_SECRET = "order-secret-for-tests"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(secret=SECRET, data=str(tmp_path), admin_token=ADMIN_TOKEN, order_secret=ORDER_SECRET)


def test_an_order_for_a_claimed_address_never_reaches_the_claimant(make_client: Callable[..., Any], store: Any) -> None:
    attacker = make_client()
    claim = event("identify", {"email": "real.buyer@example.com"})
    assert attacker.post("/_sw/events", content=json.dumps({"events": [event("page_view"), claim]})).status_code == 200
    claimant = attacker.cookies.get("sw_vid").split(".")[0]
    assert sync(store.resolve(f"email:{hash_email('real.buyer@example.com')}")) == claimant

    body = json.dumps({"order_id": "W-1", "customer_id": "cust-77", "email": "real.buyer@example.com",
                       "lines": [{"product": "coat-1", "qty": 1, "price": 240}]}).encode()
    r = attacker.post("/_sw/orders", content=body, headers={"x-slotwise-signature": signature(ORDER_SECRET, body)})
    assert r.status_code == 200 and r.json()["stored"] is True

    buyer = sync(store.get_profile("customer:cust-77"))
    assert [p["order_id"] for p in buyer.purchases] == ["W-1"]
    assert sync(store.resolve(f"email:{hash_email('real.buyer@example.com')}")) == buyer.id != claimant
    mine = sync(store.get_profile(claimant))
    assert mine.purchases == [] and mine.email_hash is None
    export = attacker.get(f"/_sw/admin/api/visitors/{claimant}", headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
    assert export.status_code == 200 and "W-1" not in export.text and "coat-1" not in export.text


def test_an_orders_coupon_reaches_the_learners_record(make_client: Callable[..., Any], store: Any) -> None:
    from slotwise.proxy.operations.learning import learner_record

    client = make_client()
    for order_id, extra in (("W-2", {"coupon": "SW-AAA", "discount": 12.5}), ("W-3", {"coupon": ""}), ("W-4", {})):
        body = json.dumps({"order_id": order_id, "customer_id": "cust-9", "total": 125.0,
                           "lines": [{"product": "coat-1", "qty": 1, "price": 125}], **extra}).encode()
        r = client.post("/_sw/orders", content=body, headers={"x-slotwise-signature": signature(ORDER_SECRET, body)})
        assert r.status_code == 200 and r.json()["stored"] is True
    records = {r.data["props"]["order_id"]: learner_record(r) for r in sync(store.read_log(0))
               if r.kind == "event" and r.data.get("type") == "purchase"}
    assert records["W-2"]["redeemed"] is True and records["W-2"]["discount"] == 12.5
    assert records["W-3"]["redeemed"] is False and "discount" not in records["W-3"]
    assert "redeemed" not in records["W-4"]  # the store did not say: the offer's declared cost applies


def test_an_orders_currency_is_read_as_a_carts_and_one_naming_none_is_422(make_client: Callable[..., Any],
                                                                         store: Any) -> None:
    """``£`` is GBP in the log (what revenue converts by), as a cart line's; ``Pounds`` is refused with the
    field, the value and what is taken, and nothing is stored (a retry with a code stores it)."""
    client = make_client()

    def send(order_id: str, currency: str) -> Any:
        body = json.dumps({"order_id": order_id, "customer_id": "cust-5", "total": 85.0, "currency": currency,
                           "lines": [{"product": "coat-1", "qty": 1, "price": 85}]}).encode()
        return client.post("/_sw/orders", content=body, headers={"x-slotwise-signature": signature(ORDER_SECRET, body)})

    assert send("W-5", "£").status_code == 200
    r = send("W-6", "Pounds")
    assert r.status_code == 422
    assert r.json()["detail"] == [{"field": "currency", "reason": "Value error, not a currency: 'Pounds' "
                                                                "(a three-letter code like EUR, or its symbol)"}]  # capture.md
    currencies = {r.data["props"]["order_id"]: r.data["props"].get("currency") for r in sync(store.read_log(0))
                  if r.kind == "event" and r.data.get("type") == "purchase"}
    assert currencies == {"W-5": "GBP"}
    assert [p["order_id"] for p in sync(store.get_profile("customer:cust-5")).purchases] == ["W-5"]


def test_a_strangers_huge_unsigned_body_is_refused_without_being_read_whole(make_api: Callable[..., Any]) -> None:
    """Anyone may POST to the webhook: its body is read up to the limit, not held whole before the 413."""
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from slotwise.tag.orders import MAX_BODY

    app = Starlette(routes=[Mount("/_sw", routes=make_api().routes())])
    chunk, chunks = b"x" * 65536, 2000  # 128 MB offered, chunked (no Content-Length)
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": pulled < chunks}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    def scope(*extra: tuple[bytes, bytes]) -> dict[str, Any]:  # new each time: routing rewrites it
        return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
                "path": "/_sw/orders", "raw_path": b"/_sw/orders", "query_string": b"", "root_path": "",
                "headers": [(b"host", b"shop.example"), (b"content-type", b"application/json"), *extra],
                "client": ("203.0.113.9", 5000), "server": ("127.0.0.1", 80)}

    sync(app(scope(), receive, send))
    assert sent[0]["status"] == 413
    assert pulled * len(chunk) <= MAX_BODY + len(chunk), f"read {pulled} chunks of 64 KB before answering"

    pulled, sent[:] = 0, []
    sync(app(scope((b"content-length", str(chunks * len(chunk)).encode())), receive, send))
    assert sent[0]["status"] == 413 and pulled == 0


def test_a_person_known_from_a_purchases_import_is_mailed_and_erased_by_their_address(
        make_client: Callable[..., Any], store: Any, tmp_path: Path) -> None:
    """A purchases import names the buyer (customer id, address): the store's word, as a customers import is.
    Their profile holds both, by trust, so an order the webhook names by customer id alone goes to the mail
    service with their address (``person.email_hash``), and an erase by e-mail finds them and takes all of it
    (the profile, its aliases, the log, the queued message)."""
    import asyncio

    from slotwise.tag.admin import erase_person, export_person
    from slotwise.tag.imports import import_people_file

    pos = tmp_path / "pos.csv"
    pos.write_text("order_id,customer_id,email,ts,product,category,size,qty,price\n"
                   "S-1,cust-5,Ann@Example.com,2024-01-01,coat-1,coats,38,1,180\n")
    assert asyncio.run(import_people_file(store, pos, "purchases", 1_700_000_000.0)).loaded == 1
    ann = sync(store.get_profile("customer:cust-5"))
    assert (ann.customer_id, ann.email_hash) == ("cust-5", hash_email("ann@example.com"))
    assert ann.customer_trusted and ann.email_trusted

    client = make_client(webhook="http://127.0.0.1:9/unreachable", outbox_options={"base_delay": 30})
    body = json.dumps({"order_id": "W-5", "customer_id": "cust-5",
                       "lines": [{"product": "coat-2", "qty": 1, "price": 210}]}).encode()
    r = client.post("/_sw/orders", content=body, headers={"x-slotwise-signature": signature(ORDER_SECRET, body)})
    assert r.status_code == 200 and r.json()["stored"] is True
    held = sync(export_person(store, "ann@example.com"))
    assert held is not None and {p["order_id"] for p in held["profile"]["purchases"]} == {"S-1", "W-5"}
    (mail,) = [m["payload"] for m in held["outbox"] if m["payload"]["type"] == "purchase"]
    assert mail["person"]["email_hash"] == hash_email("ann@example.com") and mail["person"]["customer_id"] == "cust-5"

    assert sync(erase_person(store, "ann@example.com")) is True
    assert sync(export_person(store, "customer:cust-5")) is None and sync(export_person(store, "ann@example.com")) is None
    assert store.db.query("SELECT COUNT(*) FROM outbox")[0][0] == 0
    assert not [r for r in sync(store.read_log(0)) if r.kind == "event"]
