"""The tag-only stack: a static store on a real nginx, `/_sw/` routed to a real `slotwise serve --tag-only`.

Nothing here is a stand-in for Slotwise: the store's pages are plain files
(``site/``) with the snippet of ``embed_snippet()`` first in ``<head>``; nginx
serves them and proxies ``/_sw/`` exactly as docs/tag.md tells a store to;
Slotwise is the real command in a subprocess. The store is served several
times, one nginx ``server`` per :class:`Site`, to vary what the tests need:
the snippet's options, a slow or absent Slotwise, a store whose HTML is slow.
Slowness is a real slow network hop (:class:`SlowLink`), not a hook in Slotwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import os
import pwd
import shutil
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from polling import wait_for, wait_for_port  # noqa: F401 (tests/polling.py; wait_for re-exported for the tests)
from ports import free_port  # outside the ephemeral range: see tests/ports.py
from browser_fixtures import DESKTOP_UA  # noqa: F401 (re-exported for the tests)
from opacity_probe import OPACITY_PROBE, brief, hidden_past  # noqa: F401 (re-exported for the tests)

from slotwise.store.sqlite import SQLiteStore
from slotwise.tag.assets import embed_snippet
from slotwise.tag.testing import sync

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SITE = HERE / "site"
RULES = HERE / "rules.yaml"
RULES_CONSENT = HERE / "rules-consent.yaml"
RULES_LATE = HERE / "rules-late.yaml"  # slots whose elements the store's scripts render late (``wait``)
RULES_ARMS = HERE / "rules-arms.yaml"  # a holdout, and arms that show nothing, on pages with and without their slots
RULES_CURRENCY = HERE / "rules-currency.yaml"  # a store selling in two currencies: the page says which
RULES_SPA = HERE / "rules-spa.yaml"  # a single-page storefront (site/spa/): soft navigations followed
RULES_SPA_OFF = HERE / "rules-spa-off.yaml"  # the same with capture.soft_navigations: false
SECRET = "tag-only-test-secret"
ADMIN_TOKEN = "tag-only-admin-token"
SNIPPET_MARK = "<!--slotwise-->"
SLOW_S = 1.2  # a slow Slotwise (or store) answers this late: well past any window the tests use


def _documented_location() -> str:
    """The location block docs/tag.md ("Tag-only mode") gives a store's nginx, read from the doc itself (so
    the tests run what it says), with ``{port}`` for its port and its braces doubled for ``str.format``."""
    doc = (ROOT / "docs" / "tag.md").read_text()
    found = re.search(r"```nginx\n(location /_sw/ \{.*?\n\})\n```", doc, re.DOTALL)
    assert found is not None, "docs/tag.md no longer has its nginx location block for /_sw/"
    block = found.group(1).replace("{", "{{").replace("}", "}}")
    block, n = re.subn(r"proxy_pass http://127\.0\.0\.1:8000;", "proxy_pass http://127.0.0.1:{port};", block)
    assert n == 1, "docs/tag.md's location block no longer proxies to 127.0.0.1:8000"
    return "\n" + "\n".join("        " + line for line in block.splitlines())


SW_LOCATION = _documented_location()



# -- the pieces ---------------------------------------------------------------------------------

class SlowLink:
    """A TCP relay that holds every answer ``delay`` seconds: a slow server or network between two hops.

    nginx opens one upstream connection per request (HTTP/1.0 to upstreams
    by default), so each request is delayed once.
    """

    def __init__(self, target_port: int, delay: float) -> None:
        self.target_port, self.delay = target_port, delay
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: asyncio.base_events.Server | None = None
        self.port = 0

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, delay: float) -> None:
        try:
            first = True
            while data := await src.read(65536):
                if first and delay:
                    await asyncio.sleep(delay)
                first = False
                dst.write(data)
                await dst.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                dst.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, up_writer, 0), self._pipe(up_reader, writer, self.delay))

    def __enter__(self) -> "SlowLink":
        self.thread.start()
        started = asyncio.run_coroutine_threadsafe(asyncio.start_server(self._client, "127.0.0.1", 0), self.loop)
        self.server = started.result(5)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        async def shut() -> None:
            """Stop listening and end the relays still open (a task left pending warns at exit)."""
            if self.server is not None:
                self.server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shut(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if not self.thread.is_alive():
            self.loop.close()


class Process:
    """A server in a subprocess whose output goes to a file (read it when a test fails)."""

    def __init__(self, args: list[str], port: int, log: Path, env: dict[str, str] | None = None) -> None:
        self.args, self.port, self.log_path = args, port, log
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready = False

    def start(self) -> "Process":
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(self.args, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        return self

    def wait(self) -> None:
        """Until it listens (once): the caller may do other things while it boots."""
        if self.ready:
            return
        try:
            wait_for_port(self.port, 15.0, self.proc)
        except Exception as exc:
            self.__exit__()
            raise RuntimeError(f"{self.args[0]} did not start: {self.log()[-3000:]}") from exc
        self.ready = True

    def __enter__(self) -> "Process":
        self.start().wait()
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __exit__(self, *exc: object) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def slotwise_process(rules: Path, data: Path, port: int, *options: str) -> Process:
    """``slotwise serve --tag-only``, as a store would run it (one uvicorn worker), with ``options`` added."""
    args = [sys.executable, "-m", "slotwise.cli", "serve", "--tag-only", "--rules", str(rules),
            "--server", "uvicorn", "--workers", "1", "--host", "127.0.0.1", "--port", str(port),
            "--data", str(data), "--secret", SECRET, "--admin-token", ADMIN_TOKEN, "--log-level", "warning",
            "--trusted-proxies", "127.0.0.1",  # the store's nginx: its X-Forwarded-For names the browser
            "--slot-health-flush", "0.2",  # the slots' health in the store at once, not within the default's 5 s
            *options]
    return Process(args, port, data / "slotwise.log", env={"SLOTWISE_MALLOC_TUNE": "0"})


def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


HASHED_SCRIPTS = r"~ ^/_sw/tag\.[0-9a-f]+\.js$"
"""nginx's match for the hashed scripts a tag-only tag loads (its soft script, its answer script)."""


