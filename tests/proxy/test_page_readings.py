"""Page readings are kept per page bytes, rules and groups: read once, never mixed up."""

from __future__ import annotations

from typing import Any

import pytest

from slotwise.html.bounds import PageBoundError
from slotwise.proxy.personalization.page_readings import PageReadings
from slotwise.rules.reading import PageReading


class Counting:
    def __init__(self) -> None:
        self.calls: list[bytes] = []

    def __call__(self, html: bytes, tag: str = "x") -> Any:
        def make() -> PageReading:
            self.calls.append(html)
            return PageReading({"name": tag}, True, {})
        return make


def test_the_same_page_is_read_once_and_others_each_time() -> None:
    readings, make = PageReadings(), Counting()
    rules = object()
    first = readings.read(b"<p>a</p>", rules, ("product",), True, make(b"<p>a</p>"))
    assert readings.read(b"<p>a</p>", rules, ("product",), True, make(b"<p>a</p>")) is first
    readings.read(b"<p>b</p>", rules, ("product",), True, make(b"<p>b</p>"))  # other bytes
    readings.read(b"<p>a</p>", rules, ("product", "cart"), True, make(b"<p>a</p>"))  # other groups
    readings.read(b"<p>a</p>", rules, ("product",), False, make(b"<p>a</p>"))  # not structured
    readings.read(b"<p>a</p>", object(), ("product",), True, make(b"<p>a</p>"))  # reloaded rules
    assert len(make.calls) == 5 and readings.hits == 1


def test_a_page_over_the_bounds_is_not_kept() -> None:
    readings = PageReadings()
    calls = []

    def bomb() -> PageReading:
        calls.append(1)
        raise PageBoundError("page nested deeper than 512 elements")

    for _ in range(2):
        with pytest.raises(PageBoundError):
            readings.read(b"<div>" * 10, None, (), True, bomb)
    assert len(calls) == 2


def test_the_cache_is_bounded() -> None:
    readings, make = PageReadings(size=2), Counting()
    rules = object()
    for page in (b"1", b"2", b"3", b"1"):
        readings.read(page, rules, (), True, make(page))
    assert make.calls == [b"1", b"2", b"3", b"1"]  # "1" was dropped for "3"
