"""Proxy benchmark: nginx direct, nginx as a tuned proxy, and ``slotwise serve`` as a user starts it.

    .venv/bin/python -m bench.proxy.run [--duration 10] [--connections 32] [--workers 2] [--rounds 2]
        [--server granian|uvicorn] [--cases direct,nginx-proxy,passthrough,rules3,rules4,rules4-cached] [--out FILE.md]

The baseline is the honest limit of a proxy hop: nginx with in-memory proxy
buffers (``proxy_buffers 64 8k; proxy_buffer_size 16k``: a 120 KB page never
touches a temporary file) and the same number of worker processes as
Slotwise. Slotwise runs as a user starts it: ``slotwise serve`` in a
subprocess, without rules (pass-through) or with ``--rules``
(``bench/proxy/rules-3-slots.yaml``, ``rules-4-slots.yaml``: the four slots of
the product brief) for 64 returning visitors with a history, a purchase and
a cart, rotated by a wrk Lua script: every request reads the visitor's
profile, records the view, decides every slot, renders and splices. The
origin marks its page ``Cache-Control: no-store`` (not cacheable);
``origin="cacheable"`` in a ``Case`` points at a twin origin that sends
``Cache-Control: public, max-age=60`` and validators instead.

Every case runs ``--rounds`` times (default 2), interleaved (all cases, then
all cases again), and both figures are reported with their ratio to the
nginx proxy of the same round. The 1-minute load average is recorded before
and after each case; a warning is printed (and kept in the table) when it
was above ``--max-load`` at the start. The load average cannot tell the bench's
own work from others' (nginx, wrk and Slotwise keep both cores busy), so each
case also measures the cores *other* processes used while it ran (the
machine's busy time less this bench's process tree, the hypervisor's steal
included and also given apart); above ``--max-other`` the case is marked as
a "loaded" figure. For Slotwise the table also gives its CPU time per
request (all its processes, split by process and by a worker's loop and
other threads): on a shared machine that moves far less than req/s, which is
what makes before/after comparisons possible. Neither the load nor the steal
shows a host that gets less done per CPU second (a neighbour on the shared
caches, a lower clock): the same tree's page has cost 1.8× as much CPU
within an hour. So while each case runs a thread of the bench times a small
fixed unit of Python every 50 ms in its own CPU time (``bench.host_speed``:
the host speed, µs a unit, kept in the table); the last lines say which
cases' rounds ran at different speeds and give each round's CPU a request as
if it had run at its case's median speed (a page's CPU follows the host's
speed). Each Slotwise case's note also gives how wrk's keep-alive connections
were split over the workers a second into the run (``connections per worker
19/13``): each granian worker listens on its own ``SO_REUSEPORT`` socket, the
kernel hands it connections by a hash of their addresses, and the busier
worker's pages wait longest, so its share moves the p99.

Time to first byte of a trickled page (streamed personalization) is a
separate command: ``python -m bench.proxy.ttfb``; where a page's time goes,
step by step: ``python -m bench.proxy.breakdown``.

Needs ``nginx`` and ``wrk`` on PATH (installs nothing). Everything runs on
127.0.0.1 on free ports from a temporary directory. Absolute req/s drift a lot
on a shared 2-core machine: compare the ratios of one round.
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
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from .. import host_speed
from ..machine import describe
from .page import history, pages

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
    charset utf-8;
    keepalive_requests 1000000;
    upstream origin {{ server 127.0.0.1:{origin}; keepalive 64; }}
    server {{  # the store's origin: its pages are not cacheable
        listen 127.0.0.1:{origin};
        root {tmp}/www;
        etag off;
        add_header Cache-Control "no-store" always;
        location / {{ try_files $uri /index.html; }}
    }}
    server {{  # the same pages, cacheable by a shared cache (validators on)
        listen 127.0.0.1:{cacheable};
        root {tmp}/www;
        add_header Cache-Control "public, max-age=60" always;
        location / {{ try_files $uri /index.html; }}
    }}
    server {{  # the baseline: a tuned reverse proxy, the page buffered in memory (no temporary file)
        listen 127.0.0.1:{proxy};
        location / {{
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_buffers 64 8k;
            proxy_buffer_size 16k;
            proxy_busy_buffers_size 64k;
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
    load_before: float = 0.0
    load_after: float = 0.0
    other_cores: float = 0.0
    steal_cores: float = 0.0  # of other_cores: what the hypervisor gave other machines
    requests: int = 0
    cpu_ms: float = 0.0  # Slotwise's CPU (all its processes) per request: steadier than req/s on a shared machine
    cpu_parts: dict[str, float] = field(default_factory=dict)  # cpu_ms by process role (workers, learner, master)
    speed_us: float = 0.0  # the host's speed while the case ran (``bench.host_speed``): CPU µs of a small unit


@dataclass(frozen=True)
class Case:
    """One row of the table. ``kind``: ``direct`` (nginx serving the page), ``nginx-proxy`` or ``slotwise``.

    A Slotwise case runs ``slotwise serve`` with ``rules`` (None: no rules, a
    transparent proxy) in front of the ``origin`` (``no-store`` or
    ``cacheable``); with ``visitors`` > 0, wrk sends each request as the next
    of that many prepared returning visitors.
    """

    key: str
    name: str
    kind: str
    rules: Path | None = None
    path: str = "/"
    origin: str = "no-store"
    visitors: int = 0
    serve_args: tuple[str, ...] = field(default_factory=tuple)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None,
              stderr: Path | None = None) -> None:
    """Until something accepts on ``port``; with ``proc``, stop early if it exits, and say why (its ``stderr``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (proc is None or proc.poll() is None):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    why = f"nothing listens on {port}"
    if proc is not None:
        why += f" (server exited with {proc.returncode})" if proc.poll() is not None else f" after {timeout:g} s"
    if stderr is not None and stderr.exists():
        why += "; its stderr ends:\n" + "\n".join(stderr.read_text(errors="replace").splitlines()[-20:])
    raise SystemExit(why)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, duration: int, connections: int, threads: int = 2, script: str | None = None,
        during: Callable[[], object] | None = None) -> Result:
    """One wrk run; ``during()`` is called a second into it (while every connection is open)."""
    extra = ["-s", script] if script else []
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", *extra, url]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if during is not None:
            time.sleep(min(1.0, duration / 2))
            during()
    except BaseException:
        proc.kill()  # no wrk left loading the next case
        raise
    finally:
        out, err = proc.communicate()
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, command, out, err)
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
    done = re.search(r"(\d+) requests in", out)
    return Result("", rps, parse(lat.get("50", "nan")), parse(lat.get("99", "nan")), errors,
                  requests=int(done.group(1)) if done else 0)


