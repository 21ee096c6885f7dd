"""One context definition: a page view through the proxy gives the policy the features the bench uses.

The proxy once passed ``is_returning`` and ``visits`` while the features read
``is_new`` and ``visit_count``: in live traffic every feature but the device
was ``unknown``, and the bench, which passed the right keys itself, measured
something the live path never saw. Here the bench's own shoppers and its own
HTTP driver go through the real proxy, and the logged features must be what
the bench expects for them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.bandits_http import Edge as BenchEdge
from bench.bandits_shoppers import REFERRERS, Shopper

RULES = """
holdout: 0%
attribution_window: 30m
catalog:
  category_pages: "/c/{category}"
slots:
  - id: hero
    pages: "/"
    selector: ".hero"
    action: replace
    goal: click
    policy: {name: linucb, sticky: session}
    variants:
      - id: a
        html: "<b>A</b>"
      - id: b
        html: "<b>B</b>"
"""


def home_view(bench: BenchEdge, shopper: Shopper, browse: str | None) -> None:
    """One session as the bench drives it: maybe a category page first, then the home page."""
    shopper.visits += 1
    if browse:
        bench.get(f"/c/{browse}", shopper, REFERRERS[shopper.source])
        shopper.view_category(browse)
    bench.get("/", shopper, f"{bench.url}/c/{browse}" if browse else REFERRERS[shopper.source])


def test_the_logged_features_are_the_benchs_for_new_and_returning_shoppers(edge: Any) -> None:
    e = edge(RULES)
    bench = BenchEdge(e.url, e.clock, Path(e.settings.data))
    sessions = [  # (shopper, the category browsed first in each session)
        (Shopper(1, "mobile", "search"), [None, "bags", None]),
        (Shopper(2, "desktop", "social"), ["shoes", "shoes", "kids"]),
        (Shopper(3, "tablet", "direct"), [None]),
    ]
    seen = 0
    for shopper, browsed in sessions:
        for browse in browsed:
            home_view(bench, shopper, browse)
            logged = e.decisions(slot="hero")[-1]
            expected = shopper.expected_context(browsed_first=browse is not None).features()
            assert logged["context"] == expected, (shopper, browse)
            seen += 1
            e.clock.advance(2 * 3600)  # the next visit is a new session
    contexts = [d["context"] for d in e.decisions(slot="hero")]
    assert len(contexts) == seen == 7
    # every feature group varies across these sessions: none is stuck at "unknown"
    for group in ("visitor", "device", "category", "visits", "source"):
        assert len({name for c in contexts for name in c if name.startswith(group + "=")}) > 1, group
    assert not any(name.endswith("=unknown") for c in contexts for name in c)
    bench.client.close()


def test_behind_slotwise_serve_the_bench_logs_the_same_features() -> None:
    """The HTTP bench's default: `slotwise serve` started as a user starts it (a subprocess on a real
    port). The same shoppers there give the policy the same features as in the bench's model."""
    import asyncio

    from bench.bandits_http import Harness
    from slotwise.proxy.operations.reporting import read_all
    from slotwise.store import open_store

    with Harness("linucb", server="serve", speed=1.0) as bench:
        shopper = Shopper(7, "desktop", "search")
        expected = []
        for browse in (None, "bags"):
            home_view(bench, shopper, browse)
            expected.append(shopper.expected_context(browsed_first=browse is not None).features())
            time.sleep(0.1)
        store = open_store("", bench.data)
        try:
            records = asyncio.run(read_all(store))
        finally:
            asyncio.run(store.close())
    logged = [r.data["context"] for r in records if r.kind == "decision" and r.data["slot"] == "hero"]
    assert logged[:1] == expected[:1]
    # one session (real time, within 30 minutes): the second view keeps the session's decision, or
    # logs the features of that view
    assert all(c in expected for c in logged)
