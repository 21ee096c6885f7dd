"""Hard bounds on the work one page may cost, checked before it is parsed.

Lexbor's parse grows faster than linearly with nesting (32,000 nested
``<div>``s: ~3 s), and the rewriter's conflict check (``conflicts.Claims``)
compares every matched element with every earlier one. A page over a bound
raises ``PageBoundError``; the proxy then serves the upstream's bytes (fail
open), counts it and logs it once per reason, like any personalization
failure.
"""

from __future__ import annotations

import re

MAX_DEPTH = 4096  # element nesting (estimated, see ``nesting_depth``); real pages stay under ~100; Lexbor: ~25 ms
MAX_MATCHES = 400  # matched elements over all edits of one page (the conflict check is quadratic)

# Elements that never hold others (void), or that a parser closes by itself (optional end tags):
# they do not deepen the tree however they are written, so the scan skips them.
_FLAT = (
    "area base br col embed hr img input link meta param source track wbr "
    "p li dt dd option optgroup tr td th tbody thead tfoot colgroup caption rb rt rp html head body"
).split()
_TAG = re.compile(rb"<(/?)(?!(?:" + "|".join(_FLAT).encode() + rb")[\s/>])([a-z][a-z0-9-]*)")


class PageBoundError(Exception):
    """The page would cost more than one page may; it is served as the upstream sent it."""


def nesting_depth(html: bytes, stop_at: int = MAX_DEPTH) -> int:
    """How deep the page's elements nest, as a parser would see it (close enough), up to ``stop_at``.

    One pass over the tags: a start tag pushes, an end tag pops back to the
    element it names (an end tag naming nothing open is ignored). Linear:
    each pushed element is popped at most once.
    """
    stack: list[bytes] = []
    open_count: dict[bytes, int] = {}
    deepest = 0
    for slash, name in _TAG.findall(html.lower()):
        if not slash:
            stack.append(name)
            open_count[name] = open_count.get(name, 0) + 1
            if len(stack) > deepest:
                deepest = len(stack)
                if deepest >= stop_at:
                    return deepest
        elif open_count.get(name):
            while stack:
                top = stack.pop()
                open_count[top] -= 1
                if top == name:
                    break
    return deepest


def check_page(html: bytes) -> None:
    """Raises ``PageBoundError`` for a page nested deeper than ``MAX_DEPTH``.

    A page with fewer start tags than that cannot nest so deep: most pages
    (up to ~200 KB) are cleared by three byte counts, not the tag scan.
    """
    if html.count(b"<") - html.count(b"</") - html.count(b"<!") < MAX_DEPTH:
        return
    if nesting_depth(html) >= MAX_DEPTH:
        raise PageBoundError(f"page nested deeper than {MAX_DEPTH} elements")


def check_matches(total: int) -> None:
    """Raises ``PageBoundError`` when the edits of one page matched more than ``MAX_MATCHES`` elements."""
    if total > MAX_MATCHES:
        raise PageBoundError(f"edits matched more than {MAX_MATCHES} elements of one page")
