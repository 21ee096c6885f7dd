"""The events, sign-up, decide and admin endpoints over a real SQLite store."""

from __future__ import annotations

import json
from typing import Any

import pytest

from slotwise.profile import hash_email
from slotwise.tag.recorder import browser_key
from slotwise.tag.testing import ADMIN_TOKEN, event, sync


def post(client: Any, events: list[dict[str, Any]], **kw: Any) -> Any:
    return client.post("/_sw/events", content=json.dumps({"events": events}), **kw)


def visitor_of(client: Any) -> str:
    return client.cookies.get("sw_vid").split(".")[0]


# -- validation ------------------------------------------------------------------------


def test_malformed_json_is_400(client: Any) -> None:
    r = client.post("/_sw/events", content=b"{not json")
    assert r.status_code == 400 and "malformed JSON" in r.json()["error"]
    assert client.post("/_sw/events", content=b"\xff\xfe").status_code == 400
    assert client.post("/_sw/events", content=b"[1, 2]").status_code == 400
    assert client.post("/_sw/events", content=b'{"events": 3}').status_code == 400


def test_wrong_types_are_rejected_per_event_and_neighbours_kept(client: Any, store: Any) -> None:
    good = event("add_to_cart", {"product": "p1", "size": "42", "qty": 2, "price": 10})
    bad = event("add_to_cart", {"product": "p2", "qty": "many"})
    unknown = event("teleport", {})
    r = post(client, [good, bad, unknown, 7])
    assert r.status_code == 207
    body = r.json()
    assert body["stored"] == 1
    rejected = {(x["index"], x["field"]) for x in body["rejected"]}
    assert (1, "props.qty") in rejected
    assert (2, "type") in rejected and "unknown event type 'teleport'" in body["rejected"][1]["reason"]
    assert any(x["index"] == 3 for x in body["rejected"])
    profile = sync(store.get_profile(visitor_of(client)))
    assert [line["product"] for line in profile.cart] == ["p1"]


def test_a_purchases_currency_is_read_as_a_carts(make_client: Any) -> None:
    """``£`` is GBP (what revenue converts by, what the mail payload names); a currency nobody can read is
    refused with the field, the value and what is taken, the batch's other events kept."""
    seen: list[Any] = []

    async def on_events(visitor: str, events: Any) -> None:
        seen.extend(events)

    client = make_client(on_events=on_events)
    r = post(client, [event("purchase", {"order_id": "o1", "lines": [{"product": "p1", "price": 85}], "currency": "£"}),
                      event("purchase", {"order_id": "o2", "lines": [{"product": "p2"}], "currency": "Pounds"}),
                      event("purchase", {"order_id": "o3", "lines": [{"product": "p3"}], "currency": "eur"})])
    assert r.status_code == 207
    (rejected,) = r.json()["rejected"]
    assert (rejected["index"], rejected["field"]) == (1, "props.currency")
    assert "not a currency: 'Pounds' (a three-letter code like EUR, or its symbol)" in rejected["reason"]
    assert [(e.props.order_id, e.props.currency) for e in seen] == [("o1", "GBP"), ("o3", "EUR")]


def test_all_bad_is_422(client: Any) -> None:
    r = post(client, [event("page_view", {"url": 5}), {"type": "click", "event_id": "short"}])
    assert r.status_code == 422
    fields = [x["field"] for x in r.json()["rejected"]]
    assert "props.url" in fields and "event_id" in fields


def test_oversized_batches_are_413(client: Any) -> None:
    r = post(client, [event("page_view") for _ in range(101)])
    assert r.status_code == 413 and "at most 100" in r.json()["error"]
    big = event("page_view", {"title": "x" * 200, "url": "u" * 2000})
    r = post(client, [big] * 40)  # over 64 KB
    assert r.status_code == 413


