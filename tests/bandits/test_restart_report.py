"""A change-point restart is replayed from the log and shown in the report."""

from __future__ import annotations

import random

from slotwise.bandits.learner import Learner, SlotConfig
from slotwise.commands.report import render_text
from slotwise.proxy.operations.reporting import build_decision_log, slot_reports
from slotwise.store.base import LogRecord

T0 = 1_800_000_000.0
CONFIG = SlotConfig(arms=("a", "b"), goal="purchase", policy="thompson", window=600.0)


def store_log(n_per_phase: int = 3_000) -> tuple[list[LogRecord], float]:
    """An even split whose better variant swaps halfway (a: 15% then 2%, b the reverse)."""
    rng = random.Random(8)
    records: list[LogRecord] = []
    seq = 0
    change_ts = T0 + n_per_phase * 10.0
    for i in range(2 * n_per_phase):
        ts = T0 + i * 10.0
        arm = rng.choice(CONFIG.arms)
        first = ts < change_ts
        rate = 0.15 if (arm == "a") == first else 0.02
        vid = f"v{i}"
        seq += 1
        records.append(LogRecord("decision", f"d{i}", vid, ts, {
            "decision_id": f"d{i}", "ts": ts, "visitor_id": vid, "slot": "hero", "arm": arm,
            "propensity": 0.5, "policy": "uniform", "model_version": "0.0"}, seq))
        if rng.random() < rate:
            seq += 1
            records.append(LogRecord("event", f"e{i}", vid, ts + 60.0,
                                     {"type": "purchase", "props": {"total": 50.0}}, seq))
    return records, change_ts


def test_learner_records_when_and_why_learning_restarted():
    records, change_ts = store_log()
    log = build_decision_log(records, {"hero": CONFIG}, now=T0 + 10**6)
    restarts = log.restarts["hero"]
    assert len(restarts) == 1
    assert change_ts < restarts[0].ts < change_ts + 3_000 * 10.0 / 2
    assert restarts[0].arm in ("a", "b") and restarts[0].watched == "reward"
    # the report says how the variant's reward moved: ~15% -> ~2% for a, the reverse for b
    high, low = (restarts[0].before, restarts[0].after) if restarts[0].arm == "a" else (restarts[0].after,
                                                                                          restarts[0].before)
    assert high > 0.09 and low < 0.06


def test_report_says_learning_restarted():
    records, change_ts = store_log()
    log = build_decision_log(records, {"hero": CONFIG}, now=T0 + 10**6)
    (report,) = slot_reports(log)
    assert report.restarts and report.restarts[0].ts > change_ts
    text = render_text([report])
    assert "Learning restarted" in text and "change detection" in text
    # a report that starts after the restart does not mention it
    later = build_decision_log(records, {"hero": CONFIG}, now=T0 + 10**6, since=report.restarts[0].ts + 1)
    assert later.restarts["hero"] == []


def test_a_steady_log_shows_no_restart():
    records, _ = store_log()
    steady = [r for r in records if r.ts < T0 + 3_000 * 10.0]
    assert build_decision_log(steady, {"hero": CONFIG}, now=T0 + 10**6).restarts.get("hero", []) == []


def test_restarts_are_in_the_learner_for_a_live_slot():
    learner = Learner({"hero": CONFIG})
    rng = random.Random(2)
    for i in range(6_000):
        ts = T0 + i * 10.0
        arm = rng.choice(CONFIG.arms)
        rate = 0.15 if (arm == "a") == (i < 3_000) else 0.02
        learner.on_decision({"decision_id": f"d{i}", "ts": ts, "visitor_id": f"v{i}", "slot": "hero",
                             "arm": arm, "propensity": 0.5})
        if rng.random() < rate:
            learner.on_event(f"v{i}", "purchase", 50.0, ts + 60.0)
    assert [r.arm for r in learner.restarts["hero"]] and learner.policies["hero"].restarts == 1


def test_admin_page_notes_the_restart_and_marks_it_on_the_charts():
    from slotwise.proxy.operations.admin import render_slot
    records, _ = store_log()
    log = build_decision_log(records, {"hero": CONFIG}, now=T0 + 10**6)
    (report,) = slot_reports(log)
    html = render_slot(report, log)
    assert "Learning restarted" in html and "went from" in html
    assert html.count('class="mark"') == 2  # a dashed line on both charts
