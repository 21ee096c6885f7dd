"""The follow-up e-mail's payload: valid against its JSON Schema, enough for a mail template, delivered signed."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import UndefinedError
from mail_helpers import RunningReceiver, mail_receiver, running_receiver, validate
from polling import wait_for

from slotwise.profile import Profile, add_to_cart, hash_email, record_purchase, record_view
from slotwise.rules.schema import RecommendSpec
from slotwise.rules.testing import rules_from_text
from slotwise.rules.signals import Signals
from slotwise.rules.stage import StageRules
from slotwise.tag.mail import SCHEMA, build_message, stage_changes
from slotwise.tag.testing import SECRET, sync

T0 = 1_700_000_000.0
PICKS = [
    {"id": "101", "name": "Cloud Runner", "url": "/p/101", "image": "/static/img/101.svg", "price": 119.0,
     "currency": "EUR", "category": "running-shoes", "in_stock": True, "sizes": ["42"]},
    {"id": "102", "name": "Trail Blazer", "url": "https://shop.example/p/102", "price": 99.5, "currency": "EUR"},
]


def decided_shopper() -> Profile:
    p = Profile.new("v1", T0)
    for i, product in enumerate(["101", "102", "103"]):
        record_view(p, T0 + i, category="running-shoes", product=product)
    record_view(p, T0 + 5, category="dog-toys")
    p.email_hash = hash_email("ann@example.com")
    p.subscribed = True
    p.coupon = "SW-ABC"
    return p


def test_a_signup_message_is_valid_and_has_what_the_mail_needs() -> None:
    m = build_message("signup", decided_shopper(), Signals(), PICKS, T0 + 10, message_id="signup-1",
                      email="ann@example.com", coupon="SW-ABC", decision_id="d1", public_url="https://shop.example")
    validate(m)
    assert m["schema"] == SCHEMA == "slotwise.mail/1"
    assert m["stage"] == {"running-shoes": "decision", "dog-toys": "awareness"}
    assert list(m["interests"]) == ["running-shoes", "dog-toys"]
    assert [p["id"] for p in m["picks"]] == ["101", "102"]
    assert m["picks"][0]["url"] == "https://shop.example/p/101"  # absolute: a mail has no page to be relative to
    assert m["picks"][0]["image"] == "https://shop.example/static/img/101.svg"
    assert "sizes" not in m["picks"][0] and "in_stock" not in m["picks"][0]
    assert m["person"]["email"] == m["email"] == "ann@example.com" and m["coupon"] == "SW-ABC"
    subject, html = mail_receiver.render(m)
    assert subject == "Your coupon SW-ABC is waiting"
    assert '<strong class="coupon">SW-ABC</strong>' in html
    assert "Still deciding on running-shoes?" in html and "More running-shoes for you" in html
    assert 'href="https://shop.example/p/101"' in html and "Cloud Runner" in html and "119.00 EUR" in html


def test_purchase_and_stage_change_messages_render() -> None:
    p = decided_shopper()
    add_to_cart(p, {"product": "101", "category": "running-shoes"})
    before = {"running-shoes": "decision", "dog-toys": "awareness"}
    record_purchase(p, "o-7", [{"product": "101", "category": "running-shoes", "size": "42", "ts": T0 + 20}], T0 + 20)
    p.last_seen = T0 + 20
    from slotwise.rules.stage import stages
    changes = stage_changes(before, stages(p))
    assert changes == [{"category": "running-shoes", "from": "decision", "to": "purchase"}]
    order = {"order_id": "o-7", "total": 119.0, "currency": "EUR", "channel": "online",
             "lines": [{"product": "101", "category": "running-shoes", "size": "42", "qty": 1, "price": 119.0}]}
    bought = build_message("purchase", p, Signals(), PICKS, T0 + 20, message_id="purchase-1", order=order,
                           changes=changes)
    moved = build_message("stage_change", p, Signals(), PICKS, T0 + 20, message_id="stage-1", changes=changes)
    for m in (bought, moved):
        validate(m)
        assert m["person"]["email_hash"] == hash_email("ann@example.com") and "email" not in m["person"]
    subject, html = mail_receiver.render(bought)
    assert subject == "Thank you for your order o-7" and "In 3 days we will ask how you like it." in html
    evaluation = stage_changes({"running-shoes": "purchase"}, {"running-shoes": "evaluation"})
    _, html = mail_receiver.render({**moved, "changes": evaluation})
    assert "How is your new running-shoes? Write a review." in html


@pytest.mark.parametrize("drop", ["picks", "coupon", "stage", "person"])
def test_a_message_missing_what_the_template_reads_fails_both_the_schema_and_the_template(drop: str) -> None:
    m = build_message("signup", decided_shopper(), Signals(), PICKS, T0, message_id="s", email="ann@example.com",
                      coupon="SW-ABC", decision_id=None)
    broken = copy.deepcopy(m)
    del broken[drop]
    with pytest.raises(jsonschema.ValidationError):
        validate(broken)
    with pytest.raises((UndefinedError, KeyError)):
        mail_receiver.render(broken)


def test_the_receiver_refuses_another_major_version() -> None:
    m = build_message("signup", decided_shopper(), Signals(), [], T0, message_id="s", email="a@example.com",
                      coupon="C", decision_id=None)
    with pytest.raises(ValueError, match="unsupported payload 'slotwise.mail/2'"):
        mail_receiver.render({**m, "schema": "slotwise.mail/2"})
    with pytest.raises(jsonschema.ValidationError):
        validate({**m, "schema": "slotwise.mail/2"})


steps = st.lists(st.tuples(st.sampled_from(["view", "cart", "buy", "wait"]), st.sampled_from(["tv", "dog", "cat"]),
                           st.sampled_from(["1", "2", "3"])), max_size=25)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps, st.sampled_from(["signup", "purchase", "stage_change"]), st.integers(0, 4))
def test_every_message_of_any_profile_is_valid_and_renders(path: list[tuple[str, str, str]], kind: str, picks: int) -> None:
    p = Profile.new("v", T0)
    now = T0
    for step, category, product in path:
        now += 60
        if step == "view":
            record_view(p, now, category=category, product=product)
        elif step == "cart":
            add_to_cart(p, {"product": product, "category": category})
        elif step == "buy":
            record_purchase(p, f"o{now}", [{"product": product, "category": category, "ts": now}], now)
        else:
            now += 20 * 86_400
            p.last_seen = now
    changes = [{"category": "tv", "from": "none", "to": "awareness"}]
    order = {"order_id": "o", "total": None, "currency": None, "channel": "store", "lines": [{"product": "1", "category": None, "size": None, "qty": 1, "price": None}]}
    m = build_message(kind, p, Signals(stages=StageRules(purchase_days=1)), PICKS[:picks], now, message_id="m",
                      email="x@example.com" if kind == "signup" else None, coupon=None, decision_id=None,
                      order=order if kind == "purchase" else None, changes=changes if kind != "signup" else ())
    validate(m)
    json.dumps(m)  # plain JSON
    mail_receiver.render(m)


# -- delivered by the real outbox to the example receiver --------------------------------------------------


@pytest.fixture
def inbox() -> Iterator[RunningReceiver]:
    yield from running_receiver(SECRET.encode())


def post_events(client: Any, *events: dict[str, Any]) -> Any:
    return client.post("/_sw/events", json={"events": [{"event_id": uuid.uuid4().hex, **e} for e in events]})


def test_signup_then_purchase_reach_the_receiver_signed_and_valid(make_client: Any, inbox: RunningReceiver) -> None:
    async def picks(profile: Profile, spec: RecommendSpec) -> list[dict[str, Any]]:
        assert spec == RecommendSpec("mixed", 4)  # the rules' mail.picks (the default here)
        return PICKS

    client = make_client(webhook=inbox.url, picks=picks, outbox_options={"base_delay": 0.05, "poll_s": 0.1})
    for product in ("1", "2", "3"):
        post_events(client, {"type": "page_view", "props": {"category": "tv", "product": product}})
    r = client.post("/_sw/signup", json={"email": "Bob@Example.com", "decision_id": "d-popup"})
    assert r.status_code == 200
    wait_for(lambda: inbox.of_type("signup"), timeout=10)
    subject, html, signup = inbox.of_type("signup")[0]
    validate(signup)
    assert signup["coupon"] == r.json()["coupon"] and signup["person"]["email"] == "Bob@Example.com"
    assert signup["stage"] == {"tv": "decision"} and signup["interests"] == {"tv": 1.0}
    assert [p["id"] for p in signup["picks"]] == ["101", "102"] and signup["decision_id"] == "d-popup"
    assert r.json()["coupon"] in html

    post_events(client, {"type": "add_to_cart", "props": {"product": "2", "category": "tv", "price": 300}})
    post_events(client, {"type": "purchase", "props": {"order_id": "T-1", "total": 300,
                                                       "lines": [{"product": "2", "category": "tv", "price": 300}]}})
    wait_for(lambda: inbox.of_type("purchase"), timeout=10)
    _, html, purchase = inbox.of_type("purchase")[0]
    validate(purchase)
    assert purchase["order"]["order_id"] == "T-1" and purchase["stage"] == {"tv": "purchase"}
    assert purchase["changes"] == [{"category": "tv", "from": "decision", "to": "purchase"}]
    assert purchase["person"]["email_hash"] == hash_email("bob@example.com") and "email" not in purchase["person"]
    wait_for(lambda: inbox.of_type("stage_change"), timeout=10)
    assert inbox.of_type("stage_change")[0][2]["changes"] == purchase["changes"]
    # a retried batch changes nothing and sends nothing more
    count = len(inbox.mails)
    post_events(client, {"type": "page_view", "props": {"category": "radio"}})  # a page view: no message
    time.sleep(0.5)
    assert len(inbox.mails) == count


def test_an_order_line_s_size_in_the_purchase_message_is_the_size_key_the_rules_say(
        make_client: Any, inbox: RunningReceiver, tmp_path: Path) -> None:
    """A Shopify product without options is ordered as size ``Default Title``: the rules' ``catalog.not_sizes``
    say it is none, so the e-mail's order line has none (a template would print "Size: Default Title"). The
    other sizes go out as the profile records them: the size key (``m`` is ``M``), and a name of a size in
    ``catalog.size_names`` its key (``Medium`` is ``M``), so a template prints one size one way."""
    rules = rules_from_text(tmp_path, 'catalog:\n  not_sizes: ["Default Title"]\n  size_names: {M: [Medium]}\nslots: []\n')
    client = make_client(webhook=inbox.url, signals=lambda: rules.signals,
                         outbox_options={"base_delay": 0.05, "poll_s": 0.1})
    assert client.post("/_sw/signup", json={"email": "cy@example.com"}).status_code == 200
    lines = [{"product": "pocket-tee", "category": "tees", "size": "Size: default title", "price": 20},
             {"product": "tee", "category": "tees", "size": "m", "price": 18},
             {"product": "polo", "category": "tees", "size": "Size: MEDIUM", "price": 25}]
    post_events(client, {"type": "purchase", "props": {"order_id": "T-3", "total": 63, "lines": lines}})
    wait_for(lambda: inbox.of_type("purchase"), timeout=10)
    purchase = inbox.of_type("purchase")[0][2]
    validate(purchase)
    assert [(line["product"], line["size"]) for line in purchase["order"]["lines"]] == [
        ("pocket-tee", None), ("tee", "M"), ("polo", "M")]


def test_an_unknown_visitor_s_cart_sends_nothing(make_client: Any, inbox: RunningReceiver, store: Any) -> None:
    client = make_client(webhook=inbox.url, outbox_options={"base_delay": 0.05, "poll_s": 0.1})
    post_events(client, {"type": "add_to_cart", "props": {"product": "2", "category": "tv"}})
    post_events(client, {"type": "purchase", "props": {"order_id": "T-2", "lines": [{"product": "2", "category": "tv"}]}})
    time.sleep(0.5)
    assert inbox.mails == []  # nobody the mail service could reach
    assert store.db.query("SELECT COUNT(*) FROM outbox")[0][0] == 0


def test_a_wrong_signature_is_refused_by_the_receiver(inbox: RunningReceiver) -> None:
    import httpx

    body = json.dumps({"schema": SCHEMA}).encode()
    bad = httpx.post(inbox.url, content=body, headers={"x-slotwise-signature": "sha256=00"})
    assert bad.status_code == 401
    good_sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    unreadable = httpx.post(inbox.url, content=body, headers={"x-slotwise-signature": good_sig})
    assert unreadable.status_code == 422  # signed, but not a message it can render: Slotwise will retry


def test_undelivered_followups_are_erased_with_the_person(make_client: Any, store: Any) -> None:
    client = make_client(webhook="http://127.0.0.1:9/unreachable", outbox_options={"base_delay": 30})
    client.post("/_sw/signup", json={"email": "gone@example.com"})
    post_events(client, {"type": "add_to_cart", "props": {"product": "2", "category": "tv"}})
    post_events(client, {"type": "purchase", "props": {"order_id": "T-9", "lines": [{"product": "2", "category": "tv"}]}})
    rows = store.db.query("SELECT payload FROM outbox")
    kinds = sorted(json.loads(r[0])["type"] for r in rows)
    assert kinds == ["purchase", "signup", "stage_change", "stage_change"]  # cart → decision, order → purchase
    visitor = client.cookies["sw_vid"].split(".")[0]
    assert sync(store.delete_profile(visitor))
    assert store.db.query("SELECT COUNT(*) FROM outbox")[0][0] == 0


def test_picks_are_priced_in_the_visitor_s_currency(make_client: Any, inbox: RunningReceiver, store: Any) -> None:
    """A store selling in EUR and GBP: a visitor whose cart is in GBP gets picks at their GBP prices, the
    recommendation slot's own ranking priced as their page would be; a product the catalog knows in no GBP
    price has none (the template prints none) rather than its EUR one."""
    from slotwise.proxy.personalization.recommendations import picks_for

    sync(store.upsert_products([
        {"id": "coat", "name": "Coat", "url": "/p/coat", "price": 100.0, "currency": "EUR", "prices": {"GBP": 85.0}},
        {"id": "hat", "name": "Hat", "url": "/p/hat", "price": 20.0, "currency": "EUR"},
        {"id": "scarf", "name": "Scarf", "url": "/p/scarf", "price": 20.0, "currency": "EUR", "prices": {"GBP": 17.0}},
    ], T0))

    async def picks(profile: Profile, spec: RecommendSpec) -> list[dict[str, Any]]:
        return await picks_for(store, spec, profile, None)

    client = make_client(webhook=inbox.url, picks=picks, outbox_options={"base_delay": 0.05, "poll_s": 0.1})
    for product in ("coat", "hat"):
        post_events(client, {"type": "page_view", "props": {"category": "wear", "product": product}})
    post_events(client, {"type": "add_to_cart", "props": {"product": "scarf", "category": "wear", "currency": "GBP"}})
    assert client.post("/_sw/signup", json={"email": "gb@example.com"}).status_code == 200
    wait_for(lambda: inbox.of_type("signup"), timeout=10)
    _, html, signup = inbox.of_type("signup")[0]
    validate(signup)
    shown = {p["id"]: (p.get("price"), p.get("currency")) for p in signup["picks"]}
    assert shown["coat"] == (85.0, "GBP") and shown["hat"] == (None, "GBP")
    assert "85.00 GBP" in html and "20.00" not in html


def test_the_visitor_s_currency_is_that_of_their_newest_view_or_cart_line_naming_one() -> None:
    from slotwise.rules.prices import visitor_currency

    p = Profile.new("v", T0)
    record_view(p, T0 + 1, product="plain", offer={"price": 5.0, "in_stock": True})  # names none
    assert visitor_currency(p) is None  # each product's own price, as before
    record_view(p, T0 + 2, product="a", offer={"price": 5.0, "in_stock": True, "currency": "EUR"})
    add_to_cart(p, {"product": "b", "price": 4.0, "currency": "GBP", "added": T0 + 3})
    assert visitor_currency(p) == "GBP"
    record_view(p, T0 + 4, product="c", offer={"price": 5.0, "in_stock": True, "currency": "USD"})
    assert visitor_currency(p) == "USD"
