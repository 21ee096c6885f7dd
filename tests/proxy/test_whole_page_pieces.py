"""A page that arrives whole (its last piece ends the body before anything was sent) skips the piece-by-piece
decoding for that piece: what the visitor gets is exactly what the piece-by-piece path gives."""

from __future__ import annotations

import asyncio
import gzip
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sw_upstreams import Rewriter

from slotwise.proxy.config import Settings
from slotwise.proxy.flow import Flow
from slotwise.proxy.forwarding.forward_html import HtmlRewriter
from slotwise.proxy.forwarding.forward_safe import SafePersonalizer
from slotwise.proxy.forwarding.forward_stream import Responder

PAGE = b"<!doctype html><html><head><title>t</title></head><body><h1>Shop</h1>" + b"<p>item</p>" * 400 + b"</body></html>"
LIMIT = 64 * 1024


class Streaming(Rewriter):
    def edit_selectors(self, flow: Any) -> list[str]:
        return ["h1"]


class Pieces:
    """An origin's body in pieces; ``at_end`` as ``Upstream`` has it (or not at all: ``knows_end``)."""

    def __init__(self, pieces: list[bytes], knows_end: bool) -> None:
        self.pieces = list(pieces)
        if knows_end:
            self.at_end = lambda: not self.pieces

    def __aiter__(self) -> "Pieces":
        return self

    async def __anext__(self) -> bytes:
        if not self.pieces:
            raise StopAsyncIteration
        return self.pieces.pop(0)


def serve(pieces: list[bytes], coding: str | None, knows_end: bool, personalizer: Any) -> tuple[list[Any], list[str]]:
    sent: list[Any] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append((message["type"], message.get("status"), message.get("headers"), message.get("body")))

    safe = SafePersonalizer(personalizer, 5000.0)
    html = HtmlRewriter(Settings(upstream="http://127.0.0.1:1", max_html_bytes=LIMIT, html_hold_ms=50), safe)
    headers = [(b"content-type", b"text/html; charset=utf-8")] + ([(b"content-encoding", coding.encode())] if coding else [])
    flow = Flow(method="GET", path="/", query_string="", headers=[], client_ip="", scheme="http", public_host="x")
    flow.status = 200
    asyncio.run(html.respond(Responder(send), flow, headers, Pieces(pieces, knows_end), []))
    return sent, [f for f in flow.state if f == "sw_failed"]


def cut(data: bytes, at: list[int]) -> list[bytes]:
    points = sorted({min(len(data), a) for a in at} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:])] or [b""]


BODIES = {
    "identity": (PAGE, None),
    "gzip": (gzip.compress(PAGE), "gzip"),
    "gzip, cut short": (gzip.compress(PAGE)[:-30], "gzip"),  # stops decoding: the origin's bytes go out
    "gzip bomb": (gzip.compress(b"<html><body><h1>Shop</h1>" + b" " * (4 * LIMIT)), "gzip"),  # decodes past the limit
    "identity, too big": (PAGE * 20, None),
}


@settings(max_examples=40, deadline=None)
@given(body=st.sampled_from(sorted(BODIES)), at=st.lists(st.integers(1, 8000), max_size=3),
       streaming=st.booleans())
def test_a_whole_page_goes_out_as_the_piece_by_piece_path_sends_it(body: str, at: list[int], streaming: bool) -> None:
    data, coding = BODIES[body]
    pieces = cut(data, at)
    kind = Streaming if streaming else Rewriter
    told, failed_told = serve(pieces, coding, True, kind())
    scanned, failed_scanned = serve(pieces, coding, False, kind())
    assert told == scanned
    assert failed_told == failed_scanned
    if body == "identity":
        assert b"<h1>Hello</h1>" in b"".join(m[3] or b"" for m in told)


class Counting(Streaming):
    """Counts the times the HTML path asks for the page's edit selectors (it builds its scan from them)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    def edit_selectors(self, flow: Any) -> list[str]:
        self.asked += 1
        return super().edit_selectors(flow)


def test_only_a_page_not_whole_in_its_first_piece_is_made_ready_to_stream() -> None:
    """The scan for what could go out early (the selectors asked, the guard, the decoder) is made only
    for a page whose first piece does not end the body: a page that comes whole costs none of it."""
    whole, pieces = Counting(), Counting()
    sent_whole, _ = serve([PAGE], None, True, whole)
    sent_pieces, _ = serve(cut(PAGE, [3000]), None, True, pieces)
    assert whole.asked == 0 and pieces.asked == 1
    assert b"".join(m[3] or b"" for m in sent_whole) == b"".join(m[3] or b"" for m in sent_pieces)
    assert b"<h1>Hello</h1>" in b"".join(m[3] or b"" for m in sent_whole)


class Arrived(Pieces):
    """Every piece is in (``arrived``), but the second is handed out late: the loop was busy, not the origin."""

    def __init__(self, pieces: list[bytes], all_in: bool) -> None:
        super().__init__(pieces, True)
        self.all_in = all_in

    def arrived(self) -> bool:
        return self.all_in

    async def __anext__(self) -> bytes:
        if len(self.pieces) == 1:
            await asyncio.sleep(0.2)  # past the 50 ms hold
        return await super().__anext__()


@pytest.mark.parametrize("all_in", [True, False])
def test_a_page_all_in_when_its_hold_runs_out_is_not_streamed(all_in: bool) -> None:
    """The hold is for an origin that pauses; when it runs out with every byte of the page already come
    (its pieces only waiting for a busy loop), streaming gains nothing: the page goes out whole, with
    its length. A page still arriving streams as before."""
    sent: list[Any] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    safe = SafePersonalizer(Streaming(), 5000.0)
    html = HtmlRewriter(Settings(upstream="http://127.0.0.1:1", max_html_bytes=LIMIT, html_hold_ms=50), safe)
    flow = Flow(method="GET", path="/", query_string="", headers=[], client_ip="", scheme="http", public_host="x")
    flow.status = 200
    body = Arrived(cut(PAGE, [3000]), all_in)
    asyncio.run(html.respond(Responder(send), flow, [(b"content-type", b"text/html; charset=utf-8")], body, []))
    head = dict(sent[0]["headers"])
    page = b"".join(m.get("body", b"") for m in sent[1:])
    assert b"<h1>Hello</h1>" in page and page.replace(b"<h1>Hello</h1>", b"<h1>Shop</h1>") == PAGE
    assert ("streamed" in flow.state) is not all_in
    assert (b"content-length" in head) is all_in