def connections_per_worker(port: int, workers: Sequence[int] = ()) -> dict[int, int]:
    """Established connections on ``port`` per process holding them (``ss -tnp``); ``workers`` with
    none are listed with 0. Without ``ss`` (iproute2): nothing."""
    try:
        out = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
                             capture_output=True, text=True).stdout
    except OSError:
        return {}
    return {**{w: 0 for w in workers}, **Counter(int(pid) for pid in re.findall(r"pid=(\d+)", out))}


def split_of(counts: dict[int, int], workers: int) -> str:
    """``19/13``: connections per worker, most first (workers holding none count as 0)."""
    shares = sorted(counts.values(), reverse=True)
    return "/".join(str(n) for n in shares + [0] * (workers - len(shares)))


BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
RULES3 = ROOT / "bench" / "proxy" / "rules-3-slots.yaml"
RULES4 = ROOT / "bench" / "proxy" / "rules-4-slots.yaml"
VISITORS = 64

CASES = [
    Case("direct", "nginx direct", "direct"),
    Case("nginx-proxy", "nginx as a proxy (in-memory buffers)", "nginx-proxy"),
    Case("passthrough", "slotwise serve, no rules (pass-through)", "slotwise"),
    Case("rules3", "slotwise serve --rules, 3 slots, returning visitors", "slotwise", RULES3, "/", visitors=VISITORS),
    Case("rules4", "slotwise serve --rules, all 4 slots, returning visitors", "slotwise", RULES4, "/p/p7",
         visitors=VISITORS),
    Case("rules4-cached", "the same, the store's page cacheable (upstream HTML cache)", "slotwise", RULES4, "/p/p7",
         origin="cacheable", visitors=VISITORS),
]
"""The cases in table order; a new one (e.g. ``origin="cacheable"``) is one line here."""


