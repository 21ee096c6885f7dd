"""Near misses of a selector that finds nothing on a page, for ``slotwise rules check --url``: the same
selector with a class or id the page has a small edit away (a typo, a theme's renamed class), and the
selector without its last class, id or attribute, and without its last compound part (the element it
looked inside is there). Each is said only when
it matches something on the page, with how many elements."""

from __future__ import annotations

import difflib
import re
from typing import Any

_NAME = re.compile(r"([.#])(-?[_a-zA-Z][\w-]*)")
_LAST_SIMPLE = re.compile(r"(?<=[\w\])-])(\.[\w-]+|#[\w-]+|\[[^\]]*\])$")  # "img.badge" -> ".badge"
CUTOFF = 0.75
"""How alike a name on the page must be (``difflib``'s ratio): ``buy-box`` for ``buy-bx``, not ``nav`` for ``box``."""


def near_misses(html: bytes | str, selector: str) -> list[tuple[str, int, str]]:
    """``(selector, elements it matches, why)`` for each near miss that matches something here."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)

    def count(css: str) -> int:
        try:
            return len(tree.css(css))
        except Exception:  # a candidate the parser refuses: not a suggestion
            return 0

    names: dict[str, set[str]] = {".": set(), "#": set()}
    for node in tree.css("[class], [id]"):
        attrs: dict[str, Any] = node.attributes
        names["."].update((attrs.get("class") or "").split())
        if attrs.get("id"):
            names["#"].add(str(attrs["id"]))
    out: list[tuple[str, int, str]] = []
    for found in _NAME.finditer(selector):
        kind, name = found.groups()
        if name in names[kind]:
            continue
        for close in difflib.get_close_matches(name, sorted(names[kind]), n=2, cutoff=CUTOFF):
            candidate = selector[:found.start(2)] + close + selector[found.end(2):]
            if n := count(candidate):
                out.append((candidate, n, f"{'class' if kind == '.' else 'id'} {close!r} is on the page"))
                break
    looser = _LAST_SIMPLE.search(selector.strip())
    if looser and (n := count(selector.strip()[:looser.start()])):
        out.append((selector.strip()[:looser.start()], n, f"without {looser.group(0)!r}"))
    shorter = without_last_part(selector)
    if shorter and (n := count(shorter)):
        out.append((shorter, n, "without its last part"))
    return out


def without_last_part(selector: str) -> str | None:
    """``main .product h2`` -> ``main .product``: the selector up to its last combinator (at the top level,
    not inside brackets, parentheses or quotes); None for a single compound or a list (``a, b``)."""
    depth, quote, cut = 0, "", -1
    for i, ch in enumerate(selector.strip()):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0 and ch == ",":
            return None
        elif depth == 0 and (ch.isspace() or ch in ">+~"):
            cut = i
    if cut < 0:
        return None
    head = selector.strip()[:cut].rstrip(" \t\n>+~")
    return head or None


def near_miss_text(html: bytes | str, selector: str) -> str:
    """The near misses in words, for the ``<- selector finds nothing`` line ('' when there are none)."""
    said = [f"{css!r} ({why}) matches {n} element{'s' if n != 1 else ''}" for css, n, why in near_misses(html, selector)]
    return f"; near misses: {'; '.join(said)}" if said else ""
