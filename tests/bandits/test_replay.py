import json
import random

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from slotwise.bandits import DecisionLogError, LoggedDecision, features, format_decision_log, parse_decision_log
from slotwise.bandits.replay import always, evaluate, ips, replay

ARMS = ["a", "b", "c"]
RATES = {"mobile": {"a": 0.10, "b": 0.02, "c": 0.04}, "desktop": {"a": 0.02, "b": 0.10, "c": 0.04}}


def uniform_log(n: int, seed: int = 0, propensity_skew: bool = False) -> list[LoggedDecision]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        device = rng.choice(["mobile", "desktop"])
        if propensity_skew:  # a non-uniform logging policy: 60/20/20
            arm = rng.choices(ARMS, [0.6, 0.2, 0.2])[0]
            p = 0.6 if arm == "a" else 0.2
        else:
            arm, p = rng.choice(ARMS), 1 / 3
        r = float(rng.random() < RATES[device][arm])
        rows.append(LoggedDecision(f"d{i}", float(i), f"v{i}", "home", arm, p, "uniform", "0.0",
                                   features({"device": device}), r, float(i) + 5))
    return rows


def best_per_device(arms, ctx):
    best = "a" if ctx.get("device=mobile") else "b"
    return {x: float(x == best) for x in arms}


def test_ips_snips_replay_of_the_logging_policy_match_its_logged_rate():
    logs = uniform_log(20_000)
    rep = evaluate(logs, "uniform", "purchase", ARMS)
    for est in (rep.ips, rep.snips, rep.replay):
        assert est.interval.low <= rep.logged.value <= est.interval.high, est
    assert rep.snips.value == pytest.approx(rep.logged.value)


@pytest.mark.parametrize("skew", [False, True])
def test_ips_of_a_static_policy_covers_its_true_value(skew):
    logs = uniform_log(30_000, seed=1, propensity_skew=skew)
    est_ips, est_snips = ips(logs, best_per_device, "purchase", ARMS)
    truth = 0.10
    assert est_ips.interval.low <= truth <= est_ips.interval.high
    assert est_snips.interval.low <= truth <= est_snips.interval.high
    assert est_ips.effective_n < len(logs)


def test_replay_of_static_policy_on_uniform_log():
    est = replay(uniform_log(30_000, seed=2), best_per_device, "purchase", ARMS)
    assert est.interval.low <= 0.10 <= est.interval.high
    assert 8_000 < est.n < 12_000  # about a third of the rows match


def test_a_learning_candidate_beats_the_logged_policy():
    # 8,000 rows: the candidate learns the per-device best within them (the uniform log earns ~0.053, the best 0.10)
    rep = evaluate(uniform_log(8_000, seed=3), {"name": "linucb", "params": {"alpha": 0.1}}, "purchase", ARMS)
    assert rep.snips.value > rep.logged.value + 0.03
    assert rep.snips.interval.low > rep.logged.value


def test_rows_without_reward_or_holdout_are_skipped():
    logs = uniform_log(100)
    logs.append(LoggedDecision("open", 1e9, "v", "home", "a", 0.5, "x", "0", {}, None, None))
    logs.append(LoggedDecision("hold", 1e9, "v", "home", None, 1.0, "x", "0", {}, 1.0, 1e9, holdout=True))
    assert ips(logs, "uniform", "purchase", ARMS)[0].n == 100


# -- decision log format --------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_parse_round_trip(fmt):
    rows = uniform_log(20)
    rows.append(LoggedDecision("h", 1700000000.5, "v,1", "home", None, 1.0, "thompson", "3.14",
                               {"device=mobile": 1.0}, None, None, holdout=True, exposed_at=1700000001.25))
    lines = list(format_decision_log(rows, fmt))
    assert parse_decision_log(lines, fmt) == rows


# -- decisions drawn among fewer arms (a variant outside its ``active`` window) ---------------------
def windowed_log() -> list[LoggedDecision]:
    """Six decisions of a uniform slot of a, b, c; c was out of its window for rows 3 and 4 (drawn
    among a and b, 1/2 each), b for row 5 (a and c)."""
    rows = [("a", None, 1.0), ("b", None, 0.0), ("a", ("a", "b"), 0.0), ("b", ("a", "b"), 1.0),
            ("c", ("a", "c"), 1.0), ("c", None, 0.0)]
    return [LoggedDecision(f"w{i}", float(i), f"v{i}", "home", arm, 1 / len(offered or ARMS), "uniform", "0.0",
                           {"bias": 1.0}, reward, float(i) + 5, offered=offered)
            for i, (arm, offered, reward) in enumerate(rows, start=1)]


