"""``slotwise report``: which variant wins, and what personalization adds over the holdout."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from dataclasses import asdict

from slotwise.bandits.decision_log import format_decision_log
from slotwise.bandits.stats import SlotReport
from slotwise.commands.common import add_store_arguments, parse_since, store_from_args
from slotwise.proxy.reporting import build_decision_log, json_safe, read_all, slot_reports


def _pct(x: float) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.2%}"


def _num(x: float, binary: bool) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.2%}" if binary else f"{x:.2f}"


def render_text(reports: list[SlotReport]) -> str:
    from slotwise.bandits.goals import is_binary

    if not reports:
        return "No decisions logged yet.\n"
    out: list[str] = []
    for rep in reports:
        binary = is_binary(rep.goal)
        measure = "rate" if binary else "mean"
        out.append(f"slot {rep.slot}  (goal: {rep.goal})")
        out.append(f"  {'variant':<20} {'decisions':>9} {'exposed':>8} {'closed':>7} {measure:>8}   {'95% interval':<22} {'P(best)':>7}")
        for arm in rep.arms:
            iv = f"[{_num(arm.interval.low, binary)}, {_num(arm.interval.high, binary)}]"
            out.append(
                f"  {arm.arm:<20} {arm.decisions:>9} {arm.exposures:>8} {arm.closed:>7} "
                f"{_num(arm.mean, binary):>8}   {iv:<22} {arm.p_best:>7.1%}"
            )
        if rep.lift is not None:
            lift = rep.lift
            rel = "" if lift.relative is None else f", relative {_pct(lift.relative)}"
            rel_iv = "" if lift.relative_interval is None else (
                f" [{_pct(lift.relative_interval.low)}, {_pct(lift.relative_interval.high)}]")
            out.append(
                f"  lift over holdout: {_num(lift.difference, binary)} "
                f"[{_num(lift.difference_interval.low, binary)}, {_num(lift.difference_interval.high, binary)}]"
                f"{rel}{rel_iv}  (personalized n={lift.n_personalized}, holdout n={lift.n_holdout})"
            )
        else:
            out.append("  lift over holdout: not enough closed decisions in both groups yet")
        for check in rep.srm:
            if check.warning:
                out.append(
                    f"  WARNING sample ratio mismatch ({check.name}): observed {check.observed} vs intended "
                    f"{check.expected_share} (p={check.p_value:.2g}) — check assignment, logging or bots"
                )
        out.append("")
    return "\n".join(out)


async def _report(args: argparse.Namespace) -> int:
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
