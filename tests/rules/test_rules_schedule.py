"""Time in the rules: ``active`` windows read in the rules' ``timezone``, the ``time`` facts, and what
``rules check`` says of them (docs/rules.md, "When a slot runs")."""

from __future__ import annotations

import argparse
import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings, strategies as st

from slotwise.commands.rules import run_check
from slotwise.rules import build_context, load_rules, page_facts, request_facts
from slotwise.rules.schedule import WEEKDAYS, clock_unit, next_turn, parse_moment, time_facts

ZONES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC")
BERLIN = ZoneInfo("Europe/Berlin")

RULES = """
timezone: {tz}
slots:
  - id: bf
    pages: "/"
    selector: ".hero"
    action: replace
    active: {{from: "{start}", until: "{until}"}}
    html: "<p>{{{{ time.weekday }}}} {{{{ time.date }}}} {{{{ time.hour }}}}</p>"
"""


def rules(tmp_path: Path, start: str, until: str, tz: str = "Europe/Berlin") -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES.format(tz=tz, start=start, until=until))
    return path


def at(text: str, tz: ZoneInfo = BERLIN, fold: int = 0) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=tz, fold=fold).timestamp()


def test_a_window_runs_from_its_first_minute_to_the_end_of_its_last(tmp_path: Path) -> None:
    slot = load_rules(rules(tmp_path, "2026-11-27", "2026-11-30 23:59")).slots[0]
    assert not slot.runs(at("2026-11-26T23:59:59"))
    assert slot.runs(at("2026-11-27T00:00:00"))
    assert slot.runs(at("2026-11-30T23:59:59"))
    assert not slot.runs(at("2026-12-01T00:00:00"))
    day = load_rules(rules(tmp_path, "2026-11-27 18:00", "2026-11-28")).slots[0]  # a date alone: the whole day
    assert not day.runs(at("2026-11-27T17:59:59")) and day.runs(at("2026-11-28T23:59:59"))
    assert not day.runs(at("2026-11-29T00:00:00"))


def test_windows_across_the_clock_changes_follow_the_wall_clock(tmp_path: Path) -> None:
    # 2026-03-29 02:00 does not exist in Berlin (clocks jump to 03:00); 2026-10-25 02:00-02:59 happens twice
    spring = load_rules(rules(tmp_path, "2026-03-29 02:30", "2026-03-29 03:10")).slots[0]
    assert not spring.runs(at("2026-03-29T01:59:59"))
    assert spring.runs(at("2026-03-29T03:00:00")) and spring.runs(at("2026-03-29T03:10:30"))  # from the jump on
    assert not spring.runs(at("2026-03-29T03:11:00"))
    autumn = load_rules(rules(tmp_path, "2026-10-25 02:30", "2026-10-25 02:44")).slots[0]
    assert autumn.runs(at("2026-10-25T02:30:00", fold=0)) and not autumn.runs(at("2026-10-25T02:45:00", fold=0))
    assert not autumn.runs(at("2026-10-25T02:30:00", fold=1))  # the second 02:30 is an hour later: closed


@given(st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2090, 12, 31)), st.booleans(),
       st.sampled_from([" ", "T"]))
def test_a_written_moment_reads_back_as_written(moment: dt.datetime, whole_day: bool, sep: str) -> None:
    text = moment.strftime("%Y-%m-%d") if whole_day else moment.strftime(f"%Y-%m-%d{sep}%H:%M")
    read = parse_moment(text)
    assert read.whole_day is whole_day
    assert read.at == (dt.datetime(moment.year, moment.month, moment.day) if whole_day
                       else moment.replace(second=0, microsecond=0))
    assert parse_moment(moment.date()) == parse_moment(moment.strftime("%Y-%m-%d"))  # YAML's own date


@given(st.text(max_size=20))
@example("٢٠٢٦-١١-٢٧")  # digits of another script: not a date a marketer typed here
@example("2026-11-27 7:05")
def test_anything_else_is_refused_with_the_forms_it_takes(text: str) -> None:
    try:
        read = parse_moment(text)
    except ValueError as exc:
        assert "2026-11-27" in str(exc) or "is no" in str(exc)
    else:  # only the two forms get through
        assert read.at.strftime("%Y-%m-%d") in text


@settings(max_examples=300)
@given(st.integers(min_value=int(at("1995-01-01T00:00:00")) * 10**6, max_value=int(at("2060-01-01T00:00:00")) * 10**6),
       st.sampled_from(ZONES))
def test_time_facts_are_the_wall_clock_of_the_zone(microseconds: int, tz: str) -> None:
    """Clocks tick in microseconds: ``fromtimestamp`` rounds a float's sub-microsecond digits away."""
    now = microseconds / 10**6
    facts = time_facts(now, tz)
    local = dt.datetime.fromtimestamp(now, ZoneInfo(tz))
    assert (facts["hour"], facts["minute"]) == (local.hour, local.minute)
    assert facts["weekday"] == WEEKDAYS[local.weekday()] and facts["date"] == local.date().isoformat()


