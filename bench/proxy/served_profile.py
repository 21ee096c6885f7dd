"""Where a *served* worker's CPU goes: per thread from ``/proc``, per function family from py-spy.

    python -m bench.proxy.served_profile --py-spy PATH [--cases rules4,rules4-cached] [--duration 10]
        [--rate 200] [--raw-dir DIR]

The setup is ``bench.proxy.run``'s (nginx as the origin, ``slotwise serve``
with two granian workers as a user starts it, 64 returning visitors, wrk 32
connections). Per case, two wrk runs against the same server:

1. without a profiler: the CPU per request of each of Slotwise's threads
   (``/proc/<pid>/task/*/stat`` before and after, grouped by thread name);
2. with py-spy recording every worker (``--threads``, idle stacks left out,
   so a sample is a thread on a core): each sample goes to the family of its
   innermost frame that a rule of ``FAMILIES`` names (server and ASGI,
   forwarding, page reading, decide, render, splice, inject, decision log,
   profile read/write, thread hops, metrics, ...), and the families' shares
   of the event-loop thread and of the worker are printed; then the event
   loop's samples by *step* of a page (``STEPS``: the HTML cache's lookup,
   the profile step, rules, render, splice, the send, ...: the innermost
   frame of a step's function), which is where a served page's time goes
   step by step.

py-spy is not a dependency of the project: install it for yourself and pass
its path (``--py-spy``). The figures are shares and CPU per request: on a
shared machine those move far less than req/s.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import time
from collections import Counter, defaultdict
from pathlib import Path

from .run import CASES, HZ, free_port, load, origins, prepare_visitors, serve, stop, visitors_script

FAMILIES: list[tuple[str, str]] = [
    # (family, regex on "function (file)" of a frame); the innermost matching frame names the sample
    ("thread hops (page-work pool)", r"concurrent/futures|run_in_executor|page_work\.py|threading\.py"),
    ("metrics", r"prometheus_client|operations/metrics\.py"),
    ("decision log", r"persist_decisions|_persist_decisions|\bcommit \(.*personalize\.py|store/.*\bappend\b"),
    ("profile write (request side)", r"update_profile_soon|store/.*writer|profile_cache\.py.*\b(put|queue|write)"),
    ("profile read", r"pageviews\.py|get_profile|profile_head|store/|profile\.py"),
    ("recommendations", r"recommendations\.py|fetch_recommendations"),
    ("render", r"render_cache\.py|jinja2/|rules/.*render|\brender \("),
    ("decide (bandits)", r"slotwise/bandits/|_choose|_visitor_choice|choices\.py|decision_tokens"),
    ("rules (when/order/context)", r"slotwise/rules/"),
    ("page reading", r"page_readings\.py|_read_page|slotwise/html/digest|digest_of"),
    ("splice", r"slotwise/html/"),
    ("inject (tag script)", r"inject\.py|slotwise/tag/"),
    ("identity", r"identity\.py"),
    ("personalizer (rest of on_html)", r"personalization/"),
    ("fail-open wrapper", r"forward_safe\.py"),
    ("HTML path (hold, decode, encode)", r"forward_html\.py|encoding\.py|stream_guard\.py|documents\.py"),
    ("HTML cache", r"html_cache\.py|forward_cached\.py|cache_control\.py"),
    ("forwarding (client to origin)", r"slotwise/proxy/forwarding/|aiohttp/|yarl/|multidict/"),
    ("server and ASGI (app, send path)", r"slotwise/proxy/app\.py|slotwise/proxy/flow\.py|starlette/|granian/"),
    ("event loop", r"asyncio/|uvloop/"),
]
_COMPILED = [(name, re.compile(pattern)) for name, pattern in FAMILIES]


STEPS: list[tuple[str, str]] = [
    # (step of a page, regex on a frame "function (file:line)"); the innermost frame a rule names gives the sample
    # its step, so a step's share excludes the steps it calls (like ``bench.proxy.breakdown``'s clock)
    ("HTML cache: eligible, lookup, the copy for the visitor",
     r"^(CachedPages\.eligible|HtmlCache\.lookup|CachedPage\.(for_visitor|copy_for)|SafePersonalizer\.html_cache_allowed) "),
    ("request: target, flow, upstream headers", r"^(Forwarder\._target|Forwarder\._flow|upstream_request_headers) "),
    ("identity (on_request)", r"^SlotwisePersonalizer\.on_request "),
    ("page digest, reading, page and request facts",
     r"^(digest_of|SlotwisePersonalizer\._read_page|PageReadings\.(facts|nonce)|request_facts) "),
    ("the request's slots", r"^SlotwisePersonalizer\._slots "),
    ("profile read and the view recorded", r"^SlotwisePersonalizer\._profile_step "),
    ("rules: when", r"^Slot\.applies "),
    ("rules: render", r"^Slot\.render "),
    ("recommendations", r"^fetch_recommendations "),
    ("decide: choices, journeys, kill switches, context",
     r"^(SlotwisePersonalizer\._choose|JourneyLoader\.load|KillSwitches\.current|build_context|in_holdout) "),
    ("splice", r"^(page_work|rewrite|has_targets) "),
    ("inject (the tag's script)", r"^(inject_before_body_end|_tag_script) "),
    ("commit (decision log)", r"^SafePersonalizer\._commit "),
    ("send to the server (ASGI start, body)", r"^Responder\.(start|body) "),
    ("metrics", r"prometheus_client|operations/metrics\.py"),
    ("budget deadlines", r"^(deadline\.|_Timers\.)"),
    ("personalizer, the rest (on_html, the decide loop)", r"^SlotwisePersonalizer\.(on_html|_decide_step) "),
    ("fail-open wrapper, the HTML path's headers",
     r"^(SafePersonalizer\.|HtmlRewriter\.personalize|CachedPages\.(_serve|forward)) "),
    ("forwarding, app (the rest)", r"^(Forwarder\.|ProxyApp\.)"),
    # an uncacheable page's own steps (a cached page has none of them)
    ("client to the origin (aiohttp or plain_get: request, head, body read)",
     r"^(Upstream\.send|(_HintedResponse|UpstreamBody|UpstreamResponse)\.\w+|_session) |\((aiohttp|yarl|multidict|httptools)/"
     r"|\(slotwise/proxy/forwarding/plain_get\.py"),
    ("HTML cache on a miss: fetch, refusal, pass-by", r"^CachedPages\.(_fetch|_fetched|_uncacheable|_store) |^refusal "),
    ("HTML path: hold, stream guard, decode, document facts",
     r"^((_Page|until_gone|StreamGuard|Decoder)\.\w+|HtmlRewriter\.respond|document_facts|sniff_charset"
     r"|decided_charset|is_document) |^(decode|encode) \(slotwise/proxy/forwarding/"),
]
_STEPS = [(name, re.compile(pattern)) for name, pattern in STEPS]
OUTSIDE = "server, event loop (outside the app)"


def step_of(frames: list[str]) -> str:
    """The page step of an event-loop sample: its innermost frame that a rule of ``STEPS`` names."""
    for frame in reversed(frames):
        for name, pattern in _STEPS:
            if pattern.search(frame):
                return name
    return OUTSIDE


def read_steps(paths: list[Path]) -> Counter[str]:
    """The event loops' busy samples of py-spy ``-f raw --threads`` files, per page step."""
    steps: Counter[str] = Counter()
    for path in paths:
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            frames = stack.split(";")
            if len(frames) < 2 or not count.isdecimal() or "MainThread" not in frames[0] or IDLE.search(frames[-1]):
                continue
            steps[step_of(frames[1:])] += int(count)
    return steps


