"""RFC 8288 ``Link`` headers read for the relations they name: where a paged list goes next.

An API that pages a list says so in ``Link`` (WordPress and WooCommerce REST,
Shopify Admin's cursors, GitHub): ``<...?page=3>; rel="next"`` while there
is more, no ``next`` on the last page. Only what paging needs is read: each
link's target and its ``rel`` (a space-separated list; the first ``rel`` of
a link counts, as RFC 8288 says; relation names compare case-insensitively).
"""

from __future__ import annotations

import re
from typing import Iterable

PAGING = frozenset({"next", "prev", "previous", "first", "last"})
"""Relations that say the list is paged (a ``Link`` that names none of them, such as WordPress's
``rel="https://api.w.org/"`` on every answer, says nothing about where the list ends)."""

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_VALUE = r'"(?:[^"\\]|\\.)*"|[^";,\s]*'
_LINK = re.compile(rf"<([^>]*)>\s*((?:;\s*{_TOKEN}\s*(?:=\s*(?:{_VALUE})\s*)?)*)")
_PARAM = re.compile(rf";\s*({_TOKEN})\s*(?:=\s*({_VALUE}))?")


def links(values: Iterable[str]) -> dict[str, str]:
    """``{relation: target}`` of ``Link`` header values (each header line one value; the first link of a
    relation wins). Targets are as written: relative ones are resolved by the caller."""
    out: dict[str, str] = {}
    for value in values:
        for link in _LINK.finditer(value):
            rel = next((v for name, v in _PARAM.findall(link.group(2)) if name.lower() == "rel"), None)
            if rel is None:
                continue
            if rel.startswith('"'):
                rel = re.sub(r"\\(.)", r"\1", rel[1:-1])
            for name in rel.lower().split():
                out.setdefault(name, link.group(1).strip())
    return out