def visitor_events(visitor: int) -> list[dict[str, object]]:
    """A prepared visitor's purchase (socks, size M: the size slot applies on p7) and cart (the popup applies)."""
    import uuid

    return [
        {"type": "purchase", "event_id": uuid.uuid4().hex,
         "props": {"order_id": f"o{visitor}", "lines": [{"product": "p3", "category": "socks", "size": "M", "qty": 1, "price": 12}]}},
        {"type": "add_to_cart", "event_id": uuid.uuid4().hex,
         "props": {"product": "p5", "category": "bags", "size": "M", "qty": 1, "price": 30}},
    ]


def prepare_visitors(base: str, n: int = VISITORS) -> list[str]:
    """Returning visitors with a history (``page.history``: two categories, three products), a purchase
    with a size, a cart."""

    import httpx

    cookies = []
    for i in range(n):
        with httpx.Client(base_url=base, headers={"user-agent": BROWSER_UA}, timeout=10) as client:
            for path in history(i):
                client.get(path)
            assert client.post("/_sw/events", json={"events": visitor_events(i)}).status_code == 200
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


def visitors_script(tmp: str, cookies: list[str], path: str, name: str) -> str:
    """A wrk Lua script sending each request as the next visitor (cookie + browser user agent)."""
    listed = ",\n".join(f'  "{c}"' for c in cookies)
    script = Path(tmp) / f"visitors-{name}.lua"
    script.write_text(
        f"local cookies = {{\n{listed}\n}}\nlocal i = 0\n"
        "request = function()\n  i = i + 1\n"
        f'  return wrk.format("GET", "{path}", {{["User-Agent"] = "{BROWSER_UA}", '
        '["Cookie"] = "sw_vid=" .. cookies[(i % #cookies) + 1]})\nend\n'
    )
    return str(script)


def slotwise_command() -> list[str]:
    """``slotwise`` as installed beside this interpreter (the console script), else the same entry point."""
    script = Path(sys.executable).with_name("slotwise")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from slotwise.cli import main; sys.exit(main())"]


def serve(case: Case, upstream: str, port: int, data: Path, args: argparse.Namespace,
          env_extra: dict[str, str] | None = None, path_first: Path | None = None) -> subprocess.Popen[bytes]:
    """``slotwise serve`` in a subprocess, as a user starts it (this tree first on the path; ``path_first``
    before it, e.g. a measuring ``sitecustomize``; ``env_extra`` added to its environment)."""
    command = [*slotwise_command(), "serve", "--upstream", upstream, "--port", str(port), "--workers", str(args.workers),
               "--server", args.server, "--data", str(data), "--log-level", "warning", *case.serve_args]
    if case.rules is not None:
        command += ["--rules", str(case.rules)]
    path = f"{path_first}:{ROOT}" if path_first is not None else str(ROOT)
    env = {**os.environ, **(env_extra or {}), "PYTHONPATH": path}
    data.mkdir(parents=True, exist_ok=True)
    stderr = None if args.verbose else data / "serve.stderr"  # kept quiet, but shown if the start fails
    with open(os.devnull if stderr is None else stderr, "wb") as sink:
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stderr=None if stderr is None else sink,
                                start_new_session=True)
    wait_port(port, proc=proc, stderr=stderr)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def load() -> float:
    return os.getloadavg()[0]


HZ = os.sysconf("SC_CLK_TCK")


