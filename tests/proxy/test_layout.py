"""slotwise/proxy/ keeps the direction docs/architecture.md gives: forwarding knows nothing of
rules, profiles or the personalizer; nothing imports the personalizer but the app's factory."""

from __future__ import annotations

import ast
from pathlib import Path

PROXY = Path(__file__).resolve().parents[2] / "slotwise" / "proxy"


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_forwarding_knows_nothing_of_rules_or_personalization() -> None:
    for path in (PROXY / "forwarding").glob("*.py"):
        bad = {n for n in imports_of(path)
               if n.startswith(("slotwise.rules", "slotwise.bandits", "slotwise.store", "slotwise.profile",
                                "slotwise.proxy.personalization"))
               or (n.startswith("slotwise.proxy.operations.") and ".metrics" not in n)}
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_only_the_apps_factory_imports_the_personalizer_at_run_time() -> None:
    """Steps, admin and /decide take the personalizer as an argument (a type hint at most):
    the import circle admin -> personalize -> tag_decide -> personalize is gone."""
    for path in PROXY.rglob("*.py"):
        if path.name in ("personalize.py", "app.py"):
            continue
        tree = ast.parse(path.read_text())
        runtime = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                runtime += [n for n in ast.walk(node) if isinstance(n, ast.ImportFrom)]
        named = {n.module for n in runtime if isinstance(n, ast.ImportFrom)}
        assert "slotwise.proxy.personalization.personalize" not in named, path


def test_forwarding_talks_to_the_origin_with_aiohttp_alone() -> None:
    """httpx's model layer cost ~0.5 ms CPU per page on top of aiohttp (docs/benchmarks.md): not on the hot path."""
    for path in (PROXY / "forwarding").glob("*.py"):
        bad = {n for n in imports_of(path) if n.split(".")[0] in ("httpx", "httpx_aiohttp")}
        assert not bad, f"{path.name} imports {sorted(bad)}"
