"""What the HTML cache reads in headers (``cache_control``) and what it agrees to keep (``html_cache.refusal``).

Table tests pin RFC 9111's cases; hypothesis checks the algebra: any
Cache-Control text parses without error, a directive's place or spacing does
not change the reading, conflicting ages are stale, ``Vary`` names are a
set, and the key depends on exactly the headers ``Vary`` names.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slotwise.proxy.forwarding.cache_control import (
    MAX_DELTA, CacheControl, accepts, cache_key, freshness_lifetime, http_time, initial_age, parse_cache_control,
    parse_vary, vary_value,
)
from slotwise.proxy.forwarding.html_cache import CachedPage, new_page, refreshed, refusal

DATE = b"Wed, 21 Oct 2015 07:28:00 GMT"
T_DATE = 1445412480.0  # DATE as a Unix time


@pytest.mark.parametrize("raw, expected", [
    ([b"public, max-age=60"], CacheControl(public=True, max_age=60)),
    ([b"max-age=0, s-maxage=600"], CacheControl(max_age=0, s_maxage=600)),
    ([b"no-store"], CacheControl(no_store=True)),
    ([b'private="set-cookie", max-age=60'], CacheControl(private=True, max_age=60)),
    ([b'no-cache="x-a, x-b", public'], CacheControl(no_cache=True, public=True)),
    ([b"Public", b"MAX-AGE=30"], CacheControl(public=True, max_age=30)),
    ([b"must-revalidate"], CacheControl(must_revalidate=True)),
    ([b"proxy-revalidate"], CacheControl(must_revalidate=True)),
    ([b"max-age=abc"], CacheControl(max_age=0)),
    ([b"max-age=-5"], CacheControl(max_age=0)),
    ([b'max-age="30"'], CacheControl(max_age=30)),
    ([b"max-age=60, max-age=120"], CacheControl(max_age=0)),
    ([b"max-age=60, max-age=60"], CacheControl(max_age=60)),
    ([b"max-age=99999999999999"], CacheControl(max_age=MAX_DELTA)),
    ([b"stale-while-revalidate=30, immutable, community=\"UCI\""], CacheControl()),
    ([b",,, ,"], CacheControl()),
    ([], CacheControl()),
])
def test_cache_control_examples(raw: list[bytes], expected: CacheControl) -> None:
    assert parse_cache_control(raw) == expected


_NAMES = st.sampled_from(["public", "private", "no-store", "no-cache", "must-revalidate", "proxy-revalidate",
                          "max-age", "s-maxage", "immutable", "x-ext"])
_DIRECTIVE = st.tuples(_NAMES, st.one_of(st.none(), st.integers(0, 10**12).map(str), st.text(max_size=6)))


def _render(directives: list[tuple[str, str | None]], spaces: list[str]) -> bytes:
    parts = []
    for i, (name, value) in enumerate(directives):
        space = spaces[i % len(spaces)] if spaces else ""
        if value is None:
            parts.append(name)
        elif value.isdigit():
            parts.append(f"{name}={value}")
        else:
            parts.append(f'{name}="{value.replace(chr(92), "").replace(chr(34), "")}"')
        parts[-1] = space + parts[-1] + space
    return ",".join(parts).encode("latin-1", "replace")


@given(st.binary(max_size=200))
def test_any_cache_control_bytes_parse(raw: bytes) -> None:
    cc = parse_cache_control([raw])
    for age in (cc.max_age, cc.s_maxage):
        assert age is None or 0 <= age <= MAX_DELTA


@given(st.lists(_DIRECTIVE, max_size=8), st.lists(st.sampled_from(["", " ", "\t", "  "]), max_size=3),
       st.randoms(use_true_random=False))
def test_order_spacing_and_line_splits_do_not_change_the_reading(
    directives: list[tuple[str, str | None]], spaces: list[str], rnd: object
) -> None:
    expected = parse_cache_control([_render(directives, [])])
    shuffled = list(directives)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert parse_cache_control([_render(shuffled, spaces)]) == expected
    lines = [_render([d], spaces) for d in directives]  # one directive per header line
    assert parse_cache_control(lines) == expected


@given(st.integers(0, 10**6), st.integers(0, 10**6))
def test_two_different_ages_are_stale(a: int, b: int) -> None:
    cc = parse_cache_control([f"max-age={a}, max-age={b}".encode()])
    assert cc.max_age == (a if a == b else 0)


@given(st.integers(0, 10**6), st.integers(0, 10**6))
def test_s_maxage_wins_over_max_age_and_no_cache_over_both(shared: int, own: int) -> None:
    headers = [(b"date", DATE)]
    assert freshness_lifetime(parse_cache_control([f"max-age={own}, s-maxage={shared}".encode()]), headers) == shared
    assert freshness_lifetime(parse_cache_control([f"max-age={own}".encode()]), headers) == own
    assert freshness_lifetime(parse_cache_control([f"no-cache, s-maxage={shared}".encode()]), headers) == 0


@pytest.mark.parametrize("headers, lifetime", [
    ([(b"date", DATE), (b"expires", b"Wed, 21 Oct 2015 07:38:00 GMT")], 600.0),
    ([(b"date", DATE), (b"expires", b"Wed, 21 Oct 2015 07:18:00 GMT")], 0.0),  # in the past
    ([(b"date", DATE), (b"expires", b"0")], 0.0),  # not a date: already expired
    ([(b"expires", b"Wed, 21 Oct 2015 07:38:00 GMT")], 0.0),  # no Date to compare with: conservative
    ([(b"date", DATE), (b"expires", b"Wed, 21 Oct 2015 07:38:00 GMT"), (b"expires", b"Thu, 22 Oct 2015 07:38:00 GMT")],
     0.0),  # two Expires: stale
    ([(b"date", DATE)], 0.0),  # no explicit freshness: no heuristic either
])
def test_expires_counts_from_date(headers: list[tuple[bytes, bytes]], lifetime: float) -> None:
    assert freshness_lifetime(parse_cache_control([]), headers) == lifetime


def test_max_age_wins_over_expires() -> None:
    headers = [(b"date", DATE), (b"expires", b"Thu, 22 Oct 2015 07:28:00 GMT")]
    assert freshness_lifetime(parse_cache_control([b"max-age=5"]), headers) == 5


def test_http_dates() -> None:
    assert http_time(DATE) == T_DATE
    assert http_time(b"Wednesday, 21-Oct-15 07:28:00 GMT") == T_DATE  # RFC 850 form
    assert http_time(b"Wed Oct 21 07:28:00 2015") is None  # asctime has no zone: not trusted
    assert http_time(b"yesterday") is None and http_time(None) is None


@pytest.mark.parametrize("age, date_lag, trip, expected", [
    (None, 0.0, 0.0, 0.0),
    (b"100", 0.0, 0.0, 100.0),
    (b"100", 0.0, 2.0, 102.0),  # the trip counts on top of the origin's Age
    (None, 30.0, 0.0, 29.0),  # the Date says it is older than its Age (less a second: its resolution)
    (None, 0.9, 0.0, 0.0),
    (b"10", 30.0, 0.0, 29.0),
    (b"junk", 0.0, 0.0, 0.0),
])
def test_initial_age(age: bytes | None, date_lag: float, trip: float, expected: float) -> None:
    headers = [(b"date", DATE)] + ([(b"age", age)] if age is not None else [])
    assert initial_age(headers, T_DATE + date_lag - trip, T_DATE + date_lag) == pytest.approx(expected)


@pytest.mark.parametrize("raw, names", [
    ([b"Accept-Language"], (b"accept-language",)),
    ([b"accept-language, Cookie", b"X-Device"], (b"accept-language", b"cookie", b"x-device")),
    ([b"Accept-Encoding"], ()),  # the decoded page is kept: any coding can be served
    ([b"Accept-Encoding, *"], None),
    ([b" * "], None),
    ([b""], ()),
    ([], ()),
])
def test_vary_examples(raw: list[bytes], names: tuple[bytes, ...] | None) -> None:
    assert parse_vary(raw) == names


_TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=12)


@given(st.lists(_TOKEN, max_size=6), st.randoms(use_true_random=False))
def test_vary_names_are_a_set(names: list[str], rnd: object) -> None:
    shuffled = list(names) * 2
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    one = parse_vary([", ".join(names).encode()])
    assert one == parse_vary([n.upper().encode() for n in shuffled])
    assert one is not None and list(one) == sorted(set(one)) and b"accept-encoding" not in one


_HEADER_VALUE = st.text(alphabet="abcdefgh-;=, ", min_size=0, max_size=10).map(str.encode)


@given(st.dictionaries(st.sampled_from([b"accept-language", b"x-device", b"cookie", b"user-agent"]), _HEADER_VALUE),
       st.dictionaries(st.sampled_from([b"accept-language", b"x-device", b"cookie", b"user-agent"]), _HEADER_VALUE),
       st.lists(st.sampled_from([b"accept-language", b"x-device"]), unique=True))
def test_the_key_depends_on_exactly_the_varied_headers(
    a: dict[bytes, bytes], b: dict[bytes, bytes], vary: list[bytes]
) -> None:
    names = tuple(sorted(vary))
    key_a = cache_key("GET", "https", "Shop.Example", "/p/1?x=1", names, list(a.items()))
    key_b = cache_key("get", "HTTPS", "shop.example", "/p/1?x=1", names, list(b.items()))
    same = all(vary_value(list(a.items()), n) == vary_value(list(b.items()), n) for n in names)
    assert (key_a == key_b) == same


@given(st.sampled_from(["/p/1", "/P/1", "/p/1?x=1", "/p/1?x=2", "/p/1?X=1", "/p/1/"]),
       st.sampled_from(["/p/1", "/P/1", "/p/1?x=1", "/p/1?x=2", "/p/1?X=1", "/p/1/"]),
       st.sampled_from(["http", "https"]), st.sampled_from(["http", "https"]))
def test_the_key_tells_urls_apart(a: str, b: str, scheme_a: str, scheme_b: str) -> None:
    key_a = cache_key("GET", scheme_a, "shop", a, (), [])
    key_b = cache_key("GET", scheme_b, "shop", b, (), [])
    assert (key_a == key_b) == (a == b and scheme_a == scheme_b)


def test_absent_and_empty_headers_are_different_keys_and_lines_are_joined() -> None:
    names = (b"x-device",)
    assert cache_key("GET", "http", "h", "/", names, []) != cache_key("GET", "http", "h", "/", names, [(b"x-device", b"")])
    two_lines = [(b"x-device", b"a"), (b"x-device", b"b")]
    assert cache_key("GET", "http", "h", "/", names, two_lines) == cache_key("GET", "http", "h", "/", names,
                                                                              [(b"x-device", b"a , b")])


@pytest.mark.parametrize("accept, coding, ok", [
    ([b"gzip, deflate, br"], "br", True),
    ([b"gzip;q=0, br"], "gzip", False),
    ([b"x-gzip"], "gzip", True),
    ([b"*"], "zstd", True),
    ([b"*;q=0"], "gzip", False),
    ([b"*;q=0"], "identity", False),
    ([b"*;q=0, identity"], "identity", True),
    ([], "gzip", False),
    ([], "identity", True),
    ([b"br;q=abc"], "br", False),
])
def test_accept_encoding(accept: list[bytes], coding: str, ok: bool) -> None:
    assert accepts(accept, coding) is ok


HTML = [(b"content-type", b"text/html"), (b"date", DATE)]


@pytest.mark.parametrize("status, extra, authorized, reason", [
    (200, [(b"cache-control", b"public, max-age=60")], False, None),
    (200, [(b"cache-control", b"max-age=60")], False, None),
    (200, [(b"etag", b'"x"')], False, None),  # revalidated every time
    (200, [(b"last-modified", DATE)], False, None),
    (200, [(b"cache-control", b"no-cache"), (b"etag", b'"x"')], False, None),
    (200, [(b"cache-control", b"no-cache")], False, "neither fresh nor revalidatable"),
    (200, [], False, "neither fresh nor revalidatable"),
    (200, [(b"cache-control", b"public, max-age=60"), (b"set-cookie", b"a=1")], False, "set-cookie"),
    (200, [(b"cache-control", b"no-store, max-age=60")], False, "no-store"),
    (200, [(b"cache-control", b"private, max-age=60")], False, "private"),
    (200, [(b"cache-control", b'private="x-user", max-age=60')], False, "private"),
    (200, [(b"cache-control", b"max-age=60"), (b"vary", b"*")], False, "vary: *"),
    (200, [(b"cache-control", b"max-age=60"), (b"surrogate-control", b"no-store")], False, "surrogate-control: no-store"),
    (200, [(b"cache-control", b"max-age=60"), (b"cdn-cache-control", b"private")], False, "cdn-cache-control: private"),
    (203, [(b"cache-control", b"public, max-age=60")], False, "status 203"),
    (404, [(b"cache-control", b"public, max-age=60")], False, "status 404"),
    (200, [(b"cache-control", b"max-age=60")], True, "authorization"),
    (200, [(b"cache-control", b"public, max-age=60")], True, None),
    (200, [(b"cache-control", b"s-maxage=60")], True, None),
    (200, [(b"cache-control", b"must-revalidate"), (b"etag", b'"x"')], True, None),
])
def test_what_may_be_kept(status: int, extra: list[tuple[bytes, bytes]], authorized: bool, reason: str | None) -> None:
    assert refusal(status, HTML + extra, authorized=authorized) == reason


def test_targeted_cache_control_only_shortens() -> None:
    headers = HTML + [(b"cache-control", b"max-age=600"), (b"cdn-cache-control", b"max-age=5")]
    assert new_page(headers, b"x", b"x", parse_cache_control([b"max-age=600"]), (), T_DATE, T_DATE).lifetime == 5
    headers = HTML + [(b"cache-control", b"max-age=5"), (b"surrogate-control", b"max-age=600")]
    assert new_page(headers, b"x", b"x", parse_cache_control([b"max-age=5"]), (), T_DATE, T_DATE).lifetime == 5


def test_a_304_refreshes_headers_but_never_the_body_description() -> None:
    headers = HTML + [(b"cache-control", b"no-cache"), (b"etag", b'"v1"'), (b"content-encoding", b"gzip"),
                      (b"age", b"3"), (b"set-cookie", b"never=kept")]
    page = new_page(headers, b"<html>", b"gz", parse_cache_control([b"no-cache"]), (), T_DATE, T_DATE)
    assert (b"set-cookie", b"never=kept") not in page.headers and not [n for n, _ in page.headers if n == b"age"]
    assert page.validators == [(b"if-none-match", b'"v1"')] and page.lifetime == 0 and page.raw == b"gz"
    fresh = refreshed(page, [(b"cache-control", b"max-age=30"), (b"content-encoding", b"br"), (b"x-new", b"1"),
                             (b"date", b"Wed, 21 Oct 2015 07:29:40 GMT")], T_DATE + 100, T_DATE + 100)
    assert (b"cache-control", b"max-age=30") in fresh.headers and (b"cache-control", b"no-cache") not in fresh.headers
    assert (b"content-encoding", b"gzip") in fresh.headers and (b"x-new", b"1") in fresh.headers
    assert fresh.lifetime == 30 and fresh.fresh(T_DATE + 120) and not fresh.fresh(T_DATE + 131)
    assert fresh.html is page.html


def _sent(page: CachedPage, accept: list[bytes], now: float) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The body and headers ``for_visitor`` gives a visitor, as the proxy sends them."""
    copy, age = page.for_visitor(accept, now)
    return copy.body, [*copy.headers, age]