TRANSITIONS = [("Europe/Berlin", "2026-03-29T00:59:00+00:00", 1, 3), ("Europe/Berlin", "2026-10-25T00:59:00+00:00", 2, 2),
               ("America/New_York", "2026-03-08T06:59:00+00:00", 1, 3), ("America/New_York", "2026-11-01T05:59:00+00:00", 1, 1)]


@given(st.sampled_from(TRANSITIONS), st.integers(min_value=0, max_value=120))
def test_time_facts_around_a_clock_change(case: tuple[str, str, int, int], seconds: int) -> None:
    """One second before a change the hour is the old one; one second after, the new wall clock's."""
    tz, last_minute, before, after = case
    edge = dt.datetime.fromisoformat(last_minute).timestamp() + 60  # the instant the clocks change
    assert time_facts(edge - 1, tz)["hour"] == before
    facts = time_facts(edge + seconds, tz)
    local = dt.datetime.fromtimestamp(edge + seconds, ZoneInfo(tz))
    assert facts["hour"] == local.hour == after
    assert facts["date"] == local.date().isoformat()


UNIT_FACTS = {"minute": ("date", "hour", "minute"), "hour": ("date", "hour"), "day": ("date",)}


@settings(max_examples=300)
@given(st.integers(min_value=int(at("1995-01-01T00:00:00")) * 10**6, max_value=int(at("2060-01-01T00:00:00")) * 10**6),
       st.sampled_from(ZONES), st.sampled_from(sorted(UNIT_FACTS)), st.floats(min_value=0.0, max_value=1.0))
@example(int(at("2026-10-25T02:30:00", fold=0)) * 10**6, "Europe/Berlin", "hour", 0.5)  # the first 02:30
@example(int(at("2026-03-29T01:30:00")) * 10**6, "Europe/Berlin", "hour", 0.5)  # 02:00 is skipped
@example(int(at("2026-04-05T01:45:00", ZoneInfo("Australia/Lord_Howe"))) * 10**6, "Australia/Lord_Howe", "hour", 0.9)
def test_the_next_turn_is_the_first_moment_the_units_facts_change(microseconds: int, tz: str, unit: str,
                                                                    between: float) -> None:
    """What ``when`` reads of the clock is the same from ``now`` until the turn, and differs at it: the
    wall clock of the zone across its changes (a full hour the clocks skip turns at the jump; an hour
    they repeat turns once the second one ends), a 30-minute shift (Lord Howe) and a half-hour zone."""
    now = microseconds / 10**6

    def read(moment: float) -> tuple[object, ...]:
        facts = time_facts(moment, tz)
        return tuple(facts[name] for name in UNIT_FACTS[unit])

    turn = next_turn(now, tz, unit)
    assert turn > now and read(turn) != read(now)
    later = max(now, min(now + (turn - now) * between, turn - 0.001))  # a millisecond before the turn at most
    assert read(later) == read(max(now, turn - 0.001)) == read(now)
    assert next_turn(later, tz, unit) == turn  # kept until it passes


def test_the_clock_a_when_reads_is_its_finest_unit(tmp_path: Path) -> None:
    path = tmp_path / "clock.yaml"
    whens = ["time.hour >= 18", "time.weekday == 'fri' and time.minute < 5", "time.date >= '2026-12-24'",
             "time.weekday in ['sat', 'sun']", "time['hour'] > 3", "page.type == 'product'"]
    path.write_text("slots:\n" + "".join(f"""
  - id: s{i}
    pages: "/"
    selector: ".hero"
    action: remove
    when: "{when}"
""" for i, when in enumerate(whens)))
    ruleset = load_rules(path)
    assert [s.clock for s in ruleset.slots] == ["hour", "minute", "day", "day", "hour", None]
    assert ruleset.timed and not ruleset.slots[-1].timed
    assert clock_unit({"time"}) == "minute"  # read whole (a computed key): any unit
    path.write_text("slots:\n  - {id: s, pages: '/', selector: '.hero', action: remove, when: \"page.type == 'product'\"}\n")
    assert not load_rules(path).timed  # nothing changes with the clock: no page's freshness is capped


def test_when_and_templates_read_the_time_of_the_page_view(tmp_path: Path) -> None:
    path = tmp_path / "lunch.yaml"
    path.write_text("""
timezone: Europe/Berlin
slots:
  - id: lunch
    pages: "/"
    selector: ".hero"
    action: replace
    when: time.weekday not in ['sat', 'sun'] and time.hour >= 11 and time.hour < 14
    html: "<p>Lunch deal {{ time.date }}</p>"
""")
    slot = load_rules(path).slots[0]
    page, request = page_facts("/", [], None, None), request_facts([], [])

    def shown(moment: str) -> str | None:
        ctx = build_context(None, page, request, "v1", time=time_facts(at(moment), "Europe/Berlin"))
        if not slot.applies(ctx):
            return None
        edit = slot.render("default", ctx, "d1")
        return edit.html if edit is not None else None

    assert shown("2026-12-07T11:00:00") == "<p>Lunch deal 2026-12-07</p>"  # a Monday
    assert shown("2026-12-08T13:59:00") == "<p>Lunch deal 2026-12-08</p>"  # the render cache keys on the date
    assert shown("2026-12-08T14:00:00") is None
    assert shown("2026-12-05T12:00:00") is None  # a Saturday


