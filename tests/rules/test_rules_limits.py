"""A rules set too large to be meant is refused at once, naming the file and the limit; the last good
rules keep serving. 20,000 slots cost each worker ~50 s of CPU to load, on every reload and restart."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from slotwise.proxy.operations.rules_watch import ruleset_holder
from slotwise.rules import RulesError, load_rules
from slotwise.rules import loader as loader_module
from slotwise.rules.loader import LIMITS, RulesLimits, _Loader

ROOT = Path(__file__).resolve().parents[2]
SLOT = '  - {{id: s{i}, pages: "/c/x{i}", selector: ".lead", action: after, html: "<p>{{{{ visitor.visits }}}}</p>"}}\n'


def slots(count: int, start: int = 0) -> str:
    return "".join(SLOT.format(i=i) for i in range(start, start + count))


def test_more_slots_than_the_limit_are_refused_before_any_is_compiled(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    main = tmp_path / "rules.yaml"
    main.write_text("include: more.yaml\nslots:\n" + slots(LIMITS.max_slots // 2))
    (tmp_path / "more.yaml").write_text("slots:\n" + slots(LIMITS.max_slots // 2 + 1, start=LIMITS.max_slots))
    compiled: list[str] = []  # compiling a slot is where the time goes (seconds for a thousand)
    compile_slot = _Loader._slot

    def counted(self: _Loader, spec: Any, *args: Any, **kwargs: Any) -> Any:
        compiled.append(spec.id)
        return compile_slot(self, spec, *args, **kwargs)

    monkeypatch.setattr(_Loader, "_slot", counted)
    with pytest.raises(RulesError) as refused:
        load_rules(main)
    (issue,) = refused.value.issues
    assert issue.file == str(main) and (issue.line, issue.column) == (1, 1)
    assert f"{LIMITS.max_slots + 1:,} slots (with the included files): at most {LIMITS.max_slots:,}" in issue.message
    assert compiled == []  # refused on the count: not one slot compiled
    main.write_text("include: more.yaml\nslots:\n" + slots(LIMITS.max_slots // 2 - 1))
    assert len(load_rules(main).slots) == LIMITS.max_slots  # at the limit: loaded
    assert len(compiled) == LIMITS.max_slots  # (the spy sees the compiling it would have counted)


def test_more_bytes_than_the_limit_are_refused_naming_the_file_that_went_past(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    main = tmp_path / "rules.yaml"
    main.write_text("include: big.yaml\nslots:\n" + slots(1))
    padding = "# " + "x" * 98 + "\n"  # a comment costs nothing to compile: only its bytes count
    (tmp_path / "big.yaml").write_text(padding * (LIMITS.max_bytes // len(padding)) + "slots: []\n")
    with pytest.raises(RulesError) as refused:
        load_rules(main)
    (issue,) = refused.value.issues
    assert issue.file == str(main) and issue.line == 1  # at the include that went past
    assert f"included file '{tmp_path / 'big.yaml'}' takes the rules past {LIMITS.max_bytes:,} bytes" in issue.message
    runaway = tmp_path / "generated.yaml"  # the accident this is for: 20,000 slots (~50 s of CPU to load)
    runaway.write_text("slots:\n" + slots(20_000))
    composed: list[str] = []  # reading YAML costs ~0.25–2 s a MB: the bytes are counted first
    compose = loader_module.compose
    monkeypatch.setattr(loader_module, "compose", lambda source, text: (composed.append(source.display), compose(source, text))[1])
    with pytest.raises(RulesError, match="takes the rules past"):
        load_rules(runaway)
    assert composed == []  # refused by its size: not even read as YAML
    small = RulesLimits(max_bytes=64)  # the main file alone past it: at its top
    with pytest.raises(RulesError, match=r":1:1: rules file .* takes the rules past 64 bytes"):
        load_rules(main, limits=small)


def test_a_template_shared_by_many_variants_counts_against_its_own_limit_only(tmp_path: Path) -> None:
    (tmp_path / "card.html").write_text("<p>" + "x" * 200_000 + "</p>")
    variants = "".join(f"      - {{id: v{i}, template: card.html}}\n" for i in range(20))  # 4 MB read in all
    main = tmp_path / "rules.yaml"
    main.write_text(f'slots:\n  - id: s\n    pages: "/"\n    selector: p\n    action: replace\n    variants:\n{variants}')
    assert len(load_rules(main).slots[0].variants) == 20


def test_a_reload_past_the_limit_keeps_the_last_good_rules(tmp_path: Path) -> None:
    main = tmp_path / "rules.yaml"
    main.write_text("slots:\n" + slots(3))
    holder = ruleset_holder(str(main), announce=False)
    assert holder.reload()
    main.write_text("slots:\n" + slots(LIMITS.max_slots + 1))
    os.utime(main, (time.time() + 5, time.time() + 5))
    assert holder.changed() and not holder.reload()
    assert f"at most {LIMITS.max_slots:,} are loaded" in (holder.status.error or "")
    assert [s.id for s in holder.current.slots] == ["s0", "s1", "s2"] and holder.status.version == 1


def test_the_limits_are_the_documented_ones() -> None:
    section = (ROOT / "docs" / "rules.md").read_text().split("### Limits\n")[1].split("\n#")[0]
    numbers = {int(n.replace(",", "")) for n in re.findall(r"\b\d{1,3}(?:,\d{3})+\b", section)}
    assert {LIMITS.max_slots, LIMITS.max_bytes} <= numbers, section