def uniform_among(arms, ctx):
    return {a: 1 / len(arms) for a in arms}


def test_a_candidate_chooses_among_the_arms_each_decision_was_drawn_among():
    """By hand. The logging policy itself (uniform among what was offered): every weight pi/p is 1, so
    IPS = SNIPS = the logged mean 3/6 (among all three arms rows 3-5 weighed 2/3: IPS 7/18). Always c:
    rows 3 and 4 could not show c and are left out; weights 0, 0, 2, 3 on rows 1, 2, 5, 6 give
    IPS (2·1)/4 = 0.5 and SNIPS 2/(2+3) = 0.4 (as misses, IPS was 2/6). Always a: a ran throughout,
    weights 3, 0, 2, 0, 0, 0: IPS 3/6, SNIPS 3/5."""
    logs = windowed_log()
    for candidate in (uniform_among, "uniform"):
        rep = evaluate(logs, candidate, "purchase", ARMS)
        assert (rep.ips.value, rep.snips.value, rep.ips.n, rep.logged.value) == pytest.approx((0.5, 0.5, 6, 0.5))
        assert rep.ips.effective_n == pytest.approx(6.0)
    est_ips, est_snips = ips(logs, always("c"), "purchase", ARMS)
    assert (est_ips.value, est_snips.value, est_ips.n) == pytest.approx((0.5, 0.4, 4))
    est_ips, est_snips = ips(logs, always("a"), "purchase", ARMS)
    assert (est_ips.value, est_snips.value, est_ips.n) == pytest.approx((0.5, 0.6, 6))
    matched = replay(logs, always("c"), "purchase", ARMS)  # rows 5 and 6: rewards 1 and 0
    assert (matched.value, matched.n) == (0.5, 2)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_the_export_carries_the_arms_a_decision_was_drawn_among(fmt):
    rows = windowed_log()
    lines = list(format_decision_log(rows, fmt))
    assert parse_decision_log(lines, fmt) == rows
    assert ('"offered":["a","b"]' if fmt == "jsonl" else '"[""a"",""b""]"') in lines[3 if fmt == "csv" else 2]


@pytest.mark.parametrize("offered, why", [
    ('["a", "a"]', "names an arm twice"), ('["b"]', "must include the row's arm 'a'"),
    ("[]", "must be a non-empty JSON array"), ('"a"', "must be a non-empty JSON array"),
    ("[a", "invalid JSON"),
], ids=["twice", "without-its-arm", "empty-list", "a-string", "bad-json"])
def test_a_bad_offered_is_named(offered, why):
    good = {"decision_id": "a", "ts": 1, "visitor": "v", "slot": "s", "arm": "a", "propensity": 0.5,
            "policy": "uniform", "model_version": "", "context": {}, "reward": 0, "rewarded_at": None}
    with pytest.raises(DecisionLogError, match=f"line 1: field 'offered': {why}"):
        parse_decision_log([json.dumps({**good, "offered": offered})], "jsonl")


def test_csv_errors_have_line_numbers():
    lines = list(format_decision_log(uniform_log(3), "csv"))
    lines[2] = lines[2].replace(",0.3333333333333333,", ",1.5,")
    lines.append("x,notatime,v,home,a,0.5,p,1,{},,\n")
    lines.append('y,2024-01-01T00:00:00Z,v,home,a,0.5,p,1,"{bad",,,false,,\n')
    with pytest.raises(DecisionLogError) as exc:
        parse_decision_log(lines, "csv")
    errors = exc.value.errors
    assert errors[0].startswith("line 3: field 'propensity': must be a number in (0, 1]")
    assert errors[1].startswith("line 5: expected 14 columns, got 11")
    assert errors[2].startswith("line 6: field 'context': invalid JSON")


def test_csv_header_errors():
    with pytest.raises(DecisionLogError, match="line 1: header: missing column.*reward.*unknown column.*rewrd"):
        parse_decision_log(["decision_id,ts,visitor,slot,arm,propensity,policy,model_version,context,rewrd,"
                            "rewarded_at\n"], "csv")


