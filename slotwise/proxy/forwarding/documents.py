"""HTML, and full documents versus fragments: only a page a browser navigates to is personalized or tagged.

Only an answer whose ``Content-Type`` is HTML (``is_html``) goes the HTML way
at all; anything else (JSON, an image, a PDF) is streamed through untouched.

A store's scripts fetch HTML too (a mini basket, infinite scroll, htmx
swaps): tagging those would run the tag again on every insertion, and
buffering them would make them uncacheable. Two checks, both cheap:

* before the body (``fragment_request``): the request says a script asked
  (``X-Requested-With``, ``HX-Request``) or the browser says it is not a
  navigation (``Sec-Fetch-Dest`` other than ``document``);
* on the body (``is_document``): an empty body, or one without an
  ``<html>``/``<body>`` tag or the HTML doctype, is a fragment.
"""

from __future__ import annotations

import re
from typing import Protocol

_HTML_TYPES = (b"text/html", b"application/xhtml+xml")
_DOCUMENT = re.compile(rb"<(?:html|body)[\s/>]|<!doctype\s+html", re.IGNORECASE)


class _HasHeaders(Protocol):
    def header(self, name: str, default: str | None = None) -> str | None: ...


def is_html(content_type: bytes | None) -> bool:
    """Whether an answer with this ``Content-Type`` is a page the proxy may rewrite (no type: it is not)."""
    if not content_type:
        return False
    return content_type.split(b";", 1)[0].strip().lower() in _HTML_TYPES


def fragment_request(flow: _HasHeaders) -> str | None:
    """Why this request asks for a fragment rather than a page, or None for a navigation."""
    if flow.header("x-requested-with"):
        return "x-requested-with"
    if (flow.header("hx-request") or "").strip().lower() == "true":
        return "hx-request"
    dest = (flow.header("sec-fetch-dest") or "").strip().lower()
    if dest and dest != "document":
        return f"sec-fetch-dest: {dest}"
    return None


def is_document(html: bytes, charset: str = "utf-8") -> bool:
    """Whether the decoded body is a full HTML document (not empty, not a fragment)."""
    if not html or html.isspace():  # (not ``strip()``: that copies the whole page)
        return False
    if _DOCUMENT.search(html):
        return True
    from slotwise.proxy.forwarding.encoding import ascii_compatible

    if ascii_compatible(charset):
        return False
    text = html.decode(charset, "replace")
    return _DOCUMENT.search(text.encode("utf-8", "replace")) is not None
