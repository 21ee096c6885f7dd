"""Cookie fields: what a store keeps only in a cookie (the chosen currency, locale, a consent choice).

A field ``{cookie: cart_currency}`` reads the cookie of that name; a name
ending in ``*`` (``wordpress_logged_in_*``) reads the first cookie whose name
starts with the rest. Values are URL-decoded, as a store's script reads them
(``OptanonConsent``'s ``groups=C0001%3A1`` is ``groups=C0001:1``).

Behind the proxy the page's cookies are the request's ``Cookie`` header
overlaid with the response's ``Set-Cookie`` headers: a store that sets the
currency cookie on this very response (a ``?currency=EUR`` link) renders
this page in it, and the browser's ``document.cookie`` — what the tag reads
in tag-only mode — already holds the new value; a ``Set-Cookie`` that
expires the cookie removes it. Slotwise's own cookies (``sw_vid`` and every
``sw_*``, the configured visitor cookie) are never read: what identifies a
visitor to Slotwise is not the rules' to see or to send anywhere.
"""

from __future__ import annotations

import re
import time
from email.utils import parsedate_to_datetime
from typing import Iterable, Iterator, Mapping
from urllib.parse import unquote

OWN_PREFIX = "sw_"
"""Slotwise's own cookies (``sw_vid``, ``sw_admin``, ``sw_preview``): no rule reads them."""
MAX_HEADER = 16384
"""A Cookie header longer than this is not read (a browser sends at most a few KB)."""
_NAME = re.compile(r"^[!#$%&'+\-.^_`|~0-9A-Za-z]{1,128}\*?$")  # RFC 6265 token characters; a last * is a prefix


def cookie_name_problem(name: str) -> str | None:
    """Why ``name`` (as a rule writes it) names no cookie a rule may read, or None."""
    if not _NAME.match(name):
        return (f"{name!r} is not a cookie name (letters, digits and !#$%&'+-.^_`|~; "
                "a last * reads the first cookie whose name starts with the rest)")
    if name.startswith(OWN_PREFIX):
        return (f"{name!r} would read Slotwise's own cookies ({OWN_PREFIX}vid and every {OWN_PREFIX}*): "
                "they identify the visitor to Slotwise and are never the rules' to read (privacy)")
    return None


def cookie_pairs(header: str) -> Iterator[tuple[str, str]]:
    """``(name, value)`` of each cookie in a Cookie header, in its order, tolerating junk around them
    (a value's surrounding double quotes dropped, as RFC 6265 allows them)."""
    if len(header) > MAX_HEADER:
        return
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key:
            yield key.strip(), value.strip().strip('"')


def page_cookies(request_headers: Iterable[tuple[str, str]], response_headers: Iterable[tuple[str, str]] = (),
                 *, own: str = "") -> dict[str, str]:
    """The cookies of a page as its browser sees them once it has the response (lower-case header names):
    the request's, then each ``Set-Cookie`` of the response (an expired one removes its cookie); never
    Slotwise's own (``own``: the configured visitor cookie's name, and every ``sw_*``)."""
    jar: dict[str, str] = {}
    for key, value in request_headers:
        if key == "cookie":
            for name, got in cookie_pairs(value):
                jar.setdefault(name, got)
    for key, value in response_headers:
        if key.lower() == "set-cookie":
            pair, _, attributes = value.partition(";")
            name, sep, got = pair.strip().partition("=")
            if not sep or not name.strip():
                continue
            if _expires(attributes):
                jar.pop(name.strip(), None)
            else:
                jar[name.strip()] = got.strip().strip('"')
    return {name: value for name, value in jar.items() if not name.startswith(OWN_PREFIX) and name != own}


def _expires(attributes: str) -> bool:
    """A ``Set-Cookie``'s attributes delete its cookie: ``Max-Age`` zero or less, else an ``Expires`` past
    (``Max-Age`` wins when both are there, as in browsers)."""
    said: dict[str, str] = {}
    for attribute in attributes.split(";"):
        key, _, value = attribute.strip().partition("=")
        said[key.strip().lower()] = value.strip()
    try:
        if "max-age" in said:
            return int(said["max-age"]) <= 0
        if "expires" in said:
            return parsedate_to_datetime(said["expires"]).timestamp() <= time.time()
    except (TypeError, ValueError, IndexError):
        pass
    return False


def cookie_value(name: str, jar: Mapping[str, str]) -> str | None:
    """The URL-decoded value of the cookie ``name`` (a last ``*``: the first whose name starts with the rest)."""
    if name.endswith("*"):
        prefix = name[:-1]
        found = next((value for key, value in jar.items() if key.startswith(prefix)), None)
    else:
        found = jar.get(name)
    return unquote(found) if found is not None else None
