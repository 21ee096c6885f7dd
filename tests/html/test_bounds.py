"""The bounds on one page's work: nesting estimated in one linear pass, matches capped."""

from __future__ import annotations

import time

import pytest

from slotwise.html import Edit, rewrite
from slotwise.html.bounds import MAX_DEPTH, MAX_MATCHES, PageBoundError, check_page, nesting_depth


def test_nesting_depth_reads_like_a_parser() -> None:
    assert nesting_depth(b"<DIV><p><div></div><img><br></DIV>") == 2
    assert nesting_depth(b"<div><span>x</div>" * 1000) == 2  # an unclosed span closes with its parent
    assert nesting_depth(b"<div><li><ul><li><li></ul></div>") == 2  # li and p close themselves
    assert nesting_depth(b"<div></x>" * 5000) == MAX_DEPTH  # an end tag naming nothing open pops nothing


def test_a_deep_page_is_refused_in_linear_time() -> None:
    check_page(b"<div>x</div>" * 20_000)  # many elements, shallow: fine
    times = []
    for n in (MAX_DEPTH * 2, MAX_DEPTH * 16):
        start = time.process_time()  # CPU, not wall: the suite runs beside other work
        with pytest.raises(PageBoundError):
            check_page(b"<div>" * n)
        times.append(time.process_time() - start)
    assert times[1] < 0.5


def test_too_many_matches_refuse_the_page() -> None:
    edit = Edit(slot="s", selector=".x", action="set-attribute", key="data-a", value="1")
    ok = rewrite(b"<div class=x></div>" * MAX_MATCHES, [edit], cache=False)
    assert ok.matches[0] == MAX_MATCHES
    with pytest.raises(PageBoundError):
        rewrite(b"<div class=x></div>" * (MAX_MATCHES + 1), [edit], cache=False)
