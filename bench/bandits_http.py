"""Bandit benchmark through the proxy over HTTP, as the tag drives it (not fed to the policies).

    .venv/bin/python -m bench.bandits_http                      # `slotwise serve` in a subprocess, ~25 min a run at 3,000/h
    .venv/bin/python -m bench.bandits_http --server in-process --seeds 20 --visits 12000 --rates 250,3000 --jobs 2

What runs: a small real store (Starlette on 127.0.0.1) behind the proxy, and
shoppers (``bandits_shoppers.py``) who load pages through it with their own
cookies, user agents and referrers — new visitors, some browsing a category
first, returning visitors days later — read the variant the page shows
(``data-sw-decision`` and the variant's markup), report the exposure to
``/_sw/events`` and, with the shopper's click probability, a click 5 s to
10 min later, exactly as the tag batches them. Two ways to run the proxy:

* ``--server serve`` (default): ``slotwise serve --upstream ... --rules ...
  --data ... --port ...`` started as a user starts it, a separate process on
  a real port (granian, one worker, its own learning loop and SQLite store).
  Its clock is the real one, so the bench plays the simulated schedule
  ``speed`` times faster than life (set by ``--real-rate``, home page views
  a real second) and shrinks every duration the proxy sees by that factor: the attribution window in the rules (30 min
  / speed) and the click delays. Traffic per attribution window — what
  shapes learning — is the store's. The daily swing defaults to 0 here: the
  proxy files rewards by its own hour of the day, which a compressed day
  would not match. The learning loop's poll (0.5 s real) is ``speed`` x 0.5 s
  of simulated lag; how far the bench fell behind its schedule is reported.
* ``--server in-process``: the same app (``create_app`` +
  ``SlotwisePersonalizer``, its learning loop included) built by the bench
  with the bench's simulated clock as the proxy's: any traffic rate and the
  daily cycle on a day-long time scale, however slow the machine. It runs in
  a child process (``bench.bandits_edge``: uvicorn on uvloop with the
  server's malloc tuning, the store on the same event loop) and reads the
  clock from a file the bench maps (``SharedClock``); the shoppers talk to it
  over one keep-alive connection (``Browser``). In the bench's own process
  the client, proxy and store threads took turns on one GIL and httpx cost
  as much CPU as the proxy's rewriting (docs/benchmarks-history.md has the
  breakdown). Its decision ids come from the run's seed (the twin's,
  ``seeded_decision_ids``; ``--random-ids``: random, as in production), and
  the policy's draw is a hash of the id, so two codes run on one seed are
  paired: they meet the same draws in the same order.

``--jobs N`` plays N runs at a time, each in its own process; the per-run
lines and the summary come out in the order of the runs.

Per run: % of the oracle (the sum of each visit's click probability under the
variant shown, over the same sum under that visitor's best variant), per half;
with ``--swap`` the variants rotate halfway (every segment's best changes) and
"back at 80%" is the number of decisions after the swap until a 1,000-decision
window earns 80% of the oracle again; learning restarts and when they happened
(read back from the proxy's own log, as ``slotwise report`` does).
``--restart-after-swap N`` restarts learning N decisions after the swap
through the admin API (``POST /_sw/admin/restart``), as a marketer who knows
of the change would; the twin's option of the same name calls the learner.
Every policy sees the same shoppers and the same click draws (common random
numbers): the shopper loop is ``bandits_shoppers.simulate``, the twin's too,
so seed N here and seed N on the twin meet the same shoppers.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
if __name__ == "__main__":  # before numpy loads: one BLAS kernel on every host (bench/blas.py)
    from bench.blas import pin

    pin()

from bench.bandits_edge import ADMIN_TOKEN, SharedClock  # noqa: E402
from bench.bandits_shoppers import REFERRERS, UA, Shopper, Visit, back_at, share, simulate  # noqa: E402
from bench.blas import kernel as blas_kernel  # noqa: E402
from slotwise.proxy.operations.reporting import build_decision_log, read_all  # noqa: E402
from slotwise.store import open_store  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC: runs start at midnight
WINDOW_S = 1800.0
RULES = """
holdout: 0%
attribution_window: {window}
catalog:
  category_pages: "/c/{{category}}"
