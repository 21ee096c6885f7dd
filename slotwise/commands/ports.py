"""Refusing a port another program already listens on, before anything starts.

granian binds with ``SO_REUSEPORT``: a second ``slotwise serve`` (or demo) on
a busy port would "listen" too and the kernel would split the connections
between the two. A plain bind without ``SO_REUSEPORT`` fails while any socket
listens on the port (Linux refuses it even with ``SO_REUSEADDR``, which only
lets a port in ``TIME_WAIT`` be reused), so trying one tells a busy port
from a free one.
"""

from __future__ import annotations

import argparse
import errno
import socket


class PortBusy(Exception):
    """``host:port`` cannot be bound; the message says which flag changes it."""


def check_port_free(host: str, port: int, flag: str = "--port") -> None:
    """Raise ``PortBusy`` if ``host:port`` is taken (port 0, "any free port", is never busy)."""
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise PortBusy(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            shown = f"[{host}]" if ":" in host else host
            if exc.errno == errno.EADDRINUSE:
                raise PortBusy(
                    f"port {port} is already in use on {shown} (another slotwise, or another server?): "
                    f"stop it, or choose another port with {flag}"
                ) from exc
            if exc.errno == errno.EACCES:
                raise PortBusy(f"no permission to listen on port {port} of {shown}: choose one above 1023 "
                               f"with {flag}") from exc
            raise PortBusy(f"cannot listen on {shown}:{port} ({flag}): {exc.strerror}") from exc


def tcp_port(text: str) -> int:
    """An argparse type: a port to listen on, 1–65535. A larger one is not refused by the check above
    (the resolver keeps its low 16 bits: 99999 checked port 34463) and would fail later, with a traceback."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (1-65535)")
    return port