def scripts_location(running: contextlib.ExitStack, how: str, port: int, dead_port: int,
                     match: str = HASHED_SCRIPTS) -> str:
    """The documented ``/_sw/`` location for the scripts ``match`` names alone (an nginx location match), served
    ``slow`` (through a :class:`SlowLink` to Slotwise on ``port``, ``SLOW_S`` late) or ``down`` (to ``dead_port``,
    where nothing listens: nginx answers 502 at once). Behind the proxy, the spa tag's exact path."""
    hop = dead_port if how == "down" else running.enter_context(SlowLink(port, SLOW_S)).port
    return SW_LOCATION.format(port=hop).replace("location /_sw/ ", f"location {match} ")


# -- the store, served several ways ----------------------------------------------------------------

@dataclass(frozen=True)
class Site:
    """One way of serving the store: the snippet's options, and how Slotwise and the store behave.

    ``slotwise``: ``up``; ``slow`` (every ``/_sw/`` answer ``SLOW_S`` late,
    tag.js included); ``slow-decide`` (only ``/_sw/decide``); ``down``
    (nothing listens: nginx answers 502 at once). ``scripts``: the same for the
    hashed scripts tag.js loads (``/_sw/tag.<hash>.js``: the soft script) alone,
    ``up``, ``slow`` or ``down``. ``html_delay``: seconds before the store's own
    pages start to arrive (a slow storefront).
    """

    name: str
    window_ms: int = 2000
    window_start: str = "snippet"
    consent: str = "implied"
    slotwise: str = "up"
    scripts: str = "up"
    html_delay: float = 0.0

    def snippet(self) -> str:
        return embed_snippet(antiflicker_ms=self.window_ms, consent=self.consent, window_start=self.window_start)


# Every way the tests serve the store, per rules file: one Slotwise (and one nginx) per rules file
# and test worker serves them all. Cookies do not care for ports: one browser context is one
# visitor on every site of a stack.
SITES: dict[Path, list[Site]] = {
    RULES: [
        Site("main"),  # a 2 s window: tests of what is applied, not of flicker
        Site("slow", window_ms=300, slotwise="slow"),  # every /_sw/ answer late, tag.js included
        Site("slow-decide", window_ms=300, slotwise="slow-decide"),  # tag.js and events on time, /decide late
        Site("down", window_ms=3000, slotwise="down"),  # a long window: an absent Slotwise must not wait it out
        Site("race", window_ms=300, slotwise="slow-decide"),  # only the identity test browses it
        Site("late-store", window_ms=1000, html_delay=SLOW_S),  # the store's HTML arrives after the window
        Site("late-store-nav", window_ms=1000, window_start="navigation", html_delay=SLOW_S),
    ],
    RULES_CONSENT: [Site("consent", consent="required")],
    RULES_LATE: [Site("late"), Site("late-short", window_ms=300)],  # the swatches come after a 300 ms window
    RULES_ARMS: [Site("arms")],
    RULES_CURRENCY: [Site("currency")],
    RULES_SPA: [Site("spa"), Site("spa-slow", slotwise="slow-decide"),  # spa-slow: /decide answers after the 1st navigation
                Site("spa-slow-soft", scripts="slow"), Site("spa-no-soft", scripts="down")],  # the soft script late, absent
    RULES_SPA_OFF: [Site("spa-off")],
}


