"""The simulated store of the HTTP bandit bench: shoppers, what they click, and what the proxy should see.

Shoppers arrive as new visitors (a device, a traffic source, maybe a category
browsed before the home page) and some come back days later (returning, with
their visits and the categories they viewed). Each home page view shows one
variant of the ``hero`` slot; the shopper clicks it with a probability that
depends on the device and on new/returning — the features that matter — and
not on the traffic source, the category or the number of visits, which the
policy must learn to ignore.

=========  =====  =====  =====
 click %     a      b      c
=========  =====  =====  =====
 mobile     2.0    4.5    2.5
 desktop    5.0    2.2    3.0
 tablet     4.5    2.5    3.0
 returning  +0     +0     +3.0
=========  =====  =====  =====

so new mobile visitors click b best, new desktop visitors a, returning
visitors c. Rates swing by ``amp`` over the day, the same for every variant.
A *swap* rotates the variants (what a did, b does; b's, c; c's, a): every
segment's best changes.

``Shopper.expected_context`` is what the proxy should hand the policy for the
shopper's next home page view, built with the one context definition
(``slotwise.bandits.features.VisitorContext``):
``tests/e2e_bandits/test_context.py`` sends shoppers through the proxy and
compares the logged features with it.
"""

from __future__ import annotations

import heapq
import math
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from slotwise.bandits.features import VisitorContext

ARMS = ("a", "b", "c")
DAY = 86_400.0
UA = {
    "mobile": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/17.5 Mobile/15E148 Safari/604.1",
    "desktop": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "tablet": "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/17.5 Mobile/15E148 Safari/604.1",
}
DEVICE_SHARE = (("mobile", 0.60), ("desktop", 0.35), ("tablet", 0.05))
REFERRERS = {"direct": None, "search": "https://www.google.com/search?q=shoes", "social": "https://www.instagram.com/"}
SOURCE_SHARE = (("direct", 0.40), ("search", 0.35), ("social", 0.25))
CATEGORIES = ("shoes", "bags", "kids")
BASE = {"mobile": (0.020, 0.045, 0.025), "desktop": (0.050, 0.022, 0.030), "tablet": (0.045, 0.025, 0.030)}
RETURNING_LIFT = (0.0, 0.0, 0.030)
BROWSE_FIRST = 0.5  # share of sessions that view a category page before the home page
RETURN_SHARE = 0.35  # share of sessions followed by another one
RETURN_MEAN_S = 16 * 3600.0  # mean time until a shopper comes back (always a new session)


@dataclass
class Shopper:
    """One browser: its device and source, its cookie, and what it has done on the site."""

    id: int
    device: str
    source: str
    cookie: str | None = None  # the signed visitor cookie the proxy set
    visits: int = 0  # sessions so far (the proxy counts a session as a visit)
    views: Counter[str] = field(default_factory=Counter)  # category page views
    last_view: dict[str, int] = field(default_factory=dict)  # category -> order of its last view

    @property
    def returning(self) -> bool:
        return self.visits > 1

    def view_category(self, category: str) -> None:
        self.views[category] += 1
        self.last_view[category] = sum(self.views.values())

    def top_category(self) -> str | None:
        """Most viewed, then most recent: the profile's ``top_categories`` order."""
        if not self.views:
            return None
        return max(self.views, key=lambda c: (self.views[c], self.last_view[c]))

    def expected_context(self, browsed_first: bool) -> VisitorContext:
        """What the policy should see on this session's home page view (the session already
        counted, and the category page viewed first, if any). A home page reached from a category
        page has the store itself as referrer: direct traffic."""
        return VisitorContext(is_new=self.visits <= 1, visit_count=self.visits, device=self.device,
                              top_category=self.top_category(), has_cart=False,
                              source="direct" if browsed_first else self.source)

    def click_rate(self, arm: str, at: float, swapped: bool, amp: float) -> float:
        """The chance this shopper clicks ``arm`` at time ``at``."""
        i = ARMS.index(arm)
        if swapped:  # the variants rotate: a does what c did, b what a did, c what b did
            i = (i - 1) % len(ARMS)
        rate = BASE[self.device][i] + (RETURNING_LIFT[i] if self.returning else 0.0)
        return rate * (1.0 + amp * math.sin(2.0 * math.pi * (at % DAY) / DAY))


def new_shopper(rng: random.Random, ident: int) -> Shopper:
    device = rng.choices([d for d, _ in DEVICE_SHARE], [w for _, w in DEVICE_SHARE])[0]
    source = rng.choices([s for s, _ in SOURCE_SHARE], [w for _, w in SOURCE_SHARE])[0]
    return Shopper(ident, device, source)


def seeded_decision_ids(seed: int) -> Callable[[], str]:
    """The run's decision ids, drawn from its seed (UUID-shaped hex, like the proxy's own): the policy's
    draw is a hash of the id, so the twin and the proxy, or two codes through the proxy, meet the same
    draws in the same order."""
    rng = random.Random(f"decision-ids-{seed}")
    return lambda: uuid.UUID(int=rng.getrandbits(128)).hex


def best_arm(shopper: Shopper, at: float, swapped: bool) -> str:
    return max(ARMS, key=lambda a: shopper.click_rate(a, at, swapped, 0.0))


