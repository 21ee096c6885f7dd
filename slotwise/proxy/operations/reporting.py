"""Builds the decision log and the per-slot reports from the store's log.

Rewards are not stored next to decisions: they are what the learner's
attribution rules make of the log. So the report replays the whole log
through a fresh ``Learner`` — the same code that learned online — and reads
the outcomes: a report can never disagree with what the models learned.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping

from slotwise.bandits.decision_log import LoggedDecision
from slotwise.bandits.goals import is_binary
from slotwise.bandits.learner import Learner, SlotConfig
from slotwise.bandits.policies import POLICIES
from slotwise.bandits.records import Restart
from slotwise.bandits.segments import segment_tables
from slotwise.bandits.stats import SlotReport, slot_report
from slotwise.proxy.operations.learning import learner_record
from slotwise.store.base import LogRecord, Store


@dataclass
class DecisionLog:
    """Every decision with its reward (when known) and exposure, plus the slots' settings."""

    rows: list[LoggedDecision]
    slots: dict[str, SlotConfig]
    holdout_share: float | None
    restarts: dict[str, list[Restart]] = field(default_factory=dict)  # per slot, from change detection
    currencies: list[str] = field(default_factory=list)  # what the orders' values are counted in (``valued_in``)


async def read_all(store: Store, batch: int = 5000) -> list[LogRecord]:
    records: list[LogRecord] = []
    seq = 0
    while True:
        chunk = await store.read_log(seq, batch)
        records.extend(chunk)
        if len(chunk) < batch:
            return records
        seq = chunk[-1].seq


def latest_decision(records: Iterable[LogRecord], slot: str | None = None) -> float | None:
    """When the last decision (of ``slot``) was made, None before any: what a ``--since`` that
    leaves nothing is measured against."""
    return max((float(r.data["ts"]) for r in records
                if r.kind == "decision" and slot in (None, r.data.get("slot"))), default=None)


def slot_configs_from_log(records: Iterable[LogRecord]) -> dict[str, SlotConfig]:
    """The slots as the decisions describe them: the rules' variants (``arms``, logged with every
    decision; older logs: the variants seen), goal, window."""
    arms: dict[str, list[str]] = {}
    meta: dict[str, Mapping[str, Any]] = {}
    ruled: set[str] = set()
    for rec in records:
        if rec.kind != "decision":
            continue
        slot = rec.data["slot"]
        meta[slot] = rec.data
        arm = rec.data.get("arm")
        if isinstance(rec.data.get("arms"), list):  # the variants the rules had (shown or not)
            arms[slot] = [str(a) for a in rec.data["arms"]]
            ruled.add(slot)
        elif arm is not None and arm not in arms.setdefault(slot, []):
            arms[slot].append(arm)
        arms.setdefault(slot, [])
    configs = {}
    for slot, data in meta.items():
        configs[slot] = SlotConfig(
            arms=tuple(arms[slot] if slot in ruled else sorted(arms[slot])) or ("control",),
            goal=data.get("goal") or "click",
            policy=data.get("policy_spec"),
            window=float(data.get("window") or 1800.0),
            window_mode=data.get("window_mode") or "inactivity",
        )
    return configs


def valued_in(records: Iterable[LogRecord]) -> list[str]:
    """The currencies the log's orders are counted in (``rules.revenue.valued``), by their latest order: one,
    unless the rules' ``revenue.currency`` changed; none for orders recorded without ``revenue``."""
    latest: dict[str, int] = {}
    for rec in records:
        stamp = rec.data.get("revenue") if rec.kind == "event" else None
        if isinstance(stamp, Mapping) and isinstance(stamp.get("currency"), str):
            latest[stamp["currency"]] = rec.seq
    return sorted(latest, key=latest.__getitem__)


