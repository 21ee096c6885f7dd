"""The HTML path: buffer, decode, let the personalizer rewrite, re-encode.

Only pages the personalizer asked for get here. Whatever goes wrong on this
path (encoding it cannot undo, a page over ``max_html_bytes``, a personalizer
exception or a blown time budget) serves the origin's bytes and headers
unchanged. A body that breaks off while buffering is a 502 (nothing was sent
yet), unlike the streaming path, which can only abort.

Range requests: a 206 never comes here (a partial page cannot be rewritten),
so ranges of an HTML page are served exactly as the origin gives them; a
personalized 200 drops ``Accept-Ranges``/``ETag``/``Last-Modified`` so that no
client later asks for a range or revalidates against bytes it never got.
"""

from __future__ import annotations

from typing import AsyncIterator

from .config import Settings
from .encoding import decode, encode, sniff_charset
from .errors import DecodeError
from .flow import Flow
from .forward_safe import SafePersonalizer
from .forward_stream import Responder, stream
from .headers import Headers, first, personalized, rewritten

_HTML_TYPES = (b"text/html", b"application/xhtml+xml")


def is_html(content_type: bytes | None) -> bool:
    if not content_type:
        return False
    return content_type.split(b";", 1)[0].strip().lower() in _HTML_TYPES


class HtmlRewriter:
    def __init__(self, settings: Settings, personalizer: SafePersonalizer) -> None:
        self.limit = settings.max_html_bytes
        self.safe = personalizer

    async def respond(
        self, out: Responder, flow: Flow, headers: Headers, chunks: AsyncIterator[bytes], extra: Headers
    ) -> None:
        declared = first(headers, b"content-length")
        if declared and declared.isdigit() and int(declared) > self.limit:
            await stream(out, None, flow.status, headers + extra, chunks)
            return
        parts: list[bytes] = []
        size = 0
        iterator = chunks.__aiter__()
        async for chunk in iterator:
            parts.append(chunk)
            size += len(chunk)
            if size > self.limit:  # too big to rewrite: send what we have, stream the rest
                await stream(out, None, flow.status, headers + extra, iterator, head=b"".join(parts))
                return
        raw = b"".join(parts)
        body, headers = await self._personalize(flow, raw, headers)
        await out.start(flow.status, headers + self._extra(flow, extra))
        await out.body(body)

    @staticmethod
    def _extra(flow: Flow, extra: Headers) -> Headers:
        # on_html may have added headers (e.g. a cookie) after on_request
        return extra + [
            (n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in flow.extra_headers[len(extra):]
        ]

    async def _personalize(self, flow: Flow, raw: bytes, headers: Headers) -> tuple[bytes, Headers]:
        """The new body and headers, or the original ones whenever anything fails."""
        content_encoding = first(headers, b"content-encoding")
        coding = content_encoding.decode("latin-1") if content_encoding else None
        try:
            html = decode(raw, coding, self.limit)
        except DecodeError as exc:
            self.safe.fail(flow, "decode", exc)
            return raw, headers
        ctype = first(headers, b"content-type")
        flow.charset = sniff_charset(html, ctype.decode("latin-1") if ctype else None)
        new = await self.safe.on_html(flow, html)
        if new is None or new == html:
            return raw, headers
        body = encode(new, coding)
        if flow.state.get("same_for_everyone"):
            return body, rewritten(headers, len(body))
        flow.personalized = True
        return body, personalized(headers, len(body))
