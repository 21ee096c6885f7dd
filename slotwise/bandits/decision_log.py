"""The decision-log export format (CSV and JSONL): writer and strict parser.

See ``docs/decision-log.md``. The parser is pure (it takes lines, not a
path) and reports every bad line with its number, so a data scientist can fix
an export instead of guessing.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator, Mapping

REQUIRED = ("decision_id", "ts", "visitor", "slot", "arm", "propensity", "policy",
            "model_version", "context", "reward", "rewarded_at")
OPTIONAL = ("holdout", "exposed_at", "offered")
FIELDS = REQUIRED + OPTIONAL
MAX_ERRORS = 50


class DecisionLogError(ValueError):
    """A decision log with bad lines; ``errors`` holds ``"line N: ..."`` messages."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        more = "" if len(errors) < MAX_ERRORS else f" (stopped after {MAX_ERRORS})"
        super().__init__(f"{len(errors)} error(s) in decision log{more}:\n" + "\n".join(errors))


@dataclass(frozen=True)
class LoggedDecision:
    """One row of the decision log."""

    decision_id: str
    ts: float
    visitor: str
    slot: str
    arm: str | None  # None for holdout rows
    propensity: float
    policy: str
    model_version: str
    context: dict[str, float] = field(default_factory=dict)
    reward: float | None = None  # None while the attribution window is open
    rewarded_at: float | None = None
    holdout: bool = False
    exposed_at: float | None = None
    offered: tuple[str, ...] | None = None  # the arms it was drawn among, when fewer than the slot's (``active``)

    def to_dict(self) -> dict[str, Any]:
        """The dict shape ``stats.slot_report`` reads."""
        return {f: getattr(self, f) for f in FIELDS}


def format_ts(ts: float | None) -> str:
    """ISO 8601, UTC, millisecond precision, ``Z`` suffix."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_ts(value: Any) -> float:
    """ISO 8601 (``Z`` or offset; naive means UTC) or epoch seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a timestamp")
    if isinstance(value, (int, float)):
        out = float(value)
    else:
        text = str(value).strip()
        try:
            out = float(text)
        except ValueError:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=timezone.utc)
            out = dt.timestamp()
    if not math.isfinite(out):
        raise ValueError("timestamp must be finite")
    return out


def _optional(value: Any) -> Any:
    return None if value is None or value == "" else value


