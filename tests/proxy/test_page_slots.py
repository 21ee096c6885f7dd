"""The slots kept per request inputs (``page_slots``) are always ``RuleSet.slots_for``'s answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.proxy.personalization.page_slots import MAX_KEPT, PageSlots, header_names
from slotwise.rules.ruleset import RuleSet
from slotwise.rules.testing import rules_from_text

RULES = """
slots:
  - {id: home, pages: "/", selector: p, action: remove}
  - {id: products, pages: "/p/*", selector: p, action: remove}
  - {id: newsletter, pages: {path: "/**", query: {utm_source: newsletter}}, selector: p, action: remove}
  - {id: german, pages: {path: "/**", headers: {Accept-Language: "de*"}}, selector: p, action: remove}
  - {id: app, pages: {path: "/p/*", headers: {X-App: present}}, selector: p, action: remove}
"""

_paths = st.sampled_from(["/", "/p/1", "/p/2", "/c/x", "/p/1/reviews"])
_queries = st.sampled_from(["", "utm_source=newsletter", "utm_source=other", "a=1&utm_source=newsletter"])
_headers = st.lists(st.tuples(st.sampled_from(["accept-language", "x-app", "user-agent", "Accept-Language"]),
                              st.sampled_from(["de-DE", "en", "present", "x"])), max_size=4)


def test_the_header_names_are_those_the_rules_read(tmp_path: Path) -> None:
    assert header_names(rules_from_text(tmp_path, RULES)) == ("accept-language", "x-app")


@pytest.fixture(scope="module")
def ruleset(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    """Loaded once: loading rules per example was half the property's time (each example keeps its own)."""
    return rules_from_text(tmp_path_factory.mktemp("rules"), RULES)


@settings(max_examples=300, deadline=None)
@given(requests=st.lists(st.tuples(_paths, _queries, _headers), min_size=1, max_size=12))
def test_kept_answers_are_slots_for(ruleset: RuleSet, requests: list[tuple[str, str, list[tuple[str, str]]]]) -> None:
    kept = PageSlots()
    for path, query, headers in requests:  # the same inputs again and again: answered from what was kept
        expected = [s.id for s in ruleset.slots_for(path, query, headers)]
        assert [s.id for s in kept.slots(ruleset, path, query, headers)] == expected


def test_new_rules_are_asked_afresh(tmp_path: Path) -> None:
    kept = PageSlots()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    old = rules_from_text(tmp_path / "a", RULES)
    assert [s.id for s in kept.slots(old, "/", "", [])] == ["home"]
    new = rules_from_text(tmp_path / "b", RULES.replace('pages: "/",', 'pages: "/c/*",'))
    assert [s.id for s in kept.slots(new, "/", "", [])] == []
    assert [s.id for s in kept.slots(new, "/c/x", "", [])] == ["home"]


def test_bounded(tmp_path: Path) -> None:
    ruleset = rules_from_text(tmp_path, RULES)
    kept = PageSlots()
    for i in range(MAX_KEPT + 10):
        kept.slots(ruleset, f"/p/{i}", "", [])
    assert len(kept._kept) <= MAX_KEPT
    long = "x" * 5000  # too long to keep: still answered
    assert [s.id for s in kept.slots(ruleset, "/", "", [("accept-language", "de" + long)])] == ["home", "german"]
    assert all(long not in repr(k) for k in kept._kept)
