"""Failed admin logins throttled per client: guessing the admin token is not a loop away.

An ASGI wrapper around everything under ``/_sw/admin`` (the admin page, its
API, the visitor export/erase API). Each answer 401 (a wrong or missing
token, or a wrong ``?token=``) costs the client one token of a bucket
(``failures`` saved up, one back every ``refill_s`` seconds; each request holds
one while it runs, so concurrent guesses count too); with the bucket
empty, every admin request from that client is answered 429 with
Retry-After before any token is compared — the right token too, so a
throttled guesser learns nothing. A client is an IPv4 address or an IPv6 /64.
Per process, like the events limit. A 401 that tried no token
(``not_a_guess``: no ``Authorization`` header, only a session cookie that was
signed out, has expired or is absent, as a browser left open or a cookie sent
to the bearer-only visitor API) guessed nothing and costs nothing; a wrong
bearer token, a wrong sign-in form or ``?token=`` always costs one.
"""

from __future__ import annotations

import ipaddress
import json
import math
import time
from typing import Any, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slotwise.client_origin import Trust, client_origin
from slotwise.tag.ratelimit import TokenBucket

ADMIN_PREFIX = "/_sw/admin"
NOT_A_GUESS = "slotwise.admin_not_a_guess"  # a scope key: see ``not_a_guess``


def not_a_guess(scope: Scope, why: str) -> None:
    """Marks the request as refused with no token tried (a signed-out or expired session cookie, no
    credentials): its 401 is not a guess at the token and the throttle does not count it. ``why``
    is what the 401 says (the first reason given is kept: the most precise one)."""
    scope.setdefault(NOT_A_GUESS, why)


class AdminThrottle:
    """Wraps ``app``; see the module docstring."""

    def __init__(self, app: ASGIApp, trust: Trust = Trust(), *, failures: int = 10,
                 refill_s: float = 30.0, prefix: str = ADMIN_PREFIX, now: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.trust = trust
        self.bucket = TokenBucket(1.0 / refill_s, float(failures))
        self.prefix = prefix
        self.now = now

    def _client(self, scope: Scope) -> str:
        peer = scope["client"][0] if scope.get("client") else "?"
        return guesser(client_origin(peer, scope.get("headers", ()), self.trust).address)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == self.prefix or path.startswith(self.prefix + "/")):
            await self.app(scope, receive, send)
            return
        client = self._client(scope)
        # the try is taken before the request runs and given back unless it failed: counted only
        # after a 401, a hundred guesses sent at once all ran before the first one was counted
        wait = self.bucket.take(client, 1, self.now())
        if wait:
            await _too_many(send, wait)
            return
        failed = False

        async def watch(message: Message) -> None:
            nonlocal failed
            if message["type"] == "http.response.start" and message["status"] == 401:
                failed = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            if not failed or scope.get(NOT_A_GUESS):
                self.bucket.give(client, 1, self.now())


def guesser(address: str) -> str:
    """Who the tries are counted for: an IPv4 address, or an IPv6 address's /64 (one subscriber's
    network: each of its 2^64 addresses counted alone would give every guesser unlimited tries)."""
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


async def _too_many(send: Send, wait: float) -> None:
    seconds = max(1, math.ceil(wait))
    body = json.dumps({"error": f"too many failed admin logins from this address; retry in {seconds} s",
                       "retry_after": seconds}).encode()
    headers: list[Any] = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                          (b"retry-after", str(seconds).encode()), (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
