"""One request's state as it travels through the proxy's steps.

Like a mitmproxy flow: the forwarding layer (``app.py``) creates a ``Flow``
per request and hands it to small steps; every step reads and writes this one
object. Personalization is a plug-in behind the ``Personalizer`` protocol so
the forwarding layer knows nothing of rules, bandits or profiles.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

from starlette.routing import BaseRoute


@dataclass
class Visitor:
    """Who is asking: the signed first-party id and whether it is new."""

    id: str
    is_new: bool
    set_cookie: str | None = None  # a Set-Cookie value to send, when the cookie is (re)issued


@dataclass
class Flow:
    """A request, its upstream response, and what personalization did to it."""

    method: str
    path: str
    query_string: str
    headers: list[tuple[str, str]]  # request headers as received (lower-case names); read-only: the origin gets the raw ones
    client_ip: str  # the visitor's address (``client_origin``: behind a trusted proxy, the one it names)
    scheme: str  # public scheme, http or https
    public_host: str  # public host[:port] the browser used
    started: float = field(default_factory=time.perf_counter)

    # identity (set by Personalizer.on_request)
    visitor: Visitor | None = None
    is_bot: bool = False

    # request body kept while it streams upstream (the personalizer asks with keep_request_body = limit)
    keep_request_body: int = 0
    wants_response: bool = False  # call Personalizer.on_response once the upstream answered
    wants_answer_body: bool = False  # ...with the answer's body read first, when it is small JSON (answer_body)
    answer_body: bytes | None = None
    request_body: bytearray = field(default_factory=bytearray)
    request_body_truncated: bool = False

    # upstream response (set by the forwarding layer)
    status: int = 0
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    charset: str = "utf-8"
    # a streamed page: how many leading bytes of the decoded HTML the visitor already has
    # (on_html's edits must leave them as they are; see forward_html and stream_guard)
    html_sent: int = 0

    # what personalization produced
    extra_headers: list[tuple[str, str]] = field(default_factory=list)  # always added (e.g. our Set-Cookie)
    personalized: bool = False  # True when the body was changed: private caching applies
    timings: dict[str, float] = field(default_factory=dict)  # step name -> ms (Server-Timing)
    state: dict[str, Any] = field(default_factory=dict)  # scratch space shared by steps
    # state["same_for_everyone"] = True: on_html changed the page identically for every visitor
    # (only the tag injected): the origin's caching headers are kept

    def header(self, name: str, default: str | None = None) -> str | None:
        """First request header of that (lower-case) name."""
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return default

    def response_header(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        for key, value in self.response_headers:
            if key.lower() == name:
                return value
        return default

    @property
    def url(self) -> str:
        """The public URL of this request."""
        qs = f"?{self.query_string}" if self.query_string else ""
        return f"{self.scheme}://{self.public_host}{self.path}{qs}"

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000.0


class PersonalizationError(Exception):
    """A personalization step failed; the original response is served.

    ``stage`` names the step (identity, rules, decide, render, rewrite, store)
    and ``slot`` the slot it was working on, for the once-per-reason log line
    and the fail-open metric.
    """

    def __init__(self, stage: str, reason: str, slot: str | None = None) -> None:
        super().__init__(f"{stage}{'/' + slot if slot else ''}: {reason}")
        self.stage = stage
        self.slot = slot
        self.reason = reason


class Personalizer(Protocol):
    """What the forwarding layer calls; everything else is behind it.

    The forwarding layer wraps each call: any exception serves the upstream
    response unchanged (byte for byte), counts it, and logs it once per
    (stage, slot, reason).
    """

    def routes(self) -> Sequence[BaseRoute]:
        """Routes served under ``/_sw/`` (tag.js, events, decide, admin...)."""
        ...

    async def on_request(self, flow: Flow) -> None:
        """Before forwarding: identify the visitor (cookie, bot check)."""
        ...

    def wants_body(self, flow: Flow) -> bool:
        """After the upstream headers: is this HTML response worth buffering? (Also asked before a request
        with the visitor's validators leaves, ``flow.status`` set to 200: could its page be changed?)"""
        ...

    # Optional (looked up with getattr): streaming a page while it arrives.
    #   edit_selectors(flow) -> Sequence[str] | None: the CSS selectors of every element on_html
    #       may edit on this page (None: unknown, the page is held whole);
    #   on_stream(flow) -> None: the head of a streamed page leaves now: add to flow.extra_headers
    #       what on_html would add and is already known (a new visitor's cookie).
    #   html_cache_allowed(flow) -> bool: may this request use the upstream HTML cache (not logged in,
    #       or the page is the same for everyone)? Without it: only requests without Authorization.
    #   async commit(flow) -> None: the page on_html made is certain to go out: log its decisions
    #       (called only then, see forward_safe.py; a failure serves the original page).
    #   passes_through() -> bool: True when no forwarded request will ever be touched (asked once, when
    #       the forwarding layer is built): it then forwards without calling the personalizer at all.
    #   fresh_for(flow) -> float | None: seconds until something the rules show on this page changes on
    #       its own (an ``active`` window's edge, the next full hour for a ``when`` on ``time.hour``); a page
    #       keeping the store's caching is fresh no longer (``freshness_cap``). Without it, or None: the
    #       store's caching as it is.

    async def on_response(self, flow: Flow) -> None:
        """The upstream's status and headers are in (any content type): e.g. capture a form post."""
        ...

    async def on_html(self, flow: Flow, html: bytes) -> bytes | None:
        """The decoded HTML body; return new bytes, or None to keep the original."""
        ...

    async def startup(self) -> None: ...

    async def shutdown(self) -> None: ...


class NullPersonalizer:
    """A transparent proxy: no identity, no rewriting."""

    def routes(self) -> Sequence[BaseRoute]:
        return ()

    async def on_request(self, flow: Flow) -> None:
        return None

    def wants_body(self, flow: Flow) -> bool:
        return False

    async def on_response(self, flow: Flow) -> None:
        return None

    async def on_html(self, flow: Flow, html: bytes) -> bytes | None:
        return None

    async def startup(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