def test_jsonl_errors_have_line_numbers():
    good = {"decision_id": "a", "ts": "2024-05-01T10:00:00Z", "visitor": "v", "slot": "s", "arm": "x",
            "propensity": 0.5, "policy": "ucb", "model_version": "1.2", "context": {"bias": 1},
            "reward": 0, "rewarded_at": None}
    lines = [json.dumps(good), "", "{not json", json.dumps({**good, "arm": None}),
             json.dumps({**good, "surprise": 1}), json.dumps({**good, "context": {"device": "mobile"}})]
    with pytest.raises(DecisionLogError) as exc:
        parse_decision_log(lines, "jsonl")
    assert [e.split(":")[0] for e in exc.value.errors] == ["line 3", "line 4", "line 5", "line 6"]
    assert "required unless holdout" in exc.value.errors[1]
    assert parse_decision_log(lines[:1], "jsonl")[0].ts == 1714557600.0


# -- fixed policies from the command line -----------------------------------------------------
def test_replay_evaluates_always_one_variant_and_the_best_per_segment(tmp_path, capsys):
    from slotwise.cli import main

    logs = uniform_log(12_000, seed=4, propensity_skew=True)
    path = tmp_path / "decisions.jsonl"
    path.write_text("".join(format_decision_log(logs, "jsonl")))

    def estimates(*args: str) -> tuple[str, dict[str, float]]:
        assert main(["replay", str(path), *args]) == 0
        out = capsys.readouterr().out
        values = {line.split()[0]: float(line.split()[1]) for line in out.splitlines()[1:] if line.strip()}
        return out.splitlines()[0], values

    head, always_b = estimates("--always", "b")
    assert "candidate always b" in head
    assert always_b["snips"] == pytest.approx(0.06, abs=0.012)  # half mobile (2%), half desktop (10%)
    head, per_device = estimates("--best-per", "device")
    assert "desktop -> b" in head and "mobile -> a" in head and "the other" in head
    assert per_device["snips"] == pytest.approx(0.10, abs=0.012)  # each device's best: 10%
    _, everyone = estimates("--best-per", "all")
    assert everyone["snips"] == pytest.approx(0.06, abs=0.012)  # a or b for everyone: 6%


def test_replay_wants_exactly_one_candidate(tmp_path, capsys):
    from slotwise.cli import main

    path = tmp_path / "decisions.jsonl"
    path.write_text("".join(format_decision_log(uniform_log(100), "jsonl")))
    assert main(["replay", str(path)]) == 2
    assert main(["replay", str(path), "--policy", "thompson", "--always", "a"]) == 2
    assert main(["replay", str(path), "--best-per", "weather"]) == 2
    assert "use all or a context feature" in capsys.readouterr().err


def test_always_on_a_whole_export_evaluates_the_slots_that_have_the_variant(tmp_path, capsys):
    """``slotwise report --export`` writes every slot: ``--always b`` (docs/decision-log.md) stopped at
    the first slot without a ``b`` instead of evaluating the one with it."""
    from dataclasses import replace

    from slotwise.cli import main

    home = uniform_log(300, seed=5)
    banner = [replace(r, decision_id=f"x{r.decision_id}", slot="banner", arm={"a": "spring", "b": "summer"}.get(r.arm, "autumn"))
              for r in uniform_log(300, seed=6)]
    path = tmp_path / "decisions.jsonl"
    path.write_text("".join(format_decision_log(banner + home, "jsonl")))
    assert main(["replay", str(path), "--always", "b"]) == 0
    out = capsys.readouterr().out
    assert "slot home: candidate always b" in out and "slot banner" not in out
    assert main(["replay", str(path), "--always", "winter"]) == 2
    assert "no slot has decisions for variant 'winter' (slots: banner: autumn, spring, summer; home: a, b, c)" in (
        capsys.readouterr().err)
    assert main(["replay", str(path), "--slot", "hero", "--always", "b"]) == 1
    assert "no decisions for slot 'hero' (slots: banner, home)" in capsys.readouterr().err
    assert main(["replay", str(path), "--always", "sumer"]) == 2  # a typo gets the name it misses
    assert "no slot has decisions for variant 'sumer' (did you mean 'summer'?) (slots:" in capsys.readouterr().err
    assert main(["replay", str(path), "--slot", "home", "--always", "bb"]) == 2
    assert "slot home: no decisions for variant 'bb' (did you mean 'b'?) (variants: a, b, c)" in (
        capsys.readouterr().err)
    assert main(["replay", str(path), "--slot", "banerr", "--always", "b"]) == 1
    assert "no decisions for slot 'banerr' (did you mean 'banner'?) (slots: banner, home)" in capsys.readouterr().err


