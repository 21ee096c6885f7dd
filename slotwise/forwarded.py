"""The ``Forwarded`` header (RFC 7239): read from a trusted proxy, written for the store.

``Forwarded: for=192.0.2.60;proto=https;host=shop.example, for="[2001:db8::1]:4711"``:
comma-separated elements, each ``;``-separated ``name=value`` pairs (names case-insensitive,
values a token or a quoted-string with backslash escapes). A header that does not follow the
grammar says nothing we could believe: ``parse`` gives None (never an exception) and the caller
treats it as absent, the way a careful proxy does.

One slip is read all the same: an IP node written unquoted, IPv6 (``for=[2001:db8::1]:4711``,
``for=2001:db8::1``) or IPv4 with a port (``for=192.0.2.60:4711``), as some proxies and balancers
write it though ``[`` and ``:`` are no token characters. Only a trusted proxy's header is ever
parsed (``client_origin``), and taking it as absent made every visitor behind that proxy the proxy
itself (one rate limit for all of them).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Iterable, Mapping

Element = dict[str, str]  # lower-case parameter name -> its value, unquoted

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = r'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
# an unquoted IP node: IPv6 bracketed with an optional port, IPv6 bare, IPv4 with a port; checked as a node
# once read (_loose_ok)
_LOOSE = r"\[[0-9A-Fa-f:.]*\](?::[A-Za-z0-9._-]*)?|[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*|[0-9.]+:[A-Za-z0-9._-]+"
# one pair, then what may follow it: a ";" (next pair of the element), a "," (next element) or the end
_PAIR = re.compile(rf"[ \t]*({_TOKEN})=({_TOKEN}|{_QUOTED}|({_LOOSE}))[ \t]*([;,]|\Z)")
_SEPARATOR = re.compile(r"[ \t]*([;,])")  # an empty pair or element ("a=1;;b=2", "a=1, ,b=2"): allowed
_REST_BLANK = re.compile(r"[ \t]*\Z")
_UNESCAPE = re.compile(r"\\(.)", re.S)
_OBFUSCATED = re.compile(r"_[A-Za-z0-9._-]+")
_PORT = re.compile(r"[0-9]{1,5}|_[A-Za-z0-9._-]+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_HOST = re.compile(r"(?:[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{0,5})?")
_BARE = re.compile(_TOKEN)
MAX_ELEMENTS = 64  # more hops than any real chain: a header built to cost us time


def parse(values: Iterable[str]) -> list[Element] | None:
    """Every ``Forwarded`` line of a request (one list: RFC 9110 §5.3), or None when any is malformed.

    Malformed: outside the grammar (but for an unquoted IP ``for``/``by`` node: see above), a
    parameter twice in one element, a ``for``/``by`` that is not a node (an IPv4 address,
    ``[IPv6]``, ``unknown`` or ``_obfuscated``, with an optional port, or a bare IPv6 address), a
    ``proto`` that is not a URI scheme, a ``host`` that is not ``host[:port]``, or more than
    ``MAX_ELEMENTS`` elements. No element at all (an empty header) is None too: nothing to read.
    """
    elements: list[Element] = []
    for text in values:
        line = _elements(text)
        if line is None:
            return None
        elements.extend(line)
    if not elements or len(elements) > MAX_ELEMENTS:
        return None
    return elements if all(_valid(e) for e in elements) else None


def _elements(text: str) -> list[Element] | None:
    out: list[Element] = []
    current: Element = {}
    pos, end = 0, len(text)
    while pos < end:
        if _REST_BLANK.match(text, pos):
            break
        if len(out) > MAX_ELEMENTS:
            return None
        match = _PAIR.match(text, pos)
        if match is None:
            sep = _SEPARATOR.match(text, pos)
            if sep is None:
                return None
            pos = sep.end()
            if sep.group(1) == ",":
                current = _close(out, current)
            continue
        name, value, loose, follows = match.group(1).lower(), match.group(2), match.group(3), match.group(4)
        if name in current or (loose is not None and not _loose_ok(name, loose)):
            return None
        current[name] = _UNESCAPE.sub(r"\1", value[1:-1]) if value.startswith('"') else value
        pos = match.end()
        if follows == ",":
            current = _close(out, current)
    _close(out, current)
    return out


def _loose_ok(name: str, text: str) -> bool:
    """An unquoted value outside the token grammar is read only as a ``for``/``by`` node of an IP address
    (IPv6, or IPv4 with a port): an unquoted ``host=[::1]:80``, ``for=[192.0.2.43]``, ``for=192.0.2.43:http``
    or ``for=unknown:80`` stays malformed."""
    address = node_address(text)
    if name not in ("for", "by") or address is None:
        return False
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def _close(out: list[Element], current: Element) -> Element:
    if current:
        out.append(current)
    return {}


def _valid(element: Mapping[str, str]) -> bool:
    for name in ("for", "by"):
        if name in element and node_address(element[name]) is None:
            return False
    if "proto" in element and not _SCHEME.fullmatch(element["proto"]):
        return False
    return "host" not in element or bool(_HOST.fullmatch(element["host"]))


def node_address(node: str) -> str | None:
    """A node's address without its port: ``192.0.2.60``, ``2001:db8::1``, ``unknown``, ``_hidden``;
    None when ``node`` is not one (RFC 7239 §6). A bare IPv6 address (``2001:db8::1``, no brackets)
    is one too, as some proxies write it; without brackets it has no port (``2001:db8::1:4711`` is an
    address)."""
    if node.startswith("["):
        close = node.find("]")
        name, rest = node[1:close], node[close + 1:]
        if close < 0 or (rest and not (rest[0] == ":" and _PORT.fullmatch(rest[1:]))):
            return None
        try:
            return str(ipaddress.IPv6Address(name))
        except ValueError:
            return None
    if node.count(":") > 1:
        try:
            return str(ipaddress.IPv6Address(node))
        except ValueError:
            return None
    name, colon, port = node.partition(":")
    if colon and not _PORT.fullmatch(port):
        return None
    if name == "unknown" or _OBFUSCATED.fullmatch(name):
        return name
    try:
        return str(ipaddress.IPv4Address(name))
    except ValueError:
        return None


def hop_address(hop: str) -> str:
    """An ``X-Forwarded-For`` hop as an address: ``1.2.3.4:5678`` and ``[::1]:80`` lose the port (some
    balancers add it), an IPv6 address is written the one way; anything else is kept as sent."""
    hop = hop.strip()
    try:
        return str(ipaddress.ip_address(hop))
    except ValueError:
        return node_address(hop) or hop


@functools.lru_cache(maxsize=4096)
def for_value(address: str) -> str:
    """``value(node(address))``, kept for the addresses seen most (the balancer's, each visitor's):
    the ``ipaddress`` check is most of the cost of writing the store's ``Forwarded``."""
    return value(node(address))


def node(address: str) -> str:
    """An address as a ``for=`` value: IPv6 bracketed (and so quoted), ``unknown`` for what is no node."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address if address == "unknown" or _OBFUSCATED.fullmatch(address) else "unknown"
    return f"[{ip}]" if ip.version == 6 else str(ip)


def value(text: str) -> str:
    """``text`` as a parameter value: a token as it is, anything else a quoted-string."""
    if _BARE.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_element(element: Mapping[str, str]) -> str:
    return ";".join(f"{name}={value(v)}" for name, v in element.items())


def format_header(elements: Iterable[Mapping[str, str]]) -> str:
    """Elements as one ``Forwarded`` value; ``parse([format_header(e)]) == e`` for valid elements."""
    return ", ".join(format_element(e) for e in elements)
