"""The HTTP bandit bench and its twin run one shopper loop: the same seed gives both the same shoppers.

The twin (``bench/bandits_twin.py``) feeds a ``Learner`` directly and is used for
what needs hundreds of runs; its figures stand for the HTTP bench's only if
both see the same shoppers, sessions and click draws. Both drive
``bench.bandits_shoppers.simulate``; here the twin and the real proxy over HTTP
(in-process, simulated clock) play the same seed and must meet the same
visitors at the same times, whatever each showed them.
"""

from __future__ import annotations


from bench.bandits_http import T0, Harness, drive, runs
from bench.bandits_shoppers import seeded_decision_ids
from bench.bandits_twin import twin

VISITS = 160


def stream(visits: list) -> list[tuple]:
    """What the shop cannot change: who came when, their segment and best variant, the oracle's rate."""
    return [(v.at, v.shopper, v.segment, v.best, round(v.oracle, 12)) for v in visits]


def test_the_twin_meets_the_http_runs_shoppers_at_the_same_times() -> None:
    # 20 arrivals an hour: shoppers come back within the run, clicks interleave with the views
    with Harness("linucb", server="in-process", decision_seed=5) as edge:
        http, _ = drive(edge, seed=5, visits=VISITS, per_hour=20, swap=True, amp=0.3)
        log = edge.log()
    direct = twin("linucb", 5, VISITS, 20, swap=True, amp=0.3)
    assert edge.failed_open == 0
    assert stream(http) == stream(direct.visits)
    # the proxy's decision ids were the seed's, the twin's: the policy's draws are paired too
    ids = seeded_decision_ids(5)
    logged = [r.data["decision_id"] for r in log if r.kind == "decision"]
    assert logged == [ids() for _ in logged]
    # so the proxy shows what the twin shows wherever their learners agree (here 160 of 160 on an idle
    # machine; the proxy learns from its log between pages, the twin at once); with random ids a third
    same = sum(h.shown == d.shown for h, d in zip(http, direct.visits))
    assert same >= 0.9 * VISITS
    assert any(v.segment.endswith("/returning") for v in http)  # the loop's later draws are paired too
    assert sum(v.shown is not None for v in http) == VISITS
    # the proxy (a process of its own) ran on the bench's simulated clock: each decision is stamped
    # with the time its home page view was simulated at, not the machine's
    decided = [r.ts for r in log if r.kind == "decision"]
    assert decided == [v.at for v in http]
    assert decided[0] > T0 and decided[-1] - decided[0] > 3600


def test_parallel_runs_come_back_in_order_and_each_meets_its_own_shoppers() -> None:
    """``--jobs 2``: runs in processes of their own, results in the order asked, the streams of their seeds."""
    specs = [("linucb", seed, 30, 3000.0, scenario == "swap", 0.3, "in-process", 1.0)
             for scenario in ("steady", "swap") for seed in (3, 4)]
    parallel = list(runs(specs, jobs=2))
    assert [(r.seed, r.swap) for r in parallel] == [(3, False), (4, False), (3, True), (4, True)]
    for r, (_, seed, visits, rate, swap, amp, _, _) in zip(parallel, specs):
        assert len(r.visits) == visits and all(v.shown is not None for v in r.visits)
        assert stream(r.visits) == stream(twin("linucb", seed, visits, rate, swap=swap, amp=amp).visits)


def test_the_stream_does_not_depend_on_what_the_policy_shows() -> None:
    uniform = twin("uniform", 9, 400, 20_000, swap=True)
    linucb = twin("linucb", 9, 400, 20_000, swap=True)
    assert stream(uniform.visits) == stream(linucb.visits)
    assert [v.shown for v in uniform.visits] != [v.shown for v in linucb.visits]
    other = twin("linucb", 10, 400, 20_000, swap=True)
    assert stream(other.visits) != stream(linucb.visits)


def test_clicks_due_after_the_last_view_still_reach_the_shop() -> None:
    """A report read once every window has closed must not see the run's last minutes unconverted
    (it would call that fall a change: the false restart at a run's end)."""
    from bench.bandits_shoppers import simulate

    class Recorder:
        def __init__(self) -> None:
            self.clock, self.shown, self.clicked = 0.0, [], []

        def advance_to(self, at: float) -> None:
            self.clock = at

        def now(self) -> float:
            return self.clock

        def browse(self, shopper, category) -> None:  # type: ignore[no-untyped-def]
            pass

        def home(self, shopper, browsed, at):  # type: ignore[no-untyped-def]
            self.shown.append(f"d{len(self.shown)}")
            return self.shown[-1], "a"

        def click(self, shopper, decision_id, at) -> None:  # type: ignore[no-untyped-def]
            self.clicked.append(decision_id)

    shop = Recorder()
    simulate(shop, seed=3, visits=300, per_hour=3000, scale=100.0)  # every view's click is drawn
    assert sorted(shop.clicked) == sorted(shop.shown)
    assert shop.clock > 0


def test_a_restart_after_the_swap_goes_through_the_admin_api_and_lands_where_the_twins_does() -> None:
    """``--restart-after-swap N``: the HTTP bench restarts learning as a marketer does (a record in the
    proxy's log, written by ``POST /_sw/admin/restart``) before the Nth decision after the swap; the
    report read back from that log places it there, and the twin restarts before the same view."""
    from bench.bandits_http import run

    result = run("linucb", 5, VISITS, 20, True, 0.3, "in-process", 1.0, True, 10)
    assert result.restarts == [VISITS // 2 + 10]
    told: list[int] = []

    def watch(view, learner, shopper, arm):
        if any(c["watched"] == "told" for c in learner.policies["hero"].changes) and not told:
            told.append(view)

    twin("linucb", 5, VISITS, 20, swap=True, amp=0.3, watch=watch, restart_after_swap=10)
    assert told == [VISITS // 2 + 10]