slots:
  - id: hero
    pages: "/"
    selector: ".hero"
    action: replace
    goal: click
    policy: {policy}
    variants:
      - id: a
        html: '<b data-v="a">Spring sale</b>'
      - id: b
        html: '<b data-v="b">New arrivals</b>'
      - id: c
        html: '<b data-v="c">Welcome back</b>'
"""
MARKED = re.compile(r'<[^>]*\bdata-sw-decision="([0-9a-f]+)"[^>]*>')  # the slot's element, marked by the proxy
VARIANT = re.compile(r'\bdata-v="([abc])"')
POLICY_SPECS = {
    "linucb": "{name: linucb, sticky: session}",
    "river-model": "{name: river-model, sticky: session}",
    "thompson": "{name: thompson, sticky: session}",
    "uniform": "{name: uniform, sticky: session}",
}


class Clock:
    """In-process: the proxy's clock is the bench's simulated time (shared with the proxy's process
    through ``shared``, when given)."""

    def __init__(self, now: float, shared: SharedClock | None = None) -> None:
        self.now = now
        self.behind = 0.0
        self.shared = shared

    def __call__(self) -> float:
        return self.now

    def advance_to(self, at: float) -> None:
        if at > self.now:
            self.now = at
            if self.shared is not None:
                self.shared.set(at)

    def scale(self, seconds: float) -> float:
        return seconds


class RealClock:
    """``slotwise serve``: the simulated schedule played in real time, ``speed`` times faster."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.start: float | None = None
        self.behind = 0.0  # the furthest the bench fell behind its schedule (real seconds)

    def __call__(self) -> float:
        return time.time()

    def advance_to(self, at: float) -> None:
        if self.start is None:
            self.start = time.time()
        wait = self.start + (at - T0) / self.speed - time.time()
        if wait > 0:
            time.sleep(wait)
        else:
            self.behind = max(self.behind, -wait)

    def scale(self, seconds: float) -> float:
        return seconds / self.speed


def slotwise_command() -> list[str]:
    """``slotwise`` as installed next to this interpreter (the console script a user runs)."""
    script = Path(sys.executable).with_name("slotwise")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from slotwise.cli import main; sys.exit(main())"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Connection(http.client.HTTPConnection):
    """``http.client`` sends a request's headers and body in two writes: without TCP_NODELAY (which
    browsers set) Nagle holds the body until the server's delayed ACK, 40 ms a POST."""

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Browser:
    """The shoppers' side of HTTP: one keep-alive HTTP/1.1 connection (``http.client``), reopened if the
    server closed it. A fraction of httpx's CPU per request, which in this bench cost as much as the proxy's
    own rewriting; every shopper's cookie is sent by ``Edge``, none is kept here."""

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        parts = urlsplit(url)
        self.conn = Connection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)

    def request(self, method: str, path: str, headers: dict[str, str],
                body: bytes | None = None) -> tuple[list[tuple[str, str]], bytes]:
        """The response's headers and (decoded) body; an HTTP error status raises."""
        headers = {"accept-encoding": "gzip, deflate", **headers}
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()  # a keep-alive connection the server closed: once more on a new one
                if attempt == 2:
                    raise
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: HTTP {response.status}: {data[:300]!r}")
        coding = (response.getheader("content-encoding") or "").lower()
        if coding in ("gzip", "deflate"):
            data = zlib.decompress(data, 31 if coding == "gzip" else 15)
        elif coding not in ("", "identity"):
            raise RuntimeError(f"{method} {path}: unexpected content-encoding {coding!r}")
        return response.getheaders(), data

    def close(self) -> None:
        self.conn.close()