IDLE = re.compile(r"granian/server/mp\.py|Condition\.wait|concurrent/futures/thread\.py:8[01]\)|SimpleQueue|queue\.py")
"""A thread waiting (py-spy's idle detection does not see these as idle here): the loop's root frame
while uvloop polls, a pool thread's queue get, the writer's condition wait."""


def family(frames: list[str]) -> str:
    """The family of a sample: its innermost frame that a rule names (``other``: none does)."""
    if not frames or IDLE.search(frames[-1]):
        return "idle"
    for frame in reversed(frames):
        for name, pattern in _COMPILED:
            if pattern.search(frame):
                return name
    return "other"


def read_raw(path: Path) -> dict[str, Counter[str]]:
    """py-spy ``-f raw --threads`` output → per thread name, samples per family."""
    by_thread: dict[str, Counter[str]] = defaultdict(Counter)
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdecimal():
            continue
        frames = stack.split(";")
        if len(frames) == 1:
            continue  # a thread without Python frames (the server's own runtime)
        by_thread[_thread_kind(frames[0])][family(frames[1:])] += int(count)
    return by_thread


def _thread_kind(label: str) -> str:
    if "MainThread" in label:
        return "event loop"
    if "sw-page" in label:
        return "page-work pool"
    if "writer" in label.lower():
        return "profile writer"
    return label.split(" (")[0].strip("()") or "other"


