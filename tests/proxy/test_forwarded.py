"""RFC 7239 ``Forwarded``: read as the grammar says, written so that it reads back, never an exception."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slotwise import forwarded

_TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_QDTEXT = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
_OBF = st.from_regex(r"_[A-Za-z0-9._-]{1,8}", fullmatch=True)
_PORT = st.one_of(st.just(""), st.integers(0, 65535).map(lambda p: f":{p}"), _OBF.map(lambda o: f":{o}"))
_NODE = st.one_of(
    st.builds(lambda ip, port: f"{ip}{port}", st.ip_addresses(v=4).map(str), _PORT),
    st.builds(lambda ip, port: f"[{ip}]{port}", st.ip_addresses(v=6).map(str), _PORT),
    st.just("unknown"), _OBF,
)
_EXTENSION = st.text(_TCHAR, min_size=1, max_size=8).map(str.lower).filter(lambda n: n not in ("for", "by", "proto", "host"))


@st.composite
def _element(draw: st.DrawFn) -> dict[str, str]:
    element: dict[str, str] = {}
    for name, values in (("for", _NODE), ("by", _NODE), ("proto", st.from_regex(r"[a-z][a-z0-9+.-]{0,7}", fullmatch=True)),
                         ("host", st.from_regex(r"[a-z0-9]{1,8}(\.[a-z0-9]{1,8}){0,2}(:[0-9]{1,5})?", fullmatch=True))):
        if draw(st.booleans()):
            element[name] = draw(values)
    for name in draw(st.lists(_EXTENSION, max_size=2, unique=True)):
        element[name] = draw(st.text(_QDTEXT, max_size=12))
    return element or {"for": draw(_NODE)}


@given(st.lists(_element(), min_size=1, max_size=6))
def test_generated_elements_come_back_as_they_were_written(elements: list[dict[str, str]]) -> None:
    assert forwarded.parse([forwarded.format_header(elements)]) == elements
    # several lines are one list (RFC 9110 §5.3), names are case-insensitive, OWS around separators is fine
    lines = [forwarded.format_element(e) for e in elements]
    assert forwarded.parse(lines) == elements
    shouted = " ,\t".join(" ; ".join(f"{n.upper()}={forwarded.value(v)}" for n, v in e.items()) for e in elements)
    assert forwarded.parse([" ,  " + shouted + " , "]) == elements


@given(st.lists(st.text(max_size=60), max_size=3))
def test_any_text_gives_elements_or_none_and_never_raises(lines: list[str]) -> None:
    got = forwarded.parse(lines)
    assert got is None or (got and all(isinstance(e, dict) for e in got))


@given(st.lists(_element(), min_size=1, max_size=4), st.data())
def test_a_generated_header_with_a_slip_gives_elements_or_none_and_never_raises(elements: list[dict[str, str]],
                                                                               data: st.DataObject) -> None:
    """A well-formed header (which reads back) with one slip somewhere: a character a proxy might drop, add or
    double (a quote, a port, a bracket, a separator)."""
    header = forwarded.format_header(elements)
    at = data.draw(st.integers(0, len(header)))
    slip = data.draw(st.sampled_from(["", '"', ":", ":4711", ",", ";", "[", "]", "\\", " ", "=", "_", "::"]))
    got = forwarded.parse([header[:at] + slip + header[at + data.draw(st.integers(0, 3)):]])
    assert got is None or (got and all(isinstance(e, dict) and e for e in got))


@given(st.lists(st.text("for=;,\"\\[]:_ 1.2.3.4abcunknown-\t", max_size=40), min_size=1, max_size=3))
def test_near_misses_never_raise(lines: list[str]) -> None:
    forwarded.parse(lines)


def test_the_rfc_examples_and_what_breaks_the_grammar() -> None:
    assert forwarded.parse(['for="_gazonk"']) == [{"for": "_gazonk"}]
    assert forwarded.parse(['For="[2001:db8:cafe::17]:4711"']) == [{"for": "[2001:db8:cafe::17]:4711"}]
    assert forwarded.parse(["for=192.0.2.60;proto=http;by=203.0.113.43"]) == [
        {"for": "192.0.2.60", "proto": "http", "by": "203.0.113.43"}]
    assert forwarded.parse(["for=192.0.2.43, for=198.51.100.17"]) == [{"for": "192.0.2.43"}, {"for": "198.51.100.17"}]
    assert forwarded.parse(['for=unknown;host="shop.example:8443";x="a\\"b\\\\"']) == [
        {"for": "unknown", "host": "shop.example:8443", "x": 'a"b\\'}]
    for broken in ("for=192.0.2.43 by=1.2.3.4", "for=192.0.2.43;for=192.0.2.44", "for=shop.example",
                   'for="192.0.2.43', "for=192.0.2.43:http", 'for="[2001:db8::1"', "proto=ht/tp", "host=a/b",
                   "for", "=1.2.3.4", "for=1.2.3.4\n", "", " , ", "for=1.2.3.4, " * 65):
        assert forwarded.parse([broken]) is None, broken
    assert forwarded.parse(["for=192.0.2.43", "for=nonsense"]) is None  # one bad line: the whole header


def test_an_unquoted_ipv6_node_is_read_and_what_is_no_ipv6_node_stays_malformed() -> None:
    """RFC 7239 wants ``for="[2001:db8::1]:4711"`` quoted; some proxies leave the quotes out, and such a
    header was taken as absent: every visitor behind that proxy was the proxy itself."""
    assert forwarded.parse(["for=[2001:db8::1]:4711;proto=https, by=[::1]"]) == [
        {"for": "[2001:db8::1]:4711", "proto": "https"}, {"by": "[::1]"}]
    assert forwarded.parse(["for=2001:DB8::1 , for=[2001:db8::2]:_p"]) == [{"for": "2001:DB8::1"}, {"for": "[2001:db8::2]:_p"}]
    assert forwarded.parse(['for="2001:db8::1"']) == [{"for": "2001:db8::1"}]  # bare, quoted
    assert [forwarded.node_address(n) for n in ("2001:DB8::1", "[2001:db8::2]:_p", "2001:db8::1:4711")] == [
        "2001:db8::1", "2001:db8::2", "2001:db8::1:4711"]  # bare, it has no port: all of it is the address
    for broken in ("for=[2001:db8::1", "for=2001:db8::1]", "for=[192.0.2.43]", "for=[2001:db8::1]:http",
                   "for=[2001:db8::1]:4711x", "for=[2001:db8::1]x", "for=2001:db8::1::2", "for=2001:db8:0:0:0:0:0:1:4711",
                   "for=:", "for=[]", "host=[::1]:8080", "proto=[::1]", "x=2001:db8::1",
                   "for=[2001:db8::1];for=[2001:db8::2]", "for=[2001:db8::1] for=1.2.3.4"):
        assert forwarded.parse([broken]) is None, broken


def test_an_unquoted_ipv4_node_with_a_port_is_read_and_what_is_no_such_node_stays_malformed() -> None:
    """``for=192.0.2.60:4711`` needs quotes by RFC 7239 (``:`` is no token character); some balancers leave
    them out, and such a header was taken as absent: every visitor behind that balancer was the balancer."""
    assert forwarded.parse(["for=192.0.2.60:4711;proto=https, by=10.0.0.1:_p, for=198.51.100.17"]) == [
        {"for": "192.0.2.60:4711", "proto": "https"}, {"by": "10.0.0.1:_p"}, {"for": "198.51.100.17"}]
    assert forwarded.node_address("192.0.2.60:4711") == "192.0.2.60"  # the port dropped, as a quoted one's is
    for broken in ("for=192.0.2.60:http", "for=192.0.2.60:", "for=192.0.2.60:4711x", "for=192.0.2.600:80",
                   "for=192.0.2:80", "for=192.0.2.60:80:81", "for=192.0.2.60:123456", "for=unknown:80", "for=_x:80",
                   "host=192.0.2.60:80", "proto=192.0.2.60:80", "x=192.0.2.60:80", "for=192.0.2.60:80 for=1.2.3.4",
                   "for=192.0.2.60:80;for=192.0.2.61:80"):
        assert forwarded.parse([broken]) is None, broken


_IPV6_NODE = st.one_of(  # as some proxies write one unquoted: bracketed (with a port or not), or bare
    st.builds(lambda ip, port: f"[{ip}]{port}", st.ip_addresses(v=6).map(str), _PORT),
    st.ip_addresses(v=6).flatmap(lambda ip: st.sampled_from([str(ip), ip.exploded, str(ip).upper()])),
)


def _unquotable(node: str) -> bool:
    """A node some proxies write unquoted, and that is read so: an IP address (IPv6, or IPv4 with a port)."""
    address = forwarded.node_address(node) or ""
    return ":" in address or (":" in node and address.count(".") == 3)


@given(st.lists(st.tuples(st.sampled_from(["for", "by"]), st.one_of(_NODE, _IPV6_NODE), st.booleans()), min_size=1, max_size=6))
def test_nodes_written_quoted_or_unquoted_read_back_as_written(nodes: list[tuple[str, str, bool]]) -> None:
    """Each node (IPv4, IPv6 bracketed or bare, with a port or not, ``unknown``, ``_obfuscated``) in its
    own element, quoted as the RFC says or, an IP one, unquoted: the element holds it as written, and
    its address is the node's (the IP address, its port dropped)."""
    def written(node: str, unquoted: bool) -> str:
        return node if unquoted and _unquotable(node) else forwarded.value(node)

    header = ", ".join(f"{name}={written(node, unquoted)}" for name, node, unquoted in nodes)
    assert forwarded.parse([header]) == [{name: node} for name, node, _ in nodes]
    for _, node, _ in nodes:
        assert forwarded.node_address(node) is not None, node


