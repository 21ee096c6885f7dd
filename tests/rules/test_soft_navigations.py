"""capture.soft_navigations: whether the tag follows a single-page storefront's history navigations, and which
query parameters make a URL another page (docs/tag.md, "Single-page storefronts"); what the tag is told."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.rules.errors import RulesError
from slotwise.rules.tag_config import soft_query, tag_config
from slotwise.rules.testing import rules_from_text
from slotwise.tag import assets

SLOTS = """
    slots:
      - id: badge
        pages: "/p/*"
        selector: h1
        action: append
        html: "<b>new</b>"
"""


def test_on_by_default_with_no_query_parameter_of_a_page(tmp_path: Path) -> None:
    """No word in the rules: followed (as GA4's enhanced measurement), the path alone makes a page; the full and
    the injected tag carry the noticing, and the injected one names the spa tag it loads."""
    rules = rules_from_text(tmp_path, SLOTS)
    assert rules.capture.soft_navigations is True
    for tag_only in (True, False):
        assert tag_config(rules, tag_only=tag_only)["nav"] == {"query": []}
    proxy = assets.bundle(tag_config(rules), "proxy").source.decode()
    spa = assets.bundle(tag_config(rules), "spa")
    assert "function moved(" in proxy and f'"spa":"{spa.digest}"' in proxy


def test_the_switch_turns_it_off_in_whichever_file_says_so(tmp_path: Path) -> None:
    rules = rules_from_text(tmp_path, "include: [capture.yaml]\n" + textwrap.dedent(SLOTS),
                            files={"capture.yaml": "capture:\n  soft_navigations: false\n"})
    assert rules.capture.soft_navigations is False
    config = tag_config(rules, tag_only=True)
    assert "nav" not in config
    for variant in ("full", "proxy"):
        assert "function moved(" not in assets.bundle(config, variant).source.decode()
    assert "function soft(" not in assets.bundle(config).source.decode()


def test_a_value_that_is_not_a_boolean_is_an_error_at_its_place(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match=r"rules.yaml:3:\d+: 'capture.soft_navigations' must be true or false, got a string"):
        rules_from_text(tmp_path, """
            capture:
              soft_navigations: "off"
            slots: []
        """)


def test_the_query_parameters_the_rules_pages_read_make_a_page(tmp_path: Path) -> None:
    """A slot's ``query:`` condition (present or absent) and a capture source's pages': those names, each once and
    sorted; a catalog pattern never (paths only)."""
    rules = rules_from_text(tmp_path, """
        catalog:
          product_pages: "/p/{product}"
        capture:
          customer:
            pages: {path: "/account/", query: {step: "orders"}}
            email: "dl.profile dd"
        slots:
          - id: search-banner
            pages: [{path: "/search", query: {q: true}}, {path: "/search", query: {page: false}}]
            selector: h1
            action: append
            html: "<b>found</b>"
          - id: badge
            pages: {path: "/p/*", query: {q: true}}
            selector: h1
            action: append
            html: "<b>new</b>"
    """)
    assert soft_query(rules) == ("page", "q", "step")
    assert tag_config(rules)["nav"] == {"query": ["page", "q", "step"]}


@settings(max_examples=30, deadline=None)
@given(st.lists(st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True), min_size=1, max_size=4, unique=True))
def test_every_name_of_a_query_condition_is_one_the_tag_compares(tmp_path_factory: pytest.TempPathFactory,
                                                                  names: list[str]) -> None:
    entries = ", ".join(f'{{path: "/s{i}", query: {{{name}: true}}}}' for i, name in enumerate(names))
    rules = rules_from_text(tmp_path_factory.mktemp("q"), f"""
        slots:
          - id: s
            pages: [{entries}]
            selector: h1
            action: append
            html: "<b>x</b>"
    """)
    assert soft_query(rules) == tuple(sorted(names))
