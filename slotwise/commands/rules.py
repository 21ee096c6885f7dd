"""``slotwise rules check FILE [--url URL]``: validate slot rules without serving them.

Errors print as ``file:line:column: message`` (all of them, exit status 1).
A valid file prints one line per slot; with ``--url`` the live page is
fetched (the only I/O, and it lives here, not in ``slotwise.rules``) and
each slot says whether its ``pages`` match the URL and how many elements its
selector finds there.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO
from urllib.parse import urlsplit

FETCH_TIMEOUT_S = 15.0
MAX_PAGE_BYTES = 10 * 1024 * 1024


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("rules", help="work with YAML slot rules", description="Work with YAML slot rules.")
    sub = parser.add_subparsers(dest="rules_command", metavar="SUBCOMMAND")
    sub.required = True
    check = sub.add_parser(
        "check",
        help="validate a rules file (all errors at once, as file:line:column)",
        description="Validate a rules file and everything it includes; exit 1 on any error.",
    )
    check.add_argument("file", metavar="FILE", help="the YAML rules file")
    check.add_argument("--url", metavar="URL", help="also fetch this live page and show, per slot, page match and selector hits")
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from slotwise.rules import check_rules

    out = out or sys.stdout
    err = err or sys.stderr
    ruleset, issues = check_rules(args.file)
    if issues or ruleset is None:
        for issue in issues:
            print(issue, file=err)
        print(f"{args.file}: {len(issues)} error{'s' if len(issues) != 1 else ''}; rules rejected", file=err)
        return 1
    settings = f"holdout {ruleset.holdout:.0%}, consent {ruleset.consent}, attribution window {ruleset.attribution_window_text}"
    print(f"{args.file}: OK, {len(ruleset.slots)} slot{'s' if len(ruleset.slots) != 1 else ''} ({settings})", file=out)
    for slot in ruleset.slots:
        print(f"  {slot.summary()}", file=out)
    if args.url:
        return _check_url(ruleset, args.url, out, err)
    return 0


def _fetch(url: str) -> tuple[int, bytes]:
    import httpx

    with httpx.Client(timeout=FETCH_TIMEOUT_S, follow_redirects=True, trust_env=False,
                      headers={"User-Agent": "slotwise-rules-check/1", "Accept": "text/html"}) as client:
        with client.stream("GET", url) as response:
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_PAGE_BYTES:
                    break
            return response.status_code, bytes(body)


def _check_url(ruleset: Any, url: str, out: TextIO, err: TextIO) -> int:
    from slotwise.rules import page_facts
    from slotwise.rules.html_api import count_matches

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        print(f"--url: {url!r} is not an http(s) URL", file=err)
        return 2
    try:
        status, html = _fetch(url)
    except Exception as exc:  # any network failure is a clear message, not a traceback
        print(f"--url: cannot fetch {url}: {type(exc).__name__}: {exc}", file=err)
        return 2
    path = parts.path or "/"
    page = page_facts(path, parts.query, html, ruleset, url=url)
    product = f", product {page.product.get('id')!r}" if page.product else ""
    category = f", category {page.category!r}" if page.category else ""
    print(f"\n{url}: HTTP {status}, {len(html)} bytes; page type {page.type}{category}{product}", file=out)
    counts = count_matches(html, [s.selector for s in ruleset.slots]) if ruleset.slots else []
    for slot, count in zip(ruleset.slots, counts):
        matches = slot.pages.matches(path, parts.query, {})
        flags = []
        if not slot.enabled:
            flags.append("disabled")
        if slot.when_source:
            flags.append("when not evaluated (depends on the visitor)")
        note = f" [{'; '.join(flags)}]" if flags else ""
        pages = "page matches" if matches else "page does not match"
        hits = f"{count} element{'s' if count != 1 else ''} match {slot.selector!r}"
        warn = " <- selector finds nothing" if matches and count == 0 else ""
        print(f"  {slot.id}: {pages}; {hits}{warn}{note}", file=out)
    return 0
