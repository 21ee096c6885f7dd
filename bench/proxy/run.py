"""Proxy benchmark: nginx direct, nginx as a proxy, Slotwise pass-through and rewriting slots.

    .venv/bin/python -m bench.proxy.run [--duration 10] [--connections 32] [--workers 2]
        [--server granian|uvicorn] [--transport aiohttp|httpx] [--no-malloc-tune]
        [--rules FILE] [--cases direct,nginx-proxy,passthrough,rewrite,rules3,rules4,rules4-cached] [--out FILE.md]

``rewrite`` is a stand-in personalizer doing 3 selectolax edits (the forwarding
layer's cost with a rewrite); ``rules3`` and ``rules4`` run the real
personalizer with ``bench/proxy/rules-3-slots.yaml`` and ``rules-4-slots.yaml``
(the four slots of the product brief) for 64 returning visitors with a
history, a purchase and a cart, rotated by a wrk Lua script — every request
reads and writes a profile, decides, renders and splices. ``rules4-cached`` is
the same on a page the store marks cacheable (``bench/proxy/cacheable.py``):
the upstream HTML cache personalizes every visitor from one fetch; the table
ends with its req/s ratio to ``rules4``. Every other case's page is
``no-store``.

Time to first byte of a trickled page (streamed personalization) is a
separate command: ``python -m bench.proxy.ttfb``.

Needs ``nginx`` and ``wrk`` on PATH (installs nothing). Everything runs on
127.0.0.1 on free ports from a temporary directory. Absolute req/s drift a lot
on a shared 2-core machine: compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import cacheable
from .page import storefront

ROOT = Path(__file__).resolve().parents[2]

NGINX_CONF = """
worker_processes {workers};
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
    default_type text/html;
    keepalive_requests 1000000;
    {cache_map}
    upstream origin {{ server 127.0.0.1:{origin}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{origin};
        root {tmp}/www;
        {cache_header}
        location / {{ try_files $uri /index.html; }}
    }}
    server {{
        listen 127.0.0.1:{proxy};
        location / {{
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }}
    }}
}}
"""


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    note: str = ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, duration: int, connections: int, threads: int = 2, script: str | None = None) -> Result:
    extra = ["-s", script] if script else []
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", *extra, url],
        capture_output=True, text=True, check=True,
    ).stdout
    if os.environ.get("BENCH_DEBUG"):
        print(out)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))

    def parse(v: str) -> float:
        m = re.match(r"([\d.]+)(\w+)", v)
        return _ms(m.group(1), m.group(2)) if m else float("nan")  # type: ignore[union-attr]

    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = sum(int(n) for n in sock.groups()) if sock else 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non2xx.group(1)) if non2xx else 0
    return Result("", rps, parse(lat.get("50", "nan")), parse(lat.get("99", "nan")), errors)


BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
RULES = {"rules3": ROOT / "bench" / "proxy" / "rules-3-slots.yaml", "rules4": ROOT / "bench" / "proxy" / "rules-4-slots.yaml"}
VISITORS = 64


def prepare_visitors(base: str, n: int = VISITORS) -> list[str]:
    """Returning visitors with a history: two categories, a purchase with a size, a cart."""
    import uuid

    import httpx

    cookies = []
    for i in range(n):
        with httpx.Client(base_url=base, headers={"user-agent": BROWSER_UA}, timeout=10) as client:
            client.get("/c/socks")
            client.get(f"/c/bags?v={i}")
            client.get("/p/p7")
            events = [
                {"type": "purchase", "event_id": uuid.uuid4().hex,
                 "props": {"order_id": f"o{i}", "lines": [{"product": "p3", "category": "socks", "size": "M", "qty": 1, "price": 12}]}},
                {"type": "add_to_cart", "event_id": uuid.uuid4().hex,
                 "props": {"product": "p5", "category": "bags", "size": "M", "qty": 1, "price": 30}},
            ]
            assert client.post("/_sw/events", json={"events": events}).status_code == 200
            cookies.append(client.cookies["sw_vid"])
    return cookies


def fail_open_note(port: int) -> str:
    """Pages served unpersonalized during the run (a personalization budget overrun counts here)."""
    import httpx

    text = httpx.get(f"http://127.0.0.1:{port}/_sw/metrics").text
    total = sum(float(v) for v in re.findall(r'^slotwise_fail_open_total\{[^}]*\} ([0-9.e+]+)$', text, re.M))
    return f"fail-open {total:.0f}"


def applied_slots(port: int, path: str, cookie: str) -> str:
    """What the personalizer did for one prepared visitor (its Server-Timing entry)."""
    import httpx

    response = httpx.get(f"http://127.0.0.1:{port}{path}", headers={"user-agent": BROWSER_UA, "cookie": f"sw_vid={cookie}"})
    return response.headers.get("server-timing", "none")


def visitors_script(tmp: str, cookies: list[str], path: str) -> str:
    """A wrk Lua script sending each request as the next visitor (cookie + browser user agent)."""
    listed = ",\n".join(f'  "{c}"' for c in cookies)
    script = Path(tmp) / "visitors.lua"
    script.write_text(
        f"local cookies = {{\n{listed}\n}}\nlocal i = 0\n"
        "request = function()\n  i = i + 1\n"
        f'  return wrk.format("GET", "{path}", {{["User-Agent"] = "{BROWSER_UA}", '
        '["Cookie"] = "sw_vid=" .. cookies[(i % #cookies) + 1]})\nend\n'
    )
    return str(script)


def slotwise(upstream: str, port: int, args: argparse.Namespace, rewrite: bool | str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SLOTWISE_UPSTREAM": upstream,
        "SLOTWISE_PORT": str(port),
        "SLOTWISE_WORKERS": str(args.workers),
        "SLOTWISE_SERVER": args.server,
        "SLOTWISE_LOG_LEVEL": "warning",
        "SLOTWISE_HTTP_TRANSPORT": args.transport,
        "SLOTWISE_MALLOC_TUNE": "0" if args.no_malloc_tune else "1",
        "SLOTWISE_DATA": str(Path(args.tmp) / "data"),
    }
    factory = "bench.proxy.personalizer:create_app_passthrough"  # NullPersonalizer: the forwarding layer alone
    if isinstance(rewrite, str):  # a rules case: the real personalizer
        env["SLOTWISE_RULES"] = str(RULES[rewrite])
        env["SLOTWISE_DATA"] = str(Path(args.tmp) / f"data-{rewrite}")
        factory = "slotwise.proxy.app:create_app_from_env"
    elif rewrite and args.rules:
        env["SLOTWISE_RULES"] = str(Path(args.rules).resolve())
        factory = "slotwise.proxy.app:create_app_from_env"  # the real personalizer
    elif rewrite:
        factory = "bench.proxy.personalizer:create_app_three_slots"
    code = f"from slotwise.proxy.server import run; from slotwise.proxy.config import Settings; run(Settings.from_env(), {factory!r})"
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT, stderr=subprocess.DEVNULL if not args.verbose else None)
    wait_port(port)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def table(results: list[Result], baseline: float | None, args: argparse.Namespace) -> str:
    lines = [
        f"wrk -t2 -c{args.connections} -d{args.duration}s --latency; Slotwise: {args.server}, {args.workers} worker(s), "
        f"transport {args.transport}, malloc tuning {'off' if args.no_malloc_tune else 'on'}",
        "",
        "| case | req/s | p50 ms | p99 ms | errors | × nginx proxy | note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        ratio = f"{r.rps / baseline:.3f}" if baseline else "–"
        lines.append(f"| {r.name} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.errors} | {ratio} | {r.note} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--server", choices=["granian", "uvicorn"], default="granian")
    parser.add_argument("--transport", choices=["aiohttp", "httpx"], default="aiohttp")
    parser.add_argument("--no-malloc-tune", action="store_true")
    parser.add_argument("--rules", help="rules file for the real personalizer (default: 3 selectolax edits)")
    parser.add_argument("--cases", default="direct,nginx-proxy,passthrough,rewrite,rules3,rules4,rules4-cached")
    parser.add_argument("--page-kb", type=int, default=120)
    parser.add_argument("--out", default=str(ROOT / "bench" / "proxy" / "results.md"))
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    missing = [tool for tool in ("nginx", "wrk") if not shutil.which(tool) and not Path("/usr/sbin", tool).exists()]
    if missing:
        print(f"missing: {', '.join(missing)} — install them (e.g. apt-get install nginx-light wrk)", file=sys.stderr)
        return 2
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    cases = args.cases.split(",")
    with tempfile.TemporaryDirectory(prefix="slotwise-bench-") as tmp:
        args.tmp = tmp
        os.chmod(tmp, 0o755)  # nginx workers may run as another user (root master → nobody)
        (Path(tmp) / "www").mkdir()
        (Path(tmp) / "www" / "index.html").write_bytes(storefront(args.page_kb))
        origin, nproxy = free_port(), free_port()
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=tmp, origin=origin, proxy=nproxy, workers=max(1, os.cpu_count() or 1),
                                          cache_map=cacheable.NGINX_HTTP, cache_header=cacheable.NGINX_ORIGIN))
        ng = subprocess.Popen([nginx, "-c", str(conf), "-p", tmp], stderr=subprocess.DEVNULL)
        results: list[Result] = []
        try:
            wait_port(origin)
            wait_port(nproxy)
            plan = [
                ("direct", "nginx direct", None),
                ("nginx-proxy", "nginx as a plain proxy", None),
                ("passthrough", "Slotwise pass-through", False),
                ("rewrite", "Slotwise, 3 edits (stand-in personalizer)" + (" (rules)" if args.rules else ""), True),
                ("rules3", "Slotwise, 3 slots (real rules, 64 visitors)", "rules3"),
                ("rules4", "Slotwise, all 4 slots (real rules, 64 visitors)", "rules4"),
                cacheable.plan_entry(),
            ]
            for key, name, rewrite in plan:
                if key not in cases:
                    continue
                if rewrite is None:
                    port = origin if key == "direct" else nproxy
                    result = wrk(f"http://127.0.0.1:{port}/", args.duration, args.connections)
                else:
                    port = free_port()
                    proc = slotwise(f"http://127.0.0.1:{origin}", port, args, rewrite)
                    try:
                        script = None
                        if isinstance(rewrite, str):
                            cookies = prepare_visitors(f"http://127.0.0.1:{port}")
                            path = cacheable.path_for(key) or ("/p/p7" if rewrite == "rules4" else "/")
                            script = visitors_script(tmp, cookies, path)
                            print(f"  {rewrite}: slots applied on {path}: {applied_slots(port, path, cookies[0])}", flush=True)
                        warm = ["-s", script] if script else []
                        subprocess.run(["wrk", "-t1", "-c4", "-d1s", *warm, f"http://127.0.0.1:{port}/"], capture_output=True)
                        result = wrk(f"http://127.0.0.1:{port}/", args.duration, args.connections, script=script)
                        if rewrite:
                            result.note = fail_open_note(port)
                    finally:
                        stop(proc)
                result.name = name
                results.append(result)
                print(f"{name:34s} {result.rps:10,.0f} req/s  p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  errors {result.errors}  {result.note}", flush=True)
        finally:
            ng.terminate()
            ng.wait(10)
    baseline = next((r.rps for r in results if r.name == "nginx as a plain proxy"), None)
    text = table(results, baseline, args) + cacheable.ratio_line(results)
    print()
    print(text)
    Path(args.out).write_text(f"# Proxy benchmark ({time.strftime('%Y-%m-%d %H:%M')})\n\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