def _cpu_ticks() -> tuple[int, int]:
    """CPU ticks the whole machine spent busy (every core, every process, and time the hypervisor gave
    another machine: steal), and the steal alone."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(values) - values[3] - values[4], values[7]  # less idle and iowait; steal


def process_role(pid: int, root: int) -> str:
    """What a process of ``slotwise serve``'s tree is: its ``master``, the ``learner`` it keeps beside the
    workers (``slotwise learner``), or a ``worker`` (granian's, and anything they start)."""
    if pid == root:
        return "master"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "worker"
    return "learner" if b"learner" in command else "worker"


def _main_thread_ticks(pid: int) -> int:
    """CPU ticks of a process's main thread (a worker's event loop), 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def ticks_by_role(root: int) -> dict[str, int]:
    """CPU ticks of ``slotwise serve``'s live processes by role (``process_role``); a worker's split into
    its event loop's thread (``worker loop``) and every other thread of it (``worker threads``: granian's,
    the profile writer, the page-work pool)."""
    roles: dict[str, int] = {}
    for pid, ticks in tree_ticks(root).items():
        role = process_role(pid, root)
        if role == "worker":
            loop = min(ticks, _main_thread_ticks(pid))
            roles["worker loop"] = roles.get("worker loop", 0) + loop
            ticks, role = ticks - loop, "worker threads"
        roles[role] = roles.get(role, 0) + ticks
    return roles


def tree_ticks(root: int | None = None) -> dict[int, int]:
    """CPU ticks of each live process of a tree (default: this bench and its descendants: nginx, slotwise)."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        ticks[pid] = int(fields[11]) + int(fields[12])
    ours = {root or os.getpid()}
    grew = True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in ours} - ours
        grew = bool(children)
        ours |= children
    return {pid: ticks[pid] for pid in ours if pid in ticks}


class OtherCPU:
    """How many cores other work used while a case ran: the machine's busy time less this bench's own.

    The load average cannot tell: the bench itself keeps both cores busy.
    """

    def __enter__(self) -> "OtherCPU":
        self.started = time.monotonic()
        (self.busy, self.steal), self.ours = _cpu_ticks(), tree_ticks()
        self.waited = os.times().children_user + os.times().children_system
        self.cores = self.steal_cores = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        elapsed = time.monotonic() - self.started
        ours_now = tree_ticks()
        ours = sum(t - self.ours.get(pid, 0) for pid, t in ours_now.items())
        waited = (os.times().children_user + os.times().children_system - self.waited) * HZ  # wrk, once it exited
        busy, steal = _cpu_ticks()
        self.cores = max(0.0, (busy - self.busy - ours - waited) / HZ / elapsed)
        self.steal_cores = (steal - self.steal) / HZ / elapsed  # part of ``cores``: the host, not this machine


def run_case(case: Case, ports: dict[str, int], tmp: str, run_no: int, args: argparse.Namespace) -> Result:
    before = load()
    if case.kind != "slotwise":
        port = ports["origin"] if case.kind == "direct" else ports["proxy"]
        with OtherCPU() as other, host_speed.Monitor() as speed:
            result = wrk(f"http://127.0.0.1:{port}{case.path}", args.duration, args.connections)
        result.speed_us = speed.median_us
    else:
        port = free_port()
        origin = ports["cacheable" if case.origin == "cacheable" else "origin"]
        proc = serve(case, f"http://127.0.0.1:{origin}", port, Path(tmp) / f"data-{case.key}-{run_no}", args)
        try:
            script = None
            if case.visitors:
                cookies = prepare_visitors(f"http://127.0.0.1:{port}", case.visitors)
                script = visitors_script(tmp, cookies, case.path, case.key)
                print(f"  {case.key}: slots applied on {case.path}: {applied_slots(port, case.path, cookies[0])}", flush=True)
            warm = ["-s", script] if script else []
            subprocess.run(["wrk", "-t1", "-c4", "-d1s", *warm, f"http://127.0.0.1:{port}{case.path}"], capture_output=True)
            spent = ticks_by_role(proc.pid)
            spread: dict[int, int] = {}
            with OtherCPU() as other, host_speed.Monitor() as speed:
                result = wrk(f"http://127.0.0.1:{port}{case.path}", args.duration, args.connections, script=script,
                             during=lambda: spread.update(connections_per_worker(port)))
            result.speed_us = speed.median_us
            per_request = 1000 / HZ / max(1, result.requests)
            result.cpu_parts = {role: (ticks - spent.get(role, 0)) * per_request
                                for role, ticks in sorted(ticks_by_role(proc.pid).items())}
            result.cpu_ms = sum(result.cpu_parts.values())
            notes = [fail_open_note(port)] if case.rules is not None else []
            if spread:
                notes.append(f"connections per worker {split_of(spread, args.workers)}")
            notes.append("CPU ms/req by process: " + ", ".join(f"{role} {ms:.2f}" for role, ms in result.cpu_parts.items()))
            result.note = "; ".join(notes)
        finally:
            stop(proc)
    result.name = case.name
    result.load_before, result.load_after, result.other_cores = before, load(), other.cores
    result.steal_cores = other.steal_cores
    if other.cores > args.max_other:
        warning = (f"other work used {other.cores:.2f} cores during the case (> {args.max_other:g}; of which "
                   f"{other.steal_cores:.2f} stolen by the hypervisor): loaded figure")
        result.note = f"{result.note}; {warning}" if result.note else warning
        print(f"  WARNING: {warning}", file=sys.stderr, flush=True)
    return result