def test_a_visitor_gets_a_coding_it_accepts() -> None:
    headers = HTML + [(b"cache-control", b"max-age=60"), (b"content-encoding", b"gzip")]
    page = new_page(headers, b"<html>decoded</html>", b"GZ", parse_cache_control([b"max-age=60"]), (), T_DATE, T_DATE)
    body, out = _sent(page, [b"gzip, br"], T_DATE + 7)
    assert body == b"GZ" and (b"content-encoding", b"gzip") in out and (b"content-length", b"2") in out
    assert (b"age", b"7") in out
    body, out = _sent(page, [b"br"], T_DATE + 7)
    assert body == b"<html>decoded</html>" and not [n for n, _ in out if n == b"content-encoding"]
    assert (b"content-length", str(len(body)).encode()) in out


@given(accepts=st.lists(st.sampled_from([[b"gzip, br"], [b"br"], [], [b"gzip;q=0"], [b"*"]]), min_size=1, max_size=8),
       ages=st.lists(st.integers(0, 59), min_size=8, max_size=8))
def test_the_copy_kept_per_coding_is_what_each_visitor_would_get_afresh(accepts, ages) -> None:  # type: ignore[no-untyped-def]
    """A stored page's copy for a visitor is made once per coding choice; in any order of visitors each
    gets the body and headers a page never asked before would give, with its own ``Age``."""
    headers = HTML + [(b"cache-control", b"max-age=60"), (b"content-encoding", b"gzip")]
    html, cc = b"<html>decoded</html>", parse_cache_control([b"max-age=60"])
    page = new_page(headers, html, b"GZ", cc, (), T_DATE, T_DATE)
    for accept, age in zip(accepts, ages):
        expected = _sent(new_page(headers, html, b"GZ", cc, (), T_DATE, T_DATE), accept, T_DATE + age)
        assert _sent(page, accept, T_DATE + age) == expected
        copy = page.copy_for(accept)
        assert list(copy.text) == [(n.decode("latin-1"), v.decode("latin-1")) for n, v in copy.headers]
    assert len(page.copies) <= 2


def test_a_refreshed_page_makes_its_own_copy() -> None:
    headers = HTML + [(b"cache-control", b"no-cache"), (b"etag", b'"v1"')]
    page = new_page(headers, b"<html>", b"<html>", parse_cache_control([b"no-cache"]), (), T_DATE, T_DATE)
    page.copy_for([])
    fresh = refreshed(page, [(b"cache-control", b"max-age=30"), (b"x-new", b"1")], T_DATE + 100, T_DATE + 100)
    body, out = _sent(fresh, [], T_DATE + 100)
    assert (b"x-new", b"1") in out and (b"cache-control", b"max-age=30") in out and fresh.copies is not page.copies
