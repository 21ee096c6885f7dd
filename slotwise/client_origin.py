"""Who the visitor is, as a trusted proxy tells it: address, scheme and host, in one place.

Behind the store's balancer or CDN (``--trusted-proxies``) every request comes from the same
peer; the visitor's address, and the scheme and host it used, are what that proxy says in the
headers it sets itself (``--trusted-proxy-headers``): ``X-Forwarded-For``/``-Proto``/``-Host``,
``Forwarded`` (RFC 7239), or both in a given order. From anyone else those headers are a
stranger's claim and are not read.

The chain is walked right to left, as werkzeug's ProxyFix, Rack and Caddy do: each trusted proxy
appends the address it got the request from, so the rightmost hop that is not a trusted proxy
is the visitor; whatever stands to its left the visitor wrote itself, and is dropped. The rate
limits, the admin throttle, the logs and the Secure cookies all read this one answer.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Container, Iterable, Mapping

from slotwise import forwarded

if TYPE_CHECKING:
    from starlette.requests import Request

Headers = Iterable[tuple[bytes, bytes]]
_SCHEMES = frozenset({"http", "https"})
FAMILIES = ("forwarded", "x-forwarded")


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=4096)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class ProxySet:
    """The ``--trusted-proxies``: addresses and ranges (``10.0.0.0/8``, ``fd00::/8``). A balancer in Docker or
    Kubernetes has no fixed address, and a CDN's edges are ranges: listing each one is not possible. An
    address is looked up as written first (the common case: one balancer), then in the ranges."""

    def __init__(self, entries: Iterable[str] = ()) -> None:
        exact: set[str] = set()
        networks: list[Network] = []
        for entry in entries:
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or a range (10.0.0.0/8, fd00::/8)") from None
            if network.num_addresses == 1:
                exact.add(str(network.network_address))
            else:
                networks.append(network)
        self.exact = frozenset(exact)
        self.networks = tuple(networks)

    def __contains__(self, address: object) -> bool:
        if address in self.exact:
            return True
        if not (self.exact or self.networks) or not isinstance(address, str):
            return False
        ip = _address(address)  # another spelling of a listed address, or one in a range
        if ip is None:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:  # a dual-stack listener's peer
            ip = ip.ipv4_mapped
        return str(ip) in self.exact or any(ip in network for network in self.networks)

    def __bool__(self) -> bool:
        return bool(self.exact or self.networks)


@dataclass(frozen=True)
class Trust:
    """Whom to believe: ``proxies`` (``--trusted-proxies``) and the headers they set, first believed first
    (``--trusted-proxy-headers``). Only headers a proxy sets itself can be believed: nginx with
    ``$proxy_add_x_forwarded_for`` passes a visitor's own ``Forwarded`` on untouched, so reading it there
    would let any visitor name its address. Hence ``x-forwarded`` alone by default."""

    proxies: Container[str] = ProxySet()
    headers: tuple[str, ...] = ("x-forwarded",)

    @classmethod
    def parse(cls, proxies: str, headers: str) -> "Trust":
        """From the settings' text; a ValueError names what is wrong."""
        families = tuple(h.strip().lower() for h in headers.split(",") if h.strip())
        wrong = [f for f in families if f not in FAMILIES]
        if wrong or not families or len(set(families)) != len(families):
            raise ValueError(f"{headers!r}: give forwarded, x-forwarded, or both in the order to believe them "
                             "(e.g. forwarded,x-forwarded), each once")
        return cls(ProxySet(p.strip() for p in proxies.split(",") if p.strip()), families)


@dataclass(frozen=True)
class ClientOrigin:
    """What is known of the visitor's side of a request."""

    address: str  # the visitor's address: the peer's own unless a trusted proxy says otherwise
    chain: tuple[str, ...]  # the addresses from the visitor to us, the peer last (only the visitor's and after)
    scheme: str | None = None  # http or https, as a trusted proxy says; None: it did not (ours applies)
    host: str | None = None  # the Host the visitor sent, as a trusted proxy says; None: it did not
    trusted: bool = False  # the peer is one of --trusted-proxies


def client_origin(peer: str, headers: Headers, trust: Trust) -> ClientOrigin:
    """The visitor's address, scheme and host for a request from ``peer`` with ``headers`` (ASGI pairs).

    From a trusted peer, each of the chain, the scheme and the host comes from the first of
    ``trust.headers`` that says it. ``forwarded``: the ``for=`` chain of a well-formed RFC 7239
    header and the ``proto``/``host`` of the visitor's element (one that breaks the grammar counts
    as absent); ``x-forwarded``: ``X-Forwarded-For`` (every line, in order) and the first value of
    ``X-Forwarded-Proto``/``-Host``. The scheme is believed only as ``http`` or ``https``.
    """
    if peer not in trust.proxies:
        return ClientOrigin(peer, (peer,))
    lines: dict[bytes, list[str]] = {}
    for name, value in headers:
        low = name.lower()
        if low == b"forwarded" or low.startswith(b"x-forwarded-"):
            lines.setdefault(low, []).append(value.decode("latin-1"))
    hops: list[str] | None = None
    at = 0
    scheme = host = None
    for family in trust.headers:
        said: Mapping[str, str]
        if family == "forwarded":
            elements = (forwarded.parse(lines[b"forwarded"]) if b"forwarded" in lines else None) or []
            said = elements[0] if elements else {}
            if hops is None and any("for" in e for e in elements):
                hops = [forwarded.node_address(e.get("for", "unknown")) or "unknown" for e in elements]
                at = _visitor(hops, trust.proxies)
                said = elements[at]
            scheme, host = scheme or said.get("proto"), host or said.get("host")
        else:
            xff = [forwarded.hop_address(h) for v in lines.get(b"x-forwarded-for", ()) for h in v.split(",") if h.strip()]
            if hops is None and xff:
                hops, at = xff, _visitor(xff, trust.proxies)
            scheme = scheme or _first(lines.get(b"x-forwarded-proto"))
            host = host or _first(lines.get(b"x-forwarded-host"))
    scheme = scheme.lower() if scheme and scheme.lower() in _SCHEMES else None
    chain = (*(hops or ())[at:], peer)
    return ClientOrigin(chain[0], chain, scheme, host or None, True)


def origin_of(request: "Request", trust: Trust) -> ClientOrigin:
    """``client_origin`` of a Starlette request (its raw ASGI headers: every line of each)."""
    return client_origin(request.client.host if request.client else "?", request.scope["headers"], trust)


def _visitor(hops: list[str], trusted: Container[str]) -> int:
    """The index of the rightmost hop that is not a trusted proxy (the leftmost when all are)."""
    for i in range(len(hops) - 1, -1, -1):
        if hops[i] not in trusted:
            return i
    return 0


def _first(values: list[str] | None) -> str | None:
    return values[0].split(",")[0].strip() if values else None


def upstream_forwarded(origin: ClientOrigin, scheme: str, host: str) -> str:
    """The ``Forwarded`` the store gets, saying what ``X-Forwarded-For``/``-Proto``/``-Host`` say:
    one element per hop of the chain; the visitor's first element and our own (the last) carry
    the public scheme and host, so a reader that takes the first element's and one that takes
    the last one's agree."""
    said = f";host={forwarded.value(host)};proto={forwarded.value(scheme)}"
    elements = [f"for={forwarded.for_value(hop)}" for hop in origin.chain]  # one string each: per request
    elements[0] += said
    if len(elements) > 1:
        elements[-1] += said
    return ", ".join(elements)