def _threads(pid: int) -> dict[tuple[int, int], tuple[int, str]]:
    """CPU ticks and name of every thread of the process tree under ``pid``."""
    out: dict[tuple[int, int], tuple[int, str]] = {}
    tree = [pid]
    seen = set()
    while tree:
        p = tree.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                stat = (task / "stat").read_text()
                name = stat.split("(", 1)[1].rsplit(")", 1)[0]
                fields = stat.rsplit(")", 1)[1].split()
                out[(p, int(task.name))] = (int(fields[11]) + int(fields[12]), name)
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
            tree.extend(int(c) for c in children)
        except OSError:
            continue
    return out


def workers_of(pid: int) -> list[int]:
    """The serving workers: the processes under ``pid`` that run the app (granian's ``Worker`` children)."""
    found = []
    for (p, tid), (_, _name) in _threads(pid).items():
        if p == tid and p != pid:
            cmd = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ")
            if b"learner" not in cmd:
                found.append(p)
    return sorted(set(found))


def script_args(script: str | None) -> list[str]:
    """wrk's ``-s`` for a case with prepared visitors; none for one without (pass-through)."""
    return ["-s", script] if script else []


def wrk_run(url: str, duration: int, connections: int, script: str | None) -> int:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", *script_args(script), url],
                         capture_output=True, text=True, check=True).stdout
    return int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]


def per_thread_cpu(pid: int, url: str, args: argparse.Namespace, script: str | None) -> tuple[dict[str, float], int]:
    before = _threads(pid)
    requests = wrk_run(url, args.duration, args.connections, script)
    after = _threads(pid)
    cpu: dict[str, float] = defaultdict(float)
    for (pid, tid), (ticks, name) in after.items():
        spent = ticks - before.get((pid, tid), (0, name))[0]
        if spent:  # Python threads carry the process's name: the main one runs the event loop
            kind = "event loop (main thread)" if tid == pid and name == "slotwise" else (
                "other Python threads (profile writer, page work)" if name == "slotwise" else name)
            cpu[kind] += spent * 1000 / HZ / max(1, requests)
    return dict(cpu), requests


