"""An arm that shows nothing counts only where its slot is on the page, as every other arm does.

The holdout, a control and a popup's no-popup arm change nothing on the page, yet
are decisions: they are the baseline the report's lift and the policy compare the
variants against. A variant whose slot's element is not on the page is dropped
(``test_absent_slots``); if these arms were logged there all the same, the baseline
would collect exposures and purchases on pages where the variants can show nothing
(a lift measured between unlike populations), and a bandit would learn the no-popup
arm from pages that never had the slot. A popup's place is its slot's ``selector``
(``body`` by default): its no-popup arm counts on the pages the popup would be
appended to, no other. Here, through the real proxy, the slots' elements are absent
from half of the pages, and the logged decisions per arm are exactly those of the
pages where the elements were, and split as drawn.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from typing import Any, Iterator

import httpx
import pytest

from slotwise.bandits.assignment import in_holdout
from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.choices import HOLDOUT_ARM
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.tag.testing import sync
from agents import DESKTOP_UA

HOLDOUT = 0.3
RULES = f"""
holdout: {HOLDOUT}
slots:
  - id: offer                          # a popup placed in the checkout area only
    pages: "/**"
    selector: "main.checkout"
    action: popup
    goal: purchase
    policy: {{name: uniform}}
    variants:
      - id: ten
        html: "<div><p>10% off your order</p></div>"
      - id: no-popup
        control: true
  - id: banner
    pages: "/**"
    selector: ".hero"
    action: set-attribute
    attributes: {{class: "hero bold"}}
    policy: {{name: uniform}}
    variants: [{{id: bold}}, {{control: true}}]
  - id: exit                           # a popup with the default place: every page's body
    pages: "/**"
    action: popup
    policy: {{name: uniform}}
    variants:
      - id: coupon
        html: "<div><p>Before you go</p></div>"
      - id: no-popup
        control: true
"""
WITH = b'<!doctype html><html><head><title>Cart</title></head><body><div class="hero">Sale</div>' \
       b'<main class="checkout"><p>Your cart</p></main></body></html>'
WITHOUT = b"<!doctype html><html><head><title>Blog</title></head><body><main><p>News</p></main></body></html>"
VISITS = 160  # a fresh visitor each, half of them on a page without the slots' elements


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[tuple[Any, SlotwisePersonalizer]]:
    from page_server import PageServer

    data = tmp_path_factory.mktemp("absent-none-arms")
    (data / "rules.yaml").write_text(RULES, encoding="utf-8")
    made = itertools.count()  # seeded decision ids: the uniform policy's draws are the same every run
    with PageServer({"/with": WITH, "/without": WITHOUT}) as shop:
        settings = Settings(upstream=shop.url, rules=str(data / "rules.yaml"), data=str(data / "edge"),
                            personalize_budget_ms=5000)
        personalizer = SlotwisePersonalizer(settings, decision_ids=lambda: f"{0x5e0 << 112 | next(made):032x}")
        with uvicorn_runner(create_app(settings, personalizer)) as proxy:
            yield proxy, personalizer


def visitor(n: int) -> str:
    """The ``n``-th test visitor's id (fixed: who is in the holdout is the same every run)."""
    return f"none-arms-visitor-{n:04d}"


def logged(personalizer: SlotwisePersonalizer, expected: int) -> dict[tuple[str, str], str]:
    """(visitor, slot) -> arm of every decision logged, once ``expected`` are (they are logged as pages go out)."""
    deadline = time.monotonic() + 5.0
    while True:
        found = {(r.visitor, r.data["slot"]): r.data["arm"] or HOLDOUT_ARM
                 for r in sync(personalizer.store.read_log(0, 1_000_000)) if r.kind == "decision"}
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_the_holdout_and_the_arms_that_show_nothing_count_only_where_the_slot_is(
        stack: tuple[Any, SlotwisePersonalizer]) -> None:
    proxy, personalizer = stack
    pages: dict[str, str] = {}
    bodies: dict[str, str] = {}
    with httpx.Client(base_url=proxy.url, headers={"user-agent": DESKTOP_UA}, timeout=10) as client:
        for n in range(VISITS):
            vid, path = visitor(n), ("/with", "/without")[n % 2]
            client.cookies.set("sw_vid", personalizer.cookies.sign(vid))
            r = client.get(path)
            assert r.status_code == 200
            pages[vid], bodies[vid] = path, r.text
    there = [v for v, path in pages.items() if path == "/with"]
    found = logged(personalizer, 4 * len(there))
    absent = {(v, s): arm for (v, s), arm in found.items() if pages[v] == "/without" and s != "exit"}
    assert absent == {}  # no arm of a slot, the holdout's neither, where its element is not
    for slot in ("offer", "banner"):
        arms = Counter(arm for (v, s), arm in found.items() if s == slot)
        assert sum(arms.values()) == len(there), (slot, arms)  # one decision per page that had the slot
        assert arms[HOLDOUT_ARM] == sum(in_holdout(v, HOLDOUT) for v in there), (slot, arms)
        # each arm as drawn: the holdout's share, the rest even (chi-square, 2 degrees of freedom, p = 0.001)
        shares = {HOLDOUT_ARM: HOLDOUT, **{a: (1 - HOLDOUT) / 2 for a in arms if a != HOLDOUT_ARM}}
        assert len(shares) == 3, (slot, arms)
        chi2 = sum((arms[a] - len(there) * p) ** 2 / (len(there) * p) for a, p in shares.items())
        assert chi2 < 13.82, (slot, arms, chi2)
    # a popup in the body: on every page, its no-popup arm as its popup
    assert Counter(pages[v] for (v, s) in found if s == "exit") == {"/with": len(there), "/without": len(there)}
    # the popup's arm shows it; its no-popup arm and the holdout insert nothing and mark nothing (a marked
    # element would take the page's clicks)
    for v in there:
        popup = found[(v, "offer")] == "ten"
        assert ('<template data-sw-popup="offer"' in bodies[v]) is popup
        assert ('data-sw-slot="offer"' in bodies[v]) is popup
        assert '<main class="checkout"><p>Your cart</p></main>' in bodies[v] or popup
