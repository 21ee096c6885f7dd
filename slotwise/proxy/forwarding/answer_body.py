"""The store's answer to a captured request, read whole when it is small JSON: ``response.json`` in the rules.

Some stores answer an AJAX form post 200 whether they took it or not and say
which in the JSON body (Magento's add to cart: ``[]``, or ``{"backUrl": ...}``
when it refused). The proxy then reads such an answer before it streams it
on — only for a request a capture source reading ``response.json`` matched,
only an answer that may be JSON, at most ``MAX_ANSWER`` bytes (a longer one
streams on as it came, and ``response.json`` is none). The visitor gets the
very bytes the store sent.

An answer may be JSON under a JSON type, or under the type a server sends when
the code names none: PHP's default ``text/html`` (PrestaShop's
``Controller::ajaxRender`` echoes its cart's JSON so), or ``text/plain``. Such
a body is JSON only if it parses as JSON; an HTML page does not.
"""

from __future__ import annotations

import json
from typing import Any, AsyncIterator

from slotwise.proxy.forwarding.encoding import decode
from slotwise.proxy.forwarding.errors import DecodeError

MAX_ANSWER = 64 * 1024


def is_json(content_type: str | None) -> bool:
    """``application/json``, ``text/json`` or a ``+json`` type (``application/problem+json``)."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    return kind in ("application/json", "text/json") or kind.endswith("+json")


UNTYPED = ("text/html", "text/plain")
"""The types a server sends when its code set none (PHP's ``default_mimetype``, most frameworks' text default):
an AJAX handler's JSON comes under them (PrestaShop's cart answers)."""


def may_be_json(content_type: str | None) -> bool:
    """A JSON type, or an untyped one (``UNTYPED``) whose body is then JSON only if it parses as JSON."""
    return is_json(content_type) or (content_type or "").split(";", 1)[0].strip().lower() in UNTYPED


async def read_answer(body: AsyncIterator[bytes], limit: int = MAX_ANSWER) -> tuple[bytes | None, AsyncIterator[bytes]]:
    """The whole body when it is at most ``limit`` bytes (else None), and the body to send on: the same bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in body:
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None, _replay(chunks, body)
    return b"".join(chunks), _replay(chunks, None)


async def _replay(chunks: list[bytes], rest: AsyncIterator[bytes] | None) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
    if rest is not None:
        async for chunk in rest:
            yield chunk


def parse_answer(raw: bytes | None, content_encoding: str | None) -> Any:
    """The answer's JSON value, or None when it is none (too long, not decodable, not JSON)."""
    if raw is None:
        return None
    try:
        text = decode(raw, content_encoding, MAX_ANSWER * 8) if content_encoding else raw
        return json.loads(text)
    except (DecodeError, ValueError):
        return None
