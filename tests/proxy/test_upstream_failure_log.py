"""Why visitors get a 502 or 504 is in the log: a store that is down or a wrong ``--upstream`` must not show
only as error pages (at most a line per kind of failure every few seconds)."""

from __future__ import annotations

import logging
import socket
from typing import Any, Callable

import pytest


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once it is closed


def test_an_unreachable_store_is_named_in_the_log_once_per_burst(make_proxy: Callable[..., Any], client: Any,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    upstream = f"http://127.0.0.1:{closed_port()}"
    proxy = make_proxy(upstream=upstream)
    with caplog.at_level(logging.WARNING, logger="slotwise.proxy"):
        http = client(proxy)
        for path in ("/", "/products/x", "/cart"):
            assert http.get(path).status_code == 502
    said = [r.getMessage() for r in caplog.records if r.name == "slotwise.proxy" and "visitors get a 502" in r.getMessage()]
    assert len(said) == 1, said
    assert upstream in said[0] and "GET /" in said[0]