def check(path: Path, now: float) -> str:
    out, err = io.StringIO(), io.StringIO()
    args = argparse.Namespace(file=str(path), url=None, feed=False, cookie=[], header=[], max_html_bytes=None)
    assert run_check(args, out, err, now=now) == 0, err.getvalue()
    return out.getvalue()


def test_rules_check_says_each_window_and_whether_it_runs_now(tmp_path: Path) -> None:
    path = rules(tmp_path, "2026-11-27", "2026-11-30 23:59")
    said = check(path, at("2026-11-20T12:00:00"))
    assert "timezone Europe/Berlin" in said
    assert "runs 2026-11-27 00:00 – 2026-11-30 23:59 Europe/Berlin; now: not yet started" in said
    assert "now: running" in check(path, at("2026-11-28T12:00:00"))
    assert "WARNING" not in said


def test_rules_check_warns_of_a_window_that_has_ended(tmp_path: Path) -> None:
    path = tmp_path / "stale.yaml"
    path.write_text("""
timezone: America/New_York
slots:
  - id: spring-sale
    pages: "/"
    selector: ".hero"
    action: replace
    variants:
      - id: old-offer
        html: "<p>old</p>"
        active: {until: "2026-03-31"}
      - id: new-offer
        html: "<p>new</p>"
""")
    said = check(path, at("2026-04-01T00:00:00", ZoneInfo("America/New_York")))
    assert "    variant 'old-offer' runs until 2026-03-31 23:59 America/New_York; now: ended" in said
    assert ("WARNING: variant 'old-offer' of slot 'spring-sale': its 'active' window ended 2026-03-31 23:59 "
            "America/New_York: a stale campaign, never offered again") in said
    assert "WARNING" not in check(path, at("2026-03-31T23:59:00", ZoneInfo("America/New_York")))


DOC = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text()


def test_the_docs_example_loads_and_rules_check_says_what_the_docs_say(tmp_path: Path) -> None:
    section = DOC.split("### When a slot runs: `active`\n")[1].split("\n### ")[0]
    example = section.split("```yaml\n")[1].split("```")[0]
    output = section.split("```\n  black-friday")[1].split("```")[0]
    output = "  black-friday" + output
    path = tmp_path / "rules.yaml"
    path.write_text(example)
    said = check(path, at("2026-11-27T12:00:00"))
    for line in output.strip("\n").splitlines():
        assert line in said.splitlines(), line
    text = " ".join(section.split())
    ended = check(path, at("2026-12-01T00:00:00"))
    warning = text.split("naming the slot (a stale campaign costs every page view a look, and is easily forgotten): `")[1]
    assert warning.split("`")[0] in " ".join(ended.split())
    lunch = section.split("```yaml\n")[2].split("```")[0].strip()
    path.write_text(RULES.format(tz="Europe/Berlin", start="2026-01-01", until="2026-12-31") + f"    {lunch}\n")
    assert load_rules(path).slots[0].when_source == lunch.removeprefix("when: ")


def test_rules_check_says_until_when_a_page_of_a_when_on_the_clock_is_cached(tmp_path: Path) -> None:
    """The docs' lunch deal, and the same in a window and on the minute."""
    section = DOC.split("### When a slot runs: `active`\n")[1].split("\n### ")[0]
    lunch = section.split("```yaml\n")[2].split("```")[0].strip()
    said_in_docs = section.split("`while it runs` for a slot with a window):\n\n```\n")[1].split("```")[0].strip("\n")
    path = tmp_path / "lunch.yaml"
    path.write_text(f"""
timezone: Europe/Berlin
slots:
  - id: lunch
    pages: "/"
    selector: ".hero"
    action: replace
    {lunch}
    html: "<p>Lunch deal</p>"
  - id: plain
    pages: "/"
    selector: ".hero"
    action: remove
""")
    said = check(path, at("2026-11-20T12:00:00")).splitlines()
    assert said[2] == said_in_docs
    assert not any("reads the clock" in line for line in said[3:])  # the slot without: nothing said
    path.write_text(RULES.format(tz="Europe/Berlin", start="2026-11-27", until="2026-11-30") + "    when: time.minute < 5\n")
    assert ("    'when' reads the clock (time.minute): a page it leaves as the store's is cached only until the next "
            "minute (Europe/Berlin) while it runs") in check(path, at("2026-11-20T12:00:00")).splitlines()
