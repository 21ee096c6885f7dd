"""Campaign windows and time facts end to end: the real proxy in front of the tiny store, and the tag's
``/_sw/decide`` on the same personalizer (one code path), with the fake clock moved across the windows.

T0 is Sunday 2025-06-15 17:06:40 in Berlin, the rules' timezone.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any, Callable
from zoneinfo import ZoneInfo

from scipy import stats

from bandit_helpers import Edge, Visitor
from slotwise.bandits.decision_log import format_decision_log, parse_decision_log

RULES = """
timezone: Europe/Berlin
slots:
  - id: hero
    pages: "/"
    selector: ".hero"
    action: replace
    active: {from: "2025-06-20", until: "2025-06-22 18:00"}
    policy: {name: uniform, sticky: visitor}
    variants:
      - {id: a, html: "<b>A</b>"}
      - {id: b, html: "<b>B</b>"}
  - id: banner
    pages: "/"
    selector: ".banner"
    action: replace
    policy: {name: uniform, sticky: session}
    variants:
      - {id: spring, html: "<i>Spring</i>"}
      - {id: summer, html: "<i>Summer</i>", active: {until: "2025-06-15 17:10"}}
      - {id: autumn, html: "<i>Autumn</i>"}
  - id: offer
    pages: "/"
    selector: ".offer"
    action: replace
    when: time.weekday not in ['sat', 'sun'] and time.hour >= 11 and time.hour < 14
    html: "<p>Lunch {{ time.date }}</p>"
"""


def berlin(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Europe/Berlin")).timestamp()


def decide(v: Visitor) -> dict[str, dict[str, Any]]:
    """The tag-only answer for the home page: slot -> the edit the tag would apply."""
    response = v.client.get("/_sw/decide", params={"url": v.edge.url + "/"})
    assert response.status_code == 200, response.text
    assert response.json()["complete"] is True
    return {d["slot"]: d for d in response.json()["decisions"]}


def test_a_slot_runs_only_within_its_window(edge: Callable[..., Edge]) -> None:
    e = edge(RULES)
    v = e.visitor(holdout=None)
    assert "hero" not in v.view() and "Welcome" in v.last_page  # not yet started: the store's page as is
    assert "hero" not in decide(v)
    assert e.decisions(v.id, "hero") == []

    e.clock.now = berlin("2025-06-20T00:00:00")  # its first minute
    assert "hero" in v.view() and "Welcome" not in v.last_page
    assert decide(v)["hero"]["html"] in ("<b>A</b>", "<b>B</b>")
    assert len(e.decisions(v.id, "hero")) == 1

    e.clock.now = berlin("2025-06-22T18:00:59")  # its last minute, still: the sticky decision holds
    assert "hero" in v.view()
    e.clock.now = berlin("2025-06-22T18:01:00")  # over: nothing, though the visitor's decision was sticky
    assert "hero" not in v.view() and "Welcome" in v.last_page
    assert "hero" not in decide(v)
    assert len(e.decisions(v.id, "hero")) == 1  # nothing logged after it closed


def test_a_variant_out_of_its_window_is_not_offered_and_propensities_stay_exact(edge: Callable[..., Edge]) -> None:
    e = edge(RULES)
    stuck = None
    for _ in range(60):  # a visitor whose session decision is the summer variant
        v = e.visitor(holdout=None)
        v.view()
        if "Summer" in v.last_page:
            stuck = v
            break
    assert stuck is not None
    first = e.decisions(stuck.id, "banner")[0]
    assert first["propensity"] == 1 / 3 and "offered" not in first

    e.clock.advance(300)  # 17:11:40: summer's window closed, the session goes on (sticky session)
    stuck.view()
    assert "Summer" not in stuck.last_page and ("Spring" in stuck.last_page or "Autumn" in stuck.last_page)
    assert decide(stuck)["banner"]["html"] in ("<i>Spring</i>", "<i>Autumn</i>")
    again = e.decisions(stuck.id, "banner")
    assert len(again) == 2 and again[1]["offered"] == ["spring", "autumn"] and again[1]["propensity"] == 0.5
    assert again[1]["arms"] == ["spring", "summer", "autumn"]  # the rules' variants, for the report
    for fmt in ("csv", "jsonl"):  # ``slotwise report --export``: offline evaluation knows what was offered
        exported = {r.decision_id: r for r in parse_decision_log(list(format_decision_log(e.decision_log().rows, fmt)),
                                                                 fmt)}
        assert exported[again[1]["decision_id"]].offered == ("spring", "autumn")
        assert exported[first["decision_id"]].offered is None  # drawn among every variant

    n = 120
    for _ in range(n):
        e.visitor(holdout=None).view()
    after = [d for d in e.decisions(slot="banner") if d["ts"] >= e.clock.now]
    assert len(after) == n + 1
    counts = Counter(d["arm"] for d in after)
    expected = Counter()
    for d in after:  # what the logged propensities promise: each offered arm its share of each decision
        assert d["propensity"] == 1 / len(d["offered"])
        for arm in d["offered"]:
            expected[arm] += 1 / len(d["offered"])
    assert set(counts) <= {"spring", "autumn"}
    assert stats.chisquare([counts["spring"], counts["autumn"]], [expected["spring"], expected["autumn"]]).pvalue > 1e-3


def test_when_and_templates_read_the_time_of_the_page_view(edge: Callable[..., Edge]) -> None:
    e = edge(RULES)
    v = e.visitor(holdout=None)
    assert "offer" not in v.view() and "No offer" in v.last_page  # Sunday
    e.clock.now = berlin("2025-06-16T11:30:00")  # Monday lunch
    assert "offer" in v.view() and 'data-sw-slot="offer">Lunch 2025-06-16</p>' in v.last_page
    assert decide(v)["offer"]["html"] == "<p>Lunch 2025-06-16</p>"
    e.clock.now = berlin("2025-06-17T13:59:00")  # the same page and template, another day: rendered anew
    v.view()
    assert 'data-sw-slot="offer">Lunch 2025-06-17</p>' in v.last_page
    assert decide(v)["offer"]["html"] == "<p>Lunch 2025-06-17</p>"
    e.clock.now = berlin("2025-06-17T14:00:00")
    assert "offer" not in v.view() and "No offer" in v.last_page
    assert "offer" not in decide(v)


STORE_RULES = """
timezone: Europe/Berlin
slots:
  - id: nearby
    pages: "/"
    selector: ".offer"
    action: replace
    active: {from: "2025-06-20"}
    when: visitor.preferred_store
    html: "<p>In your store</p>"
"""


def test_a_slot_outside_its_window_loads_no_journey_facts(edge: Callable[..., Edge]) -> None:
    """The journey facts a slot reads are loaded from the store on each page view: a slot whose window
    is closed applies to nothing, so they are not (here the store's list of shops, once a minute)."""
    e = edge(STORE_RULES)
    calls: list[float] = []
    read = e.p.store.inventory_stores

    async def counted() -> Any:
        calls.append(e.clock())
        return await read()

    e.p.store.inventory_stores = counted  # the real store, each read counted
    v = e.visitor(holdout=None)
    v.view()
    assert "No offer" in v.last_page and calls == []  # not yet started: nothing read for it
    e.clock.now = berlin("2025-06-20T09:00:00")
    v.view()
    assert calls == [e.clock.now]  # open: read (the visitor has no store yet, so the store's page stays)
