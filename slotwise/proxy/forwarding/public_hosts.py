"""Which ``Host`` a request may name: the public host the proxy builds absolute URLs from.

Without ``--public-url`` the browser's ``Host`` (or a trusted proxy's
``X-Forwarded-Host``) becomes the origin's ``X-Forwarded-Host`` and the host
of rewritten ``Location`` headers. A stranger could send any ``Host`` and get a
password-reset link pointing at their own server (Host header poisoning), so
only these hosts are believed: the upstream's own host, ``localhost`` /
loopback addresses (any port), the host of ``--public-url`` and each of
``--allowed-hosts`` (``shop.example``, ``shop.example:8443``, ``*.shop.example``;
``*`` believes every host, the old behaviour). Any other host is replaced by
the default one (``--public-url``'s, else the upstream's): the request is still
served, only no URL names the stranger's host.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

log = logging.getLogger("slotwise.proxy")
_WARN_AT_MOST = 20  # distinct refused hosts named in the log (a scanner sends thousands)

_LOOPBACK = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
# a host as URLs may carry it: DNS labels (or a bracketed IPv6 address) and a decimal port. Anything else
# ("evil.example?.shop.example" ends like "*.shop.example") would make a URL naming another host.
_HOST_SYNTAX = re.compile(r"(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?")


def _split(host: str) -> tuple[str, str]:
    """``host[:port]`` as (lower-case host, port or "")."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[: end + 1], host[end + 2:] if end >= 0 else ""
    name, _, port = host.partition(":")
    return name, port


class PublicHosts:
    """Checks a request's host against the configured public hosts (built once)."""

    def __init__(self, upstream_netloc: str, public_url: str = "", allowed: str = "") -> None:
        self.default = urlsplit(public_url).netloc if public_url else upstream_netloc
        entries = [e.strip().lower() for e in allowed.split(",") if e.strip()]
        self.any = "*" in entries
        self.exact = {upstream_netloc.lower(), self.default.lower(), *(e for e in entries if not e.startswith("*."))}
        self.names = {e for e in self.exact if ":" not in e}  # a host named without a port: any port
        self.suffixes = tuple(e[1:] for e in entries if e.startswith("*."))
        self.warned: set[str] = set()

    def allowed(self, host: str) -> bool:
        host = host.strip().lower()
        if not _HOST_SYNTAX.fullmatch(host):
            return False
        if self.any or host in self.exact:
            return True
        name, port = _split(host)
        if port and not port.isdecimal():
            return False
        return name in _LOOPBACK or name in self.names or bool(self.suffixes and name.endswith(self.suffixes))

    def choose(self, host: str | None) -> str:
        """``host`` if it is one of ours, else the default public host."""
        if host and self.allowed(host):
            return host.strip()
        if host and len(self.warned) < _WARN_AT_MOST and host not in self.warned:
            # said once per host: a store on its real domain without --public-url lands here on every request
            self.warned.add(host)
            log.warning("Host %r is not one of ours: URLs name %r instead (set --public-url, or --allowed-hosts "
                        "for the hosts the store is reached by)", host[:100], self.default)
        return self.default
