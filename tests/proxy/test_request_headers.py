"""The headers the origin receives, built in one pass per request, against the rule written out plainly."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from slotwise.proxy.forwarding.headers import CLIENT_IP_HEADERS, HOP_BY_HOP, upstream_request_headers

_NAMES = st.sampled_from([
    b"accept", b"cookie", b"user-agent", b"x-custom", b"Connection", b"connection", b"keep-alive", b"te",
    b"transfer-encoding", b"upgrade", b"proxy-authorization", b"Proxy-Foo", b"host", b"expect", b"forwarded",
    b"x-forwarded-for", b"X-Forwarded-For", b"x-forwarded-host", b"x-forwarded-proto", b"x-real-ip",
    b"cf-connecting-ip", b"true-client-ip",
])
_TOKENS = st.lists(st.sampled_from([b"keep-alive", b"close", b"x-custom", b"Cookie", b"", b" upgrade "]), max_size=3)


@st.composite
def _headers(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    out = []
    for name in draw(st.lists(_NAMES, max_size=12)):
        value = b",".join(draw(_TOKENS)) if name.lower() == b"connection" else draw(st.sampled_from([b"1", b"a, b"]))
        out.append((name, value))
    return out


def _plainly(headers: list[tuple[bytes, bytes]], trusted: bool) -> list[tuple[bytes, bytes]]:
    named = {t.strip().lower() for n, v in headers if n.lower() == b"connection" for t in v.split(b",")} - {b""}
    drop = HOP_BY_HOP | named | {b"host", b"expect", b"forwarded", b"x-forwarded-for", b"x-forwarded-host",
                                 b"x-forwarded-proto"}
    if not trusted:
        drop |= CLIENT_IP_HEADERS
    kept = [(n, v) for n, v in headers if n.lower() not in drop and not n.lower().startswith(b"proxy-")]
    xff = [v for n, v in headers if n.lower() == b"x-forwarded-for"] if trusted else []
    peer = b", ".join([*xff, b"198.51.100.7"])
    return kept + [(b"host", b"origin.test"), (b"x-forwarded-for", peer), (b"x-forwarded-host", b"shop.test"),
                   (b"x-forwarded-proto", b"https")]


@given(_headers(), st.booleans())
def test_the_origin_gets_the_end_to_end_headers_and_ours(headers: list[tuple[bytes, bytes]], trusted: bool) -> None:
    got = upstream_request_headers(headers, upstream_host="origin.test", client_ip="198.51.100.7", trusted=trusted,
                                   public_host="shop.test", scheme="https")
    assert got == _plainly(headers, trusted)
