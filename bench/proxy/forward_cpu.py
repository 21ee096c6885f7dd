"""The forwarding layer's own CPU per pass-through request, against a bare aiohttp client in the same run.

    python -m bench.proxy.forward_cpu [--requests 20000] [--concurrency 16] [--rounds 3] [--page-kb 120]
        [--path / | /chunked] [--cprofile FILE.prof]
    python -m bench.proxy.forward_cpu --canned [--requests 10000]   # the layer alone, no network
    python -m bench.proxy.forward_cpu --html [--uvloop] [--requests 5000]  # + the HTML path, a personalizer doing ~nothing

``slotwise serve`` without rules (the app ``create_app_from_env`` builds: the
real personalizer, no rules) runs in this process and is driven through its
ASGI interface by a minimal in-process "server" (no HTTP parsing, no socket to
the visitor), ``--concurrency`` requests at a time, with a browser's request
headers, in front of nginx serving a ~120 KB page on 127.0.0.1 (nginx is
another process: its CPU is not counted). The baseline, in the same rounds
(interleaved), is the least a proxy hop built on aiohttp can do: the same
GET with the same headers through one ``aiohttp.ClientSession``, the body
read to its end; between the two, our ``Upstream`` alone (the client seam:
``send`` + ``body``). The differences are what each layer costs on top of
the HTTP client; the end-to-end figures (server included) are
``bench.proxy.run``'s job.

``--html`` adds a fourth path: the same app built with a personalizer that
wants every page, names the bench rules' slot selectors (so a page may stream
its head, as with the real personalizer) and changes one tag name in it
(``OneEdit``: no rules, no store, no parse; the edited page is kept), so the
page goes the whole HTML path — held, decoded, handed to ``on_html``,
re-encoded, sent with the personalized headers — at next to no cost of its
own. Its difference to the pass-through path is what the
forwarding layer's HTML path costs outside personalization.

CPU is this process's (``time.process_time``), so other load on the machine
moves it less than wall time; the load average is printed with it.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import uvloop

from .page import storefront
from .run import BROWSER_UA, free_port, wait_port

NGINX = """
worker_processes 1; daemon off; pid {tmp}/nginx.pid; error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off; client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
    default_type text/html; charset utf-8; keepalive_requests 1000000; etag off;
    server {{ listen 127.0.0.1:{port}; root {tmp}/www; add_header Cache-Control "no-store" always;
             location / {{ try_files $uri /index.html; }}
             location = /chunked {{ ssi on; alias {tmp}/www/index.html; }} }}  # no length: chunked
}}
"""

REQUEST_HEADERS = [
    (b"host", b"shop.example"),
    (b"user-agent", BROWSER_UA.encode()),
    (b"accept", b"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"),
    (b"accept-language", b"en-GB,en;q=0.9"),
    (b"accept-encoding", b"gzip, deflate, br, zstd"),
    (b"connection", b"keep-alive"),
    (b"upgrade-insecure-requests", b"1"),
    (b"sec-fetch-dest", b"document"),
    (b"sec-fetch-mode", b"navigate"),
    (b"sec-fetch-site", b"none"),
    (b"sec-fetch-user", b"?1"),
    (b"cookie", b"_ga=GA1.1.123456789.1700000000; cart=abc123; sw_consent=1"),
]


def scope(path: str, headers: list[tuple[bytes, bytes]] = REQUEST_HEADERS) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": list(headers), "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080),
    }


MESSAGES = [0]  # ASGI body messages sent by the app, all requests


async def via_app(app: Any, path: str, headers: list[tuple[bytes, bytes]] = REQUEST_HEADERS) -> int:
    """One request through the ASGI app (no HTTP client); the bytes of body it sent."""
    sent = 0
    gone: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return await gone  # the visitor stays until the response is over

    async def send(message: dict[str, Any]) -> None:
        nonlocal sent
        if message["type"] == "http.response.body":
            sent += len(message.get("body", b""))
            MESSAGES[0] += 1

    await app(scope(path, headers), receive, send)
    gone.cancel()
    return sent


def via_aiohttp(session: Any, url: str) -> Callable[[], Awaitable[int]]:
    headers = [(n.decode(), v.decode()) for n, v in REQUEST_HEADERS if n not in (b"connection",)]

    async def one() -> int:
        async with session.get(url, headers=headers, allow_redirects=False) as response:
            size = 0
            async for chunk in response.content.iter_any():
                size += len(chunk)
            return size

    return one


async def measure(one: Callable[[], Awaitable[int]], requests: int, concurrency: int,
                  profiler: cProfile.Profile | None = None) -> tuple[float, int]:
    """CPU µs per request of this process, and the bytes of the last response."""
    queue = iter(range(requests))
    last = 0

    async def worker() -> None:
        nonlocal last
        for _ in queue:
            last = await one()

    gc_time = 0.0
    started = 0.0

    def collecting(phase: str, info: dict[str, Any]) -> None:
        nonlocal gc_time, started
        if phase == "start":
            started = time.process_time()
        else:
            gc_time += time.process_time() - started

    gc.callbacks.append(collecting)
    cpu = time.process_time()
    if profiler is not None:
        profiler.enable()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    if profiler is not None:
        profiler.disable()
    cpu = time.process_time() - cpu
    gc.callbacks.remove(collecting)
    if os.environ.get("SW_BENCH_GC"):
        print(f"   gc {gc_time * 1e6 / requests:.1f} µs/req", flush=True)
    return cpu * 1e6 / requests, last


def via_upstream(upstream: Any, path: str) -> Callable[[], Awaitable[int]]:
    """The same GET through ``Upstream`` (our client seam) alone: headers as the forwarding layer sends them."""
    from slotwise.proxy.forwarding.headers import upstream_request_headers

    headers = upstream_request_headers(REQUEST_HEADERS, upstream_host="127.0.0.1", client_ip="127.0.0.1",
                                       trusted=False, public_host="shop.example", scheme="http")

    async def one() -> int:
        response = await upstream.send("GET", path, headers, None, 60.0)
        try:
            size = 0
            async for chunk in response.body(60.0):
                size += len(chunk)
            return size
        finally:
            await response.aclose()

    return one


PATHS = ("aiohttp client alone (GET, body read)", "our Upstream alone (send + body)",
         "Slotwise forwarding (no rules), in-process ASGI", "Slotwise HTML path (OneEdit personalizer)")


class OneEdit:
    """A personalizer that wants every page and changes one tag name in it: the HTML path at ~no cost of its own."""

    def __init__(self) -> None:
        self.last: tuple[bytes, bytes] = (b"", b"")

    def routes(self) -> tuple[()]:
        return ()

    async def on_request(self, flow: Any) -> None:
        return None

    def wants_body(self, flow: Any) -> bool:
        return True

    def edit_selectors(self, flow: Any) -> list[str]:
        """Like the real personalizer's: the page may stream what comes before its slots."""
        return ["nav.category-nav ul, .category-tiles", "select#size", "section.related"]

    async def on_response(self, flow: Any) -> None:
        return None

    async def on_html(self, flow: Any, html: bytes) -> bytes | None:
        if html != self.last[0]:  # the edited page is kept: a compare, not a copy, per request
            self.last = (html, html.replace(b"<footer", b"<FOOTER", 1))
        return self.last[1]

    async def startup(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


async def run(args: argparse.Namespace, port: int, tmp: str) -> list[list[float]]:
    import aiohttp

    os.environ.update(SLOTWISE_UPSTREAM=f"http://127.0.0.1:{port}", SLOTWISE_DATA=str(Path(tmp) / "data"),
                      SLOTWISE_LOG_LEVEL="warning")
    os.environ.pop("SLOTWISE_RULES", None)
    from slotwise.proxy.app import create_app_from_env
    from slotwise.proxy.forwarding.upstream import Upstream

    app = create_app_from_env()
    await app.startup()
    html_app = None
    if args.html:
        from slotwise.proxy.app import create_app

        html_app = create_app(app.settings, OneEdit())  # type: ignore[arg-type]
        await html_app.startup()
    upstream = Upstream(app.settings)
    session = aiohttp.ClientSession(auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
                                    skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"))

    async def proxied() -> int:
        return await via_app(app, args.path)

    async def html_path() -> int:
        return await via_app(html_app, args.path)

    paths = [via_aiohttp(session, f"http://127.0.0.1:{port}{args.path}"), via_upstream(upstream, args.path), proxied]
    if html_app is not None:
        paths.append(html_path)
    try:
        sizes = [await one() for one in paths]
        assert len(set(sizes)) == 1 and sizes[0] > 100_000, sizes
        warm = max(200, args.requests // 10)
        for one in paths:
            await measure(one, warm, args.concurrency)
        rows = []
        profiler = cProfile.Profile(time.process_time) if args.cprofile else None  # CPU, not wall time
        for n in range(args.rounds):
            row = []
            for one in paths:
                MESSAGES[0] = 0
                cpu, _ = await measure(one, args.requests, args.concurrency,
                                       profiler if n == 0 and one is paths[-1] else None)
                row.append(cpu)
            rows.append(row)
            html = f"   HTML path {row[3]:6.1f} (+{row[3] - row[2]:.1f})" if len(row) > 3 else ""
            print(f"round {n + 1}: aiohttp alone {row[0]:6.1f} µs/req   Upstream {row[1]:6.1f}   "
                  f"forwarding {row[2]:6.1f}{html}   {MESSAGES[0] / args.requests:.2f} body messages/req   "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
        if profiler is not None:
            profiler.dump_stats(args.cprofile)
    finally:
        await session.close()
        await upstream.aclose()
        await app.shutdown()
        if html_app is not None:
            await html_app.shutdown()
    return rows


GENERATOR_BODY = False  # --canned-body generator
PIECES = 1  # --canned-pieces: the canned body in this many pieces, each after a turn of the loop


class _Canned:
    """An origin answer in memory (nginx's headers for the page), read through the same interface as ``Upstream``'s."""

    def __init__(self, body: bytes) -> None:
        self.status = 200
        self.headers = [(b"Server", b"nginx"), (b"Date", b"Wed, 02 Dec 2026 02:00:00 GMT"),
                        (b"Content-Type", b"text/html; charset=utf-8"), (b"Content-Length", str(len(body)).encode()),
                        (b"Connection", b"keep-alive"), (b"Cache-Control", b"no-store")]
        self.early_hints: list[Any] = []
        self._body = body
        self._sent = False
        step = -(-len(body) // PIECES)
        self._pieces = [body[i:i + step] for i in range(0, len(body), step)] if PIECES > 1 else [body]

    def body(self, idle_timeout: float | None = None) -> AsyncIterator[bytes]:
        return self if not GENERATOR_BODY else self._generated()

    async def _generated(self) -> AsyncIterator[bytes]:
        """The body as the first form of ``UpstreamResponse.body`` gave it: an async generator."""
        self._sent = True
        yield self._body

    def __aiter__(self) -> "_Canned":
        return self

    async def __anext__(self) -> bytes:
        if self._sent:
            raise StopAsyncIteration
        if len(self._pieces) < PIECES:
            await asyncio.sleep(0)  # a piece after the first comes a turn of the loop later, as from a socket
        piece = self._pieces.pop(0)
        self._sent = not self._pieces
        return piece

    def finished(self) -> bool:
        return self._sent

    def at_end(self) -> bool:
        """As ``Upstream``'s body: every byte has been handed out."""
        return self._sent

    async def aclose(self) -> None:
        return None


async def canned(args: argparse.Namespace, tmp: str) -> float:
    """The forwarding layer alone: CPU µs per request with the origin's answer canned (no network), best of 5."""
    os.environ.update(SLOTWISE_UPSTREAM="http://127.0.0.1:9", SLOTWISE_DATA=str(Path(tmp) / "data"),
                      SLOTWISE_LOG_LEVEL="error")
    os.environ.pop("SLOTWISE_RULES", None)
    from slotwise.proxy.app import create_app_from_env

    app = create_app_from_env()
    await app.startup()
    page = storefront(args.page_kb)

    async def send(method: str, target: str, headers: Any, body: Any, head_timeout: float | None = None) -> _Canned:
        async with asyncio.timeout(head_timeout):
            await asyncio.sleep(0)  # the wait for the origin's head
        return _Canned(page)

    app.upstream.send = send  # type: ignore[method-assign]
    if args.html:
        from slotwise.proxy.app import create_app

        plain = app
        app = create_app(plain.settings, OneEdit())  # type: ignore[arg-type]
        await plain.shutdown()
        await app.startup()
        app.upstream.send = send  # type: ignore[method-assign]
    try:
        for _ in range(max(200, args.requests // 10)):
            await via_app(app, "/")
        best = float("inf")
        for _ in range(5):
            cpu = time.process_time()
            for _ in range(args.requests):
                await via_app(app, "/")
            best = min(best, (time.process_time() - cpu) * 1e6 / args.requests)
    finally:
        await app.shutdown()
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--page-kb", type=int, default=120)
    parser.add_argument("--path", default="/", choices=["/", "/chunked"],
                        help="/chunked: the same page without a Content-Length (chunked), as dynamic stores send it")
    parser.add_argument("--cprofile", help="write a cProfile of the first round's forwarding (--html: HTML path) to this file")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop, as `slotwise serve` does")
    parser.add_argument("--html", action="store_true",
                        help="also the HTML path, with a personalizer that changes one tag name (OneEdit)")
    parser.add_argument("--canned", action="store_true",
                        help="the forwarding layer alone: the origin's answer canned in memory, no network, no nginx")
    parser.add_argument("--canned-body", choices=["iterator", "generator"], default="iterator",
                        help="how the canned body is read: an iterator object (as Upstream now) or an async generator")
    parser.add_argument("--canned-pieces", type=int, default=1,
                        help="the canned body in this many pieces (a page that does not come whole in one read)")
    args = parser.parse_args(argv)
    from slotwise.proxy.server import tune_malloc

    tune_malloc()  # as ``slotwise serve`` does: the page-sized buffers stay in the process
    if args.canned:
        global GENERATOR_BODY, PIECES
        GENERATOR_BODY = args.canned_body == "generator"
        PIECES = max(1, args.canned_pieces)
        with tempfile.TemporaryDirectory(prefix="sw-fwdcpu-") as tmp:
            load = os.getloadavg()[0]
            best = uvloop.run(canned(args, tmp)) if args.uvloop else asyncio.run(canned(args, tmp))
        path = "HTML path (OneEdit)" if args.html else "forwarding layer"
        pieces = f", in {PIECES} pieces" if PIECES > 1 else ""
        print(f"{path} alone (origin answer canned, {args.page_kb} KB{pieces}): {best:.1f} µs CPU per request, "
              f"best of 5 × {args.requests}; load average {load:.1f}")
        return 0
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    with tempfile.TemporaryDirectory(prefix="sw-fwdcpu-") as tmp:
        os.chmod(tmp, 0o755)
        (Path(tmp) / "www").mkdir()
        (Path(tmp) / "www" / "index.html").write_bytes(storefront(args.page_kb))
        port = free_port()
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(NGINX.format(tmp=tmp, port=port))
        ng = subprocess.Popen([nginx, "-c", str(conf), "-p", tmp], stderr=subprocess.DEVNULL)
        try:
            wait_port(port)
            load = os.getloadavg()[0]
            if args.uvloop:
                rows = uvloop.run(run(args, port, tmp))
            else:
                rows = asyncio.run(run(args, port, tmp))
        finally:
            ng.terminate()
            ng.wait(10)
    medians = [sorted(row[i] for row in rows)[len(rows) // 2] for i in range(len(rows[0]))]
    print(f"\nmedian of {len(rows)} rounds, {args.requests} requests each, {args.concurrency} at a time, "
          f"{args.page_kb} KB page at {args.path}; load average at the start {load:.1f}")
    print("| path | CPU µs/request | × aiohttp alone |\n| --- | ---: | ---: |")
    for name, cpu in zip(PATHS, medians):
        print(f"| {name} | {cpu:.0f} | {cpu / medians[0]:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