def profiled(pid: int, url: str, args: argparse.Namespace, script: str | None, raw_dir: Path, key: str) -> dict[str, Counter[str]]:
    workers = workers_of(pid)
    wrk = subprocess.Popen(["wrk", "-t2", f"-c{args.connections}", f"-d{args.duration + 2}s", *script_args(script), url],
                           stdout=subprocess.DEVNULL)
    time.sleep(1)
    spies = []
    for worker in workers:
        out = raw_dir / f"{key}-{worker}.txt"
        spies.append((out, subprocess.Popen([args.py_spy, "record", "-p", str(worker), "-d", str(args.duration),
                                             "-r", str(args.rate), "--threads", "-f", "raw", "-o", str(out),
                                             *(["--gil"] if args.gil else [])],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    for _, spy in spies:
        spy.wait()
    wrk.wait()
    total: dict[str, Counter[str]] = defaultdict(Counter)
    for out, _ in spies:
        if out.exists():
            for thread, counts in read_raw(out).items():
                total[thread].update(counts)
    return total


def reread(raw_dir: Path, key: str) -> dict[str, Counter[str]]:
    """The samples of a case kept in ``raw_dir`` (``--reread``: classify again without running)."""
    total: dict[str, Counter[str]] = defaultdict(Counter)
    for out in sorted(raw_dir.glob(f"{key}-[0-9]*.txt")):
        for thread, counts in read_raw(out).items():
            total[thread].update(counts)
    return total


def report(key: str, cpu: dict[str, float], requests: int, samples: dict[str, Counter[str]], load_: str,
           steps: Counter[str] | None = None) -> str:
    lines = [f"## {key} ({requests:,} requests in the unprofiled run; load {load_})", "",
             "| thread (by name) | CPU ms per request |", "| --- | ---: |"]
    for name, ms in sorted(cpu.items(), key=lambda kv: -kv[1]):
        if ms >= 0.005:
            lines.append(f"| {name} | {ms:.3f} |")
    lines.append(f"| **all** | **{sum(cpu.values()):.3f}** |")
    every: Counter[str] = Counter()
    for counts in samples.values():
        every.update(counts)
    loop = samples.get("event loop", Counter())
    lines += ["", "| family (py-spy samples on a core) | share of the event-loop thread | share of all threads |",
              "| --- | ---: | ---: |"]
    idle_loop = loop.pop("idle", 0)
    every.pop("idle", 0)
    n_loop, n_all = max(1, sum(loop.values())), max(1, sum(every.values()))
    for name, n in every.most_common():
        lines.append(f"| {name} | {100 * loop[name] / n_loop:.1f}% | {100 * n / n_all:.1f}% |")
    if steps:
        n_steps = max(1, sum(steps.values()))
        loop_ms = cpu.get("event loop (main thread)", 0.0)
        lines += ["", "| step of a page (innermost step frame; py-spy samples on a core) | share of the event-loop thread "
                  "| event-loop CPU ms a page |", "| --- | ---: | ---: |"]
        lines += [f"| {name} | {100 * steps[name] / n_steps:.1f}% | {loop_ms * steps[name] / n_steps:.3f} |"
                  for name in [n for n, _ in STEPS] + [OUTSIDE]]
    others = {t: sum(n for f, n in c.items() if f != "idle") for t, c in samples.items() if t != "event loop"}
    lines += ["", f"Busy samples per thread kind: event loop {n_loop:,} (idle {idle_loop:,}); "
              + "; ".join(f"{t} {n:,}" for t, n in sorted(others.items(), key=lambda kv: -kv[1])), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--py-spy", required=True, help="path of a py-spy executable (not a project dependency)")
    parser.add_argument("--cases", default="rules4,rules4-cached")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--server", choices=["granian", "uvicorn"], default="granian")
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--gil", action="store_true",
                        help="only samples of a thread holding the interpreter (py-spy --gil): leaves out waits for it")
    parser.add_argument("--raw-dir", default=None, help="keep py-spy's raw stacks here")
    parser.add_argument("--page-kb", type=int, default=120)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if c.key in args.cases.split(",") and c.kind == "slotwise"]
    texts = []
    with origins(args, "slotwise-spy-") as (tmp, ports):
        raw_dir = Path(args.raw_dir or tmp)
        raw_dir.mkdir(parents=True, exist_ok=True)
        for case in cases:
            port = free_port()
            origin = ports["cacheable" if case.origin == "cacheable" else "origin"]
            proc = serve(case, f"http://127.0.0.1:{origin}", port, Path(tmp) / f"data-{case.key}", args)
            try:
                script = None
                if case.visitors:  # pass-through has none: plain requests
                    cookies = prepare_visitors(f"http://127.0.0.1:{port}", case.visitors)
                    script = visitors_script(tmp, cookies, case.path, case.key)
                url = f"http://127.0.0.1:{port}{case.path}"
                wrk_run(url, 1, 4, script)  # warm
                before = load()
                cpu, requests = per_thread_cpu(proc.pid, url, args, script)
                samples = profiled(proc.pid, url, args, script, raw_dir, case.key)
                steps = read_steps(sorted(raw_dir.glob(f"{case.key}-[0-9]*.txt")))
                text = report(case.key, cpu, requests, samples, f"{before:.1f} → {load():.1f}", steps)
                print(text, flush=True)
                texts.append(text)
            finally:
                stop(proc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
