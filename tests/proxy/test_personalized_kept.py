"""A stored copy's personalized headers, their body-free part kept with the copy: for every visitor
exactly ``personalized`` of the copy's headers and that visitor's ``Age``, with the page's length."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.proxy.forwarding.headers import personalized, personalized_kept

NAMES = [b"content-type", b"vary", b"cache-control", b"etag", b"last-modified", b"expires", b"accept-ranges",
         b"content-length", b"cdn-cache-control", b"surrogate-control", b"set-cookie", b"link", b"x-store"]
VALUES = [b"Accept-Encoding", b"cookie", b"*", b"public, max-age=60", b'"v1"', b"1", b"", b"Origin, Cookie"]
headers = st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(VALUES)), max_size=10)
visits = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**7)), min_size=1, max_size=6)


@settings(max_examples=400, deadline=None)
@given(copy=headers, visits=visits)
def test_each_visitor_gets_personalized_of_the_copy_and_its_age(copy: list[tuple[bytes, bytes]],
                                                                 visits: list[tuple[int, int]]) -> None:
    kept: dict[str, list[tuple[bytes, bytes]]] = {}
    for age, length in visits:
        sent = [*copy, (b"age", str(age).encode())]  # as ``CachedPages._serve`` hands them over
        assert personalized_kept(sent, length, kept) == personalized(sent, length)
    assert list(kept) == ["personalized"]
    out = personalized_kept([*copy, (b"age", b"7")], 5, kept)
    out.append((b"x", b"y"))  # a page's list is its own: the kept part is not changed through it
    assert personalized_kept(copy, 5, kept) == personalized(copy, 5)
