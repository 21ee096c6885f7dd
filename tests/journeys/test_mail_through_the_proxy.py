"""The e-mail that follows the popup, end to end: the demo store behind the proxy, the example receiver
as the store's e-mail service."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import pytest
from journey_helpers import JOURNEYS, arm, checkout, tree, until_treated
from mail_helpers import RunningReceiver, running_receiver, validate
from polling import wait_for

from slotwise.proxy.personalization.recommendations import picks_for
from slotwise.rules.interests import interests
from slotwise.rules.schema import RecommendSpec
from slotwise.tag.testing import SECRET


@pytest.fixture
def inbox() -> Iterator[RunningReceiver]:
    yield from running_receiver(SECRET.encode())


def deciding(client: Any) -> Any:
    for pid in ("101", "102", "103"):
        client.get(f"/p/{pid}")
    client.get("/c/dog-toys")
    return client.get("/p/104")


def test_popup_signup_mail_then_order_mail(edge: Any, inbox: RunningReceiver) -> None:
    # public_url makes the picks' links absolute (http: an https one would make the cookie Secure, unsent here)
    e = edge(JOURNEYS, webhook_url=inbox.url, public_url="http://shop.example")
    client, page = until_treated(e.client, deciding, "decision-coupon", "no-popup", silent_control=True)
    with contextlib.closing(client):
        popup = tree(page).css_first('template[data-sw-popup="decision-coupon"]')
        assert popup is not None and popup.attributes["data-sw-trigger"] == "exit-intent"
        decision_id = popup.attributes["data-sw-decision"]
        if arm(page, "decision-coupon") == "picks-by-mail":
            assert "sw-picks" in page.text  # a preview of the picks the mail will carry
        signup = client.post("/_sw/signup", json={"email": "ann@example.com", "decision_id": decision_id})
        assert signup.status_code == 200
        coupon = signup.json()["coupon"]

        wait_for(lambda: inbox.of_type("signup"), timeout=10)
        subject, html, message = inbox.of_type("signup")[0]
        validate(message)
        assert message["coupon"] == coupon and message["decision_id"] == decision_id
        assert message["stage"] == {"running-shoes": "decision", "dog-toys": "awareness"}
        profile = e.profile(client)
        assert message["interests"] == interests(profile)
        # the same ranking as the recommendation slot: the very function the proxy's slot uses
        expected = e.run(picks_for(e.p.store, RecommendSpec("mixed", 4), profile, "running-shoes"))
        assert [p["id"] for p in message["picks"]] == [p["id"] for p in expected]
        assert message["picks"] and all(p["url"].startswith("http://shop.example/") for p in message["picks"])
        assert coupon in html and "Still deciding on running-shoes?" in html

        order_id = checkout(client, "104", "42")  # read by the proxy off the store's confirmation page
        wait_for(lambda: inbox.of_type("purchase"), timeout=10)
        _, html, bought = inbox.of_type("purchase")[0]
        validate(bought)
        assert bought["order"]["order_id"] == order_id
        assert bought["stage"]["running-shoes"] == "purchase"
        assert {"category": "running-shoes", "from": "decision", "to": "purchase"} in bought["changes"]
        assert "104" not in [p["id"] for p in bought["picks"]]  # never what was just bought
        assert f"Thank you for your order {order_id}" in html
        wait_for(lambda: inbox.of_type("stage_change"), timeout=10)
        # no more popups for someone who signed up
        assert arm(client.get("/p/105"), "decision-coupon") is None


def test_without_a_webhook_the_signup_still_gives_a_coupon(edge: Any) -> None:
    e = edge(JOURNEYS)
    with e.client() as client:
        deciding(client)
        r = client.post("/_sw/signup", json={"email": "bob@example.com"})
        assert r.status_code == 200 and r.json()["coupon"]
    assert e.p.tag_api.mail is None
