"""Proxy level: the same page under the same load through 1 or 2 proxy instances.

    .venv/bin/python -m bench.scale.run --part proxy [--duration 10] [--connections 32] [--workers 1]
        [--proxy-cases sqlite:1,redis:1,redis:2]     # STORE:INSTANCES[xWORKERS], e.g. sqlite:1x2

Every case: wrk (``--connections``, 2 threads, ``--duration`` s after a 2 s
warm-up) → nginx (round robin, keep-alive) → N ``slotwise serve`` instances
(``--workers`` each, the default server) → a static copy of the demo store's
pages served by the same nginx, so the upstream costs almost nothing and the
proxies are what is measured. The page is the home page with the demo rules
(``slotwise/rules/examples/demo.yaml``: category reorder, exit-intent popup,
...), requested by 1,000 returning visitors (signed cookies, one per request in
turn), each of whom has browsed two categories (profiles written before the
run): each request reads and writes a profile and reorders the category nav
and tiles; each visitor's first request logs its decisions, later ones are
sticky. ``sqlite:N`` runs N instances on one SQLite file
(one machine only); ``redis:N`` N instances on one throwaway redis-server.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from contextlib import contextmanager

import httpx

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else "python"
RULES = ROOT / "slotwise" / "rules" / "examples" / "demo.yaml"
SECRET = "bench-scale-secret"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
PAGES = ["/", "/feed.json", "/c/running-shoes", "/c/jeans", "/c/dog-toys"]

PROXY_HEADER = (
    "| case | requests | req/s | p50 ms | p99 ms | non-2xx | errors | failed open |\n"
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
)


@dataclass
class WrkResult:
    name: str
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    errors: int
    failed_open: int = 0  # pages served unpersonalized (time budget, store errors), from /_sw/metrics

    def row(self) -> str:
        return (f"| {self.name} | {self.requests} | {self.rps:,.0f} | {self.p50_ms:.1f} | {self.p99_ms:.1f} | "
                f"{self.non2xx} | {self.errors} | {self.failed_open} |")


def failed_open(ports: list[int]) -> int:
    """Sum of ``slotwise_fail_open_total`` over the instances."""
    total = 0.0
    for port in ports:
        text = httpx.get(f"http://127.0.0.1:{port}/_sw/metrics", timeout=5).text
        total += sum(float(x) for x in re.findall(r"^slotwise_fail_open_total\{[^}]*\} (\S+)$", text, re.M))
    return int(total)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1, headers={"user-agent": UA}).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


# -- the upstream: a static copy of the demo store ---------------------------------------------


def snapshot_demo(static_dir: Path) -> None:
    """The demo store's pages as files (its own server would be the bottleneck otherwise)."""
    from slotwise.demo.server import DemoServer

    with tempfile.TemporaryDirectory(prefix="sw-bench-demo-") as data, DemoServer(data) as demo:
        for page in PAGES:
            body = httpx.get(demo.url + page, timeout=10).content
            target = static_dir / ("index.html" if page == "/" else page.lstrip("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)


def nginx_conf(work: Path, static_dir: Path, static_port: int, lb_port: int, backends: list[int]) -> Path:
    servers = "\n".join(f"        server 127.0.0.1:{p};" for p in backends)
    user = "user root;" if os.geteuid() == 0 else ""  # workers must read the (0700) temp dir
    conf = f"""
{user}
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {work}/client_body;
    proxy_temp_path {work}/proxy_temp;
    fastcgi_temp_path {work}/fastcgi_temp;
    uwsgi_temp_path {work}/uwsgi_temp;
    scgi_temp_path {work}/scgi_temp;
    types {{ text/html html; application/json json; }}
    upstream slotwise {{
{servers}
        keepalive 64;
    }}
    server {{   # the "store": static pages
        listen 127.0.0.1:{static_port};
        root {static_dir};
        default_type text/html;
        location / {{ try_files $uri $uri/index.html =404; }}
    }}
    server {{   # the load balancer in front of the proxies (round robin)
        listen 127.0.0.1:{lb_port};
        location / {{
            proxy_pass http://slotwise;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
        }}
    }}
}}
"""
    path = work / "nginx.conf"
    path.write_text(conf)
    return path


@contextmanager
def nginx(work: Path, static_dir: Path, backends: list[int]) -> Iterator[tuple[int, int]]:
    """(static port, load balancer port)."""
    static_port, lb_port = free_port(), free_port()
    conf = nginx_conf(work, static_dir, static_port, lb_port, backends)
    proc = subprocess.Popen(["nginx", "-p", str(work), "-c", str(conf), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{static_port}/", 10)
        yield static_port, lb_port
    finally:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- load --------------------------------------------------------------------------------------


def visitor_cookies(n: int) -> list[str]:
    """Signed cookie values (``id.mac``) for ``n`` new visitors."""
    from slotwise.proxy.config import Settings
    from slotwise.proxy.personalization.identity import VisitorCookies

    cookies = VisitorCookies(Settings(secret=SECRET).signing_key())
    return [cookies.sign(cookies.new_id()) for _ in range(n)]


CATEGORIES = ["running-shoes", "sneakers", "t-shirts", "jackets", "jeans", "dresses", "bags", "socks", "dog-toys"]


def seed_profiles(store_url: str, data_dir: Path, cookies: list[str]) -> None:
    """Each visitor has browsed two categories, so the home page's reorder has work to do."""
    import asyncio

    from slotwise.profile import record_view
    from slotwise.store import open_store

    async def run() -> None:
        store = open_store(store_url, str(data_dir))
        now = time.time() - 60
        try:
            for i, cookie in enumerate(cookies):
                vid = cookie.split(".")[0]
                for k in (i, i + 3):
                    cat = CATEGORIES[k % len(CATEGORIES)]
                    await store.update_profile(vid, lambda p, c=cat: record_view(p, now, category=c), now)
        finally:
            await store.close()

    asyncio.run(run())


WRK_SCRIPT = """
local cookies = {}
for line in io.lines("%(cookies)s") do cookies[#cookies + 1] = line end
local i = 0
request = function()
  i = i + 1
  local c = cookies[(i %% #cookies) + 1]
  return wrk.format("GET", "/", {["Cookie"] = "sw_vid=" .. c, ["User-Agent"] = "%(ua)s"})
end
"""


def _ms(value: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value.strip())
    if not m:
        return float("nan")
    x, unit = float(m.group(1)), m.group(2)
    return x * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(name: str, url: str, script: Path, connections: int, duration: float, threads: int = 2) -> WrkResult:
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s", "--latency", "--timeout", "5s",
         "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out)) if "Socket errors" in out else 0
    return WrkResult(name, requests, rps, p50, p99, non2xx, errors)


def proxy_benchmarks(cases: list[tuple[str, int, int | None]], *, duration: float = 10.0, connections: int = 32,
                     workers: int = 1, visitors: int = 1000, redis_url: str | None = None,
                     budget_ms: float | None = None) -> list[WrkResult]:
    from bench.scale.run import redis_server

    if shutil.which("wrk") is None or shutil.which("nginx") is None:
        raise SystemExit("the proxy benchmark needs wrk and nginx on the PATH")
    results: list[WrkResult] = []
    with tempfile.TemporaryDirectory(prefix="sw-bench-proxy-") as tmp_name, redis_server(redis_url) as rurl:
        tmp = Path(tmp_name)
        static = tmp / "static"
        snapshot_demo(static)
        cookies = visitor_cookies(visitors)
        cookie_file = tmp / "cookies.txt"
        cookie_file.write_text("\n".join(cookies) + "\n")
        script = tmp / "visitors.lua"
        script.write_text(WRK_SCRIPT % {"cookies": cookie_file, "ua": UA})
        for store, n, case_workers in cases:
            w = case_workers or workers
            case_dir = tmp / f"{store}-{n}x{w}"
            case_dir.mkdir()
            if store == "redis":  # every case starts from an empty Redis
                import redis as redis_py

                redis_py.Redis.from_url(rurl).flushdb()
            store_url = rurl if store == "redis" else ""
            seed_profiles(store_url, case_dir / "data", cookies)
            ports = [free_port() for _ in range(n)]
            # nginx first (the proxies fetch nothing at start but the feed), then the proxies behind it
            with nginx(case_dir, static, ports) as (static_port, lb_port):
                upstream = f"http://127.0.0.1:{static_port}"
                with _proxies_on(ports, upstream, store_url, case_dir, w, budget_ms):
                    url = f"http://127.0.0.1:{lb_port}/"
                    check = httpx.get(url, headers={"user-agent": UA, "cookie": f"sw_vid={cookies[0]}"})
                    if check.status_code != 200 or 'desc="none"' in check.headers.get("server-timing", 'desc="none"'):
                        print(f"warning: {store}:{n}: the page does not look personalized", flush=True)
                    wrk("warm-up", url, script, connections, 2)
                    name = f"{store}, {n} instance{'s' if n > 1 else ''} × {w} worker{'s' if w > 1 else ''}"
                    before = failed_open(ports)
                    result = wrk(name, url, script, connections, duration)
                    result.failed_open = failed_open(ports) - before
                    print(result.row(), flush=True)
                    results.append(result)
    return results


@contextmanager
def _proxies_on(ports: list[int], upstream: str, store_url: str, work: Path, workers: int,
                budget_ms: float | None = None) -> Iterator[list[int]]:
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for i, port in enumerate(ports):
            args = [PYTHON, "-m", "slotwise.cli", "serve", "--upstream", upstream, "--rules", str(RULES),
                    "--port", str(port), "--workers", str(workers), "--data", str(work / "data"),
                    "--secret", SECRET, "--log-level", "warning", "--store", store_url]
            if budget_ms is not None:
                args += ["--personalize-budget-ms", str(budget_ms)]
            log = open(work / f"proxy{i}.log", "ab")
            procs.append(subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                          env={**os.environ, "PYTHONPATH": str(ROOT)}))
        for port in ports:
            wait_http(f"http://127.0.0.1:{port}/_sw/live")
        yield ports
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def scaling_summary(results: list[WrkResult], cores: int) -> str:
    by_name = {r.name.split(",")[0] + ":" + r.name.split(",")[1].split()[0]: r for r in results
               if r.name.endswith(" 1 worker")}
    one, two = by_name.get("redis:1"), by_name.get("redis:2")
    lines = []
    if one and two and one.rps:
        gain = two.rps / one.rps
        per_instance = two.rps / 2
        lines.append(f"redis 1 → 2 instances: {one.rps:,.0f} → {two.rps:,.0f} req/s (× {gain:.2f}) on {cores} cores")
        lines.append(
            f"projection (assumption: one instance per core, load balancer, load generator and Redis on other "
            f"machines, Redis far from saturated): ~{per_instance:,.0f} req/s per core here, so ~{4 * per_instance:,.0f} "
            f"req/s on 4 cores and ~{8 * per_instance:,.0f} on 8, until Redis (one thread) saturates"
        )
    sqlite = by_name.get("sqlite:1")
    if sqlite and one:
        lines.append(f"sqlite vs redis, 1 instance: {sqlite.rps:,.0f} vs {one.rps:,.0f} req/s")
    return "\n".join(lines)
