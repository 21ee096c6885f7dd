"""``slotwise replay``: evaluate a candidate policy offline on the logged decisions."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from slotwise.bandits.decision_log import DecisionLogError, parse_decision_log
from slotwise.bandits.replay import Estimate, evaluate
from slotwise.bandits.spec import validate_policy_spec


def _value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def parse_params(items: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--param {item!r}: expected KEY=VALUE, e.g. epsilon=0.1")
        params[key.strip()] = _value(raw.strip())
    return params


def infer_goal(rows: list[Any]) -> str:
    """``click`` (any 0/1 goal) when every known reward is 0 or 1, else ``revenue`` (real-valued)."""
    return "click" if all(r.reward in (0.0, 1.0) for r in rows if r.reward is not None) else "revenue"


def _fmt(e: Estimate) -> str:
    if math.isnan(e.value):
        return f"{e.method:<8} n/a (no usable rows)"
    return (f"{e.method:<8} {e.value:.4f}  95% CI [{e.interval.low:.4f}, {e.interval.high:.4f}]"
            f"  rows {e.n}  effective n {e.effective_n:.0f}")


def run_replay(args: argparse.Namespace) -> int:
    path = Path(args.decisions)
    fmt = "jsonl" if path.suffix in (".jsonl", ".json") else "csv"
    try:
        params = parse_params(args.param or [])
        with path.open(encoding="utf-8") as fh:
            rows = parse_decision_log(fh, fmt)
    except (OSError, ValueError) as exc:
        print(f"slotwise replay: {path}: {exc}" if isinstance(exc, DecisionLogError) else f"slotwise replay: {exc}",
              file=sys.stderr)
        return 2
    slots = sorted({r.slot for r in rows if not r.holdout})
    if args.slot:
        slots = [s for s in slots if s == args.slot]
    if not slots:
        print("slotwise replay: no decisions to evaluate", file=sys.stderr)
        return 1
    spec = {"name": args.policy, "params": params}
    status = 0
    for slot in slots:
        slot_rows = [r for r in rows if r.slot == slot and not r.holdout]
        goal = args.goal or infer_goal(slot_rows)
        errors = validate_policy_spec(spec, goal)
        if errors:
            for error in errors:
                print(f"slotwise replay: --policy/--param: {error}", file=sys.stderr)
            return 2
        report = evaluate(slot_rows, spec, goal, seed=args.seed)
        known = sum(1 for r in slot_rows if r.reward is not None)
        candidate = f"{args.policy} {json.dumps(params)}" if params else args.policy
        kind = f"goal {goal}" if args.goal else ("0/1 rewards" if goal == "click" else "amounts")
        print(f"slot {slot}: candidate {candidate} ({kind}) on {len(slot_rows)} decisions, "
              f"{known} with a known reward")
        for estimate in (report.logged, report.ips, report.snips, report.replay):
            print("  " + _fmt(estimate))
        print()
    return status


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "replay",
        help="evaluate a candidate policy offline on a decision log (IPS, SNIPS, replay)",
        description="Offline evaluation of a bandit policy on logged decisions "
        "(export them with `slotwise report --export decisions.jsonl`; format: docs/decision-log.md).",
    )
    parser.add_argument("decisions", metavar="DECISIONS_FILE", help="decision log, .csv or .jsonl")
    parser.add_argument("--policy", required=True, help="thompson, ucb, epsilon-greedy, exp3, linucb, uniform")
    parser.add_argument("--param", action="append", metavar="KEY=VALUE", help="policy parameter (repeatable)")
    parser.add_argument("--goal", default=None, help="the slots' goal (click, purchase, revenue, ...); "
                        "default: per slot, 0/1 rewards are a rate (click) and others an amount (revenue)")
    parser.add_argument("--slot", help="only this slot")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=run_replay)
