"""``slotwise demo``: the bundled demo store behind the proxy, with example rules."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from importlib import resources
from pathlib import Path
from typing import Callable

from slotwise.commands.ports import PortBusy, check_port_free, tcp_port
from slotwise.proxy.config import ConfigError, Settings


def example_rules_path() -> Path:
    return Path(str(resources.files("slotwise.rules") / "examples" / "demo.yaml"))


def wait_for_port(host: str, port: int, timeout: float = 20.0, alive: Callable[[], bool] = lambda: True) -> bool:
    """True once ``host:port`` accepts connections; False after ``timeout`` or once ``alive()`` is false."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def wait_until_serving(url: str, timeout: float = 60.0) -> bool:
    """True once the proxy answers its health check (its workers are up, the rules read)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "_sw/health", timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # 503 degraded: serving all the same, and the health page says why
        except OSError:
            time.sleep(0.2)
    return False


def kept_secret(data: Path, name: str, nbytes: int = 16) -> str:
    """A secret of the demo's, made once and kept with its data (mode 0600)."""
    path = data / name
    if not path.exists():
        data.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(nbytes))
        os.chmod(path, 0o600)
    return path.read_text().strip()


def admin_token(data: Path) -> str:
    """A token for the demo's admin page, kept with the demo's data."""
    return kept_secret(data, "admin-token")


def check_ports(args: argparse.Namespace) -> None:
    """Both ports free (``PortBusy`` otherwise), before anything starts."""
    if args.port == args.store_port:
        raise PortBusy(f"--port and --store-port are both {args.port}: the proxy and the store need a port each")
    check_port_free(args.host, args.port, "--port")
    check_port_free("127.0.0.1", args.store_port, "--store-port")


def banner(url: str, store_url: str, settings: Settings, data: Path) -> str:
    return (
        f"\nSlotwise demo\n"
        f"  open        {url}\n"
        f"  admin       {url}_sw/admin?token={settings.admin_token}  (one click signs you in)\n"
        f"  store alone {store_url}  (the same shop, unpersonalized)\n"
        f"  rules       {settings.rules}\n"
        f"  data        {data}\n"
        f"Headless browsers count as bots (the store's page, untouched): see README, 'What the demo shows'.\n"
        f"Press Ctrl+C to stop.\n"
    )


def announce_when_ready(url: str, text: str) -> None:
    """Prints the banner once the proxy serves, so the servers' start-up lines come before it."""
    if wait_until_serving(url):
        time.sleep(0.5)  # the workers' first lines (rules, product feed) come right after
        print(text, flush=True)


def stop_if_store_dies(store: subprocess.Popen[bytes], died: threading.Event) -> None:
    """The proxy must not keep serving without its store (or in front of another one)."""
    code = store.wait()
    if code not in (0, -signal.SIGTERM):
        died.set()
        print(f"slotwise demo: the demo store stopped (exit status {code}); stopping", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGINT)


def _settings(args: argparse.Namespace, data: Path, store_url: str) -> Settings:
    """The proxy's settings: the demo's, over the SLOTWISE_* variables (``ConfigError`` if one is invalid)."""
    return Settings.from_env(
        upstream=store_url,
        rules=str(args.rules or example_rules_path()),
        host=args.host,
        port=args.port,
        data=str(data),
        admin_token=os.environ.get("SLOTWISE_ADMIN_TOKEN") or admin_token(data),
        access_log=args.access_log or None,
        # the store learns each popup sign-up's coupon (and offer) as a real store would: a signed webhook
        webhook_url=os.environ.get("SLOTWISE_WEBHOOK_URL") or f"{store_url}/hooks/slotwise",
        # the store gets a key of its own for it, never the one that signs cookies and preview links
        webhook_secret=os.environ.get("SLOTWISE_WEBHOOK_SECRET") or kept_secret(data, "webhook-secret", 32),
    )


def run_demo(args: argparse.Namespace) -> int:
    try:
        check_ports(args)
    except PortBusy as exc:
        print(f"slotwise demo: {exc}", file=sys.stderr)
        return 2
    data = Path(args.data).resolve()
    store_url = f"http://127.0.0.1:{args.store_port}"
    try:
        data.mkdir(parents=True, exist_ok=True)
        settings = _settings(args, data, store_url)  # writes the demo's secrets into it
    except OSError as exc:  # a file by that name, or a directory it may not write to
        why = "a file, not a directory" if isinstance(exc, (FileExistsError, NotADirectoryError)) else exc.strerror
        print(f"slotwise demo: --data {args.data}: cannot keep the demo's data there ({why or exc}); "
              "choose another directory with --data", file=sys.stderr)
        return 2
    except ConfigError as exc:  # a SLOTWISE_* variable the demo reads as serve does
        print(f"slotwise demo: {exc}", file=sys.stderr)
        return 2
    from slotwise.demo.hooks import WEBHOOK_KEY_ENV  # the demo store (starlette, jinja2) loads when it runs

    store_env = {**os.environ, WEBHOOK_KEY_ENV: settings.webhook_key().decode()}
    store_cmd = [
        sys.executable, "-m", "slotwise.demo",
        "--host", "127.0.0.1", "--port", str(args.store_port), "--data", str(data / "demo-store"),
        "--log-level", "warning",  # its problems; its start-up is in the banner
        *(["--access-log"] if args.access_log else []),
    ]
    store = subprocess.Popen(store_cmd, stdout=subprocess.DEVNULL, env=store_env)
    try:
        if not wait_for_port("127.0.0.1", args.store_port, alive=lambda: store.poll() is None):
            print("slotwise demo: the demo store did not start", file=sys.stderr)
            return 1
        died = threading.Event()
        threading.Thread(target=stop_if_store_dies, args=(store, died), daemon=True).start()
        shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
        url = f"http://{shown_host}:{args.port}/"
        text = banner(url, f"{store_url}/", settings, data)
        threading.Thread(target=announce_when_ready, args=(url, text), daemon=True).start()
        from slotwise.proxy.server import run

        run(settings)
        return 1 if died.is_set() else 0
    finally:
        store.terminate()
        try:
            store.wait(timeout=5)
        except subprocess.TimeoutExpired:
            store.kill()


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "demo",
        help="run the bundled demo store behind the proxy with the example rules",
        description="Start the demo storefront and the Slotwise proxy in front of it.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="proxy address (default 127.0.0.1)")
    parser.add_argument("--port", type=tcp_port, default=8000, help="proxy port (default 8000)")
    parser.add_argument("--store-port", type=tcp_port, default=8001, help="demo store port (default 8001)")
    parser.add_argument("--data", default=".slotwise", help="where the demo keeps its data (default ./.slotwise)")
    parser.add_argument("--rules", default=None, help="rules file (default: the bundled example rules)")
    parser.add_argument("--access-log", action="store_true",
                        help="log one line per request, the proxy's and the store's (off by default)")
    parser.set_defaults(func=run_demo)