def test_duplicate_event_ids_counted_once(client: Any, store: Any) -> None:
    batch = [
        event("add_to_cart", {"product": "p1", "size": "42", "qty": 1, "price": 10}),
        event("purchase", {"order_id": "o1", "lines": [{"product": "p9", "category": "shoes", "size": "42", "price": 5, "quantity": 2}]}),
    ]
    first = post(client, batch).json()
    assert first["stored"] == 2 and first["duplicates"] == 0
    again = post(client, batch + [batch[0]]).json()  # a retried batch, with a repeat inside
    assert again["stored"] == 0 and again["duplicates"] == 2
    profile = sync(store.get_profile(visitor_of(client)))
    assert len(profile.purchases) == 1 and profile.purchases[0]["qty"] == 2
    assert profile.cart == []  # the purchase emptied it; the retried add did not come back
    log = sync(store.read_log(0))
    assert sorted(r.key for r in log) == sorted(browser_key(visitor_of(client), e["event_id"]) for e in batch)


def test_forged_cookie_gets_a_new_visitor(client: Any, cookies: Any) -> None:
    forged = cookies.sign("AAAAAAAAAAAAAAAAAAAAAA")[:-3] + "xyz"
    for value in (forged, "garbage", "a." * 200, "\u00e9\u00e9"):
        client.cookies.clear()
        r = client.post("/_sw/events", content=json.dumps({"events": [event("page_view")]}),
                        headers={"cookie": f"sw_vid={value}".encode("utf-8")})
        assert r.status_code == 200
        new = r.headers["set-cookie"]
        assert new.startswith("sw_vid=") and "HttpOnly" in new and "SameSite=Lax" in new
        assert cookies.verify(new.split(";")[0].split("=", 1)[1])


def test_a_valid_cookie_is_kept(client: Any) -> None:
    post(client, [event("page_view")])
    vid = visitor_of(client)
    r = post(client, [event("page_view")])
    assert "set-cookie" not in r.headers and visitor_of(client) == vid


def test_rate_limit_answers_429_with_retry_after(make_client: Any, clock: Any) -> None:
    client = make_client(rate=1.0, burst=5.0, now=clock)
    assert post(client, [event("page_view")]).status_code == 200  # no cookie yet: limited per address
    assert post(client, [event("page_view") for _ in range(3)]).status_code == 200
    assert post(client, [event("page_view") for _ in range(2)]).status_code == 200
    r = post(client, [event("page_view") for _ in range(3)])
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    clock.t += 3
    assert post(client, [event("page_view") for _ in range(3)]).status_code == 200


# -- the golden record -------------------------------------------------------------------


def test_events_update_the_profile(client: Any, store: Any) -> None:
    post(client, [
        event("page_view", {"page": "product", "category": "shoes", "product": "p1"}),
        event("add_to_cart", {"product": "p1", "category": "shoes", "size": "42", "qty": 2, "price": 80}),
        event("add_to_cart", {"product": "p2", "qty": 1, "price": 5}),
        event("remove_from_cart", {"product": "p2"}),
        event("popup_shown", {"slot": "exit", "decision_id": "d1"}),
        event("consent", {"granted": True}),
    ])
    p = sync(store.get_profile(visitor_of(client)))
    assert p.categories["shoes"]["count"] == 1 and "p1" in p.products
    assert [{k: v for k, v in line.items() if k != "added"} for line in p.cart] == [
        {"product": "p1", "category": "shoes", "size": "42", "qty": 2, "price": 80.0}]
    assert p.cart[0]["added"] > 0  # the first add's time (the cart that waits reads it)
    assert p.popups["exit"]["shown"] == 1 and p.consent == "granted" and p.visits == 1


