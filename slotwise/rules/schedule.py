"""Time in the rules: the ``timezone``, a slot's or a variant's ``active`` window, and the ``time`` facts.

A marketer writes local wall-clock times (``active: {from: "2026-11-27", until: "2026-11-30 23:59"}``)
in the rules' ``timezone``; they become instants once, at load, so asking whether a window is open
is two float comparisons per request. Pure: the current time is always passed in (the personalizer's
clock, ``rules check``'s ``now``), never read here.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Iterable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from slotwise.rules.checker import Checker, did_you_mean
from slotwise.rules.yaml_marks import Node

DEFAULT_TIMEZONE = "UTC"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIME_FACTS = ("hour", "minute", "weekday", "date")
CLOCK_UNITS = ("minute", "hour", "day")  # finest first
TURN_WORDS = {"minute": "the next minute", "hour": "the next full hour", "day": "the next midnight"}
_UNIT_OF = {"minute": "minute", "hour": "hour", "weekday": "day", "date": "day"}
ACTIVE_KEYS = ("from", "until")

_MOMENT_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2}))?$", re.ASCII)
_FORMS = "a date '2026-11-27' (the whole day) or a date and time '2026-11-27 18:00'"


@functools.lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    """Every IANA name this machine knows (the system's database, else the ``tzdata`` package)."""
    return tuple(sorted(available_timezones() | {DEFAULT_TIMEZONE}))


@functools.lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo | None:
    """The named zone, or None for a name the tz database does not have."""
    if not name or name.startswith(("/", ".")) or ".." in name:
        return None  # ZoneInfo reads a path: a name is never one
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def parse_timezone(check: Checker, node: Node) -> str | None:
    """The top-level ``timezone``: an IANA name like ``Europe/Berlin``; an unknown one is an error
    with the closest names (``europe/berlin`` finds ``Europe/Berlin``)."""
    text = check.text(node, "'timezone'")
    if text is None:
        return None
    name = text.value.strip()
    if zone(name) is not None:
        return name
    names = timezone_names()
    by_lower = {n.lower(): n for n in names}
    hint = (f" (did you mean {by_lower[name.lower()]!r}?)" if name.lower() in by_lower
            else did_you_mean(name, names))
    check.error(node, f"unknown timezone {name!r}{hint}: an IANA name like 'Europe/Berlin' or 'America/New_York'")
    return None


@dataclass(frozen=True)
class Moment:
    """A local wall-clock time as written: ``whole_day`` when only a date was given."""

    at: dt.datetime  # naive, local to the rules' timezone
    whole_day: bool


def parse_moment(value: object) -> Moment:
    """``2026-11-27`` or ``2026-11-27 18:00`` (also ``T`` between, and YAML's own dates); ValueError
    saying what is wrong otherwise."""
    if isinstance(value, dt.datetime):  # YAML reads '2026-11-27 18:00:00' unquoted as a timestamp
        if value.tzinfo is not None:
            raise ValueError("a time with its own offset: write the local time, the rules' 'timezone' says where")
        return Moment(value.replace(second=0, microsecond=0), False)
    if isinstance(value, dt.date):  # YAML reads 2026-11-27 unquoted as a date
        return Moment(dt.datetime(value.year, value.month, value.day), True)
    if not isinstance(value, str):
        raise ValueError(f"must be {_FORMS}")
    m = _MOMENT_RE.match(value.strip())
    if m is None:
        raise ValueError(f"must be {_FORMS}, got {value!r}")
    year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    try:
        date = dt.date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"{value!r} is no date: {exc}") from None
    if m.group(4) is None:
        return Moment(dt.datetime(date.year, date.month, date.day), True)
    hour, minute = int(m.group(4)), int(m.group(5))
    if hour > 23 or minute > 59:
        raise ValueError(f"{value!r} is no time of day: hours 0-23, minutes 0-59")
    return Moment(dt.datetime(date.year, date.month, date.day, hour, minute), False)


@dataclass(frozen=True)
class ActiveSpec:
    """An ``active`` window as written (local times, either end may be open)."""

    node: Node
    start: Moment | None
    until: Moment | None