def _row(d: Mapping[str, Any]) -> LoggedDecision:
    """Validate one row; raises ``ValueError`` naming the field."""
    def fail(name: str, why: str) -> ValueError:
        return ValueError(f"field {name!r}: {why}, got {d.get(name)!r}")

    for name in ("decision_id", "visitor", "slot"):
        if _optional(d.get(name)) is None:
            raise fail(name, "required")
    try:
        ts = parse_ts(d.get("ts"))
    except (TypeError, ValueError):
        raise fail("ts", "must be ISO 8601 or epoch seconds") from None
    holdout_raw = _optional(d.get("holdout"))
    holdout = holdout_raw in (True, 1, "1", "true", "True")
    if holdout_raw is not None and not holdout and holdout_raw not in (False, 0, "0", "false", "False"):
        raise fail("holdout", "must be true or false")
    arm = _optional(d.get("arm"))
    if arm is None and not holdout:
        raise fail("arm", "required unless holdout is true")
    try:
        propensity = float(d.get("propensity"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise fail("propensity", "must be a number in (0, 1]") from None
    if not 0.0 < propensity <= 1.0:
        raise fail("propensity", "must be a number in (0, 1]")
    context = d.get("context")
    if isinstance(context, str):
        try:
            context = json.loads(context) if context.strip() else {}
        except json.JSONDecodeError as exc:
            raise fail("context", f"invalid JSON ({exc.msg})") from None
    if context is None:
        context = {}
    if not isinstance(context, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in context.values()
    ):
        raise fail("context", "must be a JSON object of feature name -> number")
    reward = _optional(d.get("reward"))
    if reward is not None:
        try:
            reward = float(reward)
        except (TypeError, ValueError):
            raise fail("reward", "must be a number or empty") from None
        if not math.isfinite(reward):
            raise fail("reward", "must be finite")
    stamps: dict[str, float | None] = {}
    for name in ("rewarded_at", "exposed_at"):
        raw = _optional(d.get(name))
        try:
            stamps[name] = None if raw is None else parse_ts(raw)
        except (TypeError, ValueError):
            raise fail(name, "must be ISO 8601, epoch seconds or empty") from None
    offered = _offered(d.get("offered"), arm)
    return LoggedDecision(
        decision_id=str(d["decision_id"]), ts=ts, visitor=str(d["visitor"]), slot=str(d["slot"]),
        arm=None if arm is None else str(arm), propensity=propensity,
        policy=str(_optional(d.get("policy")) or ""), model_version=str(_optional(d.get("model_version")) or ""),
        context={str(k): float(v) for k, v in context.items()}, reward=reward,
        rewarded_at=stamps["rewarded_at"], holdout=holdout, exposed_at=stamps["exposed_at"], offered=offered,
    )


def _offered(raw: Any, arm: Any) -> tuple[str, ...] | None:
    """``offered``: the arms a decision was drawn among, a JSON array of names (in CSV a JSON string in
    one cell); empty or absent: every arm of the slot. It holds the row's ``arm``, each name once."""
    def fail(why: str) -> ValueError:
        return ValueError(f"field 'offered': {why}, got {raw!r}")

    value = _optional(raw)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise fail(f"invalid JSON ({exc.msg})") from None
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(a, str) and a for a in value):
        raise fail("must be a non-empty JSON array of arm names, or empty for every arm")
    if len(set(value)) < len(value):
        raise fail("names an arm twice")
    if arm is not None and str(arm) not in value:
        raise fail(f"must include the row's arm {str(arm)!r}")
    return tuple(value)


def parse_decision_log(lines: Iterable[str], fmt: str) -> list[LoggedDecision]:
    """Parse an export (``fmt`` is ``"csv"`` or ``"jsonl"``); ``DecisionLogError`` lists bad lines."""
    if fmt not in ("csv", "jsonl"):
        raise ValueError(f"fmt must be 'csv' or 'jsonl', got {fmt!r}")
    errors: list[str] = []
    out: list[LoggedDecision] = []
    if fmt == "jsonl":
        for number, line in enumerate(lines, start=1):
            if len(errors) >= MAX_ERRORS:
                break
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError("expected a JSON object")
                unknown = sorted(set(obj) - set(FIELDS))
                if unknown:
                    raise ValueError(f"unknown field(s) {', '.join(map(repr, unknown))}")
                out.append(_row(obj))
            except json.JSONDecodeError as exc:
                errors.append(f"line {number}: invalid JSON ({exc.msg} at column {exc.colno})")
            except ValueError as exc:
                errors.append(f"line {number}: {exc}")
    else:
        reader = csv.reader(lines if isinstance(lines, list) else list(lines))
        header: list[str] | None = None
        for cells in reader:
            number = reader.line_num
            if len(errors) >= MAX_ERRORS:
                break
            if header is None:
                header = [c.strip() for c in cells]
                missing = [f for f in REQUIRED if f not in header]
                unknown = [c for c in header if c not in FIELDS]
                if missing or unknown:
                    why = []
                    if missing:
                        why.append(f"missing column(s) {', '.join(missing)}")
                    if unknown:
                        why.append(f"unknown column(s) {', '.join(unknown)}")
                    raise DecisionLogError([f"line {number}: header: " + "; ".join(why)])
                continue
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                errors.append(f"line {number}: expected {len(header)} columns, got {len(cells)}")
                continue
            try:
                out.append(_row(dict(zip(header, cells))))
            except ValueError as exc:
                errors.append(f"line {number}: {exc}")
        if header is None:
            raise DecisionLogError(["line 1: empty file (expected a header)"])
    if errors:
        raise DecisionLogError(errors)
    return out


def format_decision_log(rows: Iterable[LoggedDecision], fmt: str) -> Iterator[str]:
    """Lines (with newline) of an export; ``parse_decision_log`` reads them back."""
    if fmt == "jsonl":
        for r in rows:
            d = r.to_dict()
            for name in ("ts", "rewarded_at", "exposed_at"):
                d[name] = format_ts(d[name]) or None
            d["offered"] = None if r.offered is None else list(r.offered)
            yield json.dumps(d, separators=(",", ":"), sort_keys=False) + "\n"
        return
    if fmt != "csv":
        raise ValueError(f"fmt must be 'csv' or 'jsonl', got {fmt!r}")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(FIELDS)
    for r in rows:
        writer.writerow([
            r.decision_id, format_ts(r.ts), r.visitor, r.slot, r.arm or "", repr(r.propensity), r.policy,
            r.model_version, json.dumps(r.context, separators=(",", ":")),
            "" if r.reward is None else repr(r.reward), format_ts(r.rewarded_at),
            "true" if r.holdout else "false", format_ts(r.exposed_at),
            "" if r.offered is None else json.dumps(list(r.offered), separators=(",", ":")),
        ])
    buf.seek(0)
    yield from buf
