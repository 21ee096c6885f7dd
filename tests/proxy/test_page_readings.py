"""Page readings are kept per page bytes, rules and groups: read once, never mixed up."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from slotwise.html import page_digest
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


def read(readings: PageReadings, html: bytes, rules: Any, groups: tuple[str, ...], structured: bool,
         make: Any) -> PageReading:
    return readings.read(readings.key(page_digest(html), rules, groups, structured), rules, make)


def test_the_same_page_is_read_once_and_others_each_time() -> None:
    readings, make = PageReadings(), Counting()
    rules = object()
    first = read(readings, b"<p>a</p>", rules, ("product",), True, make(b"<p>a</p>"))
    assert read(readings, b"<p>a</p>", rules, ("product",), True, make(b"<p>a</p>")) is first
    read(readings, b"<p>b</p>", rules, ("product",), True, make(b"<p>b</p>"))  # other bytes
    read(readings, b"<p>a</p>", rules, ("product", "cart"), True, make(b"<p>a</p>"))  # other groups
    read(readings, b"<p>a</p>", rules, ("product",), False, make(b"<p>a</p>"))  # not structured
    read(readings, b"<p>a</p>", object(), ("product",), True, make(b"<p>a</p>"))  # reloaded rules
    assert len(make.calls) == 5 and readings.hits == 1


def test_get_only_looks() -> None:
    readings, make = PageReadings(), Counting()
    rules = object()
    key = readings.key(page_digest(b"<p>a</p>"), rules, (), True)
    assert readings.get(key, rules) is None and make.calls == []
    made = readings.read(key, rules, make(b"<p>a</p>"))
    assert readings.get(key, rules) is made
    assert readings.get(key, object()) is None  # a rules object that reused the id of the old one


def test_a_page_over_the_bounds_is_not_kept() -> None:
    readings = PageReadings()
    calls = []

    def bomb() -> PageReading:
        calls.append(1)
        raise PageBoundError("page nested deeper than 512 elements")

    for _ in range(2):
        with pytest.raises(PageBoundError):
            read(readings, b"<div>" * 10, None, (), True, bomb)
    assert len(calls) == 2


def test_the_cache_is_bounded() -> None:
    readings, make = PageReadings(size=2), Counting()
    rules = object()
    for page in (b"1", b"2", b"3", b"1"):
        read(readings, page, rules, (), True, make(page))
    assert make.calls == [b"1", b"2", b"3", b"1"]  # "1" was dropped for "3"


def test_the_nonce_is_kept_per_page_bytes() -> None:
    readings = PageReadings(size=2)
    with_nonce = b"<html><head><script nonce='abc123'>1</script></head><body></body></html>"
    other = with_nonce.replace(b"abc123", b"xyz789")
    without = b"<html><body><script>1</script></body></html>"
    assert readings.nonce(page_digest(with_nonce), with_nonce) == "abc123"
    assert readings.nonce(page_digest(other), other) == "xyz789"  # other bytes: their own nonce
    assert readings.nonce(page_digest(without), without) is None
    assert readings.nonce(page_digest(without), without) is None  # "none" is kept as none
    # kept: the digest alone answers (a real caller passes the bytes the digest is of)
    assert readings.nonce(page_digest(other), b"") == "xyz789"


def test_page_digests_are_remembered_only_for_the_same_bytes() -> None:
    from slotwise.html import PageDigests

    digests = PageDigests(max_bytes=4 * 1024, max_pages=2)
    page = b"<html>" + b"x" * 300 + b"</html>"
    assert digests.digest(page) == page_digest(page) and digests.hits == 0
    assert digests.digest(bytes(bytearray(page))) == page_digest(page) and digests.hits == 1  # equal bytes
    # the same length, start, end and sampled bytes, one byte different: compared, not taken for the other
    twin = page[:100] + b"y" + page[101:]
    assert digests.digest(twin) == page_digest(twin) != page_digest(page)
    assert digests.digest(page) == page_digest(page)
    for other in (b"<p>1</p>", b"<p>2</p>", b"<p>3</p>"):  # at most two pages kept
        digests.digest(other)
    hits = digests.hits
    digests.digest(page)
    assert digests.hits == hits  # dropped: hashed again
    big = b"<p>" * 2000  # over a quarter of the bytes allowed: hashed, never kept
    digests.digest(big)
    hits = digests.hits
    assert digests.digest(big) == page_digest(big) and digests.hits == hits


def test_the_same_page_object_is_known_by_identity_and_bounded() -> None:
    from slotwise.html import PageDigests

    digests = PageDigests(max_bytes=4 * 1024, max_pages=4)
    page = b"<html>" + b"x" * 300 + b"</html>"
    digests.digest(page)
    digests.digest(page)  # seen again: known by identity from now on
    digests._kept.clear()  # only the identity memo is left: the same object is still known
    assert digests.digest(page) == page_digest(page) and digests.hits == 2
    assert digests.digest(page[:-1] + b">") == page_digest(page)  # equal bytes, another object: hashed
    for i in range(20):  # many distinct pages, each seen twice: the memo stays within its bounds
        other = b"<p>%d</p>" % i + b"z" * 500
        digests.digest(other)
        digests.digest(other)
    assert len(digests._same) <= 4 and digests._same_bytes <= 4 * 1024


def fresh(page: bytes) -> bytes:
    """Equal bytes in a new object, as an origin's uncacheable page is on every view."""
    return bytes(bytearray(page))


def test_an_object_seen_once_is_not_kept_alive_and_a_served_one_is_known_by_identity() -> None:
    from slotwise.html import PageDigests

    digests = PageDigests(max_bytes=64 * 1024, max_pages=4)
    served = b"<html>" + b"s" * 3000 + b"</html>"  # the HTML cache's object, handed to every visitor
    digests.digest(served)
    digests.digest(served)
    uncacheable = b"<html>" + b"u" * 3000 + b"</html>"
    views = [fresh(uncacheable) for _ in range(3)]
    counts = [sys.getrefcount(view) for view in views]
    for view in views:
        assert digests.digest(view) == page_digest(uncacheable)
    assert digests.hits == 3  # the second and third views: compared with the kept bytes, not hashed
    # the views before the last are not held: an uncacheable page's objects never come back
    assert [sys.getrefcount(view) for view in views][:-1] == counts[:-1]
    for i in range(20):  # distinct uncacheable pages push every page out of the sampled memory
        digests.digest(fresh(b"<p>%d</p>" % i + b"z" * 3000))
    hits = digests.hits
    assert digests.digest(fresh(served)) == page_digest(served) and digests.hits == hits  # forgotten bytes: hashed
    assert digests.digest(served) == page_digest(served) and digests.hits == hits + 1  # the served object: known
