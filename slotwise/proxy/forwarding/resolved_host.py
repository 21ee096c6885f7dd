"""The origin's addresses, asked of the resolver at most once a minute, as aiohttp's client does.

Why: ``plain_get`` opened each new connection with the origin's host name, so every one asked the
resolver again (a query, from a thread of the loop's pool). Connections are kept alive, but a burst
of new ones — after an idle spell, or when the store's traffic jumps — put a lookup in front of each
page, and a slow resolver delayed them all. aiohttp, which sends the rest, keeps answers for 60 s
(``ttl_dns_cache``); this keeps them as long, and asks once for a burst that finds none.

A host given as an address is never looked up. When no kept address takes a connection, the answer
is dropped, so the next connection asks again (the origin may have moved).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from typing import Callable

TTL_S = 60.0

Address = tuple[str, int]  # host (an address), port


def is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class ResolvedHost:
    """One host's addresses (the resolver's order), kept ``TTL_S``; one lookup at a time."""

    def __init__(self, host: str, port: int, *, ttl_s: float = TTL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.host = host
        self.port = port
        self.ttl_s = ttl_s
        self.clock = clock
        self.literal = is_address(host)
        self._addresses: list[Address] = []
        self._until = float("-inf")
        self._lookup: asyncio.Future[list[Address]] | None = None

    async def addresses(self) -> list[Address]:
        """The addresses to try, in order (a lookup when none are kept or they are older than the TTL)."""
        if self.literal:
            return [(self.host, self.port)]
        if self._addresses and self.clock() < self._until:
            return self._addresses
        if self._lookup is None:  # the first of a burst looks up; the others wait for its answer
            self._lookup = asyncio.ensure_future(self._resolve())
            self._lookup.add_done_callback(self._looked_up)
        return await asyncio.shield(self._lookup)

    async def _resolve(self) -> list[Address]:
        infos = await asyncio.get_running_loop().getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        found = list(dict.fromkeys((str(sockaddr[0]), int(sockaddr[1])) for _, _, _, _, sockaddr in infos))
        if not found:
            raise OSError(f"no address for {self.host}")
        self._addresses, self._until = found, self.clock() + self.ttl_s
        return found

    def _looked_up(self, lookup: asyncio.Future[list[Address]]) -> None:
        self._lookup = None
        if not lookup.cancelled():
            lookup.exception()  # retrieved: a failed lookup is raised to each caller, not logged as lost

    def forget(self) -> None:
        """No kept address took a connection: ask the resolver again next time."""
        self._addresses, self._until = [], float("-inf")
