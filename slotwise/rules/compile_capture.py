"""Compiling what rules read from pages (fields, catalog extras) and the ``capture`` section.

Part of the loader's second pass: selectors are checked by Lexbor, regexes
and expressions compiled, and every problem lands on its ``file:line:column``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from slotwise.rules import schema as s
from slotwise.rules.answer_cart import AnswerCart
from slotwise.rules.capture import (
    REQUEST_NAMES, CaptureSettings, Confirm, DataLayer, PageSource, RequestSource, TagTrigger, stable_id,
)
from slotwise.rules.catalog import Availability
from slotwise.rules.checker import Text
from slotwise.rules.errors import Issue
from slotwise.rules.extract import Field, Group, Items, bad_key_path, key_path
from slotwise.rules.js_regex import JsRegex, js_regex
from slotwise.rules.page_types import KINDS as PAGE_TYPE_KINDS, PageTypes
from slotwise.rules.pages import PageRule, compile_condition, compile_path_pattern, translate_path_pattern

if TYPE_CHECKING:
    from slotwise.rules.loader import _Loader


class FieldCompiler:
    """Turns parsed field specs into ``Field``/``Items``/``Group``, reporting through the loader."""

    def __init__(self, loader: "_Loader") -> None:
        self.loader = loader

    def _error(self, spec: Any, message: str, node: Any = None) -> None:
        self.loader.issues.append(spec.source.loc(node if node is not None else spec.node).issue(message))

    def field(self, spec: s.FieldSpec) -> Field | None:
        ok = True
        if spec.css is not None:
            ok = self.loader._selector(spec.css)
        match = None
        if spec.match is not None:
            try:
                match = re.compile(spec.match.value)
            except re.error as exc:
                self._error(spec.match, f"bad regex {spec.match.value!r} in 'match': {exc.msg}", spec.match.node)
                ok = False
            else:
                if match.groups > 1:
                    self._error(spec.match, f"'match' {spec.match.value!r} has {match.groups} groups; keep one "
                                            "(its text is the value) or none (the whole match)", spec.match.node)
                    ok = False
        if spec.form is not None:
            return Field(form=spec.form)
        if spec.cookie is not None:
            self.loader.cookie_warnings.append(spec.source.loc(spec.node).issue(
                f"WARNING: cookie field {spec.cookie!r}: in tag-only mode the tag reads document.cookie, which never "
                "shows an HttpOnly cookie: if the store sets it HttpOnly, the field reads nothing there. Behind the "
                "proxy it is read from the request as ever"))
        key = None
        if spec.key is not None:
            key = key_path(spec.key.value)
            if key is None:
                self._error(spec.key, bad_key_path(spec.key.value), spec.key.node)
                ok = False
        if not ok:
            return None
        return Field(css=spec.css.value.strip() if spec.css else None, attr=spec.attr, match=match, const=spec.const,
                     key=key, cookie=spec.cookie, script=spec.script, json=spec.json)

    def fields(self, specs: dict[str, s.FieldSpec]) -> dict[str, Field]:
        out = {}
        for name, spec in specs.items():
            compiled = self.field(spec)
            if compiled is not None:
                out[name] = compiled
        return out

    def items(self, spec: s.ItemsSpec | None) -> Items | None:
        if spec is None:
            return None
        fields = self.fields(spec.fields)
        if spec.json is not None:
            source = self.field(spec.json)
            key = key_path(spec.key.value) if spec.key is not None else ()
            if spec.key is not None and key is None:
                self._error(spec.key, bad_key_path(spec.key.value), spec.key.node)
            return Items("", fields, json=source, key=key) if source is not None and key is not None else None
        assert spec.css is not None
        ok = self.loader._selector(spec.css)
        return Items(spec.css.value.strip(), fields) if ok else None

    def group(self, spec: s.GroupSpec) -> Group:
        within = None
        if spec.within is not None and self.loader._selector(spec.within):
            within = spec.within.value.strip()
        return Group(within=within, fields=self.fields(spec.fields), lines=self.items(spec.lines))


def compile_catalog_extras(loader: "_Loader", spec: s.CatalogSpec) -> dict[str, Any]:
    """The catalog keys beyond URL patterns and the feed: selectors, currency, availability, sizes.

    (``catalog.customer`` is read as ``capture.customer``'s ``id``: see ``_Loader._merged_capture``.)
    """
    fc = FieldCompiler(loader)
    extras: dict[str, Any] = {"selectors": fc.fields(spec.selectors)}
    if spec.currency is not None:
        extras["currency"] = spec.currency
    if spec.page_currency is not None:
        extras["page_currency"] = fc.field(spec.page_currency)
    if spec.in_stock_words is not None or spec.out_of_stock_words is not None:
        extras["availability"] = Availability.of_words(spec.in_stock_words, spec.out_of_stock_words)
    if spec.sizes is not None:
        extras["sizes"] = fc.items(spec.sizes)
    if spec.variant_id is not None:
        extras["variant_id"] = fc.field(spec.variant_id)
    if spec.product_id is not None:
        extras["product_id"] = fc.field(spec.product_id)
    selectors = {kind: spec.page_types[kind].value.strip() for kind in PAGE_TYPE_KINDS
                 if kind in spec.page_types and loader._selector(spec.page_types[kind])}
    if selectors:
        extras["page_types"] = PageTypes(selectors)
    return extras


def compile_capture(loader: "_Loader", spec: s.CaptureSpec) -> CaptureSettings:
    fc = FieldCompiler(loader)
    customer = cart = None
    if spec.customer is not None:
        customer = PageSource("customer", "login", loader._pages(spec.customer.pages) if spec.customer.pages else None,
                              fc.group(spec.customer))
    if spec.cart is not None:
        cart = PageSource("cart", "cart", loader._pages(spec.cart.pages) if spec.cart.pages else None, fc.group(spec.cart))
    requests: list[RequestSource] = []
    pages: list[PageSource] = []
    triggers: list[TagTrigger] = []
    used: set[str] = set()
    for event in spec.events:
        source_id = event.id or _auto_id(event, used)
        used.add(source_id)
        loc = event.source.loc(event.node)
        if event.kind == "request" and event.request is not None:
            compiled = _request(loader, event, source_id, loc.file, loc.line)
            if compiled is not None:
                requests.append(compiled)
        elif event.kind == "page" and event.group is not None:
            matcher = loader._pages(event.group.pages) if event.group.pages else None
            pages.append(PageSource(source_id, event.event, matcher, fc.group(event.group), loc.file, loc.line,
                                    event.cart_lines))
        elif event.kind in ("click", "submit") and event.selector is not None and event.group is not None:
            if loader._selector(event.selector):
                triggers.append(TagTrigger(source_id, event.event, event.kind, event.selector.value.strip(),
                                           fc.group(event.group), _confirm(loader, event.confirm)))
    datalayer = None
    if spec.datalayer is not None:
        dl = spec.datalayer
        datalayer = DataLayer(dl.events, dl.product, dl.size, dl.category)
    orders = spec.orders.mapping if spec.orders is not None else None
    answer_cart = _answer_cart(loader, spec.cart_answer) if spec.cart_answer is not None else None
    return CaptureSettings(customer, cart, tuple(requests), tuple(pages), tuple(triggers), datalayer, orders,
                           spec.identity, spec.soft_navigations, answer_cart)


def _auto_id(event: s.EventSpec, used: set[str]) -> str:
    where = event.selector.value if event.selector else (
        event.request.path.value if event.request and event.request.path else
        event.request.regex.value if event.request and event.request.regex else
        [p.path.value if p.path else p.regex.value if p.regex else "" for p in (event.group.pages or [])] if event.group else "")
    base = f"{event.event}-{stable_id(event.event, event.kind, where)[:6]}"
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _confirm(loader: "_Loader", spec: s.ConfirmSpec | None) -> Confirm | None:
    if spec is None or not loader._selector(spec.css):
        return None
    return Confirm(spec.css.value.strip(), spec.present)


def _answer_cart(loader: "_Loader", spec: s.AnswerCartSpec) -> AnswerCart | None:
    """``capture.cart`` with ``request``: its request compiled as a request source's (no fields)."""
    loc = spec.source.loc(spec.node)
    found = _request_rule(loader, spec.request, "cart", "capture.cart", "the tag cannot read its answer (the cart "
                          "stays unknown)")
    if found is None:
        return None
    rule, path_js, flags, unobserved = found
    source = RequestSource(id="cart", event="cart", methods=frozenset(spec.methods), rule=rule, fields={},
                           file=loc.file, line=loc.line, path_js=path_js, path_flags=flags, unobserved=unobserved)
    said = spec.request.path or spec.request.regex
    return AnswerCart(source, spec.values.items, spec.values.lines, spec.values.count, said.value if said else "")


def _request(loader: "_Loader", event: s.EventSpec, source_id: str, file: str, line: int) -> RequestSource | None:
    assert event.request is not None
    found = _request_rule(loader, event.request, source_id)
    if found is None:
        return None
    rule, path_js, flags, unobserved = found
    fields = {}
    for name, text in event.expressions.items():
        compiled = loader._expression(text, REQUEST_NAMES)
        if compiled is not None:
            fields[name] = compiled
    success = loader._expression(event.success, REQUEST_NAMES) if event.success is not None else None
    return RequestSource(
        id=source_id, event=event.event, methods=frozenset(event.methods), rule=rule, fields=fields,
        field_text={k: t.value for k, t in event.expressions.items()},
        success=success, success_text=event.success.value.strip() if event.success else "response.status < 400",
        confirm=_confirm(loader, event.confirm), file=file, line=line, path_js=path_js, path_flags=flags,
        unobserved=unobserved,
    )


def _request_rule(loader: "_Loader", rule_spec: s.PageRuleSpec, source_id: str, who: str | None = None,
                  loses: str = "the tag cannot observe its requests") -> tuple[PageRule, str | None, str, Issue | None] | None:
    """A request's path rule, and the tag's view of it: the path's RegExp (None: it cannot have one), its
    flags, and why the tag cannot observe it (``tag_regex``)."""
    path, search, flags, unobserved = None, False, "", None
    path_js: str | None = ""
    if rule_spec.path is not None:
        try:
            path = compile_path_pattern(rule_spec.path.value)
            path_js = f"^(?:{translate_path_pattern(rule_spec.path.value)[1]})$"
        except ValueError as exc:
            loader.issues.append(rule_spec.path.source.loc(rule_spec.path.node).issue(str(exc)))
            return None
    elif rule_spec.regex is not None:
        search = True
        try:
            path = re.compile(rule_spec.regex.value)
        except re.error as exc:
            loader.issues.append(rule_spec.regex.source.loc(rule_spec.regex.node).issue(f"bad regex {rule_spec.regex.value!r}: {exc.msg}"))
            return None
        js, unobserved = tag_regex(rule_spec.regex, who or f"request source {source_id!r}",
                                   loses)  # searched, as here; the server matches again
        path_js, flags = (js.source, js.flags) if js is not None else (None, "")
    rule = PageRule(path=path, search=search,
                    query=tuple(compile_condition(c) for c in rule_spec.query),
                    headers=tuple(compile_condition(c, ignore_case=True) for c in rule_spec.headers))
    return rule, path_js, flags, unobserved


def tag_regex(regex: Text, who: str, loses: str, named: str = "its regex") -> tuple[JsRegex | None, Issue | None]:
    """A rules regex the tag runs, as a ``RegExp`` (``js_regex``; None when it has none), and the warning
    ``rules check`` gives at the construct itself: ``who`` (``request source 'add'``) ``loses`` what in
    tag-only mode (``the tag cannot observe its requests``), because ``named`` (its regex) has it. A
    lookbehind is passed as it is, with a warning for Safari before 16.4, which cannot compile one."""
    found = js_regex(regex.value)
    js, problem = (found, found.safari) if isinstance(found, JsRegex) else (None, found)
    if problem is None:
        return js, None
    old_safari = js is not None  # a RegExp all the same: only those Safaris cannot compile it
    before = regex.value[:problem.offset]
    line, column = before.count("\n") + 1, problem.offset - (before.rfind("\n") + 1) + 1
    where, why = ((" on Safari before 16.4 (macOS and iOS; other browsers do)", "which their RegExp cannot compile")
                  if old_safari else
                  ("", "which JavaScript's RegExp has not (judged without a JavaScript engine, conservatively)"))
    return js, regex.source.text_loc(regex.node, line, column).issue(
        f"WARNING: {who}: in tag-only mode {loses}{where}: {named} has {problem.what}, {problem.construct}, {why}; "
        f"{problem.hint}. Behind the proxy it is read as ever")