def test_identify_attaches_new_aliases_but_never_merges_into_someone_else(make_client: Any, store: Any) -> None:
    laptop, phone = make_client(), make_client()
    post(laptop, [event("page_view", {"category": "shoes"}), event("identify", {"customerId": "c42", "email": "Ann@Example.com"})])
    one = sync(store.get_profile(visitor_of(laptop)))
    assert one.customer_id == "c42" and one.email_hash == hash_email("ann@example.com")
    assert sync(store.resolve("customer:c42")) == one.id  # new aliases attach to the visitor
    post(phone, [event("page_view", {"category": "hats"})])
    phone_id = visitor_of(phone)
    post(phone, [event("identify", {"email": "ann@example.com "})])  # typing Ann's address proves nothing
    two = sync(store.get_profile(phone_id))
    assert two.id != one.id and set(two.categories) == {"hats"}
    assert set(sync(store.get_profile(visitor_of(laptop))).categories) == {"shoes"}
    assert sync(store.resolve(f"email:{hash_email('ann@example.com')}")) == one.id
    # a trusted link (the store's page named the customer: the proxy) beats the laptop's mere claim:
    # the claimant loses the alias, and nothing of the phone's reaches it
    linked = sync(store.link_identity(phone_id, "customer:c42", 1.0, merge=True))
    assert linked.id == phone_id and set(linked.categories) == {"hats"}
    assert sync(store.resolve("customer:c42")) == phone_id
    laptop_now = sync(store.get_profile(visitor_of(laptop)))
    assert laptop_now.customer_id is None and set(laptop_now.categories) == {"shoes"}
    # trusted on both devices: they merge into one person
    merged = sync(store.link_identity(visitor_of(laptop), "customer:c42", 2.0, merge=True))
    assert merged.id == phone_id and set(merged.categories) == {"shoes", "hats"}


def test_on_events_gets_only_new_events(make_client: Any) -> None:
    seen: list[tuple[str, list[str]]] = []

    async def on_events(visitor: str, events: Any) -> None:
        seen.append((visitor, [e.event_id for e in events]))

    client = make_client(on_events=on_events)
    batch = [event("exposure", {"decision_id": "d1", "slot": "s"}), event("click", {"decision_id": "d1"})]
    post(client, batch)
    post(client, batch)
    assert seen == [(visitor_of(client), [e["event_id"] for e in batch])]


def test_store_failure_is_503_not_2xx(client: Any, store: Any, monkeypatch: Any) -> None:
    async def broken(records: Any) -> list[bool]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "append", broken)
    r = post(client, [event("page_view")])
    assert r.status_code == 503 and r.headers["retry-after"]


# -- privacy -------------------------------------------------------------------------------


def test_gpc_acknowledges_but_stores_nothing(client: Any, store: Any) -> None:
    r = post(client, [event("page_view", {"category": "shoes"}), event("identify", {"email": "a@b.co"})],
             headers={"sec-gpc": "1"})
    assert r.status_code == 200 and r.json()["dropped"] == 2 and r.json()["stored"] == 0
    assert "set-cookie" not in r.headers
    assert sync(store.read_log(0)) == []


def test_consent_required_stores_nothing_until_granted(make_client: Any, store: Any) -> None:
    mode = {"value": "required"}
    client = make_client(consent_mode=lambda: mode["value"])
    r = post(client, [event("page_view", {"category": "shoes"}), event("consent", {"granted": False})])
    assert r.json()["dropped"] == 2 and "set-cookie" not in r.headers
    assert sync(store.read_log(0)) == []
    r = post(client, [event("page_view", {"category": "hats"}), event("consent", {"granted": True}),
                      event("page_view", {"category": "socks"})])
    assert r.json() | {"rejected": []} == {"received": 3, "stored": 2, "duplicates": 0, "dropped": 1, "rejected": []}
    p = sync(store.get_profile(visitor_of(client)))
    assert p.consent == "granted" and set(p.categories) == {"socks"}
    post(client, [event("consent", {"granted": False}), event("page_view", {"category": "bags"})])
    p = sync(store.get_profile(visitor_of(client)))
    assert p.consent == "denied" and "bags" not in p.categories


def test_decide_respects_gpc_and_consent(make_client: Any) -> None:
    calls: list[tuple[str, str]] = []

    async def decide(request: Any, visitor: str, url: str, extract: Any = None) -> dict[str, Any]:
        calls.append((visitor, url))
        return {"decisions": [{"slot": "s", "selector": "main", "action": "append", "html": "<p>hi</p>",
                               "decision_id": "d1"}], "complete": True}

    client = make_client(decide=decide)
    r = client.get("/_sw/decide", params={"url": "http://shop.test/p/1"})
    assert r.status_code == 200 and r.json()["decisions"][0]["decision_id"] == "d1"
    assert r.json()["cookie"] is False and r.headers["x-slotwise-visitor"] == "new"
    assert r.headers["cache-control"] == "private, no-store" and "set-cookie" in r.headers
    assert calls == [(visitor_of(client), "http://shop.test/p/1")]
    again = client.get("/_sw/decide", params={"url": "x"})
    assert again.json()["cookie"] is True and again.headers["x-slotwise-visitor"] == "cookie"
    assert client.get("/_sw/decide", params={"url": "x"}, headers={"sec-gpc": "1"}).json()["decisions"] == []
    required = make_client(decide=decide, consent_mode=lambda: "required")
    assert required.get("/_sw/decide", params={"url": "x"}).json()["decisions"] == []