class EdgeProcess:
    """``bench.bandits_edge`` in a child process: the store, and with ``rules`` the proxy in front of it."""

    def __init__(self, workdir: Path, rules: Path | None = None, data: Path | None = None,
                 clock: Path | None = None, budget_ms: float = 2000.0, decision_seed: int | None = None) -> None:
        self.log_path = workdir / "edge.log"
        args = [sys.executable, "-m", "bench.bandits_edge"]
        if rules is not None:
            args += ["--rules", str(rules), "--data", str(data), "--clock", str(clock), "--budget-ms", f"{budget_ms:g}"]
            if decision_seed is not None:
                args += ["--decision-seed", str(decision_seed)]
        self.args = args
        self.popen: subprocess.Popen[bytes] | None = None
        self.urls: dict[str, str] = {}

    def __enter__(self) -> "EdgeProcess":
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        with open(self.log_path, "wb") as log:
            self.popen = subprocess.Popen(self.args, cwd=str(ROOT), env=env, stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=log)
        assert self.popen.stdout is not None
        line = self.popen.stdout.readline()
        if not line:
            self.__exit__()
            raise RuntimeError(f"bench.bandits_edge did not start: {self.log_path.read_text()[-2000:]}")
        self.urls = json.loads(line)
        return self

    def __exit__(self, *exc: object) -> None:
        """Standard input closed: the servers shut down as a server does (the learner's last snapshot)."""
        if self.popen is None:
            return
        assert self.popen.stdin is not None and self.popen.stdout is not None
        if self.popen.poll() is not None:  # it stopped before being asked to: say why
            print(f"bench.bandits_edge exited with {self.popen.returncode} during the run: "
                  f"{self.log_path.read_text()[-2000:]}", file=sys.stderr)
        self.popen.stdin.close()
        try:
            self.popen.wait(30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(10)
        self.popen.stdout.close()
        self.popen = None


@dataclass
class Edge:
    """The proxy in front of the store, and an HTTP client that behaves like the shoppers' browsers."""

    url: str
    clock: Clock | RealClock
    data: Path  # the proxy's data directory (its SQLite store)
    cookie_name: str = "sw_vid"
    failed_open: int = 0
    restart_at: int | None = None  # the home page view before which learning restarts (``--restart-after-swap``)
    views: int = 0
    client: Browser = field(init=False)

    def __post_init__(self) -> None:
        self.client = Browser(self.url)

    def get(self, path: str, shopper: Shopper, referer: str | None) -> str:
        headers = {"user-agent": UA[shopper.device], "accept": "text/html"}
        if referer:
            headers["referer"] = referer
        if shopper.cookie:
            headers["cookie"] = f"{self.cookie_name}={shopper.cookie}"
        response_headers, body = self.client.request("GET", path, headers)
        for key, value in response_headers:
            if key.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                if name.strip() == self.cookie_name:
                    shopper.cookie = rest.split(";")[0]
        return body.decode()

    # -- the shoppers' loop (``bandits_shoppers.simulate``) drives the proxy through these --------
    def advance_to(self, at: float) -> None:
        self.clock.advance_to(at)

    def now(self) -> float:
        return self.clock()

    def browse(self, shopper: Shopper, category: str) -> None:
        self.get(f"/c/{category}", shopper, REFERRERS[shopper.source])

    def home(self, shopper: Shopper, browsed: str | None, at: float) -> tuple[str, str] | None:
        """The home page through the proxy; the variant read from the page, its exposure reported."""
        if self.views == self.restart_at:
            self.restart_learning()
        self.views += 1
        page = self.get("/", shopper, f"{self.url}/c/{browsed}" if browsed else REFERRERS[shopper.source])
        found = MARKED.search(page)
        shown = VARIANT.search(found.group(0)) if found is not None else None
        if found is None or shown is None:
            self.failed_open += 1
            return None
        self.events(shopper, {"type": "exposure", "props": {"decision_id": found.group(1), "slot": "hero"}})
        return found.group(1), shown.group(1)

    def restart_learning(self) -> None:
        """The hero slot's learning restarted as a marketer restarts it: the admin API (a record in the log)."""
        headers, body = self.client.request("POST", "/_sw/admin/restart", {
            "authorization": f"Bearer {ADMIN_TOKEN}", "content-type": "application/x-www-form-urlencoded"},
            b"name=hero")
        if b'"restarted_at"' not in body:
            raise RuntimeError(f"the admin API did not restart learning: {body[:300]!r}")

    def click(self, shopper: Shopper, decision_id: str, at: float) -> None:
        self.events(shopper, {"type": "click", "props": {"decision_id": decision_id, "slot": "hero", "href": "/c/shoes"}})

    def events(self, shopper: Shopper, *events: dict[str, Any]) -> None:
        """A batch of events, as the tag posts them (stamped with the proxy's time)."""
        batch = [{"event_id": uuid.uuid4().hex, "ts": self.clock(), "props": {}, **e} for e in events]
        self.client.request("POST", "/_sw/events", {
            "user-agent": UA[shopper.device], "cookie": f"{self.cookie_name}={shopper.cookie}",
            "content-type": "application/json"}, json.dumps({"events": batch}).encode())

    def log(self) -> list[Any]:
        """The proxy's log (decisions and events), read from its store as ``slotwise report`` reads it."""
        store = open_store("", self.data)
        try:
            return asyncio.run(read_all(store))
        finally:
            close = getattr(store, "close", None)
            if close is not None:
                result = close()
                if asyncio.iscoroutine(result):
                    asyncio.run(result)

    def restarts(self, now: float) -> list[float]:
        """When learning restarted (the proxy's time), read back from its log as ``slotwise report`` does
        (``now``: the windows closed by then)."""
        return [r.ts for r in build_decision_log(self.log(), now=now).restarts.get("hero", [])]


@dataclass
class Harness:
    """Starts the store and the proxy for one run; ``with Harness(policy, server, speed) as edge``."""

    policy: str
    server: str = "serve"  # "serve": `slotwise serve` in a subprocess; "in-process": uvicorn, simulated clock
    speed: float = 1.0  # serve: simulated seconds per real second
    budget_ms: float = 2000.0
    decision_seed: int | None = None  # in-process: the proxy's decision ids drawn from it (None: random)
    restart_at: int | None = None  # the home page view before which the admin API restarts learning
    _stack: list[Any] = field(default_factory=list)

    def __enter__(self) -> Edge:
        tmp = tempfile.TemporaryDirectory(prefix="sw-bench-")
        self._stack.append(tmp)
        work = Path(tmp.name)
        clock: Clock | RealClock = Clock(T0) if self.server == "in-process" else RealClock(self.speed)
        window = max(1, round(clock.scale(WINDOW_S)))
        rules = work / "rules.yaml"
        rules.write_text(RULES.format(policy=POLICY_SPECS.get(self.policy, self.policy), window=f"{window}s"))
        data = work / "data"
        if isinstance(clock, Clock):  # the store and the proxy in one child process, on the bench's clock
            clock.shared = SharedClock(work / "clock", start=T0)
            self._stack.append(clock.shared)
            edge = EdgeProcess(work, rules, data, clock.shared.path, self.budget_ms, self.decision_seed).__enter__()
            self._stack.append(edge)
            url = edge.urls["proxy"]
        else:  # the store in a child process, `slotwise serve` in another
            store = EdgeProcess(work).__enter__()
            self._stack.append(store)
            url = self._serve(store.urls["store"], rules, data)
        bench = Edge(url, clock, data, restart_at=self.restart_at)
        self._stack.append(bench.client)
        return bench

    def _serve(self, upstream: str, rules: Path, data: Path) -> str:
        """``slotwise serve`` as a user starts it, on a free port; returns its URL once it answers."""
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        log = open(Path(rules.parent) / "serve.log", "wb")
        self._stack.append(log)
        process = subprocess.Popen(
            [*slotwise_command(), "serve", "--upstream", upstream, "--rules", str(rules),
             "--data", str(data), "--port", str(port), "--personalize-budget-ms", f"{self.budget_ms:g}",
             "--secret", "bench-secret", "--admin-token", ADMIN_TOKEN, "--log-level", "warning"],
            cwd=str(rules.parent), env=env, stdout=log, stderr=subprocess.STDOUT)
        self._stack.append(Process(process))
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"slotwise serve exited with {process.returncode}: "
                                   f"{(rules.parent / 'serve.log').read_text()[-2000:]}")
            probe = Browser(url, timeout=2.0)
            try:
                probe.request("GET", "/", {})
                return url
            except (OSError, RuntimeError, http.client.HTTPException):
                pass
            finally:
                probe.close()
            if time.monotonic() > deadline:
                raise RuntimeError("slotwise serve did not answer within 60 s")
            time.sleep(0.2)

    def __exit__(self, *exc: object) -> None:
        for item in reversed(self._stack):
            if hasattr(item, "__exit__"):
                item.__exit__(None, None, None)
            elif hasattr(item, "cleanup"):
                item.cleanup()
            else:
                item.close()
        self._stack.clear()


