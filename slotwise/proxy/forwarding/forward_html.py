"""The HTML path: decode, let the personalizer rewrite, re-encode — sending early what no edit can touch.

Only pages the personalizer asked for get here. The personalizer decides on
the whole page, but a store flushes its ``<head>`` early so that CSS and
scripts start loading; holding the page until its last byte would throw that
away. So, as the page arrives:

* A page that arrives whole without a pause (``html_hold_ms``) is handled in
  one piece: decoded, rewritten, re-encoded, sent with a ``Content-Length``,
  ``Server-Timing``, and the origin's caching headers when the page came out
  the same for everyone.
* A page that pauses (a trickled page, an early-flushed head) starts
  *streaming*: once the first bytes show a full document (an ``<html>`` or
  ``<body>`` tag, or the HTML doctype) and the charset is settled, everything
  before the first byte an edit could touch (``stream_guard``) is sent at
  once and as it comes; the rest is held until the page is complete, then
  ``on_html`` sees the whole page and only the held part is rewritten. The
  head goes out before any decision, so it is conservative: ``private,
  no-cache``, ``Vary: Cookie``, no validators, no length, and the cookies the
  personalizer already knows (``on_stream``); there is no ``Server-Timing``.
  An edit that would touch bytes already sent is not applied (the rewriter's
  ``frozen``), and if ``on_html`` returns bytes that differ in the sent part
  anyway, the held part goes out as the origin wrote it (fail open).

What is not a full document passes through untouched, with its caching: an
empty body, or one with no ``<html>``/``<body>``/doctype (a fragment a script
fetched). Whatever goes wrong before the first byte was sent (a coding we
cannot undo, a page over ``max_html_bytes``, a personalizer exception, the
time budget) serves the origin's bytes and headers unchanged; after it, the
body goes on unchanged from there, or, if the origin's body breaks off or
stops decoding, the connection is aborted (never a clean end of a cut page).

Range requests: a 206 never comes here (a partial page cannot be rewritten),
so ranges of an HTML page are served exactly as the origin gives them; a
personalized 200 drops ``Accept-Ranges``/``ETag``/``Last-Modified`` so that no
client later asks for a range or revalidates against bytes it never got.
"""

from __future__ import annotations

import asyncio
import time
from typing import AsyncIterator, Callable, Iterator

from slotwise.proxy.config import Settings
from slotwise.proxy.forwarding.documents import is_document
from slotwise.proxy.forwarding.encoding import Decoder, Encoder, ascii_compatible, decided_charset, decode, encode, sniff_charset, streamable
from slotwise.proxy.forwarding.errors import DecodeError, UpstreamBodyError
from slotwise.proxy.flow import Flow, PersonalizationError
from slotwise.proxy.forwarding.forward_safe import SafePersonalizer
from slotwise.proxy.forwarding.forward_stream import Receive, Responder, stream, until_gone
from slotwise.proxy.forwarding.headers import Headers, first, personalized, personalized_kept, rewritten, with_ours
from slotwise.proxy.forwarding.stream_guard import StreamGuard

_HOLD_CAP = 20  # a page still arriving this many holds after its first sendable bytes streams anyway
_RELEASE_FACTOR = 8  # a streamed page may decode to this many times max_html_bytes, then it is cut


def _never() -> bool:
    return False