def parse_active(check: Checker, node: Node, what: str) -> ActiveSpec | None:
    """``active: {from: ..., until: ...}`` (one end may be left out): ``until`` is inclusive — the whole
    day of a date alone, the whole minute of a time — and may not come before ``from``."""
    entries = check.mapping(node, ACTIVE_KEYS, f"'active' of {what}")
    if entries is None:
        return None
    if not entries:
        if not node.value:  # an unknown key is said as such (with the closest one), not again here
            check.error(node, f"'active' of {what} needs 'from', 'until' or both")
        return None
    moments: dict[str, Moment | None] = dict.fromkeys(ACTIVE_KEYS)
    for key in ACTIVE_KEYS:
        if key not in entries:
            continue
        value_node = entries[key].node
        try:
            moments[key] = parse_moment(check.scalar(value_node))
        except ValueError as exc:
            check.error(value_node, f"'active.{key}' of {what} {exc}" if str(exc).startswith("must be")
                        else f"'active.{key}' of {what}: {exc}")
    if any(key in entries and moments[key] is None for key in ACTIVE_KEYS):
        return None
    start, until = moments["from"], moments["until"]
    if start is not None and until is not None and _last(until) < start.at:
        check.error(entries["until"].node, f"'active.until' ({_shown(_last(until))}) of {what} is before its "
                                           f"'from' ({_shown(start.at)}): the window would never open")
        return None
    return ActiveSpec(node, start, until)


def _last(moment: Moment) -> dt.datetime:
    """The last minute an inclusive ``until`` covers."""
    return moment.at + dt.timedelta(days=1, minutes=-1) if moment.whole_day else moment.at


