"""Reports on a decision log: the CLI text and JSON, export → offline replay, the admin page and API."""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from slotwise.bandits.decision_log import parse_decision_log
from slotwise.bandits.replay import evaluate
from slotwise.cli import main
from slotwise.store import open_store
from slotwise.store.base import LogRecord

# -- a synthetic decision log, written into a store exactly as the proxy and the tag API write it --
DAY = 86400.0
HOLDOUT = 0.1
HERO_RATES = {"a": 0.05, "b": 0.10, "c": 0.20}  # click rate of exposed decisions
HOLDOUT_RATE = 0.04
BANNER_SPLIT = {"spring": 0.6, "summer": 0.4}  # a "uniform" slot whose traffic is not 50/50: SRM
BANNER_RATE = 0.08
CONTEXT = {"bias": 1.0, "device=desktop": 1.0}


def decision(i: int, ts: float, visitor: str, slot: str, arm: str | None, propensity: float, goal: str,
             policy: str = "uniform") -> LogRecord:
    data = {
        "decision_id": f"{slot}-{i:06d}", "ts": ts, "visitor_id": visitor, "slot": slot, "arm": arm,
        "propensity": propensity, "policy": policy if arm is not None else "holdout",
        "model_version": "1.0" if arm is not None else "", "context": CONTEXT if arm is not None else {},
        "holdout": arm is None, "cost": 0.0, "cost_rate": 0.0, "goal": goal, "window": 1800.0,
        "window_mode": "fixed", "holdout_share": HOLDOUT, "policy_spec": {"name": "uniform", "params": {}},
    }
    return LogRecord("decision", data["decision_id"], visitor, ts, data)


def event(key: str, visitor: str, ts: float, type_: str, props: dict[str, Any]) -> LogRecord:
    return LogRecord("event", key, visitor, ts, {"type": type_, "props": props, "received": ts})


def synthetic_records(n: int = 3000, start: float | None = None, seed: int = 7) -> list[LogRecord]:
    """``n`` visitors over two days: hero (click goal, uniform over 3 arms) and banner (purchase goal, 60/40)."""
    rng = random.Random(seed)
    start = time.time() - 3 * DAY if start is None else start
    records: list[LogRecord] = []
    for i in range(n):
        ts = start + 2 * DAY * i / n
        visitor = f"visitor{i:06d}xxxxxxxx"
        held = rng.random() < HOLDOUT
        arm = None if held else rng.choice(sorted(HERO_RATES))
        hero = decision(i, ts, visitor, "hero", arm, HOLDOUT if held else 1 / 3, "click")
        banner_arm = None if held else ("spring" if rng.random() < BANNER_SPLIT["spring"] else "summer")
        banner = decision(i, ts, visitor, "banner", banner_arm, HOLDOUT if held else 0.5, "purchase")
        records += [hero, banner]
        if rng.random() < 0.9:  # the tag saw the hero element
            records.append(event(f"x{i:06d}aaaa", visitor, ts + 1, "exposure", {"decision_id": hero.key}))
            rate = HOLDOUT_RATE if held else HERO_RATES[arm]  # type: ignore[index]
            if rng.random() < rate and not held:
                records.append(event(f"c{i:06d}aaaa", visitor, ts + 20, "click", {"decision_id": hero.key}))
        if rng.random() < (BANNER_RATE if not held else BANNER_RATE * 0.8):
            records.append(event(f"p{i:06d}aaaa", visitor, ts + 300, "purchase",
                                 {"order_id": f"o{i}", "total": 30.0, "lines": [{"product": "p1", "qty": 1, "price": 30.0}]}))
    return records


async def write_log(data_dir: str, **kwargs: Any) -> int:
    store = open_store("", data_dir)
    try:
        records = synthetic_records(**kwargs)
        await store.append(records)
        return len(records)
    finally:
        await store.close()