class HtmlRewriter:
    def __init__(self, settings: Settings, personalizer: SafePersonalizer) -> None:
        self.limit = settings.max_html_bytes
        self.hold: float | None = settings.html_hold_ms / 1000.0 if settings.html_hold_ms >= 0 else None
        self.safe = personalizer

    async def respond(
        self, out: Responder, flow: Flow, headers: Headers, chunks: AsyncIterator[bytes], extra: Headers,
        receive: Receive | None = None,
    ) -> None:
        gone = until_gone(chunks, receive) if receive is not None else None
        if gone is not None:
            chunks = gone  # a client that leaves ends the page, even one still held
        try:
            declared = first(headers, b"content-length")
            if declared and declared.isdigit() and (int(declared) > self.limit or int(declared) == 0):
                headers = self.safe.capped(flow, headers)  # too big, or empty: untouched
                await stream(out, None, flow.status, with_ours(headers, extra), chunks)
                return
            await _Page(self, out, flow, headers, extra).run(chunks)
        finally:
            if gone is not None:
                gone.close()

    async def personalize(
        self, flow: Flow, raw: bytes, headers: Headers, html: bytes | None = None,
        facts: DocumentFacts | None = None, kept: dict[str, Headers] | None = None,
    ) -> tuple[bytes, Headers]:
        """The new body and headers of a whole page, or the original ones whenever anything fails.

        ``html``: the decoded page when the caller already has it; ``facts``: its ``document_facts``
        when the caller keeps them (a stored page); ``kept``: a stored copy's dict for the headers
        derived from its own (``personalized_kept``: ``headers`` then differ between its visitors
        only in ``Age``).
        """
        content_encoding = first(headers, b"content-encoding")
        coding = content_encoding.decode("latin-1") if content_encoding else None
        if html is None:
            try:
                html = decode(raw, coding, self.limit)
            except DecodeError as exc:
                self.safe.fail(flow, "decode", exc)
                return raw, headers
        charset, document = facts if facts is not None else document_facts(html, first(headers, b"content-type"))
        flow.charset = charset
        if not document:
            return raw, headers  # empty, or a fragment: not ours to tag or personalize
        new = await self.safe.on_html(flow, html)
        if new is None or new == html:
            return raw, self.safe.capped(flow, headers)
        body = encode(new, coding)
        if flow.state.get("same_for_everyone"):  # the store's caching, until the rules' next edge (window, clock)
            return body, self.safe.capped(flow, rewritten(headers, len(body)))
        flow.personalized = True
        if kept is not None:
            return body, personalized_kept(headers, len(body), kept)
        return body, personalized(headers, len(body))


DocumentFacts = tuple[str, bool]
"""A decoded page's charset, and whether it is a full document (not empty, not a fragment)."""


def document_facts(html: bytes, content_type: bytes | None) -> DocumentFacts:
    """What ``HtmlRewriter.personalize`` reads of a page before personalizing it: a function of the
    page and its ``Content-Type`` alone, so a stored page's are kept with it."""
    charset = sniff_charset(html, content_type.decode("latin-1") if content_type else None)
    return charset, is_document(html, charset)


def extra_headers(flow: Flow, extra: Headers) -> Headers:
    """``extra`` plus what the personalizer added to the flow since (e.g. a cookie)."""
    return extra + [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in flow.extra_headers[len(extra):]]