def test_best_per_on_a_slot_with_nothing_measured_names_no_choice(tmp_path, capsys):
    """Before any reward the line read "(; others -> a; ...)": a "best" variant chosen on nothing."""
    from dataclasses import replace

    from slotwise.cli import main

    path = tmp_path / "decisions.jsonl"
    path.write_text("".join(format_decision_log([replace(r, reward=None) for r in uniform_log(20)], "jsonl")))
    assert main(["replay", str(path), "--best-per", "device"]) == 0
    head = capsys.readouterr().out.splitlines()[0]
    assert "(nothing measured to choose on yet;" in head and "->" not in head


def test_replay_on_too_few_rewards_says_not_enough_data_instead_of_an_infinite_interval(tmp_path, capsys):
    """One decision with a known reward printed ``95% CI [-inf, inf]`` (one value has no spread), and
    SNIPS ``[r, r]`` (an interval of zero width from one row): neither means anything to a marketer."""
    from dataclasses import replace

    from slotwise.cli import main

    rows = uniform_log(6, seed=3)
    one = [r if i == 0 else replace(r, reward=None) for i, r in enumerate(rows)]  # only the first is measured
    path = tmp_path / "decisions.jsonl"
    path.write_text("".join(format_decision_log(one, "jsonl")))
    assert main(["replay", str(path), "--always", rows[0].arm]) == 0
    out = capsys.readouterr().out
    assert "inf" not in out and "nan" not in out
    lines = {line.split()[0]: line for line in out.splitlines()[1:] if line.strip()}
    for method in ("logged", "ips", "snips", "replay"):
        assert lines[method].endswith("95% CI: not enough data (n=1)"), lines[method]

    other = next(r.arm for r in rows if r.arm != rows[0].arm)  # shown, never measured
    assert main(["replay", str(path), "--always", other]) == 0
    out = capsys.readouterr().out
    assert "ips      not enough data (n=1: the candidate never picks the variants these decisions showed)" in out
    assert "0.0000" not in out.split("ips", 1)[1]  # no IPS of 0 made of nothing but zero weights

    none = [replace(r, reward=None) for r in rows]  # nothing measured yet
    path.write_text("".join(format_decision_log(none, "jsonl")))
    assert main(["replay", str(path), "--policy", "thompson"]) == 0
    out = capsys.readouterr().out
    assert "logged   not enough data (n=0: no decision with a known reward)" in out
    assert "replay   not enough data (n=0: no decision with a known reward)" in out  # not "the candidate ..."
    assert "n/a" not in out and "inf" not in out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(0, 7), measured=st.lists(st.booleans(), min_size=7, max_size=7),
       candidate=st.sampled_from([["--always", "a"], ["--best-per", "device"], ["--best-per", "all"],
                                  ["--policy", "thompson"], ["--policy", "uniform"]]))
def test_replay_prints_an_interval_or_says_why_not_on_any_small_log(tmp_path, capsys, n, measured, candidate):
    from dataclasses import replace

    from slotwise.cli import main

    rows = [replace(r, arm="a" if i == 0 else r.arm, reward=r.reward if measured[i] else None)
            for i, r in enumerate(uniform_log(n, seed=n))]
    path = tmp_path / "decisions.jsonl"
    path.write_text("".join(format_decision_log(rows, "jsonl")))
    status = main(["replay", str(path), *candidate])
    out = capsys.readouterr().out
    assert status == (0 if n else 1)
    assert "inf" not in out and "nan" not in out
    for line in out.splitlines()[1:]:
        if line.strip():
            assert "95% CI [" in line or "not enough data (n=" in line, line


def test_replay_names_a_missing_or_unreadable_log_and_reads_an_export_under_another_name(tmp_path, capsys):
    """A missing file printed Python's "[Errno 2] No such file or directory: 'x'"; a JSONL export saved
    as decisions.txt was read as a CSV, and the "unknown columns" it named were its first decision."""
    from slotwise.cli import main

    assert main(["replay", str(tmp_path / "decisions.jsonl"), "--always", "a"]) == 2
    err = capsys.readouterr().err
    assert f"slotwise replay: {tmp_path / 'decisions.jsonl'}: No such file or directory (a decision log:" in err
    assert "Errno" not in err

    rows = uniform_log(300, seed=8)
    for name, fmt in (("decisions.txt", "jsonl"), ("export", "csv")):
        path = tmp_path / name
        path.write_text("".join(format_decision_log(rows, fmt)))
        assert main(["replay", str(path), "--always", "b"]) == 0, capsys.readouterr().err
        assert "slot home: candidate always b (0/1 rewards) on 300 decisions" in capsys.readouterr().out

    latin = tmp_path / "decisions.csv"
    latin.write_bytes("decision_id,ts\nd1,caf\xe9\n".encode("latin-1"))
    assert main(["replay", str(latin), "--always", "b"]) == 2
    assert "byte 0xe9 is not UTF-8" in capsys.readouterr().err


