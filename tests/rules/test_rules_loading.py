"""Loading details: did-you-mean, YAML anchors and merges, and the all-or-nothing contract."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from slotwise.proxy.operations.rules_watch import ruleset_holder
from slotwise.rules import RulesError, load_rules
from slotwise.rules.checker import did_you_mean
from slotwise.rules.testing import rules_from_text


@pytest.mark.parametrize(
    ("word", "choices", "hint"),
    [
        ("selecter", ["selector", "action"], " (did you mean 'selector'?)"),
        ("recnt_categories", ["recent_categories", "top_categories"], " (did you mean 'recent_categories'?)"),
        ("zzz", ["selector", "action"], ""),
    ],
)
def test_did_you_mean(word: str, choices: list[str], hint: str) -> None:
    assert did_you_mean(word, choices) == hint


def test_anchors_and_merge_keys_keep_rules_short(tmp_path: Path) -> None:
    ruleset = rules_from_text(tmp_path, """
        x-hero: &hero
          pages: "/"
          selector: ".hero"
          action: replace
        slots:
          - {<<: *hero, id: a, html: "<p>A</p>"}
          - {<<: *hero, id: b, html: "<p>B</p>", selector: ".other"}
    """)
    assert [(s.id, s.selector, s.action) for s in ruleset.slots] == [("a", ".hero", "replace"), ("b", ".other", "replace")]


def test_a_broken_reload_never_returns_a_partial_set(tmp_path: Path) -> None:
    good = rules_from_text(tmp_path, """
        slots:
          - {id: a, pages: "/", selector: p, action: remove}
    """)
    (tmp_path / "rules.yaml").write_text(
        'slots:\n  - {id: a, pages: "/", selector: p, action: remove}\n  - {id: b, pages: "/", selector: "p[", action: remove}\n'
    )
    with pytest.raises(RulesError) as info:
        load_rules(tmp_path / "rules.yaml")
    assert len(info.value.issues) == 1 and info.value.issues[0].line == 3
    assert [s.id for s in good.slots] == ["a"]  # the caller's last good set is untouched


def test_missing_main_file_is_one_located_issue(tmp_path: Path) -> None:
    with pytest.raises(RulesError) as info:
        load_rules(tmp_path / "nope.yaml")
    (issue,) = info.value.issues
    assert (issue.line, issue.column) == (1, 1) and "cannot read rules file" in issue.message


def test_yaml_booleans_as_ids_get_a_hint(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="quote it"):
        rules_from_text(tmp_path, "slots:\n  - {id: no, pages: /, selector: p, action: remove}\n")


def _touch_later(path: Path, text: str, seconds: int) -> None:
    """Write ``text`` with an mtime ``seconds`` ahead, so a watcher sees the change within a test."""
    path.write_text(text)
    os.utime(path, (time.time() + seconds, time.time() + seconds))


@pytest.mark.parametrize("mistake", ["template-syntax", "template-missing", "include-broken"])
def test_fixing_a_file_the_rejected_rules_added_reloads_them(tmp_path: Path, mistake: str) -> None:
    """A marketer adds a template (or an include) with a mistake in it, then fixes that file alone:
    the watcher reloads, as it would for an edit of the main file, without a restart."""
    main = tmp_path / "rules.yaml"
    main.write_text('slots:\n  - {id: a, pages: "/", selector: p, action: remove}\n')
    holder = ruleset_holder(str(main), announce=False)
    assert holder.reload() and [s.id for s in holder.current.slots] == ["a"]

    if mistake == "include-broken":
        _touch_later(tmp_path / "more.yaml", '- {id: b, pages: "/", selector: "p[", action: remove}\n', 5)
        _touch_later(main, 'include: more.yaml\n' + main.read_text(), 5)
        fixed = ("more.yaml", '- {id: b, pages: "/", selector: "p", action: remove}\n')
    else:
        if mistake == "template-syntax":
            _touch_later(tmp_path / "b.html", "<p>{{ visitor.visits }</p>", 5)
        _touch_later(main, main.read_text() + '  - {id: b, pages: "/", selector: h1, action: replace, template: b.html}\n', 5)
        fixed = ("b.html", "<p>{{ visitor.visits }}</p>")
    assert holder.changed() and not holder.reload()
    assert holder.status.error and [s.id for s in holder.current.slots] == ["a"]  # the last good rules serve
    assert not holder.changed()  # the broken set is not retried until something changes

    _touch_later(tmp_path / fixed[0], fixed[1], 10)
    assert holder.changed() and holder.reload()
    assert [s.id for s in holder.current.slots] == ["a", "b"] and holder.status.error is None


def test_a_large_rules_file_reloads_without_holding_up_the_event_loop(tmp_path: Path) -> None:
    """The watcher loads a changed file in a thread: while a large set is read, the worker's event
    loop, which serves every page, keeps turning. Asserted as what happens (the thread that loads,
    the loop's turns during the load), not as a time, which a loaded machine would stretch."""
    slot = '  - {{id: s{i}, pages: "/c/x{i}", selector: ".lead", action: after, html: "<p>{{{{ visitor.visits }}}}</p>"}}\n'
    main = tmp_path / "rules.yaml"
    main.write_text('slots:\n  - {id: a, pages: "/", selector: p, action: remove}\n')
    holder = ruleset_holder(str(main), announce=False)
    holder.poll_s = 0.05
    assert holder.reload()
    loading, loaded_in = threading.Event(), []
    load = holder._load

    def watched_load(path: Any) -> Any:
        loaded_in.append(threading.get_ident())
        loading.set()
        try:
            return load(path)
        finally:
            loading.clear()

    holder._load = watched_load
    _touch_later(main, "slots:\n" + "".join(slot.format(i=i) for i in range(800)), 5)

    async def watch_and_tick() -> int:
        task = asyncio.create_task(holder.watch())
        turns = 0
        while holder.status.version < 2:
            await asyncio.sleep(0.005)
            turns += loading.is_set()
        task.cancel()
        return turns

    turns_while_loading = asyncio.run(asyncio.wait_for(watch_and_tick(), 120))
    assert len(holder.current.slots) == 800
    assert loaded_in and threading.get_ident() not in loaded_in  # never on the loop's thread
    assert turns_while_loading >= 1  # the loop served while the 800 slots loaded


def test_a_file_caught_while_it_is_written_is_not_loaded_half(tmp_path: Path) -> None:
    """A save in two writes (an editor, a copy over the network): the first half is valid YAML with
    a slot missing. The watcher waits for the file to stand still, so the half never serves (and
    the missing slot never loses what it learned); the whole file does."""
    main = tmp_path / "rules.yaml"
    whole = ('slots:\n  - {id: a, pages: "/", selector: p, action: remove}\n'
             '  - {id: b, pages: "/", selector: h1, action: remove}\n')
    main.write_text(whole)
    holder = ruleset_holder(str(main), announce=False)
    holder.poll_s = 0.02
    assert holder.reload()
    served: list[list[str]] = []

    async def save_in_two_writes() -> None:
        watcher = asyncio.create_task(holder.watch())
        with main.open("w") as f:
            f.write(whole[: whole.index("  - {id: b")])
            f.flush()
            await asyncio.sleep(0.1)  # the watcher polls meanwhile, and sees a valid file with one slot
            f.write(whole[whole.index("  - {id: b"):] + "  - {id: c, pages: /, selector: h2, action: remove}\n")
        while holder.status.version < 2:
            await asyncio.sleep(0.01)
        served.append([s.id for s in holder.current.slots])
        await asyncio.sleep(0.5)  # nothing else loads after it
        watcher.cancel()

    asyncio.run(asyncio.wait_for(save_in_two_writes(), 30))
    assert served == [["a", "b", "c"]] and holder.status.version == 2