RULES = """
holdout: 10%
slots:
  - id: hero
    pages: "/"
    selector: ".hero"
    action: replace
    policy: uniform
    variants:
      - {id: a, html: "<b>A</b>"}
      - {id: b, html: "<b>B</b>"}
      - {id: c, html: "<b>C</b>"}
  - id: banner
    pages: "/"
    selector: ".banner"
    action: replace
    goal: purchase
    policy: uniform
    variants:
      - {id: spring, html: "<i>S</i>"}
      - {id: summer, html: "<i>U</i>"}
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report-data")
    asyncio.run(write_log(str(path)))
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 0
    return capsys.readouterr().out


def table_row(text: str, slot: str, name: str) -> list[str]:
    section = text.split(f"Slot {slot} - ")[1].split("\n\n")[0]
    line = next(ln for ln in section.splitlines() if ln.strip().startswith(name + " ") or ln.strip() == name)
    return line.split()


def pct(cell: str) -> float:
    return float(cell.rstrip("%")) / 100


def test_text_report_per_slot_and_variant(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = cli(capsys, "report", "--data", str(data))
    print(text)
    assert "inf" not in text and "nan" not in text
    for arm, rate in HERO_RATES.items():
        cells = table_row(text, "hero", arm)  # name shown seen measured rate low "to" high chance
        shown, seen, measured = map(int, cells[1:4])
        assert shown > 700 and seen <= shown and measured == seen  # click goal: unseen decisions are not measured
        low, high = pct(cells[5]), pct(cells[7])
        assert low <= pct(cells[4]) <= high and low < rate < high  # the true rate is inside the 95% interval
    assert table_row(text, "hero", "c")[-1] == ">99.9%"  # the best variant is clearly ahead
    assert table_row(text, "hero", "a")[-1] == "<0.1%"
    assert table_row(text, "hero", "holdout (baseline)")[2 + 1].isdigit()
    hero = text.split("Slot hero - ")[1]
    assert "Personalized" in hero.split("\n\n")[0] and "points (95% interval" in hero
    # the banner runs an even split but got 60/40: the report says so, the hero one does not
    banner = text.split("Slot banner - ")[1].split("\n\n")[0]
    assert "WARNING: Traffic split is off (variants)" in banner
    assert "WARNING" not in hero.split("\n\n")[0]
    assert sum(int(table_row(text, "banner", a)[1]) for a in BANNER_SPLIT) > 2000
    assert "relative" in banner and "Personalized" in banner


def test_json_report_is_strict_json(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def no_constants(name: str) -> Any:
        raise AssertionError(f"non-standard JSON constant {name}")

    reports = json.loads(cli(capsys, "report", "--data", str(data), "--format", "json"), parse_constant=no_constants)
    hero = next(r for r in reports if r["slot"] == "hero")
    assert [a["arm"] for a in hero["arms"]] == ["a", "b", "c"]
    assert hero["holdout"]["decisions"] > 0 and hero["lift"]["n_holdout"] > 0


def test_export_then_offline_replay_of_the_logged_uniform_policy(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "decisions.jsonl"
    cli(capsys, "report", "--data", str(data), "--export", str(export))
    rows = parse_decision_log(export.read_text().splitlines(), "jsonl")
    assert len(rows) == 6000 and all(0 < r.propensity <= 1 for r in rows)
    out = cli(capsys, "replay", str(export), "--policy", "uniform")
    hero = out.split("slot hero:")[1]
    estimates = {m[0]: (float(m[1]), float(m[2]), float(m[3]))
                 for m in re.findall(r"(\w+)\s+([\d.]+)\s+95% CI \[([\d.]+), ([\d.]+)\]", hero)}
    logged, replayed = estimates["logged"][0], estimates["replay"]
    assert replayed[1] <= logged <= replayed[2]  # replay of the logging policy finds its own rate
    assert estimates["ips"][0] == pytest.approx(logged) and estimates["snips"][0] == pytest.approx(logged)
    hero_rows = [r for r in rows if r.slot == "hero" and not r.holdout]
    greedy = evaluate(hero_rows, {"name": "epsilon-greedy", "params": {"epsilon": 0.1}}, "click")
    assert greedy.snips.value > logged  # a policy that learns to pick c beats the even split offline
    assert greedy.snips.interval.low > 0.12
    out = cli(capsys, "replay", str(export), "--policy", "epsilon-greedy", "--param", "epsilon=0.1")
    assert "slot hero: candidate epsilon-greedy" in out and "n/a" not in out


def test_an_export_of_one_slot_holds_that_slot_alone(data: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """``--slot`` narrows the export as ``--since`` does: a replay of the file then sees that slot only."""
    export = tmp_path / "hero.csv"
    cli(capsys, "report", "--data", str(data), "--slot", "hero", "--export", str(export))
    rows = parse_decision_log(export.read_text().splitlines(), "csv")
    assert rows and {r.slot for r in rows} == {"hero"}
    assert len(rows) < 6000  # the whole log holds the banner's decisions too


def test_a_young_revenue_slot_prints_dashes_not_infinities(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = time.time() - 7200
    records = [decision(1, now, "visitor1xxxxxxxxxxx", "recs", "top", 0.5, "revenue", "thompson"),
               decision(2, now, "visitor2xxxxxxxxxxx", "recs", "new", 0.5, "revenue", "thompson"),
               event("pay1aaaaaa", "visitor1xxxxxxxxxxx", now + 60, "purchase",
                     {"order_id": "o1", "total": 1234.5, "lines": [{"product": "x", "qty": 1, "price": 1234.5}]})]

    async def write() -> None:
        store = open_store("", str(tmp_path))
        await store.append(records)
        await store.close()

    asyncio.run(write())
    text = cli(capsys, "report", "--data", str(tmp_path))
    assert "inf" not in text.lower() and "nan" not in text.lower()
    top = table_row(text, "recs", "top")
    assert top[4] == "1,234.50" and top[5] == "-"  # one measured decision: no interval yet
    assert "not enough measured decisions" in text


def test_admin_page_renders_charts_and_the_api_returns_json(data: Path, tmp_path: Path, asgi_server: Any) -> None:
    from slotwise.proxy.app import create_app
    from slotwise.proxy.config import Settings
    from slotwise.proxy.personalization.personalize import SlotwisePersonalizer

    upstream = asgi_server(Starlette(routes=[Route("/", lambda r: HTMLResponse("<div class=hero>x</div>"))]))
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    settings = Settings(upstream=upstream.url, rules=str(rules), data=str(data), admin_token="tok-reporting-123456",
                        personalize_budget_ms=5000.0)
    proxy = asgi_server(create_app(settings, SlotwisePersonalizer(settings)))
    signin = httpx.get(proxy.url + "/_sw/admin")  # a browser without a session: the sign-in form
    assert signin.status_code == 200 and 'name="token"' not in signin.text and "name=token" in signin.text
    assert "hero" not in signin.text
    assert httpx.get(proxy.url + "/_sw/admin/api/report").status_code == 401
    with httpx.Client(base_url=proxy.url, follow_redirects=True, timeout=30) as client:
        page = client.get("/_sw/admin", params={"token": "tok-reporting-123456"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert html.count("<svg") >= 4  # traffic share and reward over time, per slot
    assert "hero" in html and "banner" in html and "holdout (baseline)" in html
    assert "Traffic split is off (variants)" in html
    assert "inf" not in re.sub(r"<[^>]+>", "", html).lower().replace("info", "")
    report = httpx.get(proxy.url + "/_sw/admin/api/report", headers={"authorization": "Bearer tok-reporting-123456"}, timeout=30)
    assert report.status_code == 200
    by_slot = {r["slot"]: r for r in report.json()}
    assert [a["arm"] for a in by_slot["hero"]["arms"]] == ["a", "b", "c"]
    assert any(check["warning"] for check in by_slot["banner"]["srm"])
    typo = httpx.get(proxy.url + "/_sw/admin/api/report", params={"slot": "heor"},
                     headers={"authorization": "Bearer tok-reporting-123456"}, timeout=30)
    assert typo.status_code == 404 and typo.json()["slots"] == ["banner", "hero"]  # not [], "no data"
    status = httpx.get(proxy.url + "/_sw/admin/api/status", headers={"authorization": "Bearer tok-reporting-123456"}, timeout=30)
    assert status.json()["learner"]["slots"]["hero"]["arms"]["c"]["n"] > 0  # learned from the same log at start


def test_a_since_the_report_cannot_read_is_a_usage_error_not_a_traceback(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["report", "--data", str(tmp_path), "--since", "7x"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "argument --since: --since '7x': expected a duration like 7d" in err and "Traceback" not in err


def latest_decision_text(data: Path) -> str:
    async def read() -> float:
        store = open_store("", str(data))
        try:
            return max(r.ts for r in await store.read_log(0, 100_000) if r.kind == "decision")
        finally:
            await store.close()

    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(asyncio.run(read())))


@pytest.mark.parametrize("slot", [None, "hero"])
def test_a_since_past_the_last_decision_says_so_instead_of_tables_of_zeros(
        data: Path, capsys: pytest.CaptureFixture[str], slot: str | None) -> None:
    """The log ends a day ago: ``--since 12h`` printed every slot's table with 0 shown, as if nobody
    had reached the slots; it says there is nothing since then, and when the last decision was."""
    latest = latest_decision_text(data)
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 3600))
    more = ["--slot", slot] if slot else []
    text = cli(capsys, "report", "--data", str(data), "--since", since, *more)
    which = f"for slot {slot!r} " if slot else ""
    assert text == f"No decisions {which}since {since.replace('T', ' ')} UTC; the latest was at {latest}.\n"
    assert main(["report", "--data", str(data), "--since", since, "--format", "json", *more]) == 0
    out, err = capsys.readouterr()
    assert f"No decisions {which}since" in err and latest in err
    assert all(arm["decisions"] == 0 for rep in json.loads(out) for arm in rep["arms"])  # the JSON is still JSON
    assert "Slot hero" in cli(capsys, "report", "--data", str(data), "--since", "4d", *more)  # decisions since: tables


def test_a_variant_has_one_colour_in_both_charts_of_its_slot(tmp_path: Path) -> None:
    """The charts colour series by position: the traffic chart met ``a`` first (unseen, so never
    measured) and the reward chart ``b`` first, so ``a`` was blue in one and ``b`` in the other."""
    from slotwise.proxy.operations.admin import render_slot
    from slotwise.proxy.operations.reporting import build_decision_log, read_all, slot_reports

    start = time.time() - DAY
    records = [decision(0, start, "visitor000000xxxxxxxx", "hero", "a", 0.45, "click"),  # never seen: no reward
               decision(1, start + 1, "visitor000001xxxxxxxx", "hero", "b", 0.45, "click"),
               event("x000001aaaa", "visitor000001xxxxxxxx", start + 2, "exposure", {"decision_id": "hero-000001"}),
               event("c000001aaaa", "visitor000001xxxxxxxx", start + 3, "click", {"decision_id": "hero-000001"}),
               decision(2, start + 4, "visitor000002xxxxxxxx", "hero", None, HOLDOUT, "click"),
               event("x000002aaaa", "visitor000002xxxxxxxx", start + 5, "exposure", {"decision_id": "hero-000002"})]

    async def log_of() -> Any:
        store = open_store("", str(tmp_path))
        try:
            await store.append(records)
            return build_decision_log(await read_all(store))
        finally:
            await store.close()

    log = asyncio.run(log_of())
    (rep,) = slot_reports(log, "hero")
    charts = re.findall(r'<div class="legend">(.*?)</div>', render_slot(rep, log))
    colours = [dict((name, colour) for colour, name in re.findall(r'color:(#\w+)">&#9632; (\w+)<', c)) for c in charts]
    assert len(colours) == 2 and colours[0] == {name: colours[0][name] for name in ("a", "b", "holdout")}
    assert {name: colours[0][name] for name in colours[1]} == colours[1]  # b and the holdout: the same colours


def test_the_docs_example_holdout_row_is_what_the_export_writes(data: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """docs/decision-log.md showed a holdout row with propensity 1.0, a policy and a context: the export
    writes the holdout share, policy ``holdout``, no model version and ``{}``."""
    doc = (Path(__file__).parents[2] / "docs" / "decision-log.md").read_text()
    example = re.search(r"```csv\n(.*?)```", doc, re.S).group(1).splitlines(keepends=True)
    (documented,) = [r for r in parse_decision_log(example, "csv") if r.holdout]
    out = tmp_path / "log.csv"
    cli(capsys, "report", "--data", str(data), "--export", str(out))
    exported = [r for r in parse_decision_log(out.open(), "csv") if r.holdout]
    assert exported and {(r.policy, r.model_version, json.dumps(r.context), r.propensity) for r in exported} == {
        ("holdout", "", "{}", HOLDOUT)}
    assert (documented.policy, documented.model_version, documented.context) == ("holdout", "", {})
    assert 0 < documented.propensity < 1  # a holdout share, as the table says


def test_json_gives_no_rate_for_a_variant_nothing_was_measured_for(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The table says '-' for a variant never shown; the JSON said ``"mean": 0.0``, a 0% rate."""
    now = time.time() - 7200
    records = [decision(i, now + i, f"visitor{i:06d}xxxxxxxx", "hero", "ab"[i % 2], 1 / 3, "click") for i in range(4)]
    records += [event(f"x{i:06d}aaaa", f"visitor{i:06d}xxxxxxxx", now + i + 1, "exposure",
                      {"decision_id": f"hero-{i:06d}"}) for i in range(4)]

    async def write() -> None:
        store = open_store("", str(tmp_path))
        await store.append(records)
        await store.close()

    asyncio.run(write())
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    (hero,) = json.loads(cli(capsys, "report", "--data", str(tmp_path), "--rules", str(rules), "--slot", "hero",
                             "--format", "json"))
    arms = {a["arm"]: a for a in hero["arms"]}
    assert arms["a"]["closed"] == 2 and arms["a"]["mean"] == 0.0  # measured: no click, a 0% rate
    assert arms["c"]["decisions"] == arms["c"]["closed"] == 0 and arms["c"]["mean"] is None
    assert table_row(cli(capsys, "report", "--data", str(tmp_path), "--rules", str(rules)), "hero", "c")[4] == "-"


