"""What the tag is told by the rules: the only store-specific knowledge it ever has.

The server bakes this into the tag script it serves (``slotwise.tag.assets``),
so a store's tag knows its consent mode, what to read from pages in tag-only
mode (the same field groups the proxy reads), which clicks and submits are
events, whether to read GA4's ``dataLayer``, the URL patterns that turn
a link into a category or product key, and — tag-only mode only, where no
proxy sees them — the rules' ``request`` sources, so it observes the page's
own requests to them (``requests``: methods, path, the body keys read) and ``capture.cart``'s JSON answer
(``answer``: its request and the key paths its reading reaches; the tag then loads the script that reads it,
``slotwise.tag.assets``), and whether a slot's element
is rendered by the store's own script after the page loads (``wait``: the tag then watches for it), and
whether it follows a single-page storefront's soft navigations (``nav``: ``capture.soft_navigations``, on
unless the rules turn it off), with the query parameters that make a URL another page (``soft_query``).
"""

from __future__ import annotations

import functools
import logging
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from slotwise.rules.ruleset import RuleSet

log = logging.getLogger(__name__)

CONFIG_VERSION = 1
_DEFAULT: Mapping[str, Any] = MappingProxyType({"v": CONFIG_VERSION})


def tag_config(ruleset: "RuleSet | None", *, tag_only: bool = False) -> Mapping[str, Any]:
    """A JSON-ready mapping; the very same object for the same rules object (the tag's URL is hashed
    from it, and ``TagAssets`` keeps the tag built from it while it is the same object).

    ``tag_only``: no proxy sees the store's requests, so the tag observes them (``requests``)."""
    if ruleset is None:
        return _DEFAULT
    return _tag_config(ruleset, tag_only)


@functools.lru_cache(maxsize=4)
def _tag_config(ruleset: "RuleSet", tag_only: bool) -> Mapping[str, Any]:
    """Rules are immutable and a reload makes a new ``RuleSet``: kept per rules object (a few, bounded)."""
    catalog, capture = ruleset.catalog, ruleset.capture
    groups = {name: g.to_json() for name, g in catalog.extract_groups().items()}
    groups.update({name: g.to_json() for name, g in capture.page_groups(None).items()})
    patterns = {kind: list(catalog.patterns.js.get(kind, ("/",) if kind == "home" else ())) for kind in ("home", "product", "category")}
    out: dict[str, Any] = {
        "v": CONFIG_VERSION,
        "consent": ruleset.consent,
        "groups": groups,
        "triggers": [t.to_json() for t in capture.triggers],
        "datalayer": capture.datalayer is not None,
        "patterns": patterns,
    }
    if capture.soft_navigations:
        out["nav"] = {"query": list(soft_query(ruleset))}
    if catalog.page_types is not None:  # a link's path both a category and a product pattern match: a category
        out["types"] = 1
    observed = capture.observed_requests() if tag_only else []
    answer = capture.answer_cart if tag_only else None
    for warning in ([s.unobserved for s in capture.requests] + [s.key_warning for s in ruleset.slots]
                    + [answer.source.unobserved if answer is not None else None]
                    + list(ruleset.cookie_warnings)) if tag_only else ():
        if warning is not None:  # once per rules object (cached): rules check says it with its place
            log.warning("%s", warning)
    read = [*(catalog.extract_groups().values() if tag_only else ()),
            *(capture.page_groups(None).values() if tag_only else ()), *(t.group for t in capture.triggers)]
    if any(f.cookie is not None for group in read for f in group.fields.values()):
        out["cookies"] = 1  # the tag reads a cookie (behind the proxy: a trigger's only): it carries the reader (assets)
    if any(f.reads_script for group in read
           for f in [*group.fields.values(), *(group.lines.fields.values() if group.lines else ())]):
        out["scripts"] = 1  # the tag reads a script's data (behind the proxy: a trigger's only): it carries the reader
    if tag_only and any(slot.wait_ms and slot.enabled for slot in ruleset.slots):
        out["wait"] = 1  # a slot's element comes from the store's script: the tag carries its watcher (assets)
    if observed:  # the tag then carries its observer (slotwise.tag.assets): only for the stores that need it
        out["requests"] = [source.tag_json() for source in observed]
    if answer is not None and answer.source.path_js is not None:  # the tag loads the script that reads it (assets)
        out["answer"] = answer.tag_json()
    return MappingProxyType(out)


def soft_query(ruleset: "RuleSet") -> tuple[str, ...]:
    """The query parameters some ``pages`` of the rules read (a slot's, a capture source's): a soft navigation that
    changes one of them is a new page, as a new path is; any other query change (a variant picker's ``?variant=``)
    or a hash is the same page. Catalog URL patterns match paths only: they never make a query part of a page."""
    matchers = [slot.pages for slot in ruleset.slots]
    capture = ruleset.capture
    matchers += [source.pages for source in (capture.customer, capture.cart, *capture.pages) if source is not None]
    return tuple(sorted({name for m in matchers if m is not None for name in m.query_names}))
