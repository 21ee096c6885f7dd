"""The headers the origin receives, built in one pass per request, against the rule written out plainly."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from slotwise.client_origin import Trust, client_origin
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
    # the visitor is the last X-Forwarded-For hop (none of them is a trusted proxy); "1" and "a, b" are no
    # RFC 7239 header, so Forwarded is not read
    hops = [h.strip() for n, v in headers if n.lower() == b"x-forwarded-for" for h in v.split(b",")] if trusted else []
    chain = [*hops[-1:], b"198.51.100.7"]
    ours = b", ".join(b"for=" + (h if h == b"198.51.100.7" else b"unknown") for h in chain)  # no address: unknown
    if len(chain) > 1:
        ours = ours.replace(b"for=unknown", b"for=unknown;host=shop.test;proto=https", 1)
    return kept + [(b"host", b"origin.test"), (b"x-forwarded-for", b", ".join(chain)), (b"x-forwarded-host", b"shop.test"),
                   (b"x-forwarded-proto", b"https"), (b"forwarded", ours + b";host=shop.test;proto=https")]


@given(_headers(), st.booleans())
def test_the_origin_gets_the_end_to_end_headers_and_ours(headers: list[tuple[bytes, bytes]], trusted: bool) -> None:
    origin = client_origin("198.51.100.7", headers, Trust(frozenset({"198.51.100.7"} if trusted else ())))
    got = upstream_request_headers(headers, upstream_host="origin.test", origin=origin, public_host="shop.test",
                                   scheme="https")
    assert got == _plainly(headers, trusted)
