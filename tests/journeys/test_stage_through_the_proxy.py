"""Funnel stage end to end: the demo store behind the real proxy, stages from captured behaviour."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

from journey_helpers import JOURNEYS, arm, checkout, rules_copy, tree, until_treated, wait_profile

from slotwise.bandits.assignment import in_holdout
from slotwise.cli import main


def compare_three(client: Any) -> Any:
    for pid in ("101", "102", "103"):
        assert client.get(f"/p/{pid}").status_code == 200
    return client.get("/c/running-shoes")


def test_a_visitor_who_compares_gets_the_decision_banner(edge: Any) -> None:
    e = edge(JOURNEYS)
    with e.client() as browsing:
        browsing.get("/p/101")
        first = browsing.get("/c/running-shoes")  # consideration: no banner, no decision
        assert arm(first, "stage-banner") is None and "sw-stage" not in first.text
    client, page = until_treated(e.client, compare_three, "stage-banner", "no-banner")
    with contextlib.closing(client):
        banner = tree(page).css_first("section.sw-stage")
        assert banner is not None, page.text[:3000]
        assert banner.attributes["data-sw-stage"] == "decision"
        assert banner.attributes["data-category"] == "running-shoes"
        message = banner.css_first(".sw-stage-message")
        assert message is not None and message.text() in (
            "Still deciding? These are the ones people choose.", "Your shortlist, and what others compared it with.")
        cards = [c.attributes["data-product-id"] for c in banner.css(".product-card")]
        assert cards and "106" not in cards  # the sold-out shoe is never offered
        assert banner.attributes.get("data-sw-slot") == "stage-banner"
        # the other journeys' slots do not fire for this visitor: no interest block on a category page,
        # and the decision popup is on (a sign-up for someone deciding, nothing in the cart)
        assert arm(page, "decision-coupon") is not None
        stage = e.profile(client)
    assert stage is not None and stage.categories["running-shoes"]["count"] == 4


def test_after_the_purchase_the_visitor_is_invited_to_review(edge: Any, tmp_path: Path) -> None:
    # purchase lasts 0 days here: the order moves the category straight to evaluation
    rules = rules_copy(tmp_path, JOURNEYS, **{"holdout: 0\n": "holdout: 0\nstages: {purchase: {days: 0}}\n"})
    e = edge(rules)

    def bought(client: Any) -> Any:
        client.get("/p/104")
        checkout(client, "104", "42")
        wait_profile(e, client, lambda p: any(line["product"] == "104" for line in p.purchases))
        return client.get("/c/running-shoes")

    client, page = until_treated(e.client, bought, "stage-banner", "no-banner")
    with contextlib.closing(client):
        banner = tree(page).css_first("section.sw-stage")
        assert banner is not None and banner.attributes["data-sw-stage"] == "evaluation"
        assert banner.css_first("a.sw-review") is not None
        cards = [c.attributes["data-product-id"] for c in banner.css(".product-card")]
        assert "104" not in cards  # never what they just bought
        assert arm(page, "decision-coupon") is None  # not deciding any more


def test_the_report_shows_the_stage_slot_variants_and_lift_over_the_holdout(edge: Any, tmp_path: Path) -> None:
    rules = rules_copy(tmp_path, JOURNEYS, **{"holdout: 0\n": "holdout: 50%\n"})
    e = edge(rules)
    held = [v for v in (f"journey-visitor-{i:04d}x" for i in range(400)) if in_holdout(v, 0.5)][:3]
    shown = [v for v in (f"journey-visitor-{i:04d}x" for i in range(400)) if not in_holdout(v, 0.5)][:6]
    for index, visitor in enumerate(held + shown):
        with e.client() as client:
            client.cookies.set("sw_vid", e.p.cookies.sign(visitor))
            page = compare_three(client)
            assert arm(page, "stage-banner") is not None
            if index % 2 == 0 or visitor in held:
                checkout(client, "105", "41")  # the goal: a purchase
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["report", "--data", e.settings.data, "--format", "json"]) == 0
    reports = {r["slot"]: r for r in json.loads(out.getvalue())}
    stage = reports["stage-banner"]
    assert stage["goal"] == "purchase"
    assert {a["arm"] for a in stage["arms"]} <= {"best-fits", "your-shortlist", "no-banner"}
    assert sum(a["decisions"] for a in stage["arms"]) == len(shown)
    assert stage["holdout"] is not None and stage["holdout"]["decisions"] == len(held)
    assert stage["lift"] is not None and stage["lift"]["holdout_mean"] == 1.0
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        main(["report", "--data", e.settings.data, "--slot", "stage-banner"])
    assert "holdout (baseline)" in text.getvalue() and "vs holdout" in text.getvalue()


def test_the_admin_page_counts_people_per_stage_and_category(edge: Any) -> None:
    e = edge(JOURNEYS)
    with e.client() as decided:
        compare_three(decided)
    with e.client() as browsing:
        browsing.get("/c/running-shoes")
        browsing.get("/c/dog-toys")
        browsing.post("/_sw/events", json={"events": [  # the tag's events name the visitor in the log
            {"event_id": "ev-browsing-1", "type": "page_view", "props": {"category": "dog-toys"}}]})
    admin = {"authorization": "Bearer admin-token-for-tests"}
    with e.client() as client:
        data = client.get("/_sw/admin/api/stages", headers=admin).json()
        page = client.get("/_sw/admin", headers=admin)
        assert client.get("/_sw/admin/api/stages").status_code == 401  # the admin token, as everywhere
    assert data["stages"] == ["awareness", "consideration", "decision", "purchase", "evaluation"]
    assert data["people"] == 2
    assert data["categories"]["running-shoes"] == {"awareness": 1, "consideration": 0, "decision": 1,
                                                   "purchase": 0, "evaluation": 0}
    assert data["categories"]["dog-toys"]["consideration"] == 0 and data["categories"]["dog-toys"]["awareness"] == 1
    section = tree(page).css_first("section#funnel")
    assert section is not None and "The 2 most recent people" in section.text()
    rows = {r.css_first("td").text(): [td.text() for td in r.css("td")[1:]] for r in section.css("tr") if r.css("td")}
    assert rows["running-shoes"] == ["1", "0", "1", "0", "0"]
