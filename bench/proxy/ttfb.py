"""Time to first byte of a trickled page: origin direct, nginx as a proxy, Slotwise pass-through and personalized.

    .venv/bin/python -m bench.proxy.ttfb [--page-kb 500] [--over 2.0] [--requests 5] [--rounds 2]
        [--server granian|uvicorn] [--out FILE.md]

A store flushes its ``<head>`` early so that the browser starts on CSS and
scripts while the page is still being made. The origin here (an asyncio
server writing exact bytes) sends the response head and the first
``--first-kb`` of a generated storefront page at once, then trickles the
rest over ``--over`` seconds. Each case is timed from the request to the
response head, to the first body byte, and to the last byte, on a raw
socket; cases are run in ``--rounds`` interleaved rounds of ``--requests``
requests each, and the medians are reported with the load average.

Cases: the origin direct; nginx as a plain reverse proxy (keep-alive upstream,
default buffering); Slotwise pass-through (no rules); Slotwise with the real
personalizer and ``rules-3-slots.yaml`` (streamed: what no slot can change is
sent as it comes); and the same with ``--html-hold-ms -1`` (the whole page is
held, the behaviour before streaming). Needs nginx (installs nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .page import storefront

ROOT = Path(__file__).resolve().parents[2]


# -- the origin ------------------------------------------------------------------------


class TrickleOrigin:
    """An HTTP/1.1 origin in a thread: ``path -> (headers, first, pieces, over)``; keep-alive, chunked.

    ``first`` goes out with the head; the ``pieces`` follow, spread evenly over ``over`` seconds.
    """

    def __init__(self) -> None:
        self.pages: dict[str, tuple[list[tuple[str, str]], bytes, list[bytes], float]] = {}
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    def add(self, path: str, body: bytes, *, first: int = 4096, pieces: int = 100, over: float = 2.0,
            headers: list[tuple[str, str]] | None = None, encode: object = None) -> None:
        """``encode``: a zlib-like compressobj factory to gzip the pieces (each flushed)."""
        head, rest = body[:first], body[first:]
        size = max(1, -(-len(rest) // pieces)) if rest else 1
        parts = [rest[i:i + size] for i in range(0, len(rest), size)]
        if encode is not None:
            import zlib

            c = encode()  # type: ignore[operator]
            head = c.compress(head) + c.flush(zlib.Z_SYNC_FLUSH)
            parts = [c.compress(p) + c.flush(zlib.Z_SYNC_FLUSH) for p in parts]
            parts.append(c.flush())
        self.pages[path] = (headers or [("Content-Type", "text/html; charset=utf-8")], head, parts, over)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                path = request.split(b" ", 2)[1].decode("latin-1").split("?")[0]
                if path not in self.pages:
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                    await writer.drain()
                    continue
                headers, first, parts, over = self.pages[path]
                lines = "".join(f"{k}: {v}\r\n" for k, v in headers)
                writer.write(f"HTTP/1.1 200 OK\r\n{lines}Transfer-Encoding: chunked\r\n\r\n".encode())
                if first:
                    writer.write(b"%x\r\n%s\r\n" % (len(first), first))
                await writer.drain()
                gap = over / max(1, len(parts))
                for part in parts:
                    await asyncio.sleep(gap)
                    if part:
                        writer.write(b"%x\r\n%s\r\n" % (len(part), part))
                        await writer.drain()
                writer.write(b"0\r\n\r\n")
                await writer.drain()
                if b"connection: close" in request.lower():
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
            self.port = self.server.sockets[0].getsockname()[1]
            self.ready.set()
            await self.server.serve_forever()

        try:
            self.loop.run_until_complete(main())
        except asyncio.CancelledError:
            pass

    def __enter__(self) -> "TrickleOrigin":
        self.thread.start()
        self.ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        for task in asyncio.all_tasks(self.loop):
            self.loop.call_soon_threadsafe(task.cancel)
        self.thread.join(5)


# -- the client ------------------------------------------------------------------------


@dataclass
class Timing:
    head_ms: float  # the response head is in
    first_byte_ms: float  # the first byte of the body is in
    total_ms: float  # the last byte is in
    status: int = 0
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: bytes = b""
    first_body: bytes = b""  # the body bytes of the first read that had any


def _dechunk(data: bytes) -> bytes:
    out, i = bytearray(), 0
    while True:
        j = data.index(b"\r\n", i)
        size = int(data[i:j].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += data[j + 2:j + 2 + size]
        i = j + 2 + size + 2


def timed_get(port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 30.0) -> Timing:
    """GET on a new connection; times the head, the first body byte and the end (chunked or Content-Length)."""
    lines = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    request = f"GET {path} HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n{lines}\r\n".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        start = time.perf_counter()
        sock.sendall(request)
        data = bytearray()
        head_at = first_at = None
        head_end = -1
        first_body = b""
        while chunk := sock.recv(1 << 20):
            now = time.perf_counter()
            data += chunk
            if head_end < 0 and (k := data.find(b"\r\n\r\n")) >= 0:
                head_end, head_at = k + 4, now
            if head_at is not None and first_at is None and len(data) > head_end:
                raw = bytes(data[head_end:])
                if b"transfer-encoding: chunked" in data[:head_end].lower():
                    j = raw.find(b"\r\n")
                    if j < 0 or len(raw) <= j + 2:
                        continue  # a chunk-size line only: no body byte yet
                    first_body = raw[j + 2:j + 2 + int(raw[:j].split(b";")[0], 16)]
                else:
                    first_body = raw
                first_at = now
        end = time.perf_counter()
    head_lines = bytes(data[:head_end]).decode("latin-1").split("\r\n")
    parsed: dict[str, list[str]] = {}
    for line in head_lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            parsed.setdefault(k.strip().lower(), []).append(v.strip())
    body = bytes(data[head_end:])
    if "chunked" in ",".join(parsed.get("transfer-encoding", [])).lower():
        body = _dechunk(body)
    ms = lambda t: (t - start) * 1000.0 if t is not None else float("nan")  # noqa: E731
    return Timing(ms(head_at), ms(first_at), ms(end), int(head_lines[0].split()[1]), parsed, body, first_body)


# -- the benchmark ---------------------------------------------------------------------

NGINX = """
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
    upstream origin {{ server 127.0.0.1:{origin}; keepalive 16; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }}
    }}
}}
"""

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
           "Accept-Encoding": "identity"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def _slotwise(upstream: str, port: int, tmp: str, server: str, rules: Path | None, hold_ms: float | None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SLOTWISE_UPSTREAM": upstream, "SLOTWISE_PORT": str(port),
           "SLOTWISE_WORKERS": "1", "SLOTWISE_SERVER": server, "SLOTWISE_LOG_LEVEL": "warning",
           "SLOTWISE_DATA": tempfile.mkdtemp(dir=tmp), "SLOTWISE_PERSONALIZE_BUDGET_MS": "1000"}
    if rules is not None:
        env["SLOTWISE_RULES"] = str(rules)
    if hold_ms is not None:
        env["SLOTWISE_HTML_HOLD_MS"] = str(hold_ms)
    proc = subprocess.Popen([sys.executable, "-m", "slotwise.proxy.server"], env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    _wait(port)
    return proc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--page-kb", type=int, default=500)
    parser.add_argument("--first-kb", type=int, default=4)
    parser.add_argument("--over", type=float, default=2.0)
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--server", choices=["granian", "uvicorn"], default="granian")
    parser.add_argument("--out", default=str(ROOT / "bench" / "proxy" / "results-ttfb.md"))
    args = parser.parse_args(argv)
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        print("missing: nginx (apt-get install nginx-light)", file=sys.stderr)
        return 2
    page = storefront(args.page_kb)
    rules = ROOT / "bench" / "proxy" / "rules-3-slots.yaml"
    loads: list[float] = []
    samples: dict[str, list[Timing]] = {}
    with TrickleOrigin() as origin, tempfile.TemporaryDirectory(prefix="slotwise-ttfb-") as tmp:
        os.chmod(tmp, 0o755)
        origin.add("/", page, first=args.first_kb * 1024, over=args.over)
        nport = _free_port()
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(NGINX.format(tmp=tmp, origin=origin.port, port=nport))
        ng = subprocess.Popen([nginx, "-c", str(conf), "-p", tmp], stderr=subprocess.DEVNULL)
        procs: list[subprocess.Popen[bytes]] = [ng]
        try:
            _wait(nport)
            ports = {"origin direct": origin.port, "nginx as a plain proxy": nport}
            for name, rules_file, hold in [("Slotwise pass-through", None, None),
                                           ("Slotwise personalized, streamed (3 slots)", rules, None),
                                           ("Slotwise personalized, whole page held (--html-hold-ms -1)", rules, -1.0)]:
                port = _free_port()
                procs.append(_slotwise(origin.url, port, tmp, args.server, rules_file, hold))
                ports[name] = port
                timed_get(port, "/", BROWSER)  # warm-up (imports, first parse, connection)
            for _ in range(args.rounds):
                loads.append(os.getloadavg()[0])
                for name, port in ports.items():
                    for _ in range(args.requests):
                        t = timed_get(port, "/", BROWSER)
                        assert t.status == 200 and len(t.body) >= len(page) * 0.99, (name, t.status, len(t.body))
                        samples.setdefault(name, []).append(t)
                        print(f"{name:62s} head {t.head_ms:8.1f} ms  first byte {t.first_byte_ms:8.1f} ms  "
                              f"last {t.total_ms:8.1f} ms", flush=True)
                loads.append(os.getloadavg()[0])
        finally:
            for proc in procs:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
    lines = [
        f"{len(page) // 1024} KB page, first {args.first_kb} KB with the head, the rest over {args.over:g} s; "
        f"{args.rounds} interleaved rounds × {args.requests} requests per case; Slotwise: {args.server}, 1 worker; "
        f"load average {min(loads):.1f}–{max(loads):.1f}",
        "",
        "| case | head ms (median) | first byte ms (median) | first byte ms (max) | last byte ms (median) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, ts in samples.items():
        lines.append(f"| {name} | {statistics.median(t.head_ms for t in ts):.1f} | "
                     f"{statistics.median(t.first_byte_ms for t in ts):.1f} | {max(t.first_byte_ms for t in ts):.1f} | "
                     f"{statistics.median(t.total_ms for t in ts):.0f} |")
    text = "\n".join(lines) + "\n"
    print()
    print(text)
    Path(args.out).write_text(f"# Time to first byte ({time.strftime('%Y-%m-%d %H:%M')})\n\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