_GARBAGE_PORT = st.text("0123456789:_.abcxyz-[] ", min_size=1, max_size=8).filter(  # a port then only spaces is
    lambda p: not re.fullmatch(r"(?:[0-9]{1,5}|_[A-Za-z0-9._-]+) *", p))  # a port and the list's own whitespace


@given(st.ip_addresses(v=4).map(str), _GARBAGE_PORT, st.sampled_from(["", ";proto=https", ", for=198.51.100.17"]))
def test_an_unquoted_ipv4_with_anything_but_a_port_after_it_stays_malformed(ip: str, after: str, rest: str) -> None:
    """The leniency is for an IPv4 node and its port only: whatever else follows the address unquoted
    (``:http``, ``:80:81``, ``:4711x``, a space) leaves the header malformed, and never raises."""
    assert forwarded.parse([f"for={ip}:{after}{rest}"]) is None


@pytest.mark.parametrize("header", ["for=192.0.2.1:80 ", "for=192.0.2.1:80 ;proto=https", "for=192.0.2.1:_a , for=198.51.100.17"])
def test_whitespace_after_an_unquoted_port_is_the_lists_own(header: str) -> None:
    """Spaces after a node's port, before the end, a ``;`` or a ``,``, are the field's whitespace, not part of the
    node: the header stays well-formed (the property above leaves such ports out of its garbage)."""
    parsed = forwarded.parse([header])
    assert parsed is not None and parsed[0]["for"] == header.split("=", 1)[1].split()[0]
