"""``rewrite``: apply edits to a page, keeping every byte nobody edited.

1. Parse with Lexbor only to *match* selectors (its CSS engine is the one the
   rules checker validates against).
2. Map each matched element to its bytes (:mod:`.locate`), verified.
3. Splice the changes into the original bytes (:mod:`.splice`).
4. If any element cannot be mapped with certainty, edit the tree and
   serialise instead (:mod:`.tree`) and say so in ``RewriteResult.method``.

Step 2's result depends only on the page bytes and the edits' selectors, so
it is kept in a small LRU keyed by the page's digest (``digest.page_digest``,
passed in by a caller that already has it): a page served to many visitors is
parsed once, then every view is a splice. ``has_targets`` tells a caller
whether a rewrite would be that splice (cheap, no parse), so that only a real
parse is worth moving off the event loop.

A splice of kept targets keeps two more things per page (``_PLANS``): which
(edit, element) applications go ahead — a pure function of the targets and,
per edit, its action, whether it carries a decision and which targets it
``applies`` to — and a reordered element's new content, a pure function of the
page, the element and the permutation. What differs per visitor (the
fragments, the decision ids, the chosen option) is still spliced each time.
"""

from __future__ import annotations

import codecs
import functools
import itertools
import threading
from collections.abc import Sequence
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from slotwise.lru import LRUCache

from . import tree
from .bounds import check_matches
from .conflicts import MARK_ONLY, Claims, claims_for, node_inside, node_same, span_inside, span_same
from .digest import page_digest
from .edits import Edit, RewriteResult, decision_marks
from .locate import LocateError, Locator
from .splice import Splicer, SpliceError, encode_text, render_fragment
from .targets import Target, applies, build, choice_marks, choices_css, chosen_option
from .tree import new_order

Targets = tuple[tuple[Target, ...], ...]

_CACHE: LRUCache[tuple[Any, ...], tuple[Targets, int]] = LRUCache(maxsize=256)
"""Kept targets per (page digest, codec, edits' selectors), each with a number of its own (``_STAMPS``)
that keys what is kept for it in ``_PLANS``: cheaper to hash than the key, and never reused."""
_STAMPS = itertools.count()
PLANS_BYTES = 4 * 1024 * 1024


def _plan_size(value: Any) -> int:
    """What a kept plan entry weighs: a reordered content its bytes, an admitted list a nominal 256."""
    return len(value) + 64 if isinstance(value, bytes) else 256


_PLANS: LRUCache[tuple[Any, ...], Any] = LRUCache(maxsize=PLANS_BYTES, getsizeof=_plan_size)
"""Per kept page: admitted applications and reordered contents (see the module docstring), at most
``PLANS_BYTES``; keys start with the kept targets' stamp, so a page or rules change never meets them."""
_CACHE_LOCK = threading.Lock()
_local = threading.local()


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()
        _PLANS.clear()


# -- encodings -----------------------------------------------------------------
_NOT_ASCII_SAFE = ("utf-16", "utf-32", "utf-7", "iso2022", "hz", "cp037", "cp500")
_PROBE = "<a b='c\"d'=/>\t\n\f\r !-?[]xyzABCXYZ0&#;"


