"""``slotwise replay``: evaluate a candidate policy offline on the logged decisions.

The candidate is a bandit policy (``--policy``), or a fixed policy — always
one variant (``--always``), or each segment's best (``--best-per device``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slotwise.bandits.decision_log import DecisionLogError, parse_decision_log
from slotwise.bandits.features import ALL, GROUPS
from slotwise.bandits.goals import GOALS

if TYPE_CHECKING:  # the policies (numpy) load when a replay runs, not for ``--help``
    from slotwise.bandits.replay import Estimate
from slotwise.bandits.spec import POLICY_NAMES, validate_policy_spec


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


def _fmt(e: Estimate, known: int) -> str:
    """One estimate's line (``known``: the slot's decisions with a known reward); where the data cannot
    support a value or an interval, says so and why."""
    if math.isnan(e.value) or e.effective_n == 0:  # IPS on rows the candidate never agrees with: 0 by construction
        why = ("no decision with a known reward" if not known
               else "no decision the candidate would have made the same way" if e.method == "replay"
               else "the candidate never picks the variants these decisions showed")
        return f"{e.method:<8} not enough data (n={e.n}: {why})"
    if not e.interval_known:
        worth = "" if e.effective_n >= e.n else f", about {e.effective_n:.0f} of them what the candidate would show"
        return f"{e.method:<8} {e.value:.4f}  95% CI: not enough data (n={e.n}{worth})"
    return (f"{e.method:<8} {e.value:.4f}  95% CI [{e.interval.low:.4f}, {e.interval.high:.4f}]"
            f"  rows {e.n}  effective n {e.effective_n:.0f}")


def read_log(path: Path) -> list[Any]:
    """The decisions of a log file: ``.csv``, ``.jsonl``/``.json``, or by its first character under
    another name (a JSON line starts with ``{``, a CSV with its header) — a JSONL export saved as
    ``.txt`` was read as a CSV whose "header" was its first decision."""
    with path.open(encoding="utf-8") as fh:
        if path.suffix in (".jsonl", ".json", ".csv"):
            return parse_decision_log(fh, "csv" if path.suffix == ".csv" else "jsonl")
        lines = fh.readlines()
    first = next((line.lstrip() for line in lines if line.strip()), "")
    return parse_decision_log(lines, "jsonl" if first.startswith("{") else "csv")


def run_replay(args: argparse.Namespace) -> int:
    from slotwise.bandits.replay import always, evaluate, evaluate_best_per_segment

    path = Path(args.decisions)
    try:
        params = parse_params(args.param or [])
        rows = read_log(path)
    except OSError as exc:  # not Python's "[Errno 2] No such file or directory: 'x'"
        print(f"slotwise replay: {path}: {exc.strerror or exc} (a decision log: `slotwise report --export "
              "decisions.jsonl` writes one)", file=sys.stderr)
        return 2
    except UnicodeDecodeError as exc:
        print(f"slotwise replay: {path}: byte 0x{exc.object[exc.start]:02x} is not UTF-8: not a decision log "
              "(.csv or .jsonl, as `slotwise report --export` writes them)", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"slotwise replay: {path}: {exc}" if isinstance(exc, DecisionLogError) else f"slotwise replay: {exc}",
              file=sys.stderr)
        return 2
    slots = all_slots = sorted({r.slot for r in rows if not r.holdout})
    if args.slot:
        slots = [s for s in slots if s == args.slot]
    if not slots:
        from slotwise.rules.checker import did_you_mean

        print(f"slotwise replay: no decisions for slot {args.slot!r}{did_you_mean(args.slot, all_slots)} "
              f"(slots: {', '.join(all_slots)})" if args.slot and all_slots
              else "slotwise replay: no decisions to evaluate", file=sys.stderr)
        return 1
    fixed = args.always is not None or args.best_per is not None
    if fixed == (args.policy is not None) or (args.always is not None and args.best_per is not None):
        print("slotwise replay: give one candidate: --policy NAME, --always VARIANT or --best-per FEATURE",
              file=sys.stderr)
        return 2
    if args.always is not None and not args.slot:  # a whole export: the slots that have this variant
        having = [s for s in slots if any(r.slot == s and r.arm == args.always for r in rows)]
        if not having:
            from slotwise.rules.checker import did_you_mean  # only for the message (not for --help)

            every = {r.arm for r in rows if r.arm}
            print(f"slotwise replay: no slot has decisions for variant {args.always!r}"
                  f"{did_you_mean(args.always, sorted(every))} (slots: "
                  + "; ".join(f"{s}: {', '.join(sorted({r.arm for r in rows if r.slot == s and r.arm}))}"
                              for s in slots) + ")", file=sys.stderr)
            return 2
        slots = having
    if args.best_per is not None and args.best_per not in (ALL, *GROUPS):
        print(f"slotwise replay: --best-per {args.best_per!r}: use {ALL} or a context feature "
              f"({', '.join(GROUPS)})", file=sys.stderr)
        return 2
    spec = {"name": args.policy, "params": params}
    for slot in slots:
        slot_rows = [r for r in rows if r.slot == slot and not r.holdout]
        goal = args.goal or infer_goal(slot_rows)
        arms = sorted({r.arm for r in slot_rows if r.arm is not None})
        known = sum(1 for r in slot_rows if r.reward is not None)
        kind = f"goal {goal}" if args.goal else ("0/1 rewards" if goal == "click" else "amounts")
        if args.always is not None:
            if args.always not in arms:
                from slotwise.rules.checker import did_you_mean

                print(f"slotwise replay: slot {slot}: no decisions for variant {args.always!r}"
                      f"{did_you_mean(args.always, arms)} (variants: {', '.join(arms)})", file=sys.stderr)
                return 2
            candidate = f"always {args.always}"
            report = evaluate(slot_rows, always(args.always), goal, arms, seed=args.seed)
        elif args.best_per is not None:
            report, choice, default = evaluate_best_per_segment(slot_rows, args.best_per, goal, arms, args.seed)
            picks = ", ".join(f"{level} -> {arm}" for level, arm in sorted(choice.items()) if level)
            if not known:  # nothing to choose on: no "best" variant to name
                picks = "nothing measured to choose on yet"
            elif args.best_per != ALL:
                picks = "; ".join(p for p in (picks, f"others -> {default}") if p)
            candidate = (f"the best variant {'for everyone' if args.best_per == ALL else 'per ' + args.best_per} "
                         f"({picks}; chosen on one half of the log and measured on the other)")
        else:
            errors = validate_policy_spec(spec, goal)
            if errors:
                for error in errors:
                    print(f"slotwise replay: --policy/--param: {error}", file=sys.stderr)
                return 2
            report = evaluate(slot_rows, spec, goal, seed=args.seed)
            candidate = f"{args.policy} {json.dumps(params)}" if params else args.policy
        print(f"slot {slot}: candidate {candidate} ({kind}) on {len(slot_rows)} decisions, "
              f"{known} with a known reward")
        for estimate in (report.logged, report.ips, report.snips, report.replay):
            print("  " + _fmt(estimate, known))
        print()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "replay",
        help="evaluate a candidate policy offline on a decision log (IPS, SNIPS, replay)",
        description="Offline evaluation of a bandit policy on logged decisions "
        "(export them with `slotwise report --export decisions.jsonl`; format: docs/decision-log.md).",
    )
    parser.add_argument("decisions", metavar="DECISIONS_FILE", help="decision log, .csv or .jsonl")
    parser.add_argument("--policy", help="a bandit policy: " + ", ".join(POLICY_NAMES))
    parser.add_argument("--always", metavar="VARIANT", help="a fixed policy: always this variant")
    parser.add_argument("--best-per", metavar="FEATURE", help="a fixed policy: each segment's best variant "
                        f"in the log, per context feature ({', '.join(GROUPS)}), or {ALL} for one variant "
                        "for everyone (cross-fitted: chosen on one half of the log, measured on the other)")
    parser.add_argument("--param", action="append", metavar="KEY=VALUE", help="policy parameter (repeatable)")
    parser.add_argument("--goal", default=None, choices=GOALS, metavar="GOAL",  # a typo was taken for a fixed policy
                        help=f"the slots' goal ({', '.join(GOALS)}); "
                        "default: per slot, 0/1 rewards are a rate (click) and others an amount (revenue)")
    parser.add_argument("--slot", help="only this slot")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=run_replay)