@dataclass
class Visit:
    """One home page view: who, what was shown, what it earned in expectation, what the best would have."""

    at: float  # simulated time
    stamp: float  # the shop's time when the page was asked for (the proxy's clock over HTTP)
    shopper: int
    segment: str  # device/new or device/returning: the features that matter
    shown: str | None  # None: the page went out unpersonalized (failed open)
    best: str
    earned: float
    oracle: float


class Shop(Protocol):
    """Where the shoppers' views and clicks go: the proxy over HTTP, or a ``Learner`` fed directly."""

    def advance_to(self, at: float) -> None:
        """The simulated clock reached ``at`` (the next event's time)."""

    def now(self) -> float:
        """The shop's own time (stamped on each visit)."""

    def browse(self, shopper: Shopper, category: str) -> None:
        """A category page view before the home page."""

    def home(self, shopper: Shopper, browsed: str | None, at: float) -> tuple[str, str] | None:
        """The home page view: ``(decision id, variant shown)``, or None if it went out unpersonalized."""

    def click(self, shopper: Shopper, decision_id: str, at: float) -> None:
        """The shopper clicked the slot shown with ``decision_id``."""


def simulate(shop: Shop, seed: int, visits: int, per_hour: float, swap: bool = False, amp: float = 0.3,
             scale: float = 1.0, start: float = 0.0) -> list[Visit]:
    """Drive ``visits`` home page views into ``shop``: the one shopper loop of the HTTP bench and its twin.

    Every random draw comes from one generator seeded with ``seed``, in an order that does not
    depend on what the shop shows (clicks only schedule events): whatever the policy and whichever
    shop, the same seed gives the same shoppers, sessions and click draws (common random numbers,
    and the twin pairs with the HTTP run; ``tests/e2e_bandits/test_bench_pairing.py``).
    ``scale`` multiplies every click rate (0.25: a store converting four times less)."""
    rng = random.Random(seed)
    queue: list[tuple[float, int, str, Any]] = []
    order = 0

    def push(at: float, kind: str, payload: Any) -> None:
        nonlocal order
        order += 1
        heapq.heappush(queue, (at, order, kind, payload))

    push(start + rng.expovariate(per_hour / 3600.0), "arrive", None)
    shoppers = 0
    out: list[Visit] = []
    while len(out) < visits:
        at, _, kind, payload = heapq.heappop(queue)
        shop.advance_to(at)
        if kind == "click":
            shop.click(*payload, at)
            continue
        if kind == "arrive":
            shoppers += 1
            shopper = new_shopper(rng, shoppers)
            push(at + rng.expovariate(per_hour / 3600.0), "arrive", None)
        else:
            shopper = payload
        # the draws every policy shares: browse first?, which category, the click, its delay, a return
        browse, category = rng.random() < BROWSE_FIRST, rng.choice(CATEGORIES)
        u, delay = rng.random(), rng.uniform(5.0, 600.0)
        comes_back, after = rng.random() < RETURN_SHARE, max(3600.0, rng.expovariate(1.0 / RETURN_MEAN_S))
        shopper.visits += 1
        if browse:
            shop.browse(shopper, category)
            shopper.view_category(category)
        stamp = shop.now()
        result = shop.home(shopper, category if browse else None, at)
        swapped = swap and len(out) >= visits // 2
        rates = {arm: scale * shopper.click_rate(arm, at, swapped, amp) for arm in ARMS}
        best = best_arm(shopper, at, swapped)
        segment = f"{shopper.device}/{'returning' if shopper.returning else 'new'}"
        if result is None:  # failed open: the store's own page
            out.append(Visit(at, stamp, shopper.id, segment, None, best, min(rates.values()), rates[best]))
        else:
            decision_id, arm = result
            out.append(Visit(at, stamp, shopper.id, segment, arm, best, rates[arm], rates[best]))
            if u < rates[arm]:
                push(at + delay, "click", (shopper, decision_id))
        if comes_back:
            push(at + after, "return", shopper)
    # The clicks still due (up to 10 min after the last view counted): shoppers do not stop clicking
    # when the count is reached, and a report read once every window has closed would otherwise see
    # the last minutes' decisions unconverted -- a fall the change detection rightly calls a change.
    while queue:
        at, _, kind, payload = heapq.heappop(queue)
        if kind == "click":
            shop.advance_to(at)
            shop.click(*payload, at)
    return out


def back_at(visits: list[Visit], level: float = 0.8, window: int = 1000) -> int | None:
    """Decisions after the swap (halfway) until a full window after it earns ``level`` of the oracle."""
    earned = [v.earned for v in visits]
    oracle = [v.oracle for v in visits]
    start = len(visits) // 2
    got, best = sum(earned[start:start + window]), sum(oracle[start:start + window])
    for end in range(start + window, len(earned) + 1):
        if got >= level * best:
            return end - start
        if end == len(earned):
            return None
        got += earned[end] - earned[end - window]
        best += oracle[end] - oracle[end - window]
    return None


def share(visits: list[Visit], start: int = 0, end: int | None = None) -> float:
    """Expected clicks earned over the oracle's, for ``visits[start:end]``."""
    part = visits[start:end]
    return sum(v.earned for v in part) / max(sum(v.oracle for v in part), 1e-12)
