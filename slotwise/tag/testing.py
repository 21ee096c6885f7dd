"""Test factories for the tag (shipped with the code, like mitmproxy's ``tflow``).

``make_app`` builds a tiny Starlette app: a page with the tag, a popup
template and a personalized element, plus the tag API under ``/_sw``. Run
``python -m slotwise.tag.testing --db PATH --port N`` to serve it from a
subprocess (the kill -9 durability test does).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import socket
import threading
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Coroutine, Iterator, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route

from slotwise.store.base import Store
from slotwise.tag.api import TagAPI
from slotwise.tag.assets import script_tag

POPUP = """<template data-sw-popup="exit-coupon" data-sw-trigger="exit-intent" data-sw-decision="d-popup-1">
<h2>Wait! 10% off</h2><p>Sign up for our newsletter and get a coupon.</p>
<form data-sw-signup><label>E-mail <input type="email" name="email" required></label>
<button type="submit">Get my coupon</button></form></template>"""

PRODUCT_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Trail Runner</title></head>
<body data-page="product">
<nav class="category-nav"><ul><li data-category="shoes"><a href="/c/shoes">Shoes</a></li>
<li data-category="socks"><a href="/c/socks">Socks</a></li><li data-category="hats"><a href="/c/hats">Hats</a></li></ul></nav>
<main class="product" data-product-id="p1" data-category="shoes"><h1>Trail Runner</h1>
<form class="add-to-cart" method="post" action="/cart/add" data-product-id="p1" data-category="shoes" data-price="89.5" data-name="Trail Runner">
<input type="hidden" name="product_id" value="p1"><select name="size" id="size"><option value="">Choose a size</option>
<option value="42">42</option><option value="43">43</option><option value="44" disabled>44</option></select>
<input name="qty" type="number" value="2"><button type="submit">Add to cart</button></form>
<section class="related" data-sw-decision="d-rec-1" data-sw-slot="recommendations" style="min-height:200px">
<h2>You may also like</h2><a class="rec" href="/p/p2">Wool socks</a></section>
<div style="height:1500px"></div>
<section class="below" data-sw-decision="d-below-1" data-sw-slot="below" style="height:200px">far below</section>
</main>
__POPUP__
__TAG__
</body></html>"""


SECRET = "test-secret"
ADMIN_TOKEN = "admin-token-for-tests"

T = TypeVar("T")
_pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)


def sync(coro: Coroutine[Any, Any, T]) -> T:
    """Runs a store coroutine from sync test code (in a thread: safe next to Playwright's loop)."""
    return _pool.submit(asyncio.run, coro).result()


def event(type_: str, props: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"type": type_, "event_id": uuid.uuid4().hex, "ts": time.time(), "props": props or {}, **extra}


class Clock:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """A uvicorn server in a thread serving an ASGI app on 127.0.0.1."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.time() + 10
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


class SyncASGITransport:
    """A sync httpx transport over an ASGI app, on an event loop in a thread.

    Like starlette's TestClient (deprecated with httpx) but without lifespan;
    background tasks the app starts keep running until ``close``.
    """

    def __init__(self, app: Any) -> None:
        import anyio.from_thread
        import httpx

        self._cm = anyio.from_thread.start_blocking_portal()
        self.portal = self._cm.__enter__()
        self.inner = httpx.ASGITransport(app=app)

    def handle_request(self, request: Any) -> Any:
        import httpx

        async def send() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            response = await self.inner.handle_async_request(request)
            body = b"".join([chunk async for chunk in response.stream])  # type: ignore[union-attr]
            return response.status_code, response.headers.raw, body

        status, headers, body = self.portal.call(send)
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body), request=request)

    def close(self) -> None:
        self._cm.__exit__(None, None, None)


def asgi_client(app: Any, base_url: str = "http://shop.test") -> Any:
    """An ``httpx.Client`` calling ``app`` in-process (close it when done)."""
    import httpx

    transport = SyncASGITransport(app)
    client = httpx.Client(transport=transport, base_url=base_url)  # type: ignore[arg-type]
    original_close = client.close

    def close() -> None:
        original_close()
        transport.close()

    client.close = close  # type: ignore[method-assign]
    return client


def make_app(api: TagAPI, *, page: str = PRODUCT_PAGE, popup: str = POPUP, tag: str | None = None) -> Starlette:
    """The test storefront: ``/p/p1`` (a product page), ``/cart/add`` (303 back), the API under ``/_sw``."""

    async def product(request: Request) -> HTMLResponse:
        html = page.replace("__POPUP__", popup if request.query_params.get("popup", "1") == "1" else "")
        return HTMLResponse(html.replace("__TAG__", tag if tag is not None else script_tag(None)))

    async def cart_add(request: Request) -> HTMLResponse:
        return HTMLResponse("<!doctype html><body data-page=cart>added</body>", status_code=200)

    async def blank(request: Request) -> HTMLResponse:
        return HTMLResponse("<!doctype html><title>blank</title><body data-page=home>blank</body>")

    return Starlette(
        routes=[
            Route("/p/p1", product),
            Route("/cart/add", cart_add, methods=["POST"]),
            Route("/blank", blank),
            Mount("/_sw", routes=api.routes()),
        ],
        lifespan=_lifespan(api),
    )


def _lifespan(api: TagAPI) -> Any:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await api.startup()
        try:
            yield
        finally:
            await api.shutdown()

    return lifespan


def _serve(argv: list[str] | None = None) -> None:
    import uvicorn

    from slotwise.proxy.config import Settings
    from slotwise.proxy.personalization.identity import VisitorCookies
    from slotwise.store.sqlite import SQLiteStore

    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", default="test-secret")
    args = parser.parse_args(argv)
    settings = Settings(secret=args.secret, data=str(Path(args.db).parent))
    store: Store = SQLiteStore(Path(args.db))  # type: ignore[assignment]
    api = TagAPI(settings, store, VisitorCookies(args.secret.encode()), webhook="")
    uvicorn.run(make_app(api), host="127.0.0.1", port=args.port, log_level="warning")


def main(argv: Any = None) -> None:
    _serve(argv)


if __name__ == "__main__":
    main()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextlib.contextmanager
def chromium(*args: str) -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright (never a downloaded browser), with ``args`` added
    (``--host-resolver-rules=MAP *.shop.test 127.0.0.1``: one site's hostnames on this machine).

    Raises ``FileNotFoundError`` when it is not installed: tests skip on that, or fail when ``CI``
    is set (``tests/real_parts.py``).
    """
    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(f"Debian chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *args])
        try:
            yield browser
        finally:
            browser.close()
