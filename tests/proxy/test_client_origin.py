"""Who the visitor is behind a trusted proxy (``client_origin``), and the ``Forwarded`` the store gets."""

from __future__ import annotations

import pytest

from slotwise import forwarded
from slotwise.client_origin import Trust, client_origin, upstream_forwarded
from slotwise.proxy.config import ConfigError, Settings

T = Trust(frozenset({"10.0.0.1", "10.0.0.2"}), ("forwarded", "x-forwarded"))  # the balancers, which set both


def _h(*pairs: tuple[str, str]) -> list[tuple[bytes, bytes]]:
    return [(n.encode(), v.encode()) for n, v in pairs]


def test_a_stranger_is_its_own_address_whatever_it_says() -> None:
    said = _h(("forwarded", "for=6.6.6.6;proto=https;host=evil.example"), ("x-forwarded-for", "6.6.6.6"),
              ("x-forwarded-proto", "https"), ("x-forwarded-host", "evil.example"))
    assert client_origin("203.0.113.5", said, T) == client_origin("203.0.113.5", [], T)
    origin = client_origin("203.0.113.5", said, T)
    assert (origin.address, origin.chain, origin.scheme, origin.host, origin.trusted) == (
        "203.0.113.5", ("203.0.113.5",), None, None, False)


def test_the_visitor_is_the_rightmost_hop_that_is_no_trusted_proxy() -> None:
    # the visitor wrote "6.6.6.6" itself; the outer balancer 10.0.0.2 appended the address it saw
    xff = client_origin("10.0.0.1", _h(("x-forwarded-for", "6.6.6.6, 198.51.100.9"), ("x-forwarded-for", "10.0.0.2")), T)
    assert (xff.address, xff.chain) == ("198.51.100.9", ("198.51.100.9", "10.0.0.2", "10.0.0.1"))
    rfc = client_origin("10.0.0.1", _h(("forwarded", 'for=6.6.6.6;proto=http;host=evil.example, '
                                                      'for="[2001:DB8::1]:4711";proto=HTTPS;host=shop.example, for=10.0.0.2')), T)
    assert (rfc.address, rfc.chain, rfc.scheme, rfc.host) == (
        "2001:db8::1", ("2001:db8::1", "10.0.0.2", "10.0.0.1"), "https", "shop.example")
    # only trusted hops: the leftmost; none at all: the peer; a port on a hop is not part of the address
    assert client_origin("10.0.0.1", _h(("x-forwarded-for", "10.0.0.2")), T).chain == ("10.0.0.2", "10.0.0.1")
    assert client_origin("10.0.0.1", [], T).chain == ("10.0.0.1",)
    assert client_origin("10.0.0.1", _h(("x-forwarded-for", "198.51.100.9:5123")), T).address == "198.51.100.9"
    # an obfuscated or unknown visitor is said so
    assert client_origin("10.0.0.1", _h(("forwarded", "for=_hidden")), T).address == "_hidden"


def test_forwarded_wins_and_what_it_does_not_say_comes_from_x_forwarded() -> None:
    both = _h(("x-forwarded-for", "192.0.2.1"), ("x-forwarded-proto", "http"), ("x-forwarded-host", "a.example"),
              ("forwarded", "for=192.0.2.7;proto=https"))
    origin = client_origin("10.0.0.1", both, T)
    assert (origin.address, origin.scheme, origin.host) == ("192.0.2.7", "https", "a.example")
    no_for = client_origin("10.0.0.1", _h(("forwarded", "proto=https"), ("x-forwarded-for", "192.0.2.1")), T)
    assert (no_for.address, no_for.scheme) == ("192.0.2.1", "https")
    # a Forwarded outside RFC 7239 is absent: X-Forwarded-* is read
    broken = client_origin("10.0.0.1", _h(("forwarded", "for=[2001:db8::1"), ("x-forwarded-for", "192.0.2.1"),
                                          ("x-forwarded-proto", "https, http")), T)
    assert (broken.address, broken.scheme) == ("192.0.2.1", "https")
    # a scheme other than http(s) is not believed
    assert client_origin("10.0.0.1", _h(("x-forwarded-proto", "javascript")), T).scheme is None


