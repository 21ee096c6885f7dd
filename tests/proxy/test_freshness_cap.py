"""``freshness_cap.capped`` on the header forms a store or its CDN config sends (the proxy's use of it:
``test_window_freshness``)."""

from __future__ import annotations

import pytest

from slotwise.proxy.forwarding.freshness_cap import capped

DATE = b"Thu, 26 Nov 2026 23:50:00 GMT"


@pytest.mark.parametrize("name, given, expected", [
    (b"cache-control", b"public, max-age=3600", b"public, max-age=600"),
    (b"cache-control", b'public, s-maxage="7200", max-age=60', b"public, s-maxage=600, max-age=60"),
    (b"cache-control", b"max-age=300, stale-while-revalidate=600", b"max-age=300, stale-while-revalidate=300"),
    (b"cache-control", b"max-age=100, stale-while-revalidate=60", b"max-age=100, stale-while-revalidate=60"),
    (b"cache-control", b"no-store", b"no-store"),
    (b"edge-control", b"!no-store,cache-maxage=1h", b"!no-store,cache-maxage=600s"),
    (b"edge-control", b"cache-maxage=5m", b"cache-maxage=5m"),
    (b"x-accel-expires", b"3600", b"600"),
    (b"x-accel-expires", b"0", b"0"),
    (b"x-accel-expires", b"@1796601000", b"600"),  # Date + 10 days: past the edge
    (b"expires", b"Fri, 27 Nov 2026 00:50:00 GMT", b"Fri, 27 Nov 2026 00:00:00 GMT"),
    (b"expires", b"Thu, 26 Nov 2026 23:55:00 GMT", b"Thu, 26 Nov 2026 23:55:00 GMT"),
    (b"expires", b"0", b"0"),  # not a date: already stale
], ids=["max-age", "quoted-s-maxage", "stale-while-revalidate-cut", "stale-while-revalidate-kept", "no-store",
        "akamai-hours", "akamai-shorter", "accel-seconds", "accel-off", "accel-at", "expires-later", "expires-sooner",
        "expires-invalid"])
def test_each_lifetime_ends_at_the_edge(name: bytes, given: bytes, expected: bytes) -> None:
    headers = [(b"date", DATE), (name, given)]
    assert capped(headers, 600.9) == [(b"date", DATE), (name, expected)]


def test_the_age_of_a_kept_copy_counts_from_its_birth() -> None:
    headers = [(b"date", DATE), (b"age", b"120"), (b"cache-control", b"max-age=3600")]
    assert capped(headers, 600)[2] == (b"cache-control", b"max-age=720")


MODIFIED = (b"last-modified", b"Mon, 02 Nov 2026 10:00:00 GMT")


@pytest.mark.parametrize("caching, kept", [
    ([(b"cache-control", b"public, s-maxage=7200")], False),  # a browser has no lifetime: it would guess one
    ([], False),
    ([(b"cache-control", b"public, max-age=3600")], True),  # every cache has one, capped
    ([(b"expires", b"Fri, 27 Nov 2026 00:50:00 GMT")], True),
    ([(b"expires", b"0")], True),  # already stale, explicitly
    ([(b"cache-control", b"no-cache")], True),  # reused only once asked: nothing to guess
    ([(b"cache-control", b"no-store")], True),
], ids=["s-maxage-only", "no-caching", "max-age", "expires", "expires-invalid", "no-cache", "no-store"])
def test_last_modified_goes_where_a_cache_would_guess_a_lifetime_from_it(caching: list[tuple[bytes, bytes]],
                                                                         kept: bool) -> None:
    headers = [(b"date", DATE), MODIFIED, *caching]
    assert (MODIFIED in capped(headers, 600)) is kept
    assert MODIFIED in capped(headers, 2.0**31)  # no edge ahead: nothing capped, nothing dropped
