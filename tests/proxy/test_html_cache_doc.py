"""README: Upstream HTML cache and docs/rules.md's ``cache`` are tested claims: flags, defaults, metric
names, outcomes and rules keys they name are the code's."""

from __future__ import annotations

import re
from pathlib import Path

from slotwise.proxy.operations import metrics
from slotwise.proxy.config import OPTIONS
from slotwise.rules.cache import CACHE_KEYS, PAGE_TYPES

ROOT = Path(__file__).resolve().parents[2]


def section(path: Path, title: str) -> str:
    text = path.read_text()
    start = text.index(title)
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def test_flags_and_defaults_named_are_real() -> None:
    text = section(ROOT / "README.md", "## Upstream HTML cache")
    options = {o.name.replace("_", "-"): o for o in OPTIONS}
    named = set(re.findall(r"--([a-z][a-z0-9-]*)", text))
    assert "html-cache-mb" in named and named <= set(options), named - set(options)
    quoted = re.findall(r"`--([a-z-]+)`\s*\((\d+(?:\.\d+)?) MB\)", text)
    assert quoted == [("html-cache-mb", "64")]
    assert float(options["html-cache-mb"].default) == 64.0


def test_metrics_and_outcomes_named_are_real() -> None:
    text = section(ROOT / "README.md", "## Upstream HTML cache")
    exposed = metrics.exposition()[0].decode()
    for name in re.findall(r"`(slotwise_[a-z_]+)", text):
        assert re.search(rf"^{name}[{{ ]", exposed, re.M) or f"# HELP {name}" in exposed, name
    listed = re.search(r"`slotwise_html_cache_total\{outcome\}` \(([^)]*)\)", text)
    assert listed is not None
    assert set(re.findall(r"`(\w+)`", listed.group(1))) == set(metrics._CACHE_OUTCOMES)


def test_rules_keys_and_page_types_named_are_real() -> None:
    text = section(ROOT / "docs" / "rules.md", "### `cache`")
    block = text.split("```yaml", 1)[1].split("```", 1)[0]
    assert set(re.findall(r"^  (\w+):", block, re.M)) == set(CACHE_KEYS)
    types = re.search(r"its page type \(([^)]*)\)", text.replace("\n", " "))
    assert types is not None and set(re.findall(r"`(\w+)`", types.group(1))) == set(PAGE_TYPES)