@dataclass
class Process:
    """A child process, stopped as a user stops the server (SIGTERM, then SIGKILL)."""

    popen: subprocess.Popen[bytes]

    def __exit__(self, *exc: object) -> None:
        self.popen.terminate()
        try:
            self.popen.wait(20)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(10)


@dataclass
class RunResult:
    policy: str
    seed: int
    rate: float
    swap: bool
    visits: list[Visit]
    restarts: list[int]  # visit index at which learning restarted
    wall_s: float
    server: str = "serve"
    behind_s: float = 0.0  # serve: the furthest the bench fell behind its schedule (real seconds)

    def share(self, start: int = 0, end: int | None = None) -> float:
        return share(self.visits, start, end)

    @property
    def half(self) -> int:
        return len(self.visits) // 2

    def back_at(self, level: float = 0.8, window: int = 1000) -> int | None:
        """Decisions after the swap until a full window after it earns ``level`` of the oracle."""
        return back_at(self.visits, level, window)


def drive(edge: Edge, seed: int, visits: int, per_hour: float, swap: bool, amp: float) -> tuple[list[Visit], list[float]]:
    """Drive ``visits`` home page views through the proxy (``bandits_shoppers.simulate``, the twin's loop);
    returns them and the restart times."""
    out = simulate(edge, seed, visits, per_hour, swap, amp, start=T0)  # events are in the log when answered
    return out, edge.restarts(edge.clock() + edge.clock.scale(2 * WINDOW_S))  # every window closed


