"""``slotwise demo``: the bundled demo store behind the proxy, with example rules."""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

from slotwise.proxy.config import Settings


def example_rules_path() -> Path:
    return Path(str(resources.files("slotwise.rules") / "examples" / "demo.yaml"))


def wait_for_port(host: str, port: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def admin_token(data: Path) -> str:
    """A token for the demo's admin page, kept with the demo's data."""
    path = data / "admin-token"
    if not path.exists():
        data.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(16))
        os.chmod(path, 0o600)
    return path.read_text().strip()


def run_demo(args: argparse.Namespace) -> int:
    data = Path(args.data).resolve()
    data.mkdir(parents=True, exist_ok=True)
    store_cmd = [
        sys.executable, "-m", "slotwise.demo",
        "--host", "127.0.0.1", "--port", str(args.store_port), "--data", str(data / "demo-store"),
    ]
    store = subprocess.Popen(store_cmd)
    try:
        if not wait_for_port("127.0.0.1", args.store_port):
            print("slotwise demo: the demo store did not start", file=sys.stderr)
            return 1
        token = admin_token(data)
        settings = Settings.from_env(
            upstream=f"http://127.0.0.1:{args.store_port}",
            rules=str(args.rules or example_rules_path()),
            host=args.host,
            port=args.port,
            data=str(data),
            admin_token=os.environ.get("SLOTWISE_ADMIN_TOKEN") or token,
        )
        shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
        url = f"http://{shown_host}:{args.port}/"
        print(
            f"\nSlotwise demo\n"
            f"  open        {url}\n"
            f"  admin       {url}_sw/admin  (token: {settings.admin_token})\n"
            f"  store alone http://127.0.0.1:{args.store_port}/  (the same shop, unpersonalized)\n"
            f"  rules       {settings.rules}\n"
            f"  data        {data}\n"
            f"Press Ctrl+C to stop.\n",
            flush=True,
        )
        from slotwise.proxy.server import run

        run(settings)
        return 0
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
    parser.add_argument("--port", type=int, default=8000, help="proxy port (default 8000)")
    parser.add_argument("--store-port", type=int, default=8001, help="demo store port (default 8001)")
    parser.add_argument("--data", default=".slotwise", help="where the demo keeps its data (default ./.slotwise)")
    parser.add_argument("--rules", default=None, help="rules file (default: the bundled example rules)")
    parser.set_defaults(func=run_demo)
