"""A 1 GB download passes with flat memory: nothing is buffered on the non-HTML path."""

from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sw_upstreams import RawUpstream, respond

SIZE = 1 << 30
CHUNK = b"z" * (1 << 20)


def rss_kb(pid: int) -> int:
    """VmRSS of a process and its children (granian's workers are children)."""
    total = 0
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for p in [pid, *map(int, children)]:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


async def gigabyte(reader: Any, writer: Any, head: bytes) -> None:
    size = SIZE if b"/big" in head else 1 << 20
    writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(size))]))
    for _ in range(size // len(CHUNK)):
        writer.write(CHUNK)
        await writer.drain()


def download(port: int, path: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")
        buf = bytearray(1 << 20)
        view = memoryview(buf)
        total = 0
        while n := sock.recv_into(view):
            total += n
        return total


@pytest.mark.slow
def test_one_gigabyte_streams_with_flat_memory(port_factory: Any, process_runner: Any) -> None:
    with RawUpstream(gigabyte) as up:
        port = port_factory()
        env = {"SLOTWISE_UPSTREAM": up.url, "SLOTWISE_PORT": str(port), "SLOTWISE_LOG_LEVEL": "error"}
        with process_runner([sys.executable, "-m", "slotwise.proxy.server"], port, env) as proxy:
            assert proxy.proc is not None
            for _ in range(3):
                download(port, b"/warm")  # 1 MB: warm the pools and the allocator
            baseline = rss_kb(proxy.proc.pid)
            peak = [baseline]
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    peak[0] = max(peak[0], rss_kb(proxy.proc.pid))  # type: ignore[union-attr]
                    time.sleep(0.05)

            sampler = threading.Thread(target=sample)
            sampler.start()
            start = time.monotonic()
            received = download(port, b"/big")
            done.set()
            sampler.join()
    header = received - SIZE
    assert 0 < header < 2000, received
    growth_mb = (peak[0] - baseline) / 1024
    print(f"RSS baseline {baseline / 1024:.0f} MB, growth {growth_mb:.1f} MB")
    assert growth_mb < 64, f"proxy RSS grew by {growth_mb:.0f} MB while streaming 1 GB"
    assert time.monotonic() - start < 20
