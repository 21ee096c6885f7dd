"""The HTTP bandit bench's servers, in a process of their own: the small store, and the proxy in front of it.

    python -m bench.bandits_edge [--rules FILE --data DIR --clock FILE --budget-ms MS --decision-seed N]

Started by ``bench.bandits_http``. It prints one JSON line, ``{"store": URL,
"proxy": URL}`` (``proxy`` only with ``--rules``), serves until its standard
input closes, then shuts down as a server does (the learner's last snapshot).

Why a process of its own: in the bench's process the client, the proxy and the
store took turns on one GIL (three threads, ~60 thread switches a visit), and
the shoppers' HTTP client cost as much CPU as the proxy's rewriting. Here the
proxy is what ``slotwise serve`` runs — ``create_app`` + ``SlotwisePersonalizer``
with its learning loop, on uvloop, with the server's malloc tuning — and the
store is served on the same event loop (real HTTP over 127.0.0.1 both ways).

The proxy's clock is the bench's simulated one: the bench writes its time into
``--clock`` (8 bytes, a double) before each request, and the proxy reads it
there (``SharedClock``). With ``--decision-seed`` the proxy's decision ids come
from the run's seed (``seeded_decision_ids``, the twin's): the policy's draw is a
hash of the id, so two codes run on one seed meet the same draws.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import mmap
import os
import socket
import struct
import sys
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

HOME = """<!doctype html><html><head><title>Shop</title></head><body>
<nav><a href="/c/shoes">Shoes</a> <a href="/c/bags">Bags</a> <a href="/c/kids">Kids</a></nav>
<div class="hero">Welcome to the shop</div><main>Products</main></body></html>"""
CATEGORY = "<!doctype html><html><head><title>{c}</title></head><body><h1>{c}</h1><ul><li>p1</li></ul></body></html>"
CLOCK = struct.Struct("d")
ADMIN_TOKEN = "bench-admin-token-0"  # the proxy's admin API (bench.bandits_http --restart-after-swap)


class SharedClock:
    """A simulated clock two processes share: one file of one double, mapped by both.

    The bench (``writer=True``) sets it; the proxy reads it on every call. The bench sets the
    time before it sends a request and waits for the answer, so the proxy sees the bench's time."""

    def __init__(self, path: str | Path, start: float | None = None) -> None:
        self.path = Path(path)
        if start is not None:
            self.path.write_bytes(CLOCK.pack(start))
        with open(self.path, "r+b") as f:
            self._map = mmap.mmap(f.fileno(), CLOCK.size)

    def __call__(self) -> float:
        return float(CLOCK.unpack_from(self._map, 0)[0])

    def set(self, now: float) -> None:
        CLOCK.pack_into(self._map, 0, now)

    def close(self) -> None:
        self._map.close()


def store_app() -> Starlette:
    """The small real upstream: a home page with the hero element, and category pages."""
    async def home(request: Any) -> HTMLResponse:
        return HTMLResponse(HOME)

    async def category(request: Any) -> HTMLResponse:
        return HTMLResponse(CATEGORY.format(c=request.path_params["category"]))

    return Starlette(routes=[Route("/", home), Route("/c/{category}", category)])


def listening_socket() -> socket.socket:
    """A socket on a free port of 127.0.0.1, bound here (no race with another process for the port)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def server(app: Any) -> Any:
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="auto",
                            server_header=False, date_header=False)
    return uvicorn.Server(config)


async def serve(args: argparse.Namespace) -> None:
    """The store, and the proxy in front of it if rules are given, until standard input closes."""
    servers: list[tuple[Any, socket.socket]] = []
    store_sock = listening_socket()
    store_url = f"http://127.0.0.1:{store_sock.getsockname()[1]}"
    servers.append((server(store_app()), store_sock))
    urls = {"store": store_url}
    if args.rules:
        from slotwise.proxy.app import create_app
        from slotwise.proxy.config import Settings
        from slotwise.proxy.personalization.personalize import SlotwisePersonalizer

        settings = Settings(upstream=store_url, rules=args.rules, data=args.data,
                            personalize_budget_ms=args.budget_ms, secret="bench-secret", admin_token=ADMIN_TOKEN)
        extra: dict[str, Any] = {}
        if args.decision_seed is not None:
            from bench.bandits_shoppers import seeded_decision_ids

            extra["decision_ids"] = seeded_decision_ids(args.decision_seed)
        personalizer = SlotwisePersonalizer(settings, clock=SharedClock(args.clock), **extra)
        proxy_sock = listening_socket()
        servers.append((server(create_app(settings, personalizer)), proxy_sock))
        urls["proxy"] = f"http://127.0.0.1:{proxy_sock.getsockname()[1]}"
    tasks = [asyncio.create_task(s.serve(sockets=[sock])) for s, sock in servers]
    while not all(s.started for s, _ in servers):
        if any(t.done() for t in tasks):
            await asyncio.gather(*tasks)  # raises what stopped it
            raise RuntimeError("a server stopped while starting")
        await asyncio.sleep(0.01)
    print(json.dumps(urls), flush=True)
    closed = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_reader(sys.stdin.fileno(), lambda: closed.set() if not os.read(sys.stdin.fileno(), 4096) else None)
    await closed.wait()
    loop.remove_reader(sys.stdin.fileno())
    for s, _ in reversed(servers):  # the proxy first: its shutdown saves the learner's state
        s.should_exit = True
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", default="", help="the proxy's rules; without: only the store")
    ap.add_argument("--clock", default="", help="with --rules: the shared clock's file (written by the bench)")
    ap.add_argument("--data", default="", help="the proxy's data directory (its SQLite store)")
    ap.add_argument("--budget-ms", type=float, default=2000.0)
    ap.add_argument("--decision-seed", type=int, default=None,
                    help="with --rules: decision ids drawn from this seed (default: random, as in production)")
    args = ap.parse_args(argv)
    import uvloop

    from slotwise.proxy.server import tune_malloc

    tune_malloc()  # as `slotwise serve`'s workers do
    uvloop.run(serve(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
