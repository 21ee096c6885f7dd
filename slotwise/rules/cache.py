"""The ``cache`` section: who counts as logged in for the proxy's upstream HTML cache, and which pages
the store renders the same for everyone.

The proxy keeps the store's pages that the store marks cacheable and
personalizes many visitors from one fetch. A logged-in visitor's page may
carry their name or basket even when the store forgot to mark it
``private``, so a request that carries ``Authorization`` or one of the
``login_cookies`` never uses the cache — unless its page type is listed in
``same_for_everyone``. Pure: parsed once per rules load, asked per request.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Sequence

from slotwise.rules.checker import Checker
from slotwise.rules.yaml_marks import Node

PAGE_TYPES = ("home", "category", "product", "other")
CACHE_KEYS = ("login_cookies", "same_for_everyone")
_COOKIE_GLOB = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$")  # RFC 6265 token characters; * is a wildcard


@dataclass(frozen=True)
class CacheSettings:
    """``login_cookies``: cookie names (globs) of a logged-in visitor; ``same_for_everyone``: page types."""

    login_cookies: tuple[str, ...] = ()
    same_for_everyone: frozenset[str] = frozenset()

    def logged_in(self, cookie_headers: Sequence[str]) -> bool:
        """Whether a request's ``Cookie`` headers carry one of the login cookies (with any value)."""
        if not self.login_cookies:
            return False
        for header in cookie_headers:
            for pair in header.split(";"):
                name = pair.split("=", 1)[0].strip()
                if name and any(fnmatch.fnmatchcase(name, glob) for glob in self.login_cookies):
                    return True
        return False

    def shared(self, page_type: str) -> bool:
        """Whether the store renders this type of page the same for logged-in visitors."""
        return page_type in self.same_for_everyone


def parse_cache(check: Checker, node: Node) -> CacheSettings:
    """``cache: {login_cookies: [sessionid, "wp_logged_in_*"], same_for_everyone: [home, category]}``."""
    entries = check.mapping(node, CACHE_KEYS, "'cache'")
    if entries is None:
        return CacheSettings()
    cookies: list[str] = []
    if "login_cookies" in entries:
        for text in check.texts(entries["login_cookies"].node, "'cache.login_cookies'") or []:
            name = text.value.strip()
            if not _COOKIE_GLOB.match(name):
                check.error(text.node, f"'cache.login_cookies': {text.value!r} is not a cookie name (letters, digits "
                                       "and !#$%&'+-.^_`|~, with * as a wildcard)")
                continue
            cookies.append(name)
    types: set[str] = set()
    if "same_for_everyone" in entries:
        node = entries["same_for_everyone"].node
        items = check.sequence(node, "'cache.same_for_everyone'", single_ok=True)
        if items is not None and not items:
            check.error(node, f"'cache.same_for_everyone' must list at least one page type ({', '.join(PAGE_TYPES)})")
        for item in items or []:
            value = check.choice(item, PAGE_TYPES, "'cache.same_for_everyone' (page types)")
            if value is not None:
                types.add(value)
    return CacheSettings(tuple(cookies), frozenset(types))
