"""Non-HTML endpoints: the product feed, the big streamed CSV, a health check."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from . import feeds
from .pages import base_url, demo_of


async def feed_json(request: Request) -> Response:
    """Same for everyone, so cacheable (and no session cookie is set)."""
    body = feeds.feed(demo_of(request).catalog, base_url(request))
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=300"})


async def catalog_csv(request: Request) -> Response:
    return StreamingResponse(
        feeds.catalog_csv(demo_of(request).catalog),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="catalog.csv"', "Cache-Control": "no-cache"},
    )


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok", headers={"Cache-Control": "no-store"})
