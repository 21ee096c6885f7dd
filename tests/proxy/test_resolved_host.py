"""``plain_get`` asks the resolver for the origin's host name at most once a minute (``ResolvedHost``), as
aiohttp's ``ttl_dns_cache`` does: a burst of new connections costs one lookup, an answer older than the
TTL is asked again, an address that takes no connection is asked again, a failed lookup is every
waiter's error. Real lookups (``localhost``, a ``.invalid`` name) against a real origin; the loop's
own ``getaddrinfo`` is counted, so a connection opened by name (the old way) would count too."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from sw_upstreams import RawUpstream, respond

from slotwise.proxy.config import Settings
from slotwise.proxy.forwarding.errors import UpstreamUnavailable
from slotwise.proxy.forwarding.resolved_host import TTL_S, ResolvedHost
from slotwise.proxy.forwarding.upstream import Upstream

HEADERS = [(b"Host", b"shop.test"), (b"Accept", b"text/html")]
CONNECTIONS: list[asyncio.StreamWriter] = []


async def _slow_origin(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
    if not any(w is writer for w in CONNECTIONS):
        CONNECTIONS.append(writer)
    await asyncio.sleep(0.2)  # requests in flight together: each on its own new connection
    writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Length", "2")], b"ok"))
    await writer.drain()


@pytest.fixture(scope="module")
def origin() -> Any:
    with RawUpstream(_slow_origin) as up:
        yield up


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counted_lookups(loop: asyncio.AbstractEventLoop) -> list[str]:
    """Every ``getaddrinfo`` of the loop from now on, by host (it still looks up)."""
    hosts: list[str] = []
    real = loop.getaddrinfo

    async def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        hosts.append(host)
        return await real(host, *args, **kwargs)

    loop.getaddrinfo = getaddrinfo  # type: ignore[method-assign]
    return hosts


async def _get(upstream: Upstream) -> bytes:
    response = await upstream.send("GET", "/", HEADERS, None, 5.0)
    try:
        return b"".join([chunk async for chunk in response.body(5.0)])
    finally:
        await response.aclose()


def _upstream(url: str, clock: Clock | None = None) -> Upstream:
    upstream = Upstream(Settings.from_mapping({"upstream": url, "connect_timeout": "3"}))
    if clock is not None:
        upstream.plain.resolved.clock = clock
    return upstream


def test_a_burst_of_new_connections_asks_once_and_again_after_the_ttl(origin: RawUpstream) -> None:
    async def run() -> tuple[int, list[str], list[str]]:
        lookups = counted_lookups(asyncio.get_running_loop())
        clock = Clock()
        upstream = _upstream(f"http://localhost:{origin.port}", clock)
        CONNECTIONS.clear()
        bodies = await asyncio.gather(*[_get(upstream) for _ in range(6)])
        assert bodies == [b"ok"] * 6
        opened, first = len(CONNECTIONS), list(lookups)
        clock.now += TTL_S - 1  # still fresh: a new connection uses the kept address
        for conn in upstream.plain.idle:
            conn.close()
        assert await _get(upstream) == b"ok"
        clock.now += 2  # past the TTL
        for conn in upstream.plain.idle:
            conn.close()
        assert await _get(upstream) == b"ok"
        await upstream.aclose()
        return opened, first, lookups

    opened, first, lookups = asyncio.run(run())
    assert opened == 6  # six connections were opened...
    assert first == ["localhost"]  # ...on one lookup
    assert lookups == ["localhost", "localhost"]  # none while fresh, one past the TTL


def test_an_address_is_never_looked_up(origin: RawUpstream) -> None:
    async def run() -> list[str]:
        lookups = counted_lookups(asyncio.get_running_loop())
        upstream = _upstream(origin.url)
        assert await _get(upstream) == b"ok"
        await upstream.aclose()
        return lookups

    assert asyncio.run(run()) == []


def test_when_no_address_takes_a_connection_the_next_one_asks_again() -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]

    async def run() -> list[str]:
        lookups = counted_lookups(asyncio.get_running_loop())
        upstream = _upstream(f"http://localhost:{port}")
        for _ in range(2):
            with pytest.raises(UpstreamUnavailable):
                await _get(upstream)
        await upstream.aclose()
        return lookups

    assert asyncio.run(run()) == ["localhost", "localhost"]


def test_a_failed_lookup_is_each_waiters_error_and_nothing_is_kept() -> None:
    async def run() -> tuple[list[Any], list[str], ResolvedHost]:
        lookups = counted_lookups(asyncio.get_running_loop())
        resolved = ResolvedHost("nothing.invalid", 80)
        outcomes = await asyncio.gather(*[resolved.addresses() for _ in range(3)], return_exceptions=True)
        return outcomes, lookups, resolved

    outcomes, lookups, resolved = asyncio.run(run())
    assert all(isinstance(o, OSError) for o in outcomes), outcomes
    assert lookups == ["nothing.invalid"]  # one lookup for the three
    assert resolved._addresses == [] and resolved._lookup is None
