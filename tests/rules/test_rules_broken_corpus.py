"""Every broken rules file yields exactly its expected ``file:line:column: message`` lines."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from slotwise.rules import RulesError, load_rules

BROKEN = Path(__file__).parent / "broken"
CASES = sorted(BROKEN.glob("*.yaml"))


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 20
    missing = [c.name for c in CASES if not c.with_suffix(".expected").is_file()]
    assert not missing, f"no .expected file for {missing}"


@pytest.mark.parametrize("path", CASES, ids=[c.stem for c in CASES])
def test_broken_file_reports_exactly_the_expected_errors(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BROKEN)  # messages name files as the user passed them: relative here
    expected = [line for line in path.with_suffix(".expected").read_text(encoding="utf-8").splitlines() if line.strip()]
    assert expected, "an .expected file must list at least one error"
    with pytest.raises(RulesError) as info:
        load_rules(path.name)
    got = [str(issue) for issue in info.value.issues]
    assert got == expected
    for issue in info.value.issues:
        assert issue.line >= 1 and issue.column >= 1
        assert not os.path.isabs(issue.file)


def test_rules_error_message_lists_every_issue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BROKEN)
    with pytest.raises(RulesError) as info:
        load_rules("wrong-types.yaml")
    text = str(info.value)
    assert text.startswith("4 errors in rules:")
    assert "wrong-types.yaml:3:12:" in text and "wrong-types.yaml:7:12:" in text


def test_real_bandits_validator_reports_bad_params_at_the_parameter(tmp_path: Path) -> None:
    """With slotwise.bandits present its validator decides; errors still land on the parameter."""
    pytest.importorskip("slotwise.bandits.spec")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "slots:\n"
        "  - id: a\n"
        "    pages: /\n"
        "    selector: p\n"
        "    action: remove\n"
        "    policy:\n"
        "      name: epsilon-greedy\n"
        "      epsilon: 7\n",
        encoding="utf-8",
    )
    with pytest.raises(RulesError) as info:
        load_rules(rules)  # default validator: slotwise.bandits
    (issue,) = info.value.issues
    assert (issue.line, issue.column) == (8, 7)
    assert "epsilon" in issue.message and "7" in issue.message
