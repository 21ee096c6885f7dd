"""Ports for servers a test starts in another process (nginx, redis-server, ``slotwise serve``, uvicorn).

A port the kernel hands out for a bind to port 0 comes from the ephemeral range, the range it also
draws the local port of every outgoing connection from. Between the test closing its probe socket
and the server binding the port, Chromium, pip or another test's client may take it: a fresh
clone's run saw nginx fail to bind (``Address already in use``) while a stranger answered on the
port the tests then used. Below that range the kernel hands nobody a port, so one found free there
stays free unless another test draws the same one (a bind checks that too). Usable without pytest.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

SPAN = 12_000  # ports below the ephemeral range drawn from


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on, outside the ephemeral range where there is room."""
    high = _ephemeral_low()
    low = max(1024, high - SPAN)
    draw = random.SystemRandom()
    for _ in range(200 if high - low >= 1000 else 0):
        port = draw.randrange(low, high)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # no room below the ephemeral range: the kernel's choice
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
