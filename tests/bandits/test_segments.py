"""The report on contextual slots: segments with their own leaders, and priors that evidence outweighs."""

from __future__ import annotations

import random

from slotwise.bandits import features
from slotwise.bandits.learner import SlotConfig
from slotwise.bandits.segments import segment_tables
from slotwise.bandits.stats import prob_best
from slotwise.commands.report import render_text
from slotwise.proxy.operations.reporting import DecisionLog, slot_reports
from slotwise.bandits.decision_log import LoggedDecision

ARMS = ("a", "b")
RATES = {("mobile", "a"): 0.02, ("mobile", "b"): 0.07, ("desktop", "a"): 0.06, ("desktop", "b"): 0.01}


def rows(n: int = 6000, seed: int = 1) -> list[LoggedDecision]:
    """A slot where b wins on mobile and a on desktop; the policy showed b mostly (mobile is 70%)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        device = "mobile" if rng.random() < 0.7 else "desktop"
        arm = rng.choice(ARMS)
        reward = float(rng.random() < RATES[(device, arm)])
        ctx = features({"device": device, "is_new": rng.random() < 0.5, "source": rng.choice(["direct", "search"])})
        out.append(LoggedDecision(f"d{i}", 1_800_000_000.0 + i, f"v{i}", "hero", arm, 0.5, "linucb", "0.1", ctx,
                                  reward, None, exposed_at=1_800_000_000.0 + i))
    return out


def test_each_device_gets_its_own_leader():
    tables = {t.group: t for t in segment_tables([r.to_dict() for r in rows()], ARMS, binary=True)}
    device = tables["device"]
    leaders = {row.level: row.leader.arm for row in device.rows if row.leader}
    assert leaders == {"mobile": "b", "desktop": "a"}
    assert device.leaders_differ
    assert not tables["source"].leaders_differ  # the same split everywhere: b leads (mobile dominates)


def test_the_text_report_of_a_contextual_slot_shows_the_segments():
    log = DecisionLog(rows(), {"hero": SlotConfig(arms=ARMS, goal="click", policy="linucb")}, None)
    (report,) = slot_reports(log)
    pooled = {a.arm: a.p_best for a in report.arms}
    assert pooled["a"] < 0.05  # pooled, a looks like a loser...
    text = render_text([report])
    assert "By segment" in text
    desktop = next(line for line in text.splitlines() if line.strip().startswith("desktop"))
    assert "a (" in desktop and "chance best" in desktop  # ...but it leads for desktop visitors
    assert "Same leader (or none yet) in every segment of:" in text and "source" in text
    # a non-contextual slot has no segment rows
    flat = DecisionLog(rows(), {"hero": SlotConfig(arms=ARMS, goal="click", policy="thompson")}, None)
    assert slot_reports(flat)[0].segments == []


def test_zero_of_thirty_is_not_a_fifth_chance_of_being_best():
    """At a 1% rate a flat Beta(1, 1) prior is worth fifty visitors: 0 of 30 kept ~22% chance best."""
    samples = {"a": [0.0] * 30, "b": [1.0] * 3 + [0.0] * 297, "c": [1.0] * 2 + [0.0] * 250}
    flat = prob_best(samples, binary=True, prior_strength=2.0 / 0.01)  # what Beta(1,1)-like weight does
    assert flat["a"] > 0.15
    assert prob_best(samples, binary=True)["a"] < 0.05
    # and with real evidence the prior does not matter
    strong = {"a": [1.0] * 60 + [0.0] * 940, "b": [1.0] * 20 + [0.0] * 980}
    assert prob_best(strong, binary=True)["a"] > 0.99


def test_the_admin_page_shows_the_segments_of_a_contextual_slot():
    from slotwise.proxy.operations.admin import render_slot

    log = DecisionLog(rows(), {"hero": SlotConfig(arms=ARMS, goal="click", policy="linucb")}, None)
    (report,) = slot_reports(log)
    html = render_slot(report, log)
    assert "<h4>By segment</h4>" in html and "<th>device</th>" in html
    assert "<td>desktop</td>" in html and "a (&gt;99.9% chance best)" in html


def test_the_text_report_and_the_admin_page_write_a_segment_s_rates_alike():
    """One wording for both (docs/admin.md): the text wrote 9.8% where the page wrote 9.70%."""
    import re

    from slotwise.proxy.operations.admin import render_slot

    log = DecisionLog(rows(), {"hero": SlotConfig(arms=ARMS, goal="click", policy="linucb")}, None)
    (report,) = slot_reports(log)
    desktop = next(line for line in render_text([report]).splitlines() if line.strip().startswith("desktop"))
    page = re.search(r"<tr><td>desktop</td>(.*?)</tr>", render_slot(report, log)).group(1)
    assert desktop.split()[1:4] == re.findall(r"<td>([^<]*)</td>", page)[:3]  # measured, a, b
