"""Conditions as a data table (tests/rules/cases.yaml), GrowthBook-style."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from slotwise.rules import RuleSet
from slotwise.rules.catalog import CatalogSettings
from slotwise.rules.expressions import compile_expression
from slotwise.rules.pages import CatalogPatterns, compile_path_pattern
from slotwise.rules.testing import make_context, make_profile
from slotwise.rules.vocabulary import CONDITION_NAMES

CASES = yaml.safe_load((Path(__file__).parent / "cases.yaml").read_text(encoding="utf-8"))
DEMO_CATALOG = RuleSet(
    catalog=CatalogSettings(
        patterns=CatalogPatterns(
            home=(compile_path_pattern("/"),),
            category=(compile_path_pattern("/c/{category}"),),
            product=(compile_path_pattern("/p/{product}"),),
        )
    )
)


def _plain(value: Any) -> Any:
    """Tuples and read-only mappings as YAML would write them."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    return value


def test_table_is_not_trivial() -> None:
    assert len(CASES) >= 40
    assert len({c["name"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_condition_case(case: dict[str, Any]) -> None:
    profile = make_profile(**case["profile"]) if "profile" in case else None
    page = case.get("page", {})
    ctx = make_context(
        profile,
        path=page.get("path", "/"),
        query=page.get("query"),
        html=page["html"].encode() if "html" in page else None,
        headers=case.get("headers"),
        ruleset=DEMO_CATALOG,
    )
    function, problems = compile_expression(case["expression"], CONDITION_NAMES)
    assert not problems, problems
    assert function is not None
    assert _plain(function(**ctx.names)) == case["expected"]