class _Page:
    """One HTML response on its way: held, then maybe streamed (see the module docstring)."""

    def __init__(self, owner: HtmlRewriter, out: Responder, flow: Flow, headers: Headers, extra: Headers) -> None:
        self.owner, self.out, self.flow, self.headers, self.extra = owner, out, flow, headers, extra
        self.safe = owner.safe
        self.limit = owner.limit
        ctype, coding = first(headers, b"content-type"), first(headers, b"content-encoding")
        self.ctype = ctype.decode("latin-1") if ctype else None
        self.coding = coding.decode("latin-1") if coding else None
        self.raw: list[bytes] = []
        self.raw_size = 0
        self.guard: StreamGuard | None = None  # made when the page does not come whole (``_may_stream``)
        self.decoder: Decoder | None = None
        self.may_stream = owner.hold is not None and streamable(self.coding)
        self.encoder: Encoder | None = None
        self.decoded = bytearray()
        self.charset: str | None = None
        self.sent = 0
        self.started = False
        self.whole = False  # the body ended before anything was sent: ``raw`` is the page
        self.sendable_since: float | None = None

    # -- the loop ----------------------------------------------------------------------

    async def run(self, chunks: AsyncIterator[bytes]) -> None:
        iterator = chunks.__aiter__()
        at_end: Callable[[], bool] = getattr(iterator, "at_end", _never)  # the origin's body says it is all in
        arrived: Callable[[], bool] = getattr(iterator, "arrived", _never)  # all in, maybe not all handed out
        pending: asyncio.Future[bytes] | None = None
        try:
            while True:
                wait = self._hold_for()
                if wait is not None and wait <= 0:
                    if not arrived():  # (a page whose every byte is here has nothing to gain from streaming)
                        await self._start()
                    wait = None
                if wait is None:
                    try:
                        chunk = await iterator.__anext__()
                    except StopAsyncIteration:
                        break
                else:  # something could go out now: wait for more a little, else send it
                    pending = asyncio.ensure_future(iterator.__anext__())
                    done, _ = await asyncio.wait({pending}, timeout=wait)
                    if not done and not arrived():  # the origin paused (not the loop, busy with other pages)
                        await self._start()
                    try:
                        chunk = await pending
                    except StopAsyncIteration:
                        break
                    finally:
                        pending = None
                if not self.started and at_end():  # the page is whole: nothing to send early, so no scan
                    if await self._take(chunk, iterator, last=True):  # for it, no wait, and no decoding piece
                        return  # by piece either (``personalize`` decodes it in one go, or it has no coding)
                    break
                if self.may_stream:
                    self._may_stream()
                if await self._take(chunk, iterator):
                    return
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
        await self._finish()

    def _may_stream(self) -> None:
        """The page did not come whole in its first piece: from now on it is scanned for what could go
        out early (a page that comes whole, the usual case on a near origin, never asks the
        personalizer for its selectors nor builds the scan)."""
        self.may_stream = False
        selectors = self.safe.edit_selectors(self.flow)
        if selectors is not None:
            self.guard = StreamGuard(selectors)
            self.decoder = Decoder(self.coding)

    def _hold_for(self) -> float | None:
        """Seconds to wait for more before sending what is safe; None: nothing to send (or sending already)."""
        hold = self.owner.hold
        if self.started or self.guard is None or hold is None or not self._sendable():
            return None
        now = time.monotonic()
        if self.sendable_since is None:
            self.sendable_since = now
        return min(hold, self.sendable_since + _HOLD_CAP * hold - now) if hold > 0 else 0.0

    def _sendable(self) -> bool:
        """A document, its charset settled and readable byte-wise, and some bytes no edit can touch."""
        guard = self.guard
        assert guard is not None
        if self.charset is None:
            self.charset = decided_charset(bytes(self.decoded[:1024]), self.ctype)
            if self.charset is None:
                return False
            if not ascii_compatible(self.charset):
                self._stop_streaming()
                return False
            self.flow.charset = self.charset
        return guard.advance(self.decoded) > 0 and guard.document

    def _stop_streaming(self) -> None:
        """Back to holding the whole page (raw bytes are still all kept)."""
        self.guard = None
        self.decoder = None
        self.decoded = bytearray()

    async def _take(self, chunk: bytes, rest: AsyncIterator[bytes], last: bool = False) -> bool:
        """One more piece of the body; True when the response has been completed here.

        ``last``: the body ends with this piece, before anything was sent: it is only kept raw (the
        page goes out whole, decoded from ``raw``), and ``decoded`` is left behind for good."""
        if not self.started:
            self.raw.append(chunk)
            self.raw_size += len(chunk)
        if last:
            self.whole = True
        if self.guard is None or self.decoder is None or last:
            if self.raw_size > self.limit:  # too big to rewrite: send what we have, stream the rest
                headers = self.safe.capped(self.flow, self.headers)  # the store's page: as one too big by its length
                await stream(self.out, None, self.flow.status, with_ours(headers, extra_headers(self.flow, self.extra)),
                             rest, head=b"".join(self.raw))
                return True
            return False
        try:
            for piece in self.decoder.pieces(chunk):  # bounded pieces: a bomb stops at the limit
                self.decoded += piece
                if len(self.decoded) > self.limit:
                    break
        except DecodeError as exc:
            if self.started:
                raise UpstreamBodyError(f"the page stopped decoding: {exc}") from exc
            self._stop_streaming()  # the whole-page path will find the same error and serve the original
            return await self._take(b"", rest) if self.raw_size > self.limit else False
        if len(self.decoded) > self.limit:
            if not self.started:
                self._stop_streaming()
                return await self._take(b"", rest)
            await self._release(rest)
            return True
        if self.started:
            await self._send_safe()
        return False

    # -- streaming ---------------------------------------------------------------------

    async def _start(self) -> None:
        """The head goes out now, conservatively, then everything no edit can touch."""
        self.started = True
        self.raw = []
        self.safe.on_stream(self.flow)
        self.encoder = Encoder(self.coding)
        self.flow.state["streamed"] = True
        await self.out.start(self.flow.status, with_ours(personalized(self.headers, None), extra_headers(self.flow, self.extra)))
        await self._send_safe()

    async def _send_safe(self) -> None:
        assert self.guard is not None and self.encoder is not None
        end = self.guard.advance(self.decoded)
        if end > self.sent:
            data = self.encoder.feed(bytes(self.decoded[self.sent:end]))
            self.sent = end
            if data:
                await self.out.body(data, more=True)

    async def _release(self, rest: AsyncIterator[bytes]) -> None:
        """A streamed page over ``max_html_bytes``: no rewrite, the rest goes out as it comes.

        Re-encoded piece by piece, up to ``_RELEASE_FACTOR`` times the limit
        decoded: past that (a compression bomb behind a streamed head) the
        connection is aborted rather than inflating and re-compressing it all.
        """
        assert self.encoder is not None and self.decoder is not None
        await self.out.body(self.encoder.feed(bytes(self.decoded[self.sent:])), more=True)
        total, cap = len(self.decoded), _RELEASE_FACTOR * self.limit
        self.decoded = bytearray()

        async def send(pieces: Iterator[bytes]) -> None:
            nonlocal total
            for piece in pieces:
                total += len(piece)
                if total > cap:
                    raise UpstreamBodyError(f"the page decodes to more than {cap} bytes")
                await self.out.body(self.encoder.feed(piece), more=True)  # type: ignore[union-attr]

        try:
            await send(self.decoder.pieces(b""))  # what the last chunk left undecoded
            async for chunk in rest:
                await send(self.decoder.pieces(chunk))
            self.decoder.finish()
        except DecodeError as exc:
            raise UpstreamBodyError(f"the page stopped decoding: {exc}") from exc
        await self.out.body(self.encoder.finish())

    async def _finish(self) -> None:
        flow, out = self.flow, self.out
        if not self.started:
            html = None
            raw = b"".join(self.raw)
            if self.whole:  # the decoder did not see the last piece
                html = raw if self.decoder is not None and self.decoder.coding is None else None
            elif self.decoder is not None:
                try:
                    self.decoder.finish()
                    # no coding: the decoded bytes are the raw ones (one copy of the page, not two)
                    html = raw if self.decoder.coding is None else bytes(self.decoded)
                except DecodeError:
                    html = None  # personalize() decodes again, fails the same way and serves the original
            body, headers = await self.owner.personalize(flow, raw, self.headers, html)
            await out.start(flow.status, with_ours(headers, extra_headers(flow, self.extra)))
            await out.body(body)
            return
        assert self.decoder is not None and self.encoder is not None
        try:
            self.decoder.finish()
        except DecodeError as exc:
            raise UpstreamBodyError(f"the page ends cut: {exc}") from exc
        html = bytes(self.decoded)
        flow.html_sent = self.sent
        sent = self.sent

        def keeps_sent(new: bytes) -> None:
            if memoryview(new)[:sent] != memoryview(html)[:sent]:
                raise PersonalizationError("stream", "an edit touched bytes already sent")

        new = await self.safe.on_html(flow, html, check=keeps_sent)
        rest = html[self.sent:] if new is None else new[self.sent:]
        await out.body(self.encoder.finish(rest))