def run(policy: str, seed: int, visits: int, per_hour: float, swap: bool, amp: float,
        server: str = "serve", speed: float = 1.0, paired: bool = True,
        restart_after_swap: int | None = None) -> RunResult:
    """One run; in-process and ``paired``, the proxy's decision ids are drawn from ``seed``.
    ``restart_after_swap``: a swap run's learning is restarted through the admin API that many
    decisions after the swap (0: before its first), as a marketer who knows of the change would."""
    started = time.perf_counter()
    restart_at = visits // 2 + restart_after_swap if swap and restart_after_swap is not None else None
    with Harness(policy, server, speed, decision_seed=seed if paired and server == "in-process" else None,
                 restart_at=restart_at) as edge:
        out, restart_times = drive(edge, seed, visits, per_hour, swap, amp)
        behind = edge.clock.behind
    index = [next((i for i, v in enumerate(out) if v.stamp >= t), len(out)) for t in restart_times]
    return RunResult(policy, seed, per_hour, swap, out, index, time.perf_counter() - started, server, behind)


def describe(results: list[RunResult]) -> Iterator[str]:
    """Markdown: one row per run, then mean and worst per policy, traffic rate and scenario."""
    yield "| policy | traffic / h | scenario | seed | % of oracle | 1st half | 2nd half | back at 80% after swap | restarts (visit) | failed open | behind s | wall s |"
    yield "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |"
    for r in results:
        back = r.back_at() if r.swap else None
        yield (f"| {r.policy} | {r.rate:,.0f} | {'swap' if r.swap else 'steady'} | {r.seed} | {r.share():.1%} "
               f"| {r.share(0, r.half):.1%} | {r.share(r.half):.1%} "
               f"| {('never' if back is None else f'{back:,}') if r.swap else ''} "
               f"| {', '.join(f'{i:,}' for i in r.restarts) or 'none'} | {sum(v.shown is None for v in r.visits)} "
               f"| {r.behind_s:.1f} | {r.wall_s:.0f} |")