def write_site(dest: Path, snippet: str) -> None:
    """The store's files with the snippet first in every page's ``<head>``."""
    for source in SITE.rglob("*"):
        target = dest / source.relative_to(SITE)
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif source.suffix == ".html":
            target.parent.mkdir(parents=True, exist_ok=True)
            text = source.read_text("utf-8")
            assert SNIPPET_MARK in text, f"{source} has no {SNIPPET_MARK}"
            target.write_text(text.replace(SNIPPET_MARK, snippet), "utf-8")
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


_NGINX = """daemon off;
user {user};
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log {tmp}/access.log;  # nginx's default format: each request line, query string and all
    client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
    types {{ text/html html; text/css css; application/javascript js; }}
    default_type application/octet-stream;
{servers}
}}
"""

_STATIC = "try_files $uri $uri.html $uri/index.html =404;"


@dataclass
class Nginx:
    """One nginx (non-daemon, config in a temp dir) serving every site."""

    tmp: Path
    servers: list[str] = field(default_factory=list)
    process: Process | None = None

    def add(self, port: int, root: Path, *, pages: str, sw: str, tls: tuple[Path, Path] | None = None) -> None:
        """One server on ``port``; ``tls``: (certificate chain, key) files, to serve https."""
        # the stylesheet and the favicon never wait: only the store's pages are slow on a slow store
        ssl = f" ssl;\n        ssl_certificate {tls[0]}; ssl_certificate_key {tls[1]}" if tls else ""
        self.servers.append(f"""    server {{
        listen 127.0.0.1:{port}{ssl};
        root {root};
        location / {{ {pages} }}
        location = /site.css {{ }}
        location = /favicon.ico {{ return 204; }}{sw}
    }}""")

    def __enter__(self) -> "Nginx":
        binary = nginx_binary()
        if binary is None:
            raise FileNotFoundError("nginx is not installed (scripts/setup --test installs it)")
        conf = self.tmp / "nginx.conf"
        # workers run as this user (as root nginx would drop to nobody, who cannot read a private tmp dir)
        user = f"{pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name}"
        conf.write_text(_NGINX.format(tmp=self.tmp, user=user, servers="\n".join(self.servers)))
        ports = [int(port) for s in self.servers for port in re.findall(r"listen 127\.0\.0\.1:(\d+)", s)]
        self.process = Process([binary, "-p", str(self.tmp), "-c", str(conf), "-e", str(self.tmp / "nginx-error.log")],
                               ports[0], self.tmp / "nginx.out").__enter__()
        for port in ports[1:]:
            wait_for_port(port, 15.0)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.__exit__()


# -- the stack ------------------------------------------------------------------------------------

@dataclass
class Stack:
    """Every site's URL, the Slotwise process, its store (read from this process: SQLite, WAL) and the
    store's nginx access log."""

    urls: dict[str, str]
    slotwise: Process
    store: SQLiteStore
    access_log: Path

    def url(self, site: str, path: str = "/") -> str:
        self.slotwise.wait()  # it boots while the browser starts
        return self.urls[site] + path

    def direct(self, path: str) -> str:
        """Slotwise itself, not through nginx."""
        self.slotwise.wait()
        return f"http://127.0.0.1:{self.slotwise.port}{path}"

    def log(self, after: int = 0) -> list[Any]:
        return sync(self.store.read_log(after, limit=100_000))

    def last_seq(self) -> int:
        records = self.log()
        return records[-1].seq if records else 0

    def events(self, type_: str, visitor: str | None = None, after: int = 0) -> list[Any]:
        return [r for r in self.log(after) if r.kind == "event" and r.data.get("type") == type_
                and (visitor is None or r.visitor == visitor)]

    def decisions(self, visitor: str) -> list[Any]:
        return [r for r in self.log() if r.kind == "decision" and r.visitor == visitor]

    def profile(self, visitor: str) -> Any:
        return sync(self.store.get_profile(visitor))

    def product(self, product_id: str) -> dict[str, Any] | None:
        return sync(self.store.get_products([product_id])).get(product_id)