@functools.lru_cache(maxsize=64)
def _codec(encoding: str) -> tuple[str, bool]:
    """Canonical codec name and whether HTML's ASCII syntax bytes are ASCII in it."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError as exc:
        raise ValueError(f"unknown encoding {encoding!r}") from exc
    try:
        ascii_safe = _PROBE.encode(name) == _PROBE.encode("ascii")
    except UnicodeError:
        ascii_safe = False
    return name, ascii_safe and not name.startswith(_NOT_ASCII_SAFE)


def _parse(html: bytes, codec: str) -> LexborHTMLParser:
    if codec == "utf-8":
        return LexborHTMLParser(html)
    return LexborHTMLParser(html.decode(codec, "replace"))


# -- selectors -----------------------------------------------------------------
def _probe_parser() -> LexborHTMLParser:
    parser = getattr(_local, "probe", None)
    if parser is None:
        parser = _local.probe = LexborHTMLParser("<p></p>")
    return parser


@functools.lru_cache(maxsize=2048)
def validate_selector(selector: str) -> str | None:
    """Why Lexbor would reject ``selector``, or None if it is usable."""
    if not isinstance(selector, str):
        return f"selector must be a string, got {type(selector).__name__}"
    if not selector.strip():
        return "empty selector"
    try:
        _probe_parser().css(selector)
    except Exception as exc:  # SelectolaxError, or anything else Lexbor raises
        return f"invalid CSS selector {selector!r}: {exc}"
    return None


def _select(parser: LexborHTMLParser, selector: str) -> list[LexborNode]:
    seen: set[int] = set()
    out = []
    for node in parser.css(selector):
        if node.mem_id not in seen:  # a selector list can report a node twice
            seen.add(node.mem_id)
            out.append(node)
    return out


def count_matches(html: bytes, selectors: Sequence[str], encoding: str = "utf-8") -> dict[str, int]:
    """How many elements each selector matches in the page (for ``rules check --url``).

    Raises ValueError for a selector Lexbor rejects.
    """
    for sel in selectors:
        error = validate_selector(sel)
        if error:
            raise ValueError(error)
    codec, ascii_safe = _codec(encoding)
    parser = _parse(html, codec) if ascii_safe else LexborHTMLParser(html.decode(codec, "replace"))
    return {sel: len(_select(parser, sel)) for sel in selectors}


# -- rewrite ---------------------------------------------------------------------
def _cache_key(digest: bytes, codec: str, edits: Sequence[Edit]) -> tuple[Any, ...]:
    """What the splice targets depend on: the page, its codec and each edit's selector and matching."""
    return (digest, codec, tuple((e.selector, e.action, e.key, e.items, e.limit) for e in edits))


def has_targets(digest: bytes, edits: Sequence[Edit], encoding: str = "utf-8") -> bool:
    """Whether ``rewrite`` of the page with this digest and these edits is a splice of kept targets
    (no parse): a few hundred microseconds of Python, not worth a thread hop."""
    if not edits:
        return True
    codec, ascii_safe = _codec(encoding)
    if not ascii_safe:
        return False
    key = _cache_key(digest, codec, edits)
    with _CACHE_LOCK:
        return key in _CACHE


