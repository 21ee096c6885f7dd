"""``slotwise report``: which variant wins, and what personalization adds over the holdout."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import textwrap
from dataclasses import asdict
from typing import TYPE_CHECKING

from slotwise.commands.common import add_store_arguments, parse_since, store_from_args

if TYPE_CHECKING:  # the statistics (numpy) load when a report runs, not for ``--help``
    from slotwise.bandits.stats import SlotReport


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def _num(x: float | None, binary: bool) -> str:
    """A rate as a percentage, an amount with two decimals; '-' when there is none yet."""
    if not _finite(x):
        return "-"
    return f"{x:.2%}" if binary else f"{x:,.2f}"


def _interval(low: float | None, high: float | None, binary: bool) -> str:
    if not (_finite(low) and _finite(high)):
        return "-"
    return f"{_num(low, binary)} to {_num(high, binary)}"


def _chance(p: float) -> str:
    from slotwise.proxy.reporting import chance_text

    return chance_text(p)


def _diff(x: float, binary: bool) -> str:
    return f"{x * 100:+.2f}" if binary else f"{x:+,.2f}"


GOAL_MEANING = {
    "click": "share of seen decisions clicked",
    "add_to_cart": "share of decisions followed by an add to cart",
    "purchase": "share of decisions followed by an order",
    "signup": "share of decisions followed by a sign-up",
    "revenue": "order value per decision",
    "margin": "order value minus coupon cost, per decision",
}
LEGEND = (
    "shown: decisions made (a visitor got the variant); seen: the tag reported it in view; "
    "measured: the outcome is known (goal reached, or the attribution window is over; "
    "click goals count only seen decisions); chance best: probability that the variant is truly the best."
)


def render_text(reports: list[SlotReport]) -> str:
    """The report for a person: one table per slot, the holdout as the baseline, plain-language lift."""
    from slotwise.bandits.goals import is_binary
    from slotwise.proxy.reporting import notices, segment_lines

    if not reports:
        return "No decisions logged yet.\n"
    out: list[str] = []
    for rep in reports:
        binary = is_binary(rep.goal)
        measure = "rate" if binary else "per decision"
        rows = list(rep.arms) + ([rep.holdout] if rep.holdout is not None else [])
        width = max([len("variant")] + [len(a.arm) for a in rows] + [len("holdout (baseline)")]) + 2
        out.append(f"Slot {rep.slot} - goal: {rep.goal} ({GOAL_MEANING.get(rep.goal, rep.goal)})")
        col = 9 if binary else 14
        out.append(f"  {'variant':<{width}}{'shown':>8}{'seen':>8}{'measured':>10}{measure:>{col}}   "
                   f"{'95% interval':<22}{'chance best':>11}")
        for arm in rows:
            name = "holdout (baseline)" if arm is rep.holdout else arm.arm
            out.append((
                f"  {name:<{width}}{arm.decisions:>8}{arm.exposures:>8}{arm.closed:>10}"
                f"{_num(arm.mean if arm.closed else None, binary):>{col}}   "
                f"{_interval(arm.interval.low, arm.interval.high, binary) if arm.closed else '-':<22}"
                f"{_chance(arm.p_best) if arm is not rep.holdout else '':>11}"
            ).rstrip())
        if rep.lift is not None:
            lift = rep.lift
            line = (f"  Personalized {_num(lift.personalized_mean, binary)} vs holdout {_num(lift.holdout_mean, binary)}: "
                    f"{_diff(lift.difference, binary)}{' points' if binary else ''} (95% interval "
                    f"{_diff(lift.difference_interval.low, binary)} to {_diff(lift.difference_interval.high, binary)})")
            if lift.relative is not None and lift.relative_interval is not None:
                line += (f", {lift.relative:+.0%} relative ({lift.relative_interval.low:+.0%} to "
                         f"{lift.relative_interval.high:+.0%})")
            out.append(line)
        else:
            out.append("  Lift over the holdout: not enough measured decisions in both groups yet.")
        out += ["  " + line for line in segment_lines(rep)]
        out += [f"  {'WARNING' if kind == 'warning' else 'Note'}: {text}" for kind, text in notices(rep)]
        out.append("")
    out.extend(textwrap.wrap(LEGEND, 100))
    return "\n".join(out) + "\n"


async def _report(args: argparse.Namespace) -> int:
    from slotwise.bandits.decision_log import format_decision_log
    from slotwise.proxy.reporting import build_decision_log, json_safe, read_all, slot_reports

    _, store = store_from_args(args)
    try:
        records = await read_all(store)
    finally:
        await store.close()
    since = parse_since(args.since) if args.since else None
    log = build_decision_log(records, since=since)
    if args.export:
        fmt = "jsonl" if args.export.endswith((".jsonl", ".json")) else "csv"
        with open(args.export, "w", encoding="utf-8", newline="") as fh:
            for line in format_decision_log(log.rows, fmt):
                fh.write(line)
        print(f"wrote {len(log.rows)} decisions to {args.export} ({fmt})", file=sys.stderr)
    if args.slot and args.slot not in log.slots:
        print(f"slotwise report: no decisions for slot {args.slot!r} (slots: {', '.join(sorted(log.slots)) or 'none'})",
              file=sys.stderr)
        return 1
    reports = slot_reports(log, args.slot)
    if args.format == "json":
        print(json.dumps(json_safe([asdict(r) for r in reports]), indent=2))
    else:
        print(render_text(reports), end="")
    return 0


def run_report(args: argparse.Namespace) -> int:
    return asyncio.run(_report(args))


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "report",
        help="per slot and variant: decisions, reward with 95%% intervals, P(best), lift over holdout",
    )
    add_store_arguments(parser)
    parser.add_argument("--slot", help="only this slot")
    parser.add_argument("--since", help="only decisions since a duration ago (7d, 12h) or an ISO date")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--export", metavar="FILE", help="also write the decision log (.csv or .jsonl) for `slotwise replay`")
    parser.set_defaults(func=run_report)
