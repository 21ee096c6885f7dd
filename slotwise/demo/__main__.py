"""``python -m slotwise.demo --host 127.0.0.1 --port 8001 --data .slotwise``.

``DEMO_WEBHOOK_KEY`` in the environment (never on the command line, where
``ps`` shows it): the key Slotwise signs its sign-up webhook with, so the
store accepts the newsletter coupons it announces (``/hooks/slotwise``).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from .hooks import WEBHOOK_KEY_ENV
from .server import bind, make_server, url_of


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m slotwise.demo", description="Run the Slotwise demo store.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8001, help="port (default 8001; 0 picks a free one)")
    parser.add_argument("--data", default=".slotwise", help="data directory for demo.db (default .slotwise)")
    parser.add_argument("--cookie-domain", default=None, help="set cookies with Domain=<this>")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    parser.add_argument("--access-log", action="store_true", help="log one line per request")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        print(f"python -m slotwise.demo: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    server = make_server(args.data, cookie_domain=args.cookie_domain, log_level=args.log_level,
                         access_log=args.access_log, own_logging=True,
                         webhook_key=os.environ.get(WEBHOOK_KEY_ENV, "").encode() or None)
    print(f"Slotwise demo store serving on {url_of(sock)}/ (data: {args.data})", flush=True)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        return 130
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
