"""The tag's script file: served content-hashed and immutable, and the tag that loads it.

``/_sw/tag.<hash>.js`` is cached for a year (its name changes with its
content); ``/_sw/tag.js`` (for hand-written embeds) is cached five minutes.
Both are served gzip-compressed to clients that accept it.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import re
from functools import lru_cache
from importlib.resources import files
from typing import Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PREFIX = "/_sw"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"


_TRAILING_COMMENT = re.compile(r"([;{},)]) // [^'\"/\n]*$", re.MULTILINE)


def compact(source: str) -> str:
    """Drops indentation, blank lines and ``//`` comments (whole-line, or after code
    ending in ``; { } , )``): the source stays readable, the wire copy small. Not a
    minifier: tag.js is written so that this is safe (no multi-line strings)."""
    lines = (line.strip() for line in source.splitlines())
    kept = "\n".join(line for line in lines if line and not line.startswith("//"))
    return _TRAILING_COMMENT.sub(r"\1", kept) + "\n"


@lru_cache(maxsize=1)
def _asset() -> tuple[bytes, bytes, str]:
    source = compact(files("slotwise.tag").joinpath("tag.js").read_text("utf-8")).encode("utf-8")
    return source, gzip.compress(source, 9, mtime=0), hashlib.sha256(source).hexdigest()[:12]


def tag_source() -> bytes:
    return _asset()[0]


def content_hash() -> str:
    return _asset()[2]


def tag_url(prefix: str = PREFIX) -> str:
    """The immutable URL of the current tag, e.g. ``/_sw/tag.3f2a9c1b0d4e.js``."""
    return f"{prefix}/tag.{content_hash()}.js"


def script_tag(nonce: str | None = None, *, data: Mapping[str, str] | None = None, prefix: str = PREFIX) -> str:
    """The ``<script>`` element the proxy injects into every HTML page.

    ``data`` becomes ``data-*`` attributes (``{"antiflicker-ms": "300"}``);
    the endpoint defaults to ``prefix``. A CSP nonce found in the page is copied.
    """
    attrs = {"endpoint": prefix, **(data or {})}
    parts = [f'src="{html.escape(tag_url(prefix))}"', "defer"]
    parts += [f'data-{html.escape(k)}="{html.escape(str(v))}"' for k, v in attrs.items() if re.fullmatch(r"[a-z][a-z0-9-]*", k)]
    if nonce:
        parts.append(f'nonce="{html.escape(nonce)}"')
    return f"<script {' '.join(parts)}></script>"


def embed_snippet(endpoint: str = PREFIX, antiflicker_ms: int = 300) -> str:
    """The one-line tag-only embed for ``<head>``: hides the body at most ``antiflicker_ms``
    while the tag asks ``/decide`` for the page's slots (docs/tag.md)."""
    if not re.fullmatch(r"(https?://[A-Za-z0-9.:-]+)?(/[A-Za-z0-9._~-]+)*", endpoint):
        raise ValueError(f"endpoint must be a plain URL path or http(s) origin + path, not {endpoint!r}")
    src = f"{endpoint}/tag.js"
    return (
        "<script>!function(d,t,a,j){a=d.createElement('style');a.id='sw-af';"
        "a.textContent='body{opacity:0!important}';d.head.appendChild(a);setTimeout(function(){a.remove()},t);"
        f"j=d.createElement('script');j.src='{src}';j.async=1;j.dataset.mode='decide';"
        f"j.dataset.endpoint='{endpoint}';"
        f"j.dataset.antiflickerMs=t;d.head.appendChild(j)}}(document,{int(antiflicker_ms)})</script>"
    )


_NONCE_RE = re.compile(rb"<script\b[^>]*?\snonce\s*=\s*(?:\"([^\"<>]+)\"|'([^'<>]+)'|([^\s\"'<>=`]+))", re.IGNORECASE)


def find_csp_nonce(page: bytes) -> str | None:
    """The nonce of the page's first ``<script nonce=...>``, to reuse for our script."""
    match = _NONCE_RE.search(page)
    if not match:
        return None
    value = next(g for g in match.groups() if g)
    try:
        nonce = value.decode("ascii")
    except UnicodeDecodeError:
        return None
    return nonce if re.fullmatch(r"[A-Za-z0-9+/=_-]{1,128}", nonce) else None


def _serve(request: Request, cache_control: str) -> Response:
    source, compressed, digest = _asset()
    etag = f'"{digest}"'
    headers = {
        "cache-control": cache_control,
        "etag": etag,
        "vary": "Accept-Encoding",
        "x-content-type-options": "nosniff",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["content-encoding"] = "gzip"
        return Response(compressed, media_type="text/javascript; charset=utf-8", headers=headers)
    return Response(source, media_type="text/javascript; charset=utf-8", headers=headers)


async def tag_js(request: Request) -> Response:
    return _serve(request, SHORT)


async def tag_js_hashed(request: Request) -> Response:
    if request.path_params["digest"] != content_hash():
        # an old page asking for the tag it was built with: the current one, briefly cached
        return _serve(request, SHORT)
    return _serve(request, IMMUTABLE)


def routes() -> list[Route]:
    """Routes relative to the ``/_sw`` mount."""
    return [
        Route("/tag.js", tag_js, methods=["GET", "HEAD"]),
        Route("/tag.{digest:str}.js", tag_js_hashed, methods=["GET", "HEAD"]),
    ]