def build_decision_log(
    records: list[LogRecord],
    slots: Mapping[str, SlotConfig] | None = None,
    *,
    now: float | None = None,
    since: float | None = None,
) -> DecisionLog:
    """Replays the log: one row per decision, rewards from the learner's outcomes."""
    configs = dict(slots) if slots else slot_configs_from_log(records)
    for slot, config in slot_configs_from_log(records).items():
        configs.setdefault(slot, config)
    learner = Learner()
    learner.configure_local(configs)
    rows: dict[str, dict[str, Any]] = {}
    holdout_share: float | None = None

    def take(outcomes: Iterable[Any]) -> None:
        for outcome in outcomes:
            row = rows.get(outcome.decision_id)
            if row is not None and outcome.reward is not None:
                row["reward"], row["rewarded_at"] = outcome.reward, outcome.ts

    for rec in records:
        if rec.kind == "decision":
            d = rec.data
            holdout_share = d.get("holdout_share", holdout_share)
            rows[d["decision_id"]] = {
                "decision_id": d["decision_id"], "ts": float(d["ts"]), "visitor": d["visitor_id"],
                "slot": d["slot"], "arm": d.get("arm"), "propensity": float(d.get("propensity", 1.0)),
                "policy": d.get("policy", ""), "model_version": d.get("model_version", ""),
                "context": dict(d.get("context") or {}), "holdout": bool(d.get("holdout")),
                "reward": None, "rewarded_at": None, "exposed_at": None,
                "offered": tuple(d["offered"]) if d.get("offered") else None,  # drawn among fewer arms (``active``)
            }
        converted = learner_record(rec)
        if converted is not None and converted["type"] == "exposure":  # in view, or a popup shown
            row = rows.get(converted["decision_id"])
            if row is not None and row["exposed_at"] is None:
                row["exposed_at"] = rec.ts
        if converted is not None:
            try:
                take(learner.apply(converted))
            except (KeyError, ValueError, TypeError):
                learner.skip_to(rec.seq)
    take(learner.tick_local(time.time() if now is None else now))
    selected = [r for r in rows.values() if since is None or r["ts"] >= since]
    restarts = {slot: [r for r in found if since is None or r.ts >= since]
                for slot, found in learner.restarts.items()}
    return DecisionLog([LoggedDecision(**r) for r in selected], configs, holdout_share, restarts, valued_in(records))


def slot_reports(log: DecisionLog, slot: str | None = None, bucket_seconds: float = 3600.0) -> list[SlotReport]:
    rows = [r.to_dict() for r in log.rows]
    reports = []
    for name, config in sorted(log.slots.items()):
        if slot is not None and name != slot:
            continue
        intended = None
        if config.policy and dict(config.policy).get("name") == "uniform":  # an even split: check it holds
            intended = {arm: 1.0 / len(config.arms) for arm in config.arms}
        report = slot_report(rows, name, config.goal, arms=list(config.arms), intended_split=intended,
                             holdout_share=log.holdout_share, bucket_seconds=bucket_seconds)
        segments = []
        if is_contextual(config):  # pooled figures hide a variant that wins for some visitors
            segments = segment_tables([r for r in rows if r.get("slot") == name], list(config.arms),
                                      is_binary(config.goal))
        reports.append(replace(report, restarts=list(log.restarts.get(name, [])), segments=segments,
                               currencies=[] if is_binary(config.goal) else list(log.currencies)))
    return reports


MIN_MEASURED_FOR_CHANCE = 5
"""A variant's chance of being best is shown once every variant has this many measured decisions:
before that it is the prior talking (25% each of four untried variants, or >99.9% for the only
one shown once), not the visitors."""

LEGEND = (
    "shown: decisions made (a visitor got the variant); seen: the visitor saw it (in view, or the popup "
    "opened); measured: the outcome is known (goal reached, or the attribution window is over; click goals "
    "count only seen decisions); chance best: probability that the variant is truly the best, once every "
    f"variant has {MIN_MEASURED_FOR_CHANCE} measured decisions."
)


@dataclass(frozen=True)
class ReportRow:
    """One line of a slot's table, worded once for the text report and the admin page."""

    name: str
    shown: int
    seen: int
    measured: int
    value: str  # the rate or amount per decision, "-" before anything is measured
    interval: str  # "low to high", "-" while undefined
    chance: str  # chance best, "-" until every variant has enough measured decisions; "" for the holdout


def measure_name(goal: str) -> str:
    return "rate" if is_binary(goal) else "per decision"


def goal_text(report: SlotReport) -> str:
    """The goal, with the currency its amounts are in when the rules name one (``revenue.currency``)."""
    return f"{report.goal}, in {report.currencies[-1]}" if report.currencies else report.goal