@contextlib.contextmanager
def open_stack(tmp: Path, rules: Path, sites: list[Site]) -> Iterator[Stack]:
    """Slotwise, the slow links and one nginx serving each site; all stopped at the end."""
    data = tmp / "slotwise"
    data.mkdir()
    taken: set[int] = set()

    def port() -> int:  # none twice: Slotwise may not listen on its own yet
        while (found := free_port()) in taken:
            pass
        taken.add(found)
        return found

    sw_port = port()
    with contextlib.ExitStack() as stack:
        slotwise = slotwise_process(rules, data, sw_port).start()  # not waited for: see Stack.url
        stack.callback(slotwise.__exit__)
        nginx = Nginx(tmp)
        dead_port = port()  # nothing listens here: an absent Slotwise
        urls: dict[str, str] = {}
        for site in sites:
            root = tmp / "www" / site.name
            write_site(root, site.snippet())
            site_port = port()
            urls[site.name] = f"http://127.0.0.1:{site_port}"
            upstream = {"up": sw_port, "down": dead_port}.get(site.slotwise)
            if site.slotwise in ("slow", "slow-decide"):
                upstream = stack.enter_context(SlowLink(sw_port, SLOW_S)).port
            sw = SW_LOCATION.format(port=upstream)
            if site.slotwise == "slow-decide":  # only /decide is late; tag.js and events are not
                sw = SW_LOCATION.format(port=sw_port) + SW_LOCATION.format(port=upstream).replace(
                    "location /_sw/ ", "location /_sw/decide ")
            if site.scripts != "up":  # only the hashed scripts tag.js loads: late, or nothing listens (502)
                sw += scripts_location(stack, site.scripts, sw_port, dead_port)
            pages = _STATIC
            if site.html_delay:  # the store's pages come through a slow hop from a static server of their own
                static = port()
                nginx.add(static, root, pages=_STATIC, sw="")
                pages = f"proxy_pass http://127.0.0.1:{stack.enter_context(SlowLink(static, site.html_delay)).port};"
            nginx.add(site_port, root, pages=pages, sw=sw)
        stack.enter_context(nginx)
        store = SQLiteStore(data / "slotwise.db")
        stack.callback(lambda: sync(store.close()))
        yield Stack(urls, slotwise, store, tmp / "access.log")


# -- the browser side -------------------------------------------------------------------------------

def cookie(context: Any, name: str = "sw_vid") -> str | None:
    return next((c["value"] for c in context.cookies() if c["name"] == name), None)


def visitor_id(context: Any) -> str:
    value = cookie(context)
    assert value, "no sw_vid cookie in this browser context"
    return value.split(".")[0]


def goto(page: Any, url: str) -> None:
    """Navigates and waits until the tag has loaded."""
    page.goto(url)
    page.wait_for_function("window.slotwise && window.slotwise.v === 1")


def flush(page: Any) -> None:
    """Sends the tag's queue now and waits until every event is acknowledged."""
    page.evaluate("slotwise.flush()")
    page.wait_for_function("!localStorage.getItem('sw_q')")


def browse(page: Any, url: str) -> None:
    """A page view the server has stored before the test goes on."""
    goto(page, url)
    flush(page)


def category_order(page: Any) -> list[str]:
    return page.eval_on_selector_all("ul.category-list li a", "els => els.map(e => e.getAttribute('href'))")


class Requests:
    """Every request the context's pages send to ``/_sw/`` (except tag.js itself), in order."""

    def __init__(self, context: Any) -> None:
        self.seen: list[Any] = []
        context.on("request", self._on)

    def _on(self, request: Any) -> None:
        if "/_sw/" in request.url and "/_sw/tag." not in request.url:
            self.seen.append(request)

    def to(self, path: str) -> list[Any]:
        return [r for r in self.seen if f"/_sw/{path}" in r.url]

    def events(self) -> list[dict[str, Any]]:
        """Every event the tag posted (a beacon and its resend count twice)."""
        import json

        out: list[dict[str, Any]] = []
        for r in self.to("events"):
            out += json.loads(r.post_data or "{}").get("events", [])
        return out
