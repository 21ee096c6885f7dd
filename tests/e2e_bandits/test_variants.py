"""Editing the variants while the proxy runs: kept statistics (also of a variant whose content changed:
what was learned belongs to its id, docs/rules.md), fresh new arms, dropped pending decisions."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from agents import DESKTOP_UA
from bandit_helpers import RULES, WINDOW_S

NEW_HERO = """      - id: a
        html: "<b>A</b>"
      - id: b
        html: "<b>B, rewritten</b>"
      - id: d
        html: "<b>D</b>"
"""
OLD_HERO = """      - id: a
        html: "<b>A</b>"
      - id: b
        html: "<b>B</b>"
      - id: c
        html: "<b>C</b>"
"""


def test_adding_and_removing_variants_while_serving(edge: Any) -> None:
    e = edge()
    # teach every hero arm something, and keep one decision on arm c pending
    pending_c = None
    for i in range(40):
        v = e.visitor()
        hero = v.view()["hero"]
        arm = next(d["arm"] for d in e.decisions(v.id, "hero"))
        if arm == "c" and pending_c is None:
            pending_c = (v, hero)
            continue
        v.click(hero) if i % 3 == 0 else v.expose(hero)
    assert pending_c is not None
    e.clock.advance(WINDOW_S + 1)
    c_visitor, c_decision = pending_c
    e.clock.advance(-WINDOW_S - 1)  # keep the c decision's window open; the others closed below
    e.learn()
    before = e.learned("hero")  # what closed (the clicked decisions); the rest still pending
    assert set(before) <= {"a", "b", "c"} and {"a", "b"} <= set(e.stats("hero"))
    assert c_decision in e.learner._pending

    # a browser keeps loading pages during the reload
    stop = threading.Event()
    statuses: list[int] = []
    personalized: list[bool] = []

    browsing = e.visitor()  # not in the holdout: every page is personalized

    def browse() -> None:
        with httpx.Client(base_url=e.url, headers={"user-agent": DESKTOP_UA}, timeout=10,
                          cookies={"sw_vid": e.p.cookies.sign(browsing.id)}) as client:
            while not stop.is_set():
                r = client.get("/")
                statuses.append(r.status_code)
                personalized.append("data-sw-decision" in r.text)
                time.sleep(0.02)

    browser = threading.Thread(target=browse)
    browser.start()
    try:
        time.sleep(0.2)
        text = RULES.replace(OLD_HERO, NEW_HERO)
        assert text != RULES
        text = text[: text.index("  - id: recs")]  # and the recs slot goes away entirely
        e.rules_path.write_text(text)
        deadline = time.monotonic() + 10
        while e.p.rules.status.version < 2:  # type: ignore[union-attr]
            assert time.monotonic() < deadline, e.p.rules.status  # type: ignore[union-attr]
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        stop.set()
        browser.join(10)
    assert statuses and set(statuses) == {200} and all(personalized)

    assert e.p.rules.status.error is None  # type: ignore[union-attr]
    status = httpx.get(e.url + "/_sw/admin/api/status", headers={"authorization": "Bearer admin-token-for-tests"})
    notes = status.json()["rules"]["notes"]  # b was rewritten under its id: the reload says it keeps its learning
    assert len(notes) == 1 and "variant 'b' changed" in notes[0] and "'hero'" in notes[0], notes
    v = e.visitor()
    v.view()  # the reload reaches the learner with the first page on the new rules
    after = e.learned("hero")
    assert "c" not in e.stats("hero") and "d" not in after  # removed: forgotten; new: fresh (nothing learned yet)
    assert after.get("a") == before.get("a") and after.get("b") == before.get("b")  # kept (b's content changed)
    assert c_decision not in e.learner._pending  # dropped, never learned
    assert "recs" not in e.learner.policies

    c_visitor.click(c_decision)  # a late click on the removed variant: nothing to reward, nothing crashes
    e.learn()
    assert e.learned("hero") == after
    second = c_visitor.view()  # its sticky arm is gone: a new decision among a, b, d
    assert second["hero"] != c_decision
    for _ in range(30):
        e.visitor().view()
    new_arms = {d["arm"] for d in e.decisions(slot="hero")[-31:] if not d["holdout"]}
    assert new_arms <= {"a", "b", "d"} and "d" in new_arms  # the new variant gets traffic, the removed none
    # reports over the whole log (with the removed arm and slot in it) still build
    log = e.decision_log()
    assert any(r.arm == "c" for r in log.rows)
    admin = httpx.get(e.url + "/_sw/admin/api/report", headers={"authorization": "Bearer admin-token-for-tests"})
    assert admin.status_code == 200 and {r["slot"] for r in admin.json()} >= {"hero", "banner", "offer"}