def rewrite(html: bytes, edits: Sequence[Edit], encoding: str = "utf-8", *, cache: bool = True,
            frozen: int = 0, digest: bytes | None = None, tail: tuple[int, bytes] | None = None) -> RewriteResult:
    """Apply ``edits`` (in order) to the page ``html``; see the module docstring.

    A page where no edit applies comes back as the very same object. Edits
    whose selector Lexbor rejects match nothing (``result.errors`` says why).

    ``frozen``: the first ``frozen`` bytes were already sent (a streamed page):
    an element that starts before that offset is not edited (its edit counts
    no match, ``errors`` says so), and there is no re-serialising fallback, so
    the output always starts with those bytes unchanged.

    ``digest``: ``page_digest(html)``, when the caller has it already (one hash per page view).

    ``tail``: (``at``, bytes) to insert at offset ``at`` of the page, after what the edits insert
    there — the tag's script before the page's last ``</body>`` — in the same copy of the page, when
    the splice of kept targets can (``Splicer.build_tailed``); ``result.tailed`` says it did. Else it
    is left to the caller. ``changed`` and ``method`` are as without it.
    """
    matches = {i: 0 for i in range(len(edits))}
    if not edits:
        return RewriteResult(html, matches, False)
    codec, ascii_safe = _codec(encoding)
    if not ascii_safe:
        if frozen:  # offsets of the transcoding are not the page's: nothing can be proven untouched
            return RewriteResult(html, matches, False, fallback_reason="frozen bytes in a transcoded page")
        return _rewrite_transcoded(html, edits, codec, cache)

    errors: dict[int, str] = {}
    key = None
    if cache:
        key = _cache_key(digest if digest is not None else page_digest(html), codec, edits)
        with _CACHE_LOCK:
            kept = _CACHE.get(key)
        if kept is not None:
            targets, stamp = kept
            if tail is not None and not frozen:
                result = _splice_tailed(html, edits, targets, matches, codec, stamp, tail)
            else:
                body = _splice(html, edits, targets, matches, codec, frozen, errors, stamp=stamp)
                result = _result(html, body, matches, "splice", cached=True)
                result.errors = errors
            return result

    parser = _parse(html, codec)
    matched: list[list[LexborNode]] = []
    for i, e in enumerate(edits):
        try:
            nodes = _select(parser, e.selector)
        except Exception as exc:
            errors[i] = validate_selector(e.selector) or f"selector failed: {exc}"
            nodes = []
        matched.append(nodes if e.limit is None else nodes[: e.limit])
    check_matches(sum(len(nodes) for nodes in matched))  # before the quadratic conflict check

    if not any(matched):
        result = _result(html, html, matches, "none")
        result.errors = errors
        return result
    reason = None
    try:
        locator = Locator(html, parser, codec)
        locator.index(_names_needed(edits, matched))
        targets = tuple(tuple(build(n, e, locator) for n in nodes) for e, nodes in zip(edits, matched))
        body = _splice(html, edits, targets, matches, codec, frozen, errors)
    except (LocateError, SpliceError) as exc:
        reason = str(exc) or type(exc).__name__
    else:
        if key is not None and not set(errors) - frozen_errors(errors):  # selector errors: not cached
            with _CACHE_LOCK:
                _CACHE[key] = (targets, next(_STAMPS))
        result = _result(html, body, matches, "splice")
        result.errors = errors
        return result

    matches = {i: 0 for i in range(len(edits))}
    if frozen:  # re-serialising would change bytes already sent
        result = _result(html, html, matches, "none")
        result.fallback_reason = reason
        result.errors = errors
        return result
    node_targets = tuple(tuple(build(n, e, None) for n in nodes) for e, nodes in zip(edits, matched))
    admitted = _decide(edits, node_targets, Claims(node_same, node_inside), matches)
    if not admitted:
        result = _result(html, html, matches, "none")
    else:
        for i, t, acts in admitted:
            try:
                tree.apply(edits[i], t, acts)
            except Exception as exc:  # Lexbor refused this one mutation: it did not happen
                matches[i] -= 1
                errors[i] = f"tree edit failed: {exc}"
        body = encode_text(parser.html or "", codec)
        result = _result(html, body, matches, "serialize")
    result.fallback_reason = reason
    result.errors = errors
    return result


def _names_needed(edits: Sequence[Edit], matched: list[list[LexborNode]]) -> set[str]:
    """Tag names whose start tags the locator will need (mapped in one pass)."""
    names: set[str] = set()
    for e, nodes in zip(edits, matched):
        for n in nodes:
            tag = (n.tag or "").lower()
            names.add(tag)
            if e.action == "reorder":
                c = n.first_child
                while c is not None:
                    if c.is_element_node:
                        names.add((c.tag or "").lower())
                    c = c.next
            else:
                css = choices_css(e, tag)
                if css is not None:
                    names.update((c.tag or "").lower() for c in n.css(css))
    return names


def _result(html: bytes, body: bytes, matches: dict[int, int], method: str, cached: bool = False) -> RewriteResult:
    if body == html:
        return RewriteResult(html, matches, False, "none" if not any(matches.values()) else method, cached)  # type: ignore[arg-type]
    return RewriteResult(body, matches, True, method, cached)  # type: ignore[arg-type]


_FROZEN = "element starts in bytes already sent"


def frozen_errors(errors: dict[int, str]) -> set[int]:
    """The edits that were refused only because their element had already been sent."""
    return {i for i, reason in errors.items() if reason == _FROZEN}


Admitted = list[tuple[int, Target, bool]]
"""(edit index, element, whether the edit acts on it or only marks it with its decision)."""


