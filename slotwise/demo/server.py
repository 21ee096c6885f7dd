"""Serving the demo over real HTTP: from the command line, or in a thread for tests.

Binding the socket ourselves lets ``--port 0`` pick a free port and still
print the exact URL before the first request can arrive (the socket is
already listening, so early connections just queue).
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn

from slotwise.logsetup import dict_config

from .app import create_app


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def make_server(
    data_dir: str | Path,
    *,
    cookie_domain: str | None = None,
    images_dir: str | Path | None = None,
    log_level: str = "info",
    access_log: bool = False,
    own_logging: bool = False,
    webhook_key: bytes | None = None,
) -> uvicorn.Server:
    """``own_logging``: this process is the store's own (``python -m slotwise.demo``), so the
    log is set up in Slotwise's one format; in a test's thread the test's logging stays."""
    app = create_app(data_dir, cookie_domain=cookie_domain, images_dir=images_dir, webhook_key=webhook_key)
    log_config = dict_config(log_level, access=access_log) if own_logging else None
    config = uvicorn.Config(app, log_level=None if own_logging else log_level, lifespan="off", access_log=access_log,
                            log_config=log_config)  # own logging: the levels are dict_config's
    return uvicorn.Server(config)


class DemoServer:
    """The demo store on a free 127.0.0.1 port in a background thread.

    ``with DemoServer(tmp_path) as demo: httpx.get(demo.url + "/")``; proxy
    tests use it as a real upstream.
    """

    def __init__(
        self,
        data_dir: str | Path,
        *,
        host: str = "127.0.0.1",
        cookie_domain: str | None = None,
        images_dir: str | Path | None = None,
        webhook_key: bytes | None = None,
    ) -> None:
        self.server = make_server(data_dir, cookie_domain=cookie_domain, images_dir=images_dir, log_level="warning",
                                  webhook_key=webhook_key)
        self.sock = bind(host, 0)
        self.url = url_of(self.sock)
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> "DemoServer":
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.__exit__(None, None, None)  # a ``with`` runs no __exit__ when __enter__ fails: its thread and port go
                raise RuntimeError("demo server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.server.should_exit = True
        self.server.force_exit = True  # do not wait for idle keep-alive connections
        self._thread.join(timeout=10)
        self.sock.close()
