"""``slotwise preview``: a signed link that forces a variant, or switches personalization off."""

from __future__ import annotations

import argparse
import sys
from urllib.parse import quote, urlsplit

from slotwise.proxy.config import ConfigError, Settings
from slotwise.proxy.preview import PREVIEW_PARAM, PreviewLinks


def run_preview(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env(data=args.data, secret=args.secret)
    except ConfigError as exc:
        print(f"slotwise preview: {exc}", file=sys.stderr)
        return 2
    if args.off:
        forced = {"*": "off"}
    else:
        forced = {}
        for item in args.force or []:
            slot, sep, variant = item.partition("=")
            if not sep or not slot or not variant:
                print(f"slotwise preview: --force {item!r}: expected SLOT=VARIANT", file=sys.stderr)
                return 2
            forced[slot] = variant
        if not forced:
            print("slotwise preview: give --force SLOT=VARIANT (repeatable) or --off", file=sys.stderr)
            return 2
    token = PreviewLinks(settings.signing_key(), settings.preview_ttl).token(forced)
    url = args.url
    sep = "&" if urlsplit(url).query else "?"
    print(f"{url}{sep}{PREVIEW_PARAM}={quote(token)}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "preview",
        help="print a signed preview link (force variants, or personalization off)",
        description="The preview stays on while you click through pages (a session cookie) "
        "and never touches statistics.",
    )
    parser.add_argument("url", help="page to open, e.g. http://127.0.0.1:8000/")
    parser.add_argument("--force", action="append", metavar="SLOT=VARIANT", help="force a slot's variant (repeatable)")
    parser.add_argument("--off", action="store_true", help="the page with personalization off")
    parser.add_argument("--data", default=None, help="data directory holding the signing key (env SLOTWISE_DATA)")
    parser.add_argument("--secret", default=None, help="the signing secret, if set explicitly (env SLOTWISE_SECRET)")
    parser.set_defaults(func=run_preview)
