"""``slotwise preview``: a signed link that forces variants, or switches personalization off.

The link must be one the running server accepts, naming slots and variants
its rules have. Two ways to make one:

* ``--admin-token`` (or ``SLOTWISE_ADMIN_TOKEN``): the running server at the
  URL's origin checks the names against its rules and signs the link
  (``/_sw/admin/api/preview-link``). Works from any directory or machine.
* otherwise, here: the names are checked against ``--rules`` (``SLOTWISE_RULES``)
  and the link is signed with the server's key, read the way ``serve`` reads it
  (``--secret`` / ``SLOTWISE_SECRET``, else ``DATA/secret``). A missing key is an
  error, never a new one: a link signed with a key the server does not have
  would be ignored. When the server answers at the URL, the link is tried once.
* with neither a token nor ``--rules``: an admin token kept in the data directory
  (``DATA/admin-token``, which ``slotwise demo`` writes) is used as in the first way,
  so the README's ``slotwise preview URL --force SLOT=VARIANT --data .slotwise`` works
  after ``slotwise demo``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from slotwise.proxy.config import ConfigError, Settings
from slotwise.proxy.personalization.preview import (PREVIEW_PARAM, PreviewError, PreviewLinks, check_forced, parse_forces,
                                                     when_notes)

CHECK_UA = "Mozilla/5.0 (compatible; slotwise-preview-check)"


class PreviewFailed(Exception):
    """What to tell the person, exit status 2."""


def _forced(args: argparse.Namespace) -> dict[str, str]:
    if args.off:
        if args.force:
            raise PreviewFailed("--off and --force exclude each other")
        return {"*": "off"}
    try:
        return parse_forces(args.force or [])
    except PreviewError as exc:
        raise PreviewFailed(f"--force {exc}") from exc


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PreviewFailed(f"{url!r} is not an http(s) URL of the proxy (e.g. http://127.0.0.1:8000/)")
    return urlunsplit((parts.scheme, parts.netloc, "", "", "")), urlunsplit(("", "", parts.path or "/", parts.query, ""))


def ask_server(url: str, forced: dict[str, str], token: str, timeout: float = 10.0) -> tuple[str, list[str]]:
    """The running server's own signed link for ``forced`` (checked against its rules), and its notes."""
    origin, path = _origin(url)
    params: list[tuple[str, str]] = [("path", path)]
    params += [("off", "1")] if forced.get("*") else [("force", f"{k}={v}") for k, v in forced.items()]
    import httpx  # loaded when a link is made, not for --help

    try:
        answer = httpx.get(f"{origin}/_sw/admin/api/preview-link", params=params, timeout=timeout,
                           headers={"authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        raise PreviewFailed(f"cannot reach the server at {origin} ({type(exc).__name__}): is `slotwise serve` "
                            "running there?") from exc
    try:
        body = answer.json()
    except ValueError:
        body = {}
    if answer.status_code == 200 and "url" in body:
        return origin + body["url"], [str(note) for note in body.get("notes") or ()]
    if answer.status_code in (401, 403):
        raise PreviewFailed(f"the server at {origin} refused the admin token: {body.get('error', answer.status_code)}")
    if answer.status_code == 429:
        raise PreviewFailed(f"the server at {origin} throttles this address after failed admin logins; "
                            f"retry in {answer.headers.get('retry-after', 'a few')} s")
    raise PreviewFailed(body.get("error") or f"the server at {origin} answered HTTP {answer.status_code}")


def sign_here(url: str, forced: dict[str, str], settings: Settings) -> tuple[str, list[str]]:
    """A link signed with the server's key as ``serve`` reads it, after checking the rules, and its notes."""
    _origin(url)
    if not settings.secret and not (settings.data_dir / "secret").is_file():
        raise PreviewFailed(
            f"no signing key: {settings.data_dir / 'secret'} does not exist (the server creates it under its "
            "--data directory). Run this where `slotwise serve` runs, give its --data DIR (or SLOTWISE_DATA, "
            "or --secret), or give --admin-token to have the running server sign the link")
    notes = []
    if any(slot != "*" for slot in forced):  # --off and the page as the rules decide name no slot to check
        notes = when_notes(forced, _check_names(forced, settings.rules))
    token = PreviewLinks(settings.signing_key(), settings.preview_ttl).token(forced)
    sep = "&" if urlsplit(url).query else "?"
    return f"{url}{sep}{PREVIEW_PARAM}={quote(token)}", notes


def _check_names(forced: dict[str, str], rules: str) -> list[Any]:
    """The forced slots and variants are the rules' (``PreviewFailed`` naming the ones they have); the slots."""
    if not rules:
        raise PreviewFailed("cannot check the slots and variants: give --rules FILE (the rules `slotwise serve` "
                            "runs with; env SLOTWISE_RULES), or --admin-token to ask the running server")
    from slotwise.rules import load_rules
    from slotwise.rules.errors import RulesError

    try:
        ruleset = load_rules(Path(rules), secrets=False)
    except (RulesError, OSError) as exc:
        raise PreviewFailed(str(exc)) from exc
    try:
        check_forced(forced, {s.id: s.arms for s in ruleset.slots})
    except PreviewError as exc:
        raise PreviewFailed(f"{exc} (in {rules})") from exc
    return list(ruleset.slots)


def try_link(link: str, timeout: float = 5.0) -> str | None:
    """A warning when the server at the link answers but does not take it (another key); None otherwise."""
    import httpx

    try:
        answer = httpx.get(link, timeout=timeout, headers={"user-agent": CHECK_UA})
    except httpx.HTTPError:
        return None  # not running (yet): nothing to compare with
    if answer.headers.get("x-slotwise-preview") == "on":
        return None
    if "x-slotwise-preview" in answer.headers:
        return f"the server says the link is {answer.headers['x-slotwise-preview']}"
    return ("the server at this URL ignored the link: it signs with another key (another --data directory or "
            "SLOTWISE_SECRET), or it is not Slotwise; give --admin-token to have it sign the link")


def run_preview(args: argparse.Namespace) -> int:
    try:
        forced = _forced(args)
        token = args.admin_token or os.environ.get("SLOTWISE_ADMIN_TOKEN", "")
        settings = None
        if not token:
            try:
                settings = Settings.from_env(data=args.data, secret=args.secret, rules=args.rules)
            except ConfigError as exc:
                raise PreviewFailed(str(exc)) from exc
            kept = settings.data_dir / "admin-token"  # written by `slotwise demo`
            if not settings.rules and kept.is_file():
                token = kept.read_text().strip()
        if token:
            link, notes = ask_server(args.url, forced, token)
        else:
            assert settings is not None
            link, notes = sign_here(args.url, forced, settings)
            if not args.no_check:
                problem = try_link(link)
                if problem:
                    raise PreviewFailed(problem)
    except PreviewFailed as exc:
        print(f"slotwise preview: {exc}", file=sys.stderr)
        return 2
    for note in notes:  # on stderr: the link alone on stdout, for scripts
        print(f"slotwise preview: note: {note}", file=sys.stderr)
    print(link)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "preview",
        help="print a signed preview link (force variants, or personalization off), with the preview bar",
        description="The preview stays on while you click through pages (a session cookie), shows the preview "
        "bar (each slot's variant and why) and never touches statistics. Without --force or --off: the page "
        "as the rules decide for you, with the bar.",
    )
    parser.add_argument("url", help="page to open through the proxy, e.g. http://127.0.0.1:8000/")
    parser.add_argument("--force", action="append", metavar="SLOT=VARIANT", help="force a slot's variant (repeatable)")
    parser.add_argument("--off", action="store_true", help="the page with personalization off")
    parser.add_argument("--admin-token", default=None,
                        help="ask the running server to check and sign the link (env SLOTWISE_ADMIN_TOKEN)")
    parser.add_argument("--rules", default=None, help="the rules file the server runs with (env SLOTWISE_RULES)")
    parser.add_argument("--data", default=None, help="the server's data directory holding its key (env SLOTWISE_DATA)")
    parser.add_argument("--secret", default=None, help="the signing secret, if the server has one set (env SLOTWISE_SECRET)")
    parser.add_argument("--no-check", action="store_true", help="do not try the link on the server")
    parser.set_defaults(func=run_preview)