def test_decide_fails_open(make_client: Any) -> None:
    async def decide(request: Any, visitor: str, url: str, extract: Any = None) -> dict[str, Any]:
        raise RuntimeError("boom")

    assert make_client(decide=decide).get("/_sw/decide?url=x").json()["decisions"] == []
    assert make_client().get("/_sw/decide?url=x").json()["decisions"] == []


def _nonce(ms: float, rest: str = "a1b2c3d4e5f6a7b8c9d0") -> str:
    """A nonce as the tag makes it: milliseconds in base 36, a dot, random letters."""
    digits, n = "", int(ms)
    while n:
        n, r = divmod(n, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + digits
    return f"{digits}.{rest}"


def test_racing_first_requests_with_one_nonce_are_one_visitor(make_client: Any, store: Any) -> None:
    """A first visit's /decide and /events race without a cookie; the tag's nonce makes them one id."""
    import time

    async def decide(request: Any, visitor: str, url: str, extract: Any = None) -> dict[str, Any]:
        return {"decisions": [], "complete": True}

    nonce = _nonce(time.time() * 1000)
    first, second = make_client(decide=decide), make_client()  # two requests that left before either got a cookie
    decided = first.get("/_sw/decide", params={"url": "http://shop.test/", "n": nonce})
    posted = second.post("/_sw/events", content=json.dumps({"events": [event("page_view", {"category": "bags"})],
                                                            "n": nonce}))
    assert decided.headers["x-slotwise-visitor"] == "nonce" and posted.headers["x-slotwise-visitor"] == "nonce"
    assert visitor_of(first) == visitor_of(second)
    assert "bags" in sync(store.get_profile(visitor_of(first))).categories
    late = make_client(decide=decide)
    late.get("/_sw/decide", params={"url": "x", "n": _nonce((time.time() - 3 * 86400) * 1000)})
    assert visitor_of(late) != visitor_of(first)  # a nonce days old stands for nobody: a fresh id


# -- sign-up and coupons ---------------------------------------------------------------------


def test_signup_claims_one_pool_code_per_person(make_client: Any, store: Any) -> None:
    sync(store.add_coupons(["POOL-1", "POOL-2"], 0))
    ann, bob, ann2 = make_client(), make_client(), make_client()
    a = ann.post("/_sw/signup", json={"email": "ann@example.com", "decision_id": "d1"})
    assert a.status_code == 200 and a.json() == {"coupon": "POOL-1"}
    assert ann.post("/_sw/signup", json={"email": "ann@example.com"}).json() == {"coupon": "POOL-1"}
    assert ann.post("/_sw/signup", json={"email": "ann.other@example.com"}).json() == {"coupon": "POOL-1"}
    # someone else typing Ann's address never sees Ann's code (nor becomes Ann): a code of their own
    assert ann2.post("/_sw/signup", json={"email": " ANN@example.com"}).json() == {"coupon": "POOL-2"}
    assert bob.post("/_sw/signup", json={"email": "bob@example.com"}).json()["coupon"].startswith("SW-")
    p = sync(store.get_profile(visitor_of(ann)))
    assert p.subscribed and p.coupon == "POOL-1" and p.email_hash == hash_email("ann@example.com")
    generated = make_client().post("/_sw/signup", json={"email": "cy@example.com"}).json()["coupon"]
    assert generated.startswith("SW-")


def test_generated_codes_are_unique_and_verifiable(make_client: Any, settings: Any) -> None:
    from slotwise.tag.coupons import CouponSigner

    client = make_client(burst=1000)
    codes = set()
    for i in range(30):
        client.cookies.clear()
        codes.add(client.post("/_sw/signup", json={"email": f"p{i}@example.com"}).json()["coupon"])
    assert client.post("/_sw/signup", json={"email": "p1@example.com"}).json()["coupon"] in codes
    signer = CouponSigner(settings.signing_key())
    assert len(codes) == 30 and all(signer.verify(c) for c in codes)
    assert not signer.verify("SW-AAAAAAAAAA-AAAAAA") and not CouponSigner(b"other").verify(next(iter(codes)))


@pytest.mark.parametrize("body", [{"email": "nope"}, {"email": 5}, {}, {"email": "a@b.co", "decision_id": 3}, [1]])
def test_signup_validates(client: Any, body: Any) -> None:
    r = client.post("/_sw/signup", json=body)
    assert r.status_code == 400 and r.json()["error"]


def test_signup_under_gpc_gives_a_coupon_but_writes_no_profile(client: Any, store: Any) -> None:
    r = client.post("/_sw/signup", json={"email": "gpc@example.com"}, headers={"sec-gpc": "1"})
    assert r.status_code == 200 and r.json()["coupon"] and "set-cookie" not in r.headers
    assert sync(store.get_profile(f"email:{hash_email('gpc@example.com')}")) is None


# -- admin API: export and erase ----------------------------------------------------------------


def test_admin_api_exports_and_erases(client: Any, store: Any) -> None:
    post(client, [event("page_view", {"category": "shoes"}), event("identify", {"customerId": "c7", "email": "e@x.io"})])
    client.post("/_sw/signup", json={"email": "e@x.io"})
    vid = visitor_of(client)
    sync(store.append([__import__("slotwise.store.base", fromlist=["LogRecord"]).LogRecord(
        kind="decision", key="dec-1", visitor=vid, ts=1.0, data={"slot": "s"})]))
    url = f"/_sw/admin/api/visitors/{vid}"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"authorization": "Bearer wrong"}).status_code == 401
    auth = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    data = client.get(url, headers=auth).json()
    assert data["profile"]["customer_id"] == "c7" and data["coupons"][0]["code"]
    assert {r["kind"] for r in data["log"]} == {"event", "decision"}
    assert client.get("/_sw/admin/api/visitors/e@x.io", headers=auth).json()["profile"]["id"] == data["profile"]["id"]
    assert client.delete("/_sw/admin/api/visitors/customer:c7", headers=auth).json()["erased"] is True
    assert client.get(url, headers=auth).status_code == 404
    assert client.delete(url, headers=auth).json()["erased"] is False  # idempotent
    # nothing of the person is left in the log: one record tells the learner to drop their decision (by id)
    assert [(r.kind, r.visitor, r.data) for r in sync(store.read_log(0))] == [("forget", "", {"decisions": ["dec-1"]})]
    # the erased person's code is never handed out again
    assert client.post("/_sw/signup", json={"email": "e@x.io"}).json()["coupon"] != data["coupons"][0]["code"]


def test_admin_api_is_disabled_without_a_token(make_client: Any, settings: Any, store: Any, cookies: Any) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from slotwise.tag.api import TagAPI
    from slotwise.tag.testing import asgi_client

    api = TagAPI(settings.replace(admin_token=""), store, cookies, webhook="")
    c = asgi_client(Starlette(routes=[Mount("/_sw", routes=api.routes())]))
    try:
        assert c.get("/_sw/admin/api/visitors/x", headers={"authorization": "Bearer "}).status_code == 404
    finally:
        c.close()


def test_an_account_sign_up_is_not_a_newsletter_subscription(client: Any, store: Any) -> None:
    """Registering with the store subscribes to nothing: the coupon popup still offers the newsletter."""
    post(client, [event("signup", {"email": "reg@example.com", "source": "signup"})])
    registered = sync(store.get_profile(visitor_of(client)))
    assert registered.email_hash == hash_email("reg@example.com") and not registered.subscribed
    post(client, [event("signup", {"email": "reg@example.com", "source": "newsletter"})])
    assert sync(store.get_profile(visitor_of(client))).subscribed