def test_an_unknown_goal_is_refused_for_every_candidate(tmp_path, capsys):
    """``--goal purchse`` with ``--always`` or ``--best-per`` was taken and printed "(goal purchse)"; only
    ``--policy`` refused it."""
    from slotwise.cli import main

    path = tmp_path / "decisions.jsonl"
    path.write_text("".join(format_decision_log(uniform_log(50), "jsonl")))
    for candidate in (["--always", "a"], ["--best-per", "device"], ["--policy", "thompson"]):
        with pytest.raises(SystemExit) as stop:
            main(["replay", str(path), *candidate, "--goal", "purchse"])
        assert stop.value.code == 2
        assert "argument --goal: invalid choice: 'purchse' (choose from 'click', 'add_to_cart'" in capsys.readouterr().err
    assert main(["replay", str(path), "--always", "a", "--goal", "purchase"]) == 0
    assert "(goal purchase)" in capsys.readouterr().out


def test_a_rate_on_three_rows_gets_a_wilson_interval_not_one_below_zero():
    """One click in three decisions printed ``logged 0.3333  95% CI [-0.3200, 0.9866]``: a rate below 0."""
    from dataclasses import replace

    from slotwise.bandits.stats import wilson_interval

    rows = [replace(r, arm="a", propensity=1 / 3, reward=float(i == 0)) for i, r in enumerate(uniform_log(3))]
    rep = evaluate(rows, always("a"), "click", ARMS)
    assert rep.logged.interval == wilson_interval(1, 3)
    assert 0.0 < rep.logged.interval.low < 1 / 3 < rep.logged.interval.high < 1.0
    assert rep.replay.interval == wilson_interval(1, 3)  # the rows replay kept: a rate too
    for est in (rep.ips, rep.snips):
        assert 0.0 <= est.interval.low <= est.value <= est.interval.high <= 1.0, est


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(ARMS), st.sampled_from([0.05, 0.2, 1 / 3, 0.6, 1.0]),
                               st.sampled_from(["mobile", "desktop"]), st.integers(0, 1),
                               st.floats(0, 500, allow_nan=False)), min_size=1, max_size=12),
       amounts=st.booleans(),
       candidate=st.sampled_from(["always", "best-per", "thompson", "uniform"]))
@example(rows=[("a", 0.05, "mobile", 0, 1.0), ("a", 0.05, "mobile", 0, 2.0), ("b", 0.05, "mobile", 0, 1.0)],
         amounts=True, candidate="always")  # revenue amounts: the rows replay keeps may all be 1.0, still no rate
def test_every_interval_holds_its_estimate_and_stays_within_the_rewards_range(rows, amounts, candidate):
    """0/1 rewards: within [0, 1]; amounts: within the rewards' [min, max]; whatever the rows, the
    propensities (an IPS value past the range included) and the candidate."""
    from slotwise.bandits.replay import evaluate_best_per_segment

    log = [LoggedDecision(f"d{i}", float(i), f"v{i}", "home", arm, p, "uniform", "0.0", features({"device": dev}),
                          amount if amounts else float(click), float(i) + 5)
           for i, (arm, p, dev, click, amount) in enumerate(rows)]
    rewards = [float(r.reward) for r in log]
    binary = all(r in (0.0, 1.0) for r in rewards)
    low, high = (0.0, 1.0) if binary else (min(rewards), max(rewards))
    if candidate == "best-per":
        rep = evaluate_best_per_segment(log, "device", "click" if binary else "revenue", ARMS)[0]
    else:
        target = always("b") if candidate == "always" else candidate
        rep = evaluate(log, target, "click" if binary else "revenue", ARMS)
    for est in (rep.logged, rep.ips, rep.snips, rep.replay):
        if est.value != est.value:  # nothing to estimate (no row the candidate would pick, or no weight)
            continue
        assert low <= est.interval.low <= est.value <= est.interval.high <= high, (est, low, high)
