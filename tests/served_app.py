"""A test store's ASGI app served on 127.0.0.1 in a background thread, its URL known before it runs.

Binding the socket first makes ``url`` known before the server starts (no
port race), and ``force_exit`` on the way out does not wait for idle
keep-alive connections. The fixture stores (``tests/fixture_store``,
``tests/woo_store``) subclass it; usable without pytest.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn


class ServedApp:
    """``with ServedApp(app, "name") as s: s.url`` — ``app`` on a free 127.0.0.1 port until the block ends."""

    def __init__(self, app: Any, name: str, host: str = "127.0.0.1") -> None:
        self.app, self.name = app, name
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(128)
        self.url = "http://{}:{}".format(*self.sock.getsockname()[:2])
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> ServedApp:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start")
            time.sleep(0.01)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.should_exit = True
        self.server.force_exit = True  # do not wait for idle keep-alive connections
        self._thread.join(timeout=10)
        self.sock.close()
