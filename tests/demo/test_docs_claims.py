"""Docs are tested claims: what tag.md, architecture.md, store-redis.md and the README say is what the code does."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

from slotwise.bandits.policies import POLICIES
from slotwise.commands import learner as learner_command
from slotwise.proxy.personalization.bots import BOT_SERVER_TIMING, is_bot
from slotwise.proxy.operations.log_retention import DEFAULT_RETENTION
from slotwise.tag.assets import script_tag

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
PLACEHOLDERS = {"FILE.md"}  # "the results go to FILE.md": a name for the reader to choose


def doc(name: str) -> str:
    return (ROOT / name).read_text()


def script_attributes(html: str) -> dict[str, str | None]:
    node = LexborHTMLParser(html).css_first("script")
    assert node is not None
    return {k: v for k, v in node.attributes.items() if k != "src"}


def test_tag_md_shows_the_script_the_proxy_injects() -> None:
    shown = re.search(r'<script src="/_sw/tag\.[0-9a-f]+\.js"[^>]*></script>', doc("docs/tag.md"))
    assert shown, "docs/tag.md: the injected <script> is not shown"
    # the personalizer injects script_tag(nonce, data={"pageview": "off"}, ...): views are the proxy's
    assert script_attributes(shown.group(0)) == script_attributes(script_tag(data={"pageview": "off"}))
    assert 'data-pageview="off"' in shown.group(0)


def test_every_markdown_file_a_doc_names_is_in_the_repository() -> None:
    """architecture.md once pointed at a DESIGN.md that is not in the repository."""
    missing = []
    for path in DOCS:
        for name in re.findall(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.md)\b", path.read_text()):
            if name in PLACEHOLDERS:
                continue
            if not any((base / name).exists() for base in (path.parent, ROOT, ROOT / "docs")):
                missing.append(f"{path.relative_to(ROOT)}: {name}")
    assert not missing, missing


def heading_anchors(text: str) -> set[str]:
    """The anchors a Markdown renderer gives the headings (GitHub's rule: lower case, punctuation
    dropped, spaces to hyphens, ``-1``, ``-2`` on repeats), outside fenced code."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        heading = None if fenced else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading is None:
            continue
        words = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.group(1).replace("`", ""))
        slug = re.sub(r"[^\w\- ]", "", words.lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def test_heading_anchors_follow_the_renderers_rule() -> None:
    text = "# Figures after the tenth pass (21:54–22:10 UTC, 2026-12-02): a slower machine\n## `serve`'s p99\n## Proxy\n## Proxy\n```\n# not a heading\n```\n"
    assert heading_anchors(text) == {"figures-after-the-tenth-pass-21542210-utc-2026-12-02-a-slower-machine",
                                     "serves-p99", "proxy", "proxy-1"}


def test_every_link_to_a_section_of_a_doc_finds_its_heading() -> None:
    """docs/benchmarks.md's history moved to its own file: a link to a section that moved, or whose
    heading was reworded, leads a reader nowhere."""
    broken = []
    for path in DOCS:
        for target, anchor in re.findall(r"\]\(([^)#\s]*)#([^)\s]+)\)", path.read_text()):
            linked = path.parent / target if target else path
            if not linked.exists() or anchor not in heading_anchors(linked.read_text()):
                broken.append(f"{path.relative_to(ROOT)}: {target}#{anchor}")
    assert not broken, broken


def test_architecture_names_every_policy_and_river_only_for_river_model() -> None:
    text = doc("docs/architecture.md")
    bandits = text[text.index("  bandits/"):text.index("  store/")]
    named = set(re.findall(r"`([a-z0-9-]+)`", bandits))
    assert named >= set(POLICIES), set(POLICIES) - named
    assert "policies over river" not in text and "optional" in bandits and "river-model" in bandits


def test_store_redis_says_who_trims_the_stream() -> None:
    """Only the separate learner trims (proxy/operations/log_retention.py → store/redis/retention.py's trim_log)."""
    callers = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "slotwise").rglob("*.py")
                     if re.search(r"\.trim_log\(|\"trim_log\"", p.read_text()))
    assert callers == ["slotwise/proxy/operations/log_retention.py"]
    builders = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "slotwise").rglob("*.py")
                      if "LogTrimmer(" in p.read_text() and not p.name == "log_retention.py")
    assert builders == ["slotwise/commands/learner.py"]  # the `slotwise learner` command, never a proxy
    text = doc("docs/store-redis.md")
    assert "proxy/operations/log_retention.py" in text and "store/redis/retention.py" in text
    assert "the proxies never trim" in text
    assert f"--log-retention {DEFAULT_RETENTION}`, the default" in text
    assert "`--trim-every`, 60 s" in text and "--trim-every" in _learner_help() and "(default 60)" in _learner_help()