def _decide(edits: Sequence[Edit], targets: Targets, claims: Claims, matches: dict[int, int],
            frozen: int = 0, errors: dict[int, str] | None = None) -> Admitted:
    """Which (edit, element) applications go ahead, in order (see :mod:`.conflicts`).

    An edit with a decision that cannot act on an element it found (a ``select-option`` whose value
    is not offered) still marks it with the decision: the decision is on the page, so the tag reports
    its exposure and clicks as it does the control's, and every variant is measured on the same pages."""
    admitted = []
    for i, (e, ts) in enumerate(zip(edits, targets)):
        decision = e.decision_id is not None
        for t in ts:
            acts = applies(e, t)
            if not acts and not decision:
                continue
            if frozen and t.ref.start < frozen:
                if errors is not None:
                    errors.setdefault(i, _FROZEN)
                continue
            if claims.admit(claims_for(e.action, t.tag, decision) if acts else MARK_ONLY, t.ref):
                admitted.append((i, t, acts))
                matches[i] += 1
    return admitted


def _splice(html: bytes, edits: Sequence[Edit], targets: Targets, matches: dict[int, int], codec: str,
            frozen: int = 0, errors: dict[int, str] | None = None, stamp: int | None = None) -> bytes:
    """``stamp``: the kept targets' number, when they came from the cache (the plan is then kept too)."""
    if stamp is not None and not frozen:
        admitted = _kept_decision(edits, targets, stamp)
        for i, _, _ in admitted:
            matches[i] += 1
    else:
        admitted = _decide(edits, targets, Claims(span_same, span_inside), matches, frozen, errors)
    if not admitted:
        return html
    sp = Splicer(html, codec)
    for i, t, acts in admitted:
        _splice_one(sp, html, edits[i], t, codec, (stamp, i) if stamp is not None else None, acts)
    return html if sp.empty else sp.build()


def _splice_tailed(html: bytes, edits: Sequence[Edit], targets: Targets, matches: dict[int, int], codec: str,
                   stamp: int, tail: tuple[int, bytes]) -> RewriteResult:
    """``_splice`` of kept targets with ``tail`` in the same copy (``rewrite``'s ``tail``); when the
    splicer cannot, the plain splice, ``tail`` left out."""
    admitted = _kept_decision(edits, targets, stamp)
    for i, _, _ in admitted:
        matches[i] += 1
    sp = Splicer(html, codec)
    for i, t, acts in admitted:
        _splice_one(sp, html, edits[i], t, codec, (stamp, i), acts)
    built = sp.build_tailed(*tail)
    if built is None:
        return _result(html, sp.build(), matches, "splice", cached=True)
    body, changed = built
    method = "splice" if changed or any(matches.values()) else "none"
    return RewriteResult(body, matches, changed, method, True, tailed=True)  # type: ignore[arg-type]


def plan_key(stamp: int, edits: Sequence[Edit], targets: Targets) -> tuple[Any, ...]:
    """Everything ``_decide`` reads of the edits, beside the targets (``stamp`` names them): each
    edit's action, whether it carries a decision (a decision's mark claims the start tag too), and
    which of its targets it applies to (a ``select-option`` with no such option applies to none)."""
    return ("plan", stamp, tuple(
        (e.action, e.decision_id is not None, tuple(applies(e, t) for t in ts)) for e, ts in zip(edits, targets)
    ))


def _kept_decision(edits: Sequence[Edit], targets: Targets, stamp: int) -> Admitted:
    """``_decide`` of kept targets (no frozen bytes), kept under ``plan_key``."""
    key = plan_key(stamp, edits, targets)
    with _CACHE_LOCK:
        admitted = _PLANS.get(key)
    if admitted is None:
        admitted = _decide(edits, targets, Claims(span_same, span_inside), {i: 0 for i in range(len(edits))})
        with _CACHE_LOCK:
            _PLANS[key] = admitted
    return admitted  # type: ignore[no-any-return]


