"""Loading details: did-you-mean, YAML anchors and merges, and the all-or-nothing contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from slotwise.rules import RulesError, load_rules
from slotwise.rules.checker import did_you_mean
from slotwise.rules.testing import rules_from_text


@pytest.mark.parametrize(
    ("word", "choices", "hint"),
    [
        ("selecter", ["selector", "action"], " (did you mean 'selector'?)"),
        ("recnt_categories", ["recent_categories", "top_categories"], " (did you mean 'recent_categories'?)"),
        ("zzz", ["selector", "action"], ""),
    ],
)
def test_did_you_mean(word: str, choices: list[str], hint: str) -> None:
    assert did_you_mean(word, choices) == hint


def test_anchors_and_merge_keys_keep_rules_short(tmp_path: Path) -> None:
    ruleset = rules_from_text(tmp_path, """
        x-hero: &hero
          pages: "/"
          selector: ".hero"
          action: replace
        slots:
          - {<<: *hero, id: a, html: "<p>A</p>"}
          - {<<: *hero, id: b, html: "<p>B</p>", selector: ".other"}
    """)
    assert [(s.id, s.selector, s.action) for s in ruleset.slots] == [("a", ".hero", "replace"), ("b", ".other", "replace")]


def test_a_broken_reload_never_returns_a_partial_set(tmp_path: Path) -> None:
    good = rules_from_text(tmp_path, """
        slots:
          - {id: a, pages: "/", selector: p, action: remove}
    """)
    (tmp_path / "rules.yaml").write_text(
        'slots:\n  - {id: a, pages: "/", selector: p, action: remove}\n  - {id: b, pages: "/", selector: "p[", action: remove}\n'
    )
    with pytest.raises(RulesError) as info:
        load_rules(tmp_path / "rules.yaml")
    assert len(info.value.issues) == 1 and info.value.issues[0].line == 3
    assert [s.id for s in good.slots] == ["a"]  # the caller's last good set is untouched


def test_missing_main_file_is_one_located_issue(tmp_path: Path) -> None:
    with pytest.raises(RulesError) as info:
        load_rules(tmp_path / "nope.yaml")
    (issue,) = info.value.issues
    assert (issue.line, issue.column) == (1, 1) and "cannot read rules file" in issue.message


def test_yaml_booleans_as_ids_get_a_hint(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="quote it"):
        rules_from_text(tmp_path, "slots:\n  - {id: no, pages: /, selector: p, action: remove}\n")