def _shown(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M")


def _instant(local: dt.datetime, tz: ZoneInfo) -> float:
    """A wall-clock time's instant: one the clocks repeat (autumn), its first occurrence; one they skip
    (spring: 02:30 in Berlin), the moment they jump, the first instant whose wall clock is past it."""
    at = local.replace(tzinfo=tz).timestamp()  # fold=0: a skipped time reads as that long after the jump
    if dt.datetime.fromtimestamp(at, tz).replace(tzinfo=None) == local:
        return at
    while dt.datetime.fromtimestamp(at - 60, tz).replace(tzinfo=None) > local:  # back to the jump (an hour at most)
        at -= 60
    return at


@dataclass(frozen=True)
class Window:
    """When a slot or variant runs: from ``start`` (inclusive) to ``end`` (exclusive), epoch seconds;
    None is an open end. ``first``/``last`` are the local minutes as the marketer wrote them."""

    start: float | None
    end: float | None
    first: dt.datetime | None
    last: dt.datetime | None
    timezone: str

    @classmethod
    def of(cls, spec: ActiveSpec, timezone: str) -> "Window":
        tz = zone(timezone) or ZoneInfo(DEFAULT_TIMEZONE)
        first = spec.start.at if spec.start is not None else None
        last = _last(spec.until) if spec.until is not None else None
        return cls(
            start=_instant(first, tz) if first is not None else None,
            end=_instant(last + dt.timedelta(minutes=1), tz) if last is not None else None,
            first=first, last=last, timezone=timezone,
        )

    def active(self, now: float) -> bool:
        """Whether it runs at ``now`` (epoch seconds)."""
        return (self.start is None or now >= self.start) and (self.end is None or now < self.end)

    def state(self, now: float) -> str:
        """``not yet started``, ``running`` or ``ended``."""
        if self.start is not None and now < self.start:
            return "not yet started"
        if self.end is not None and now >= self.end:
            return "ended"
        return "running"

    def next_edge(self, now: float) -> float | None:
        """Its next start or end after ``now`` (None: it never changes again): a page made without or with
        it may be kept only until then (``Slot.next_change``)."""
        for edge in (self.start, self.end):
            if edge is not None and edge > now:
                return edge
        return None

    def ended(self, now: float) -> bool:
        return self.end is not None and now >= self.end

    def closes(self) -> str:
        """Its last minute with the zone (``2026-11-30 23:59 Europe/Berlin``), or ``never``."""
        return f"{_shown(self.last)} {self.timezone}" if self.last is not None else "never"

    def span(self) -> str:
        """``2026-11-27 00:00 – 2026-11-30 23:59 Europe/Berlin`` (an open end: ``from``/``until`` alone)."""
        if self.first is not None and self.last is not None:
            return f"{_shown(self.first)} – {_shown(self.last)} {self.timezone}"
        if self.first is not None:
            return f"from {_shown(self.first)} {self.timezone}"
        assert self.last is not None
        return f"until {_shown(self.last)} {self.timezone}"

    def describe(self, now: float) -> str:
        """``runs 2026-11-27 00:00 – 2026-11-30 23:59 Europe/Berlin; now: not yet started``."""
        return f"runs {self.span()}; now: {self.state(now)}"


def open_now(window: Window | None, now: float) -> bool:
    """Whether something with this window (None: always) runs at ``now``."""
    return window is None or window.active(now)


def time_facts(now: float, timezone: str) -> Mapping[str, Any]:
    """The ``time`` facts at ``now`` in the rules' timezone: ``hour`` (0-23), ``minute``, ``weekday``
    (``mon``..``sun``), ``date`` (``YYYY-MM-DD``): plain values, so a template's render cache keys on them.
    Kept for the minute (every page view of it shares them, ~3 µs saved each): every zone's offset is whole
    minutes since 1972, so a UTC minute is one local minute."""
    global _kept
    key = (int(now // 60), timezone)
    kept = _kept
    if kept[0] == key:
        return kept[1]
    local = dt.datetime.fromtimestamp(key[0] * 60, zone(timezone) or ZoneInfo(DEFAULT_TIMEZONE))
    facts: Mapping[str, Any] = MappingProxyType({"hour": local.hour, "minute": local.minute,
                                                 "weekday": WEEKDAYS[local.weekday()], "date": local.strftime("%Y-%m-%d")})
    _kept = (key, facts)  # one tuple, replaced whole: safe to read from any thread
    return facts


_kept: tuple[tuple[int, str], Mapping[str, Any]] = ((-1, ""), MappingProxyType({}))


def clock_unit(facts: Iterable[str]) -> str | None:
    """The finest unit of the clock an expression's facts (``CompiledExpression.facts``) read: ``minute``
    for ``time.minute``, ``hour`` for ``time.hour``, ``day`` for ``time.weekday`` and ``time.date``; None
    when it reads no ``time`` fact. ``time`` read whole (``time[name]``) may be any of them: ``minute``."""
    read = {f[5:] for f in facts if f.startswith("time.")}
    if not read and "time" not in facts:
        return None
    units = {_UNIT_OF.get(name.split(".", 1)[0], "minute") for name in read} or {"minute"}
    return next(unit for unit in CLOCK_UNITS if unit in units)


def next_turn(now: float, timezone: str, unit: str) -> float:
    """The first instant after ``now`` at which the local ``unit`` (``CLOCK_UNITS``) turns: the next
    minute, the next full hour, the next midnight in ``timezone``, by the wall clock (a full hour or a
    midnight the clocks skip: the moment they jump). A page whose ``when`` reads that unit may change then.
    Kept until it passes (every page view of the hour asks the same; ~5 µs saved each)."""
    if unit == "minute":  # every zone's offset is whole minutes since 1972: a UTC minute is a local one
        return (now // 60 + 1) * 60
    key = (unit, timezone)
    kept = _turns.get(key)
    if kept is not None and kept[0] <= now < kept[1]:
        return kept[1]
    tz = zone(timezone) or ZoneInfo(DEFAULT_TIMEZONE)
    local = dt.datetime.fromtimestamp(now, tz).replace(tzinfo=None, second=0, microsecond=0)
    if unit == "hour":
        turn = local.replace(minute=0) + dt.timedelta(hours=1)
    else:
        turn = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time())
    at = _instant(turn, tz)
    _turns[key] = (now, at)  # one tuple per key, replaced whole: safe to read from any thread
    return at


_turns: dict[tuple[str, str], tuple[float, float]] = {}


__all__ = ["ACTIVE_KEYS", "CLOCK_UNITS", "DEFAULT_TIMEZONE", "TIME_FACTS", "TURN_WORDS", "WEEKDAYS", "ActiveSpec", "Moment", "Window",
           "clock_unit", "next_turn", "open_now", "parse_active", "parse_moment", "parse_timezone", "time_facts", "timezone_names",
           "zone"]