def summary(results: list[RunResult]) -> Iterator[str]:
    yield ("| policy | traffic / h | scenario | seeds | % of oracle: mean | worst seed | false restarts "
           "| back at 80% within 5,000 | back at 80%: median |")
    yield "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    keys = sorted({(r.policy, r.rate, r.swap) for r in results}, key=lambda k: (k[0], k[1], k[2]))
    for policy, rate, swap in keys:
        group = [r for r in results if (r.policy, r.rate, r.swap) == (policy, rate, swap)]
        shares = [r.share() for r in group]
        false = sum(len(r.restarts) for r in group) if not swap else sum(
            sum(1 for i in r.restarts if i < r.half) for r in group)
        backs = [r.back_at() for r in group] if swap else []
        within = f"{sum(b is not None and b <= 5000 for b in backs)} of {len(backs)}" if swap else ""
        median = ""
        if swap and backs:
            known = sorted(b if b is not None else 10**9 for b in backs)
            mid = known[len(known) // 2]
            median = "never" if mid == 10**9 else f"{mid:,}"
        yield (f"| {policy} | {rate:,.0f} | {'swap' if swap else 'steady'} | {len(group)} | {statistics.mean(shares):.1%} "
               f"| {min(shares):.1%} | {false} | {within} | {median} |")


def plan(args: argparse.Namespace) -> list[tuple[Any, ...]]:
    """The runs asked for, in order: ``run``'s arguments for each policy x rate x scenario x seed."""
    out = []
    for policy in args.policies.split(","):
        for per_hour in (float(x) for x in args.rates.split(",")):
            for scenario in args.scenarios.split(","):
                for seed in range(args.first_seed, args.first_seed + args.seeds):
                    # serve: arrivals (about 2/3 of the home page views) at --real-rate views a second
                    speed = args.real_rate * 3600.0 / (1.5 * per_hour) if args.server == "serve" else 1.0
                    out.append((policy, seed, args.visits, per_hour, scenario == "swap", args.amp, args.server, speed,
                                not args.random_ids, args.restart_after_swap))
    return out


def _run(spec: tuple[Any, ...]) -> RunResult:
    return run(*spec)


def runs(specs: list[tuple[Any, ...]], jobs: int) -> Iterator[RunResult]:
    """Each run's result, in the order of ``specs``; with ``jobs`` > 1 that many at a time, each in a
    process of its own (and its servers in theirs): runs share nothing but the machine."""
    if jobs == 1 or len(specs) == 1:
        yield from map(_run, specs)
        return
    import multiprocessing

    with ProcessPoolExecutor(min(jobs, len(specs)), mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from pool.map(_run, specs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--policies", default="linucb", help="comma-separated: linucb, river-model, thompson, uniform")
    ap.add_argument("--seeds", type=int, default=3, help="seeds per policy, traffic rate and scenario")
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--visits", type=int, default=12_000, help="home page views per run")
    ap.add_argument("--rates", default="600,3000", help="visits per hour (simulated), comma-separated")
    ap.add_argument("--scenarios", default="steady,swap", help="steady, swap (the variants rotate halfway)")
    ap.add_argument("--amp", type=float, default=None,
                    help="daily swing of every click rate (0.3: +-30%%); default 0.3 in-process, 0 with serve")
    ap.add_argument("--server", choices=("serve", "in-process"), default="serve",
                    help="serve: `slotwise serve` in a subprocess on a real port, real time played faster (--real-rate); "
                         "in-process: the same app on uvicorn with the bench's simulated clock")
    ap.add_argument("--random-ids", action="store_true",
                    help="in-process: the proxy draws random decision ids, as in production (default: from the "
                         "run's seed, so two codes meet the same draws)")
    ap.add_argument("--real-rate", type=float, default=8.0,
                    help="serve: home page views per real second (sets the speed: rate / (traffic per second))")
    ap.add_argument("--restart-after-swap", type=int, default=None, metavar="N",
                    help="swap runs: restart learning through the admin API N decisions after the swap (0: at it), "
                         "as a marketer who knows of the change would (the twin's option of the same name)")
    ap.add_argument("--jobs", type=int, default=1,
                    help="runs at a time, each in its own process (results printed in the order of the runs)")
    ap.add_argument("--out", help="also write the markdown here")
    args = ap.parse_args(argv)
    if args.amp is None:
        args.amp = 0.3 if args.server == "in-process" else 0.0
    if args.jobs < 1:
        ap.error("--jobs must be at least 1")
    started = time.perf_counter()
    results: list[RunResult] = []
    lines: list[str] = []
    for r in runs(plan(args), args.jobs):
        results.append(r)
        print(next(iter(list(describe([r]))[2:])), flush=True)
    lines.append(f"`.venv/bin/python -m bench.bandits_http {' '.join(argv if argv is not None else sys.argv[1:])}` "
                 f"({args.visits:,} visits per run, +-{args.amp:.0%} daily swing, proxy: "
                 f"{'`slotwise serve` subprocess' if args.server == 'serve' else 'in-process, simulated clock'})\n")
    lines += list(summary(results))
    lines.append("")
    lines += list(describe(results))
    lines.append(f"\n_total runtime {time.perf_counter() - started:.0f} s; {blas_kernel()}_")
    text = "\n".join(lines)
    print("\n" + text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