def table(rounds: list[list[Result]], args: argparse.Namespace, load_start: float) -> str:
    n = len(rounds)
    baselines = [next((r.rps for r in results if r.name == CASES[1].name), None) for results in rounds]
    head = " | ".join(f"req/s #{i + 1} | p99 ms #{i + 1} | × nginx proxy #{i + 1} | CPU ms/req #{i + 1}"
                      for i in range(n))
    lines = [
        f"wrk -t2 -c{args.connections} -d{args.duration}s --latency; nginx and `slotwise serve` ({args.server}) with "
        f"{args.workers} worker(s) each; {n} round(s), interleaved; load average (1 min) at the start {load_start:.2f}"
        + (" — **loaded machine: figures are not quiet ones**" if load_start > args.max_load else "")
        + f"; {describe()}",
        "",
        f"| case | {head} | errors | load before → after | other work (cores) | host speed µs | note |",
        "| --- |" + " ---: | ---: | ---: | ---: |" * n + " ---: | --- | --- | --- | --- |",
    ]
    for i, case_results in enumerate(zip(*rounds)):
        cells = []
        for r, base in zip(case_results, baselines):
            ratio = f"{r.rps / base:.3f}" if base else "–"
            cpu = f"{r.cpu_ms:.2f}" if r.cpu_ms else "–"
            cells.append(f"{r.rps:,.0f} | {r.p99_ms:.1f} | {ratio} | {cpu}")
        first = case_results[0]
        errors = "/".join(str(r.errors) for r in case_results)
        loads = ", ".join(f"{r.load_before:.1f} → {r.load_after:.1f}" for r in case_results)
        others = ", ".join(f"{r.other_cores:.2f}" + (f" (steal {r.steal_cores:.2f})" if r.steal_cores >= 0.01 else "")
                           for r in case_results)
        speeds = ", ".join(f"{r.speed_us:.0f}" if r.speed_us else "–" for r in case_results)
        notes = " / ".join(r.note for r in case_results if r.note)
        lines.append(f"| {first.name} | {' | '.join(cells)} | {errors} | {loads} | {others} | {speeds} | {notes} |")
    keys = {c.name: c.key for c in CASES}
    by_key = [{keys.get(r.name): r for r in results} for results in rounds]
    cached = [f"{k['rules4-cached'].rps / k['rules4'].rps:.2f}×" for k in by_key
              if "rules4" in k and "rules4-cached" in k and k["rules4"].rps]
    if cached:
        lines += ["", f"Cacheable page ÷ uncacheable page, all 4 slots (req/s, per round): {', '.join(cached)}"]
    lines += ["", host_speed.summary({keys.get(rs[0].name, rs[0].name): [r.speed_us for r in rs] for rs in zip(*rounds)})]
    steadied = [f"{keys.get(rs[0].name, rs[0].name)} {', '.join(f'{ms:.2f}' for ms in cpu)}" for rs in zip(*rounds)
                if (cpu := host_speed.at_median_speed([r.cpu_ms for r in rs], [r.speed_us for r in rs]))]
    if steadied and n > 1:
        lines += ["", "CPU ms/req at each case's median host speed (the host's drift between rounds taken out): "
                  + "; ".join(steadied)]
    return "\n".join(lines) + "\n"