def _learner_help() -> str:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd")
    learner_command.register(sub)
    return str(sub.choices["learner"].format_help())


def test_the_readme_tells_a_tester_that_headless_browsers_are_bots() -> None:
    readme = doc("README.md")
    section = readme[readme.index("## What the demo shows"):]
    section = section[:section.index("\n## ")]
    assert "HeadlessChrome" in section and BOT_SERVER_TIMING.replace('"', "") in section.replace('"', "")
    assert is_bot("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/140.0 Safari/537.36")
    assert "HeadlessChrome" in doc("docs/tag.md") and 'sw;desc="bot"' in doc("docs/tag.md")


def test_every_flag_the_readme_demo_section_names_exists() -> None:
    from slotwise.cli import build_parser

    readme = doc("README.md")
    section = readme[readme.index("## What the demo shows"):]
    section = section[:section.index("\n## ")]
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    flags = {opt for name in ("demo", "serve", "preview", "report") for action in sub.choices[name]._actions
             for opt in action.option_strings}
    named = set(re.findall(r"(--[a-z][a-z-]*)", section))
    assert {"--port", "--store-port", "--data", "--access-log", "--force"} <= named
    assert named <= flags, named - flags


def test_the_import_synopsis_names_each_kinds_own_flags() -> None:
    """imports.md's synopsis once said ``customers FILE.csv [...]``, as if it took purchases' --rules too."""
    from slotwise.cli import build_parser

    text = doc("docs/imports.md")
    block = text[text.index("```\n") + 4:]
    block = block[:block.index("```")]
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    kinds = next(a for a in sub.choices["import"]._actions if isinstance(a, argparse._SubParsersAction))
    shown = {}
    for line in block.strip().splitlines():
        kind = line.split()[2]
        shown[kind] = set(re.findall(r"--[a-z-]+", line))
    assert set(shown) == set(kinds.choices)
    for kind, parser in kinds.choices.items():
        flags = {o for a in parser._actions for o in a.option_strings if o.startswith("--") and o != "--help"}
        assert shown[kind] == flags, kind


def test_every_flag_the_walkthrough_docs_name_exists() -> None:
    """A store engineer follows README, your-store.md, tag.md, imports.md and admin.md: each ``--flag`` they
    name is a flag of a ``slotwise`` command or of ``scripts/try-oscar`` (its own)."""
    from slotwise.cli import build_parser

    flags: set[str] = set()

    def walk(parser: argparse.ArgumentParser) -> None:
        for action in parser._actions:
            flags.update(action.option_strings)
            if isinstance(action, argparse._SubParsersAction):
                for child in action.choices.values():
                    walk(child)

    walk(build_parser())
    try_oscar = set(re.findall(r"(--[a-z][a-z-]*)\)", doc("scripts/try-oscar")))  # its case arms: --check) ...
    missing = {}
    for name in ("README.md", "docs/your-store.md", "docs/tag.md", "docs/imports.md", "docs/admin.md"):
        named = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", doc(name)))
        if named - flags - try_oscar:
            missing[name] = sorted(named - flags - try_oscar)
    assert not missing, missing
    assert {"--check", "--keep", "--setup-only", "--public-url"} <= try_oscar


def test_every_metric_the_walkthrough_docs_name_is_exported() -> None:
    """README's /_sw/metrics row, admin.md's feed and tag.md's signed identity name metrics by name: each is
    one ``/_sw/metrics`` exports (a counter's ``_total`` included)."""
    from slotwise.proxy.operations.metrics import REGISTRY

    exported = set()
    for metric in REGISTRY.collect():
        exported.add(metric.name)
        exported.update(sample.name for sample in metric.samples)
        if metric.type == "counter":
            exported.add(metric.name + "_total")
    for name in ("README.md", "docs/admin.md", "docs/tag.md", "docs/imports.md", "docs/your-store.md"):
        named = {m for m in re.findall(r"(?<![.\w])(slotwise_[a-z_]+)", doc(name)) if not m.endswith("_")}
        assert named <= exported, (name, sorted(named - exported))


def test_every_script_the_walkthrough_docs_name_is_there_to_run() -> None:
    import os

    for name in ("README.md", "docs/your-store.md", "docs/tag.md", "docs/imports.md", "docs/admin.md"):
        for script in set(re.findall(r"(?<![\w/.-])(scripts/[\w.-]+)", doc(name))):
            path = ROOT / script
            assert path.is_file() and (os.access(path, os.X_OK) or path.suffix == ".py"), (name, script)
    assert "scripts/setup" in doc("README.md")[:400]  # before the first .venv/bin/slotwise it runs
