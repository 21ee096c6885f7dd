"""Includes: slots from several files form one validated set; errors name the included file."""

from __future__ import annotations

from pathlib import Path

import pytest

from slotwise.rules import RulesError
from slotwise.rules.testing import rules_from_text


def test_included_slots_and_templates_resolve_relative_to_their_file(tmp_path: Path) -> None:
    ruleset = rules_from_text(tmp_path, """
        holdout: 0.05
        include: [slots/home.yaml, slots/list.yaml]
        slots:
          - {id: main, pages: "/", selector: p, action: remove}
    """, files={
        "slots/home.yaml": """
            include: nested/deeper.yaml
            slots:
              - {id: hero, pages: "/", selector: ".hero", action: replace, template: hero.html}
        """,
        "slots/hero.html": "<p>{{ visitor.visits }} visits</p>",
        "slots/nested/deeper.yaml": """
            slots:
              - {id: deep, pages: "/", selector: ".deep", action: remove}
        """,
        "slots/list.yaml": """
            - {id: bare-list, pages: "/", selector: ".x", action: remove}
        """,
    })
    assert [s.id for s in ruleset.slots] == ["main", "hero", "deep", "bare-list"]
    names = sorted(p.name for p in ruleset.files)
    assert names == ["deeper.yaml", "hero.html", "home.yaml", "list.yaml", "rules.yaml"]
    assert ruleset.holdout == 0.05


def test_errors_in_included_files_name_that_file_and_reject_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RulesError) as info:
        rules_from_text(Path("."), """
            include: parts/a.yaml
            slots:
              - {id: fine, pages: "/", selector: p, action: remove}
        """, files={
            "parts/a.yaml": """
                slots:
                  - {id: fine, pages: "/", selector: "p", action: remove}
                  - {id: b, pages: "/", selector: "p", action: reorder, order: visitor.recent_categorys}
            """,
            "parts/unused.html": "",
        })
    messages = [str(i) for i in info.value.issues]
    assert messages == [
        "parts/a.yaml:3:10: duplicate slot id 'fine' (first defined at rules.yaml:4:10)",
        "parts/a.yaml:4:64: unknown fact 'visitor.recent_categorys' (did you mean 'recent_categories'?)",
    ]
