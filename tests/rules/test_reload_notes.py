"""A reload tells the marketer which variants were rewritten under their old id (they keep what was
learned about them: docs/rules.md, "Changing the variants of a slot that learns")."""

from __future__ import annotations

from pathlib import Path

import pytest

from slotwise.rules import load_rules
from slotwise.rules.reload_notes import reload_notes
from slotwise.rules.ruleset import RuleSet

RULES = """slots:
  - id: hero
    pages: "/"
    selector: ".hero"
    action: replace
    policy: {name: POLICY}
    variants:
      - id: a
        html: "<b>10% off</b>"
        description: the first offer
      - id: b
        template: b.html
        vars: {offer: "free shipping"}
      - id: c
        recommend: {strategy: mixed, limit: 4}
        html: "<ul>{% for p in recommendations %}<li>{{ p.name }}</li>{% endfor %}</ul>"
  - id: nav
    pages: "/"
    selector: "nav"
    action: reorder
    variants:
      - id: recent
        order: "visitor.recent_categories"
      - id: keep
        control: true
"""


def load(tmp_path: Path, text: str, template: str = "<p>{{ vars.offer }}</p>", name: str = "rules.yaml") -> RuleSet:
    (tmp_path / "b.html").write_text(template)
    path = tmp_path / name
    path.write_text(text)
    return load_rules(path)


def notes(tmp_path: Path, before: str, after: str, template_after: str = "<p>{{ vars.offer }}</p>",
          policy: str = "thompson") -> list[str]:
    old = load(tmp_path, before.replace("POLICY", policy))
    new = load(tmp_path, after.replace("POLICY", policy), template_after, "rules2.yaml")
    return reload_notes(old, new)


def test_the_same_rules_say_nothing(tmp_path: Path) -> None:
    assert notes(tmp_path, RULES, RULES) == []


@pytest.mark.parametrize("edit", [
    ('html: "<b>10% off</b>"', 'html: "<b>15% off</b>"', "a"),  # the html
    ('vars: {offer: "free shipping"}', 'vars: {offer: "free returns"}', "b"),  # what the template shows
    ("limit: 4", "limit: 6", "c"),  # the recommendations
    ('order: "visitor.recent_categories"', 'order: "visitor.top_categories"', "recent"),  # an order
])
def test_a_variant_rewritten_under_its_id_is_named(tmp_path: Path, edit: tuple[str, str, str]) -> None:
    was, now, variant = edit
    said = notes(tmp_path, RULES, RULES.replace(was, now))
    assert len(said) == 1 and f"variant {variant!r} changed" in said[0] and "new id" in said[0], said


def test_a_template_file_edited_is_a_rewrite_too(tmp_path: Path) -> None:
    said = notes(tmp_path, RULES, RULES, template_after="<p>Now: {{ vars.offer }}</p>")
    assert len(said) == 1 and "'hero'" in said[0] and "'b'" in said[0]


def test_what_visitors_do_not_see_or_what_starts_fresh_says_nothing(tmp_path: Path) -> None:
    assert notes(tmp_path, RULES, RULES.replace("the first offer", "the spring offer")) == []  # a description
    renamed = RULES.replace("      - id: a\n", "      - id: a2\n").replace("10% off", "15% off")
    assert notes(tmp_path, RULES, renamed) == []  # a new id: starts from nothing, as asked
    assert notes(tmp_path, RULES, RULES.replace("  - id: hero", "  - id: hero2")) == []  # a new slot


def test_a_slot_that_does_not_learn_says_nothing(tmp_path: Path) -> None:
    assert notes(tmp_path, RULES, RULES.replace("10% off", "15% off"), policy="uniform") == []