def test_a_data_directory_without_a_store_is_named_not_reported_empty(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A mistyped --data (or `slotwise report` run from another directory) created an empty store there
    and printed "No decisions logged yet."; an export to a missing directory was a traceback."""
    typo = tmp_path / "slotwsie"
    assert main(["report", "--data", str(typo)]) == 1
    assert f"no Slotwise data at {typo / 'slotwise.db'} (--data" in capsys.readouterr().err
    assert not typo.exists()  # nothing created


def test_an_export_that_cannot_be_written_is_an_error_not_a_traceback(data: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--data", str(data), "--export", str(data / "no-such-dir" / "log.csv")]) == 2
    assert "slotwise report: --export " in capsys.readouterr().err


def test_the_lift_counts_the_control_variant_as_docs_admin_md_says(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """docs/admin.md: the lift is every decision outside the holdout, a control variant's included."""
    now = time.time() - 7200
    arms = ["a", "control", None, "a", "control", None]
    records = [decision(i, now + i, f"visitor{i:06d}xxxxxxxx", "hero", arm, 0.45 if arm else HOLDOUT, "purchase")
               for i, arm in enumerate(arms)]

    async def write() -> None:
        store = open_store("", str(tmp_path))
        await store.append(records)
        await store.close()

    asyncio.run(write())
    (hero,) = json.loads(cli(capsys, "report", "--data", str(tmp_path), "--format", "json"))
    assert (hero["lift"]["n_personalized"], hero["lift"]["n_holdout"]) == (4, 2)


def test_a_store_that_is_away_or_no_store_url_is_named_not_a_traceback(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """``--store redis://...`` with no Redis there, and a --store that is no store URL, ended in tracebacks."""
    import ports

    away = f"redis://127.0.0.1:{ports.free_port()}/0"  # nothing listens there
    assert main(["report", "--store", away, "--export", str(tmp_path / "log.csv")]) == 3
    err = capsys.readouterr().err
    assert "slotwise report: the store failed (redis unavailable: " in err and "Traceback" not in err
    assert "nothing reported or exported" in err and not (tmp_path / "log.csv").exists()
    assert main(["report", "--store", "foo://x"]) == 2
    assert "slotwise report: SLOTWISE_STORE / --store: 'foo://x' is not a redis:// or sqlite: URL" in (
        capsys.readouterr().err)


@pytest.mark.parametrize("command", [["report"], ["visitor", "export", "x@example.com"], ["import", "coupons", "CODES"]])
def test_a_one_shot_command_on_a_store_that_is_away_says_only_what_is_true(command: list[str], tmp_path: Path) -> None:
    """Before its own message each of them printed the proxy's outage line, "store unavailable: ...;
    pages are served unchanged and events answered 503 until it is back": no page is served here."""
    import os
    import subprocess
    import sys

    import ports

    (tmp_path / "codes.txt").write_text("SAVE-10-AAA\n")
    args = [str(tmp_path / "codes.txt") if a == "CODES" else a for a in command]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-m", "slotwise", *args, "--store", f"redis://127.0.0.1:{ports.free_port()}/0"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"slotwise {' '.join(command[:2]) if command[0] != 'report' else 'report'}") and "the store failed" in line
    assert "pages are served" not in done.stderr


@pytest.mark.parametrize("command", [["report"], ["visitor", "erase", "x@example.com"], ["import", "coupons", "CODES"]])
def test_a_one_shot_command_given_no_store_url_says_so_in_one_line(command: list[str], tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The three share one helper (commands/common.run_on_store): a --store that is no store URL is status 2,
    one line naming the setting, for visitor and import as for report."""
    (tmp_path / "codes.txt").write_text("SAVE-10-AAA\n")
    args = [str(tmp_path / "codes.txt") if a == "CODES" else a for a in command]
    assert main([*args, "--store", "foo://x"]) == 2
    out, err = capsys.readouterr()
    assert err == f"slotwise {command[0]}: SLOTWISE_STORE / --store: 'foo://x' is not a redis:// or sqlite: URL\n"
    assert out == ""


@pytest.mark.parametrize("slot", [None, "banner"])
def test_an_empty_log_with_the_rules_says_no_decisions_before_its_tables_of_zeros(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], slot: str | None) -> None:
    """``--rules`` lists every variant, shown or not: on a log with no decision yet that was only tables of
    zeros, read as slots nobody reached; it now says first that nothing is logged (JSON: on stderr)."""
    async def make_store(records: list[LogRecord]) -> None:
        store = open_store("", str(tmp_path))
        await store.append(records)
        await store.close()

    asyncio.run(make_store([]))
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    more = ["--slot", slot] if slot else []
    said = f"No decisions for slot {slot!r} logged yet." if slot else "No decisions logged yet."
    text = cli(capsys, "report", "--data", str(tmp_path), "--rules", str(rules), *more)
    assert text.startswith(f"{said}\n\nSlot {slot or 'banner'} - goal: ")
    assert table_row(text, "banner", "spring")[1] == "0"  # every variant still listed
    assert main(["report", "--data", str(tmp_path), "--rules", str(rules), "--format", "json", *more]) == 0
    out, err = capsys.readouterr()
    assert err == f"slotwise report: {said}\n" and {r["slot"] for r in json.loads(out)} >= {"banner"}
    now = time.time() - 60  # a decision of another slot: "banner" has none yet, the report as a whole has one
    asyncio.run(make_store([decision(0, now, "visitor000000xxxxxxxx", "hero", "a", 0.3, "click")]))
    text = cli(capsys, "report", "--data", str(tmp_path), "--rules", str(rules), *more)
    assert text.startswith("No decisions for slot 'banner' logged yet.\n\n" if slot else "Slot banner - goal: ")


@pytest.mark.parametrize("command", [["report", "--data", "DATA"], ["report", "--data", "DATA", "--format", "json"],
                                     ["rules", "check", "EXAMPLE"]], ids=["text", "json", "rules-check"])
def test_a_reader_that_stops_early_gets_no_traceback(command: list[str], data: Path, tmp_path: Path) -> None:
    """``slotwise report | head``: the reader closes the pipe, and the command stops quietly with the status a
    shell tool killed by SIGPIPE has (141), not a BrokenPipeError traceback and status 1 (rules check's "the
    rules have errors")."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    example = root / "slotwise" / "rules" / "examples" / "demo.yaml"
    args = [str(data) if a == "DATA" else str(example) if a == "EXAMPLE" else a for a in command]
    env = {**os.environ, "PYTHONPATH": str(root)}
    child = subprocess.Popen([sys.executable, "-m", "slotwise", *args], cwd=tmp_path, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # the reader is gone before the command writes a line
    err = child.stderr.read().decode()
    assert child.wait(timeout=60) == 141, err
    assert err == ""


def test_with_the_rules_a_slot_with_an_active_window_is_named_with_it(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """``--rules`` names each slot's campaign window under its heading (docs/rules.md, "When a slot runs")."""
    async def make_store() -> None:
        store = open_store("", str(tmp_path))
        await store.append([])
        await store.close()

    asyncio.run(make_store())
    rules = tmp_path / "rules.yaml"
    rules.write_text("timezone: Europe/Berlin\n" + RULES.replace(
        "  - id: banner\n", '  - id: banner\n    active: {from: "2026-11-27", until: "2026-11-30 23:59"}\n', 1))
    text = cli(capsys, "report", "--data", str(tmp_path), "--rules", str(rules))
    heading = text.split("Slot banner - goal: ")[1].splitlines()
    assert heading[1] == "  runs 2026-11-27 00:00 – 2026-11-30 23:59 Europe/Berlin"
    assert "runs " not in text.split("Slot hero - goal: ")[1].split("\n\n")[0]  # no window: nothing said


def test_the_cli_report_shows_each_slots_health_as_the_admin_page_does(tmp_path: Path) -> None:
    """``slotwise report`` said nothing of a slot whose element is missing on its pages (the admin page and the
    status API did): the real CLI on a data directory with counts shows the same warning and lines."""
    import os
    import subprocess
    import sys

    from slotwise.proxy.operations.slot_health import health_line
    from slotwise.store.slot_presence import SlotPresence

    now = time.time() - 3600
    counts = {"hero": SlotPresence(".hero", now, 40, 0, (), None, now + 60),
              "banner": SlotPresence(".banner", now, 40, 37, ("/p/a", "/p/b"), now + 50, now + 10),
              "old-slot": SlotPresence(".gone", now, 5, 5, ("/x",), now + 5, None)}  # not in the rules any more

    async def write() -> None:
        await write_log(str(tmp_path), n=300)
        store = open_store("", tmp_path)
        try:
            await store.add_slot_presence(counts)
        finally:
            await store.close()

    asyncio.run(write())
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}

    def report(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "slotwise", "report", "--data", str(tmp_path), *args],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done

    text = report("--rules", str(rules)).stdout
    banner = health_line(counts["banner"])
    assert text.startswith("WARNING: not on their pages: these slots' selectors find no element on most pages they "
                           "apply to, so they are shown to almost nobody. Fix the selector in the rules (slotwise "
                           "rules check RULES --url URL suggests one):\n"
                           f"  banner: {banner} (selector .banner)\n\n"), text[:600]
    assert "old-slot" not in text  # the rules no longer have it
    hero = text.split("Slot hero - ")[1].split("\n\n")[0]
    assert f"\n  Health: {health_line(counts['hero'])}\n" in hero
    assert f"\n  WARNING: Health: {banner}\n" in text.split("Slot banner - ")[1].split("\n\n")[0]
    assert "  old-slot: " in report().stdout  # without --rules: every slot the store holds
    only = report("--slot", "hero", "--rules", str(rules)).stdout  # one slot: its own line, no one else's
    assert "banner" not in only and "Health: element found on all 40 pages" in only
    done = report("--rules", str(rules), "--format", "json")
    assert sorted(r["slot"] for r in json.loads(done.stdout)) == ["banner", "hero"]  # what a script reads, unchanged
    assert f"  banner: {banner}" in done.stderr  # the person running it is told
