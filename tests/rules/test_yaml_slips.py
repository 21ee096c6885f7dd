"""A marketer's YAML slips in a rules file: whatever the text, loading gives located issues with a
fix to try, never an exception; one slip in a good file is reported where it was made."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slotwise.rules import RulesError, load_rules

GOOD = """slots:
  - id: banner
    pages: "/"
    selector: ".hero"
    action: replace
    variants:
      - id: a
        html: "<p>Welcome back</p>"
      - id: b
        html: "<p>Hi {{ visitor.last_category }}</p>"
"""
LINES = GOOD.splitlines(keepends=True)
# what slips into a line: a tab, one space too many or too few, an unclosed quote or bracket,
# a colon in an unquoted value, a character YAML reserves, a line cut short
SLIPS = ["\t", " ", "\"", "'", "{", "[", ": ", "@", "%", "`", "*"]


def _issues(tmp: Path, text: str) -> list:
    path = tmp / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_rules(path)
    except RulesError as exc:
        return exc.issues
    return []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list(" \t\n:-'\"{}[]#&*!|>%@`,?ab1")), max_size=60))
def test_any_text_is_located_issues_never_an_exception(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        issues = _issues(Path(tmp), text)
    lines = max(text.count("\n"), 0) + 2
    for issue in issues:
        assert 1 <= issue.line <= lines and issue.column >= 1, issue
        assert issue.message and "\n" not in issue.message


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line=st.integers(1, len(LINES) - 1), slip=st.sampled_from(SLIPS), at=st.integers(0, 30))
def test_a_yaml_slip_is_reported_at_or_before_its_line_with_a_hint(line: int, slip: str, at: int) -> None:
    """A syntax error names a line at most two after the slip (PyYAML may only see an indentation
    slip or an open quote there), and every syntax error made this way comes with a fix to try."""
    row = LINES[line]
    at = min(at, len(row) - 1)
    text = "".join(LINES[:line]) + row[:at] + slip + row[at:] + "".join(LINES[line + 1:])
    with tempfile.TemporaryDirectory() as tmp:
        issues = _issues(Path(tmp), text)
    syntax = [i for i in issues if i.message.startswith("YAML syntax error")]
    for issue in syntax:
        assert issue.line <= line + 3, (text, issue)  # the slip is on line + 1
        assert "; " in issue.message, f"no fix offered: {issue}\n{text}"