def _reordered(html: bytes, t: Target, perm: list[int]) -> bytes:
    """The element's content with its children in ``perm``'s order (the bytes between them kept)."""
    s = t.ref
    pieces = []
    pos = s.tag_end
    for slot, child in enumerate(t.children):
        start, end = child.ref
        pieces.append(html[pos:start])
        ns, ne = t.children[perm[slot]].ref
        pieces.append(html[ns:ne])
        pos = end
    pieces.append(html[pos : s.content_end])
    return b"".join(pieces)


def _kept_reordered(html: bytes, t: Target, order: tuple[str, ...], where: tuple[Any, ...] | None) -> bytes | None:
    """``_reordered`` for the visitor's ``order`` (None: already in that order). ``where`` — the kept
    targets' stamp and the edit's index — with the element's offset and the order keeps it per page."""
    key = ("reorder", where, t.ref.start, order) if where is not None else None
    if key is not None:
        with _CACHE_LOCK:
            kept = _PLANS.get(key, _MISSING)
        if kept is not _MISSING:
            return kept  # type: ignore[no-any-return]
    perm = new_order([c.key for c in t.children], order)
    content = _reordered(html, t, perm) if perm != list(range(len(perm))) else None
    if key is not None:
        with _CACHE_LOCK:
            _PLANS[key] = content
    return content


_MISSING = object()


def _splice_one(sp: Splicer, html: bytes, e: Edit, t: Target, codec: str,
                where: tuple[Any, ...] | None = None, acts: bool = True) -> None:
    """``acts``: False for an element the edit only marks with its decision (``_decide``)."""
    s = t.ref
    a = e.action
    if not acts:
        sp.attributes(s.start, s.tag_end, decision_marks(e))
        return
    if a == "remove":
        sp.replace(s.start, s.end, b"")
        return
    if a in ("replace", "before", "after", "append", "prepend"):
        context = t.tag if a in ("append", "prepend") else t.parent_tag
        data = render_fragment(e.html, decision_marks(e), context, codec)
        if a == "replace":
            sp.replace(s.start, s.end, data)
        elif a == "before":
            sp.before(s.start, data)
        elif a == "after":
            sp.after(s.start, s.end, data)
        elif a == "append":
            sp.append(s.start, s.content_end, data)
        else:
            sp.prepend(s.start, s.tag_end, data)
        return
    changes: list[tuple[str, str | None]] = []
    if a == "set-attribute":
        changes.extend(e.attributes.items())
    changes.extend(decision_marks(e))
    if a == "reorder":
        content = _kept_reordered(html, t, tuple(e.order), where)
        if content is not None:
            sp.content(s.start, s.tag_end, s.content_end, content)
    elif t.options and a in ("select-option", "set-value"):
        chosen = chosen_option(t, e.value, e.names)
        for k, opt in enumerate(t.options):
            ostart, oend = opt.ref
            marks = choice_marks(opt.tag, e.attributes, k == chosen, opt.selected)
            if marks:
                sp.attributes(ostart, oend, marks)
    elif a == "set-value":
        if t.tag == "input":
            changes.append(("value", e.value))
        else:
            text = encode_text(_escape_text(e.value), codec)
            if text.startswith(b"\n"):  # the parser drops one leading newline
                text = b"\n" + text
            sp.content(s.start, s.tag_end, s.content_end, text)
    if changes:
        sp.attributes(s.start, s.tag_end, changes)


def _escape_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _rewrite_transcoded(html: bytes, edits: Sequence[Edit], codec: str, cache: bool) -> RewriteResult:
    """UTF-16 & co.: rewrite the UTF-8 transcoding, then encode back."""
    text = html.decode(codec)  # UnicodeDecodeError is a ValueError
    inner = rewrite(text.encode("utf-8", "surrogatepass"), edits, "utf-8", cache=cache)
    if not inner.changed:
        inner.body = html
        return inner
    inner.body = inner.body.decode("utf-8", "surrogatepass").encode(codec, "xmlcharrefreplace")
    return inner
