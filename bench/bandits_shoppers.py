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

import math
import random
from collections import Counter
from dataclasses import dataclass, field

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


def best_arm(shopper: Shopper, at: float, swapped: bool) -> str:
    return max(ARMS, key=lambda a: shopper.click_rate(a, at, swapped, 0.0))
