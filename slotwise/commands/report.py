"""``slotwise report``: which variant wins, and what personalization adds over the holdout; and each slot's
health (its element found or not on its pages), in the admin page's words (``slot_health.health_rows``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Mapping

from slotwise.commands.common import add_store_arguments, missing_store, parse_since, run_on_store, store_from_args

if TYPE_CHECKING:  # the statistics (numpy) load when a report runs, not for ``--help``
    from slotwise.bandits.stats import SlotReport
    from slotwise.proxy.operations.reporting import DecisionLog
    from slotwise.proxy.operations.slot_health import HealthRow
    from slotwise.store.base import LogRecord


GOAL_MEANING = {
    "click": "share of seen decisions clicked",
    "add_to_cart": "share of decisions followed by an add to cart",
    "purchase": "share of decisions followed by an order",
    "signup": "share of decisions followed by a sign-up",
    "revenue": "order value per decision",
    "margin": "order value minus coupon cost, per decision",
}


def render_text(reports: list[SlotReport], windows: Mapping[str, str] | None = None,
                health: Mapping[str, HealthRow] | None = None) -> str:
    """The report for a person: one table per slot (every variant of the rules, the holdout as the
    baseline), in the admin page's words (``reporting.report_rows``, ``lift_text``, ``notices``);
    ``windows``: slot id -> its ``active`` window in words, from the rules (``--rules``); ``health``: each
    slot's health row, its line under the slot's heading (``slot_health``)."""
    from slotwise.bandits.goals import is_binary
    from slotwise.proxy.operations.reporting import (LEGEND, goal_text, lift_text, measure_name, notices, report_rows,
                                                     segment_lines)

    if not reports:
        return "No decisions logged yet.\n"
    out: list[str] = []
    for rep in reports:
        binary = is_binary(rep.goal)
        rows = report_rows(rep)
        width = max([len("variant")] + [len(r.name) for r in rows]) + 2
        col = 9 if binary else 14
        out.append(f"Slot {rep.slot} - goal: {goal_text(rep)} ({GOAL_MEANING.get(rep.goal, rep.goal)})")
        if windows and rep.slot in windows:
            out.append(f"  {windows[rep.slot]}")
        if health and rep.slot in health:
            out.append(f"  {'WARNING: ' if health[rep.slot].mostly_absent else ''}Health: {health[rep.slot].line}")
        out.append(f"  {'variant':<{width}}{'shown':>8}{'seen':>8}{'measured':>10}{measure_name(rep.goal):>{col}}   "
                   f"{'95% interval':<22}{'chance best':>11}")
        for r in rows:
            out.append(f"  {r.name:<{width}}{r.shown:>8}{r.seen:>8}{r.measured:>10}{r.value:>{col}}   "
                       f"{r.interval:<22}{r.chance:>11}".rstrip())
        out.append("  " + lift_text(rep))
        out += ["  " + line for line in segment_lines(rep)]
        out += [f"  {'WARNING' if kind == 'warning' else 'Note'}: {text}" for kind, text in notices(rep)]
        out.append("")
    out.extend(textwrap.wrap(LEGEND, 100))
    return "\n".join(out) + "\n"


async def _report(args: argparse.Namespace) -> int:
    from slotwise.bandits.decision_log import format_decision_log
    from slotwise.proxy.operations.reporting import build_decision_log, json_safe, read_all, slot_reports
    from slotwise.proxy.operations.slot_health import health_rows, read_presence, warning_lines

    missing = missing_store(args)
    if missing:
        print(f"slotwise report: {missing}", file=sys.stderr)
        return 1
    _, store = store_from_args(args)
    try:
        records = await read_all(store)
        presence = await read_presence(store)  # fail open: the report without the health lines
    finally:
        await store.close()
    since = args.since  # a timestamp (parse_since), or None
    configs = None
    windows: dict[str, str] = {}
    slot_ids: list[str] | None = None  # without --rules: every slot the store counted (removed ones are dropped)
    rules = args.rules or os.environ.get("SLOTWISE_RULES")
    if rules:  # the variants as the server has them (also for a log from before decisions named them all)
        from slotwise.proxy.personalization.choices import slot_configs
        from slotwise.rules import load_rules
        from slotwise.rules.errors import RulesError

        try:
            ruleset = load_rules(rules, secrets=False)
            configs = slot_configs(ruleset)
            windows = {slot.id: f"runs {slot.window.span()}" for slot in ruleset.slots if slot.window is not None}
            slot_ids = [slot.id for slot in ruleset.slots]
        except (RulesError, OSError) as exc:
            print(f"slotwise report: {exc}", file=sys.stderr)
            return 2
    log = build_decision_log(records, configs, since=since)
    health = {slot: row for slot, row in health_rows(presence, slot_ids).items() if args.slot in (None, slot)}
    if args.slot and args.slot not in log.slots:
        # a slot whose element is never found has no decisions: its health says why
        why = f"; {health[args.slot].line}" if args.slot in health else ""
        print(f"slotwise report: no decisions for slot {args.slot!r}{why} (slots: "
              f"{', '.join(sorted(log.slots)) or 'none'})", file=sys.stderr)
        return 1
    if args.export:
        fmt = "jsonl" if args.export.endswith((".jsonl", ".json")) else "csv"
        rows = [r for r in log.rows if r.slot == args.slot] if args.slot else log.rows  # as --since filters it
        try:
            with open(args.export, "w", encoding="utf-8", newline="") as fh:
                for line in format_decision_log(rows, fmt):
                    fh.write(line)
        except OSError as exc:
            print(f"slotwise report: --export {args.export}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        print(f"wrote {len(rows)} decisions to {args.export} ({fmt})", file=sys.stderr)
    reports = slot_reports(log, args.slot)
    empty = nothing_since(records, log, since, args.slot)
    none_yet = none_logged(records, args.slot)
    warning = "".join(f"{line}\n" for line in warning_lines(health))  # slots shown to almost nobody: first
    if args.format == "json":
        for line in (empty, none_yet):  # the JSON stays what a script reads; the person running it is told
            if line:
                print(f"slotwise report: {line}", file=sys.stderr)
        print(warning, end="", file=sys.stderr)
        print(json.dumps(json_safe([asdict(r) for r in reports]), indent=2))
    elif empty:
        print(f"{warning}\n" if warning else "", empty, sep="")
    else:  # the rules' variants are still listed (what will be measured), after the line that says why all is 0
        print(f"{warning}\n" if warning else "", f"{none_yet}\n\n" if none_yet and reports else "",
              render_text(reports, windows, health), sep="", end="")
    return 0


def none_logged(records: list[LogRecord], slot: str | None) -> str | None:
    """The "No decisions logged yet." line when the log holds none (of ``slot``): with ``--rules`` the tables
    list every variant with zeros, which read as a slot nobody reached unless this comes first."""
    from slotwise.proxy.operations.reporting import latest_decision

    if latest_decision(records, slot) is not None:
        return None
    return f"No decisions for slot {slot!r} logged yet." if slot else "No decisions logged yet."


def nothing_since(records: list[LogRecord], log: DecisionLog, since: float | None, slot: str | None) -> str | None:
    """The "No decisions since ..." line when ``--since`` leaves none (of ``slot``) while the log has
    some: tables of zeros would read as a slot nobody reached, not as a date past the last decision."""
    from slotwise.proxy.operations.reporting import latest_decision

    if since is None or any(slot in (None, row.slot) for row in log.rows):
        return None
    latest = latest_decision(records, slot)
    if latest is None:  # none at all: "No decisions logged yet."
        return None
    which = f"for slot {slot!r} " if slot else ""
    return f"No decisions {which}since {_utc(since)}; the latest was at {_utc(latest)}."


def _utc(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def run_report(args: argparse.Namespace) -> int:
    return run_on_store("report", _report(args), failed="slotwise report",
                        after="nothing reported or exported: run it again once the store is back")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "report",
        help="per slot and variant: decisions, reward with 95%% intervals, P(best), lift over holdout",
    )
    add_store_arguments(parser)
    parser.add_argument("--rules", default=None, help="the rules file the server runs with: every variant is listed, "
                        "shown or not (env SLOTWISE_RULES; without it, the variants the decisions name)")
    parser.add_argument("--slot", help="only this slot")
    parser.add_argument("--since", type=parse_since,  # a wrong one: argparse's usage error, not a traceback
                        help="only decisions since a duration ago (7d, 12h) or an ISO date")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--export", metavar="FILE", help="also write the decision log (.csv or .jsonl) for `slotwise replay`: the decisions reported "
                        "(--slot, --since)")
    parser.set_defaults(func=run_report)