def amount_text(x: float | None, binary: bool) -> str:
    """A rate as a percentage, an amount with two decimals; '-' when there is none."""
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x:.2%}" if binary else f"{x:,.2f}"


def difference_text(x: float, binary: bool) -> str:
    return f"{x * 100:+.2f} points" if binary else f"{x:+,.2f}"


def chance_ready(report: SlotReport) -> bool:
    return bool(report.arms) and all(a.closed >= MIN_MEASURED_FOR_CHANCE for a in report.arms)


def report_rows(report: SlotReport) -> list[ReportRow]:
    """Every variant the rules define (shown or not), then the holdout as the baseline."""
    binary, ready = is_binary(report.goal), chance_ready(report)

    def row(arm: Any, name: str, chance: str) -> ReportRow:
        measured = arm.closed > 0
        low, high = arm.interval.low, arm.interval.high
        defined = measured and math.isfinite(low) and math.isfinite(high)
        interval = f"{amount_text(low, binary)} to {amount_text(high, binary)}" if defined else "-"
        return ReportRow(name, arm.decisions, arm.exposures, arm.closed,
                         amount_text(arm.mean if measured else None, binary), interval, chance)

    rows = [row(a, a.arm, chance_text(a.p_best) if ready else "-") for a in report.arms]
    if report.holdout is not None:
        rows.append(row(report.holdout, "holdout (baseline)", ""))
    return rows


def lift_text(report: SlotReport) -> str:
    """What personalization adds over the holdout, in one sentence."""
    lift = report.lift
    if lift is None:
        return "Lift over the holdout: not enough measured decisions in both groups yet."
    binary = is_binary(report.goal)
    text = (f"Personalized {amount_text(lift.personalized_mean, binary)} vs holdout "
            f"{amount_text(lift.holdout_mean, binary)}: {difference_text(lift.difference, binary)} (95% interval "
            f"{difference_text(lift.difference_interval.low, binary)} to "
            f"{difference_text(lift.difference_interval.high, binary)})")
    if lift.relative is not None and lift.relative_interval is not None:
        text += (f", {lift.relative:+.0%} relative ({lift.relative_interval.low:+.0%} to "
                 f"{lift.relative_interval.high:+.0%})")
    text += f"; personalized n={lift.n_personalized}, holdout n={lift.n_holdout}."
    low, high = lift.difference_interval.low, lift.difference_interval.high
    if low <= 0 <= high:  # a +78% with an interval across 0 reads as a win to anyone who skips the brackets
        text += " Not clear yet: the interval still includes no difference; it narrows as decisions are measured."
    return text


def chance_note(report: SlotReport) -> str | None:
    """Why 'chance best' is still '-': the measured decisions each variant has, of the ones it needs."""
    if chance_ready(report) or not report.arms:
        return None
    have = ", ".join(f"{a.arm} {a.closed}" for a in report.arms)
    return (f"Chance best appears once every variant has {MIN_MEASURED_FOR_CHANCE} measured decisions "
            f"(measured so far: {have}).")


def chance_text(p: float) -> str:
    """A chance of being best for people: never a flat 0% or 100% from a Monte Carlo count."""
    if not math.isfinite(p):
        return ""
    if p >= 0.9995:
        return ">99.9%"
    return "<0.1%" if p < 0.0005 else f"{p:.1%}"


def is_contextual(config: SlotConfig) -> bool:
    """The slot's policy decides per visitor (LinUCB, a river model)."""
    policy = POLICIES.get(str(dict(config.policy or {}).get("name")))
    return bool(policy is not None and policy.contextual)