def test_a_balancer_that_writes_an_ipv6_visitor_unquoted_names_the_visitor() -> None:
    """``for=[2001:db8::1]:4711`` (the RFC wants it quoted) was malformed, so absent: behind a balancer that
    sets Forwarded alone, every IPv6 visitor was the balancer (one rate limit, one admin throttle for all)."""
    rfc_only = Trust(frozenset({"10.0.0.1"}), ("forwarded",))
    for said in ("for=[2001:db8::1]:4711;proto=https", "for=[2001:db8::1];proto=https", "for=2001:db8::1;proto=https",
                 'for="[2001:db8::1]:4711";proto=https'):
        origin = client_origin("10.0.0.1", _h(("forwarded", said)), rfc_only)
        assert (origin.address, origin.chain, origin.scheme) == ("2001:db8::1", ("2001:db8::1", "10.0.0.1"), "https"), said
    # what is no node stays malformed, as before: nothing is read from it
    assert client_origin("10.0.0.1", _h(("forwarded", "for=[2001:db8::1;proto=https")), rfc_only) == client_origin(
        "10.0.0.1", [], rfc_only)
    # and a stranger's header, however written, is not read at all
    assert client_origin("203.0.113.5", _h(("forwarded", "for=[2001:db8::1]")), rfc_only).address == "203.0.113.5"


def test_a_balancer_that_writes_an_ipv4_visitor_with_its_port_unquoted_names_the_visitor() -> None:
    """``for=192.0.2.60:4711`` (a port needs the quotes) was malformed, so absent: behind a balancer that sets
    Forwarded alone, every visitor was the balancer (one rate limit, one admin throttle for all)."""
    rfc_only = Trust(frozenset({"10.0.0.1", "10.0.0.2"}), ("forwarded",))
    alone, behind_two = ("192.0.2.60", "10.0.0.1"), ("192.0.2.60", "10.0.0.2", "10.0.0.1")
    for said, chain in (("for=192.0.2.60:4711;proto=https", alone), ('for="192.0.2.60:4711";proto=https', alone),
                        ("for=192.0.2.60:_p;proto=https", alone), ("for=192.0.2.60:4711;proto=https, for=10.0.0.2:80",
                                                                    behind_two)):
        origin = client_origin("10.0.0.1", _h(("forwarded", said)), rfc_only)
        assert (origin.address, origin.chain, origin.scheme) == ("192.0.2.60", chain, "https"), said
    # what is no IPv4 with a port stays malformed, as before: nothing is read from it
    for broken in ("for=192.0.2.60:http", "for=192.0.2.60:", "for=192.0.2.600:80", "for=192.0.2.60:80:81"):
        assert client_origin("10.0.0.1", _h(("forwarded", broken)), rfc_only).address == "10.0.0.1", broken


def test_the_store_gets_a_forwarded_that_says_what_x_forwarded_says() -> None:
    origin = client_origin("10.0.0.1", _h(("x-forwarded-for", "6.6.6.6, 2001:db8::1, bogus"), ("x-forwarded-for", "10.0.0.2")), T)
    assert origin.chain == ("bogus", "10.0.0.2", "10.0.0.1")  # what the balancer appended is kept as it is
    header = upstream_forwarded(client_origin("10.0.0.1", _h(("x-forwarded-for", "2001:db8::1, 10.0.0.2")), T),
                                "https", "shop.example:8443")
    assert header == ('for="[2001:db8::1]";host="shop.example:8443";proto=https, for=10.0.0.2, '
                      'for=10.0.0.1;host="shop.example:8443";proto=https')
    assert forwarded.parse([header]) is not None
    assert upstream_forwarded(origin, "http", "shop.example").startswith("for=unknown;")  # no node: unknown


