"""docs/admin.md is a tested claim: its routes exist, its reasons are the bar's, its flags are the CLI's."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.routing import Mount, Route

from slotwise.cli import build_parser
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.proxy.personalization.preview_bar import REASONS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "admin.md").read_text()


def section(title: str) -> str:
    return DOC.split(f"## {title}\n")[1].split("\n## ")[0]


def test_every_route_in_the_doc_is_served(tmp_path: Path) -> None:
    personalizer = SlotwisePersonalizer(Settings(upstream="http://127.0.0.1:9", data=str(tmp_path), admin_token="admin-token-for-tests"))
    served = set()
    for route in personalizer.routes():
        assert isinstance(route, (Route, Mount))
        for method in getattr(route, "methods", None) or ():
            served.add((method, "/_sw" + route.path))
    documented = re.findall(r"^\| `(GET|POST) (/_sw/[^` ]+)`(?:, `(/_sw/[^`]+)`)?", section("Routes"), re.M)
    assert len(documented) >= 12
    for method, path, also in documented:
        for p in filter(None, (path, also)):
            p = re.sub(r"preview\.(js|css)$", "preview.{name}", p)
            assert (method, p) in served, f"{method} {p} is documented but not served"


def test_the_reasons_table_is_the_bars() -> None:
    documented = re.findall(r"^\| `([a-z-]+)` \|", section("The preview bar"), re.M)
    assert documented == list(REASONS)


def test_the_preview_flags_in_the_doc_exist() -> None:
    parser = build_parser()
    preview = parser._subparsers._group_actions[0].choices["preview"]  # type: ignore[union-attr]
    flags = {s for a in preview._actions for s in a.option_strings}
    documented = set(re.findall(r"`(--[a-z-]+)", section("Preview links")))
    assert {"--force", "--off", "--admin-token", "--secret", "--data", "--rules", "--no-check"} <= documented
    for flag in documented:
        assert flag in flags or flag == "--preview-ttl", f"{flag} is documented for slotwise preview"  # serve's