def segment_lines(report: SlotReport) -> list[str]:
    """The per-segment part of a contextual slot's report, as plain lines (text and admin page):
    the features whose segments have different leaders, in a table each, then the others."""
    if not report.segments:
        return []
    binary = is_binary(report.goal)

    def amount(arm: Any) -> str:  # as the table above and the admin page write it
        return amount_text(arm.mean if arm.closed else None, binary)

    arms = [a.arm for a in report.segments[0].rows[0].arms]
    out = ["By segment (this slot decides per visitor; 'chance best' above pools all visitors):"]
    same = []
    for table in report.segments:
        if not table.leaders_differ:
            same.append(table.group)
            continue
        width = max(len(table.group), *(len(r.level) for r in table.rows)) + 2
        out.append(f"  {table.group:<{width}}{'measured':>9}" + "".join(f"{a:>10}" for a in arms) + "   leader")
        for row in table.rows:
            leader = row.leader
            lead = f"{leader.arm} ({chance_text(leader.p_best)} chance best)" if leader else "unclear yet"
            out.append(f"  {row.level:<{width}}{row.measured:>9}" + "".join(f"{amount(a):>10}" for a in row.arms)
                       + f"   {lead}")
    if same:
        out.append(f"  Same leader (or none yet) in every segment of: {', '.join(same)}.")
    return out


def json_safe(value: Any) -> Any:
    """Plain JSON: an unbounded interval end or an undefined value (inf, nan) becomes null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


NOT_SHOWN_YET = ("Not shown to anyone yet: no page it applies to has been visited, its 'when' held for no "
                 "visitor, or its selector matched nothing on its pages (`slotwise rules check RULES --url URL` "
                 "shows which; on the admin page, the slot's element line says on how many of its pages it was not found).")


def not_shown_yet(report: SlotReport) -> bool:
    """No decision at all, the holdout's included: a new slot, or one that never finds its visitors or element."""
    return not any(a.decisions for a in report.arms) and not (report.holdout and report.holdout.decisions)


def notices(report: SlotReport) -> list[tuple[str, str]]:
    """What a slot's report must point out, in words: ``("warning", text)`` and ``("note", text)``."""
    out = [("warning", srm_message(check)) for check in report.srm if check.warning]
    early = NOT_SHOWN_YET if not_shown_yet(report) else chance_note(report)
    out += [("note", early)] if early else []
    if len(report.currencies) > 1:  # amounts of two currencies in one mean: the rules' revenue.currency changed
        out.append(("warning", f"Order values are counted in {' and '.join(report.currencies)}: the rules' "
                               "revenue.currency changed, so these amounts add different currencies. Restart "
                               "the slot's learning, or report --since the change."))
    return out + [("note", restart_message(restart, report.goal)) for restart in report.restarts]


def restart_message(restart: Restart, goal: str) -> str:
    """A learning restart in words, for the text report and the admin page."""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(restart.ts))
    if restart.watched == "told":  # asked for (the admin page), not detected
        asked = f"restarted {when}, asked for by {restart.by or 'hand'}"
        if restart.arm:
            return (f"Learning of variant {restart.arm} {asked}: the policy tests it again from nothing; the other "
                    "variants keep what was learned. Its figures before and after mix two regimes.")
        return (f"Learning {asked}: the policy is testing every variant again. Figures before and after mix "
                "two regimes.")
    who = f"variant {restart.arm}" if restart.arm else "all variants together"
    binary = is_binary(goal)

    def amount(value: float) -> str:
        return f"{value:.1%}" if binary else f"{value:,.2f}"

    before, after = restart.before, restart.after
    if not (math.isfinite(before) and math.isfinite(after)):
        what = f"the reward of {who} shifted"
    elif restart.watched == "error":
        gap = after - before
        size = f"{abs(gap) * 100:.1f} points" if binary else f"{abs(gap):,.2f}"
        what = f"{who} earned {size} {'less' if gap < 0 else 'more'} than the model predicted"
    else:
        what = f"the reward of {who} went from {amount(before)} to {amount(after)}"
    return (f"Learning restarted {when}: {what} (change detection), "
            "so the policy is testing every variant again. Figures before and after mix two regimes.")


def srm_message(check: Any) -> str:
    """A sample-ratio-mismatch warning in words, for the text report and the admin page."""
    total = sum(check.observed.values()) or 1
    share_sum = sum(check.expected_share.values()) or 1
    got = " / ".join(f"{k} {v / total:.1%}" for k, v in check.observed.items())
    meant = " / ".join(f"{k} {v / share_sum:.1%}" for k, v in check.expected_share.items())
    what = "holdout vs personalized" if check.name == "holdout" else "variants"
    return (f"Traffic split is off ({what}): got {got}, expected {meant} (p={check.p_value:.2g}). "
            "The numbers may be biased: check the assignment, the logging and bot filtering.")