def test_only_the_headers_the_proxies_set_are_read_and_x_forwarded_alone_by_default() -> None:
    """nginx with ``$proxy_add_x_forwarded_for`` passes a visitor's own ``Forwarded`` on as it came:
    reading it by default would let any visitor name its address (and escape its rate limit)."""
    said = _h(("forwarded", "for=6.6.6.6;proto=https"), ("x-forwarded-for", "198.51.100.9"), ("x-forwarded-proto", "http"))
    default = client_origin("10.0.0.1", said, Settings(trusted_proxies="10.0.0.1").proxy_trust)
    assert (default.address, default.scheme) == ("198.51.100.9", "http")
    rfc = client_origin("10.0.0.1", said, Trust(frozenset({"10.0.0.1"}), ("forwarded",)))
    assert (rfc.address, rfc.scheme) == ("6.6.6.6", "https")
    only_rfc = client_origin("10.0.0.1", _h(("x-forwarded-for", "198.51.100.9")), Trust(frozenset({"10.0.0.1"}), ("forwarded",)))
    assert only_rfc.chain == ("10.0.0.1",)  # X-Forwarded-For is not one the proxies set: not read
    xff_first = client_origin("10.0.0.1", said + _h(("forwarded", "")), Trust(frozenset({"10.0.0.1"}), ("x-forwarded", "forwarded")))
    assert xff_first.address == "198.51.100.9"
    assert Settings(trusted_proxy_headers=" Forwarded , x-forwarded").proxy_trust.headers == ("forwarded", "x-forwarded")
    for wrong in ("", "forwarded,forwarded", "x-forwarded-for", "forwarded;x-forwarded"):
        with pytest.raises(ConfigError, match="--trusted-proxy-headers"):
            Settings(trusted_proxy_headers=wrong).validate()


def test_trusted_proxies_may_be_ranges_so_a_cdn_or_a_container_network_can_be_named() -> None:
    """A balancer in Docker or Kubernetes has no fixed address and a CDN's edges are ranges: listed one by
    one they could not be trusted, and the walk stopped at the CDN's edge (the store got the edge as the
    visitor and lost the visitor's own hop)."""
    trust = Settings(trusted_proxies="10.0.0.0/8, 203.0.113.0/24, 192.168.1.5, fd00::/8").proxy_trust
    # the visitor -> a CDN edge (203.0.113.77) -> the balancer (10.1.2.3, whatever the cluster gave it) -> us
    origin = client_origin("10.1.2.3", _h(("x-forwarded-for", "6.6.6.6, 198.51.100.9, 203.0.113.77")), trust)
    assert (origin.address, origin.chain, origin.trusted) == (
        "198.51.100.9", ("198.51.100.9", "203.0.113.77", "10.1.2.3"), True)
    assert client_origin("10.255.0.1", [], trust).trusted and client_origin("192.168.1.5", [], trust).trusted
    assert client_origin("::ffff:10.0.0.9", [], trust).trusted  # a dual-stack listener's IPv4 peer
    assert client_origin("fd00::7", _h(("x-forwarded-for", "2001:db8::1")), trust).address == "2001:db8::1"
    for stranger in ("11.0.0.1", "192.168.1.6", "2001:db8::1", "", "?"):
        assert not client_origin(stranger, _h(("x-forwarded-for", "6.6.6.6")), trust).trusted, stranger
    assert Trust.parse("", "x-forwarded").proxies.__contains__("10.0.0.1") is False  # none listed: none trusted


@pytest.mark.parametrize("wrong", ["balancer.local", "10.0.0.0/33", "10.0.0.1:80", "fd00::/129"])
def test_a_trusted_proxy_that_is_no_address_or_range_stops_the_start_naming_it(wrong: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings(trusted_proxies=f"10.0.0.1, {wrong}").validate()
    assert str(refused.value) == (f"SLOTWISE_TRUSTED_PROXIES / --trusted-proxies: {wrong!r} is not an IP address or "
                                  "a range (10.0.0.0/8, fd00::/8)")