@contextmanager
def origins(args: argparse.Namespace, prefix: str) -> Iterator[tuple[str, dict[str, int]]]:
    """A temporary directory with the bench's pages and nginx serving them: the origin, its cacheable
    twin and the baseline proxy (ports by name), stopped on the way out."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        os.chmod(tmp, 0o755)  # nginx workers may run as another user (root master → nobody)
        (Path(tmp) / "www" / "p").mkdir(parents=True)
        for path, page in pages(args.page_kb).items():  # nginx answers /index.html for any other path
            (Path(tmp) / "www" / (path.lstrip("/") or "index.html")).write_bytes(page)
        ports = {"origin": free_port(), "cacheable": free_port(), "proxy": free_port()}
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=tmp, workers=args.workers, **ports))
        ng = subprocess.Popen([nginx, "-c", str(conf), "-p", tmp], stderr=subprocess.DEVNULL)
        try:
            for port in ports.values():
                wait_port(port)
            yield tmp, ports
        finally:
            ng.terminate()
            ng.wait(10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="worker processes of nginx and of Slotwise alike")
    parser.add_argument("--server", choices=["granian", "uvicorn"], default="granian")
    parser.add_argument("--rounds", type=int, default=2, help="runs of every case, interleaved")
    parser.add_argument("--cases", default=",".join(c.key for c in CASES))
    parser.add_argument("--max-load", type=float, default=1.5,
                        help="warn when the 1-minute load average is above this before the run")
    parser.add_argument("--max-other", type=float, default=0.25,
                        help="warn when other processes used more than this many cores during a case")
    parser.add_argument("--page-kb", type=int, default=120)
    parser.add_argument("--out", default=str(ROOT / "bench" / "proxy" / "results.md"))
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    missing = [tool for tool in ("nginx", "wrk") if not shutil.which(tool) and not Path("/usr/sbin", tool).exists()]
    if missing:
        print(f"missing: {', '.join(missing)} — install them (e.g. apt-get install nginx-light wrk)", file=sys.stderr)
        return 2
    wanted = args.cases.split(",")
    unknown = [k for k in wanted if k not in {c.key for c in CASES}]
    if unknown:
        print(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(c.key for c in CASES)}", file=sys.stderr)
        return 2
    cases = [c for c in CASES if c.key in wanted]
    if not any(c.kind == "nginx-proxy" for c in cases):
        cases.insert(0, CASES[1])  # every ratio needs the baseline of its own round
    load_start = load()
    if load_start > args.max_load:
        print(f"WARNING: load average {load_start:.2f} before the run (> {args.max_load:g}): "
              "figures of this run are loaded ones", file=sys.stderr)
    rounds: list[list[Result]] = []
    with origins(args, "slotwise-bench-") as (tmp, ports):
        for run_no in range(1, args.rounds + 1):
            results = []
            for case in cases:
                result = run_case(case, ports, tmp, run_no, args)
                results.append(result)
                print(f"#{run_no} {case.name:58s} {result.rps:10,.0f} req/s  p50 {result.p50_ms:7.2f} ms  "
                      f"p99 {result.p99_ms:7.2f} ms  CPU {result.cpu_ms:5.2f} ms/req  errors {result.errors}  load {result.load_before:.1f}→"
                      f"{result.load_after:.1f} others {result.other_cores:.2f} cores (steal {result.steal_cores:.2f}) "
                      f"host speed {result.speed_us:.0f} µs  {result.note}", flush=True)
            rounds.append(results)
    text = table(rounds, args, load_start)
    print()
    print(text)
    Path(args.out).write_text(f"# Proxy benchmark ({time.strftime('%Y-%m-%d %H:%M')})\n\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
