"""``load_rules``: read a rules file and its includes, validate everything, compile once.

Two passes: parse every file into specs (structure and types), then compile
(selectors, page patterns, expressions, templates, policies). Issues from
both passes and all files are collected; any issue rejects the whole file
set, so the proxy's reload keeps serving the last good ``RuleSet``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

from slotwise.rules.catalog import CatalogSettings
from slotwise.rules.compile_capture import FieldCompiler, compile_capture, compile_catalog_extras, tag_regex
from slotwise.rules.checker import Checker, Text, did_you_mean
from slotwise.rules.errors import Issue, RulesError
from slotwise.rules.expressions import Problem, compile_expression
from slotwise.rules.html_api import validate_selector
from slotwise.rules.journey_settings import Section, cart_form_of, merge_journeys
from slotwise.rules.journey_facts import facts_read
from slotwise.rules.size_vocabulary import PLAIN_SIZES, SizeVocabulary, named_not_sizes
from slotwise.rules.pages import (
    CatalogPatterns, PageMatcher, PageRule, compile_condition, compile_path_pattern, translate_path_pattern,
)
from slotwise.rules.parse import parse_document
from slotwise.rules.policy import PolicyValidator, default_validator
from slotwise.profile import SESSION_TIMEOUT_S
from slotwise.rules.ruleset import AttributionWindow, Policy, RuleSet, Slot, Variant
from slotwise.rules.schedule import DEFAULT_TIMEZONE, Window
from slotwise.rules.signals import Signals
from slotwise.rules.html_api import ItemKey
from slotwise.rules.schema import (
    POPUP_SELECTOR, CaptureSpec, CatalogSpec, DocumentSpec, FieldSpec, GroupSpec, PageRuleSpec, SlotSpec, VariantSpec,
)
from slotwise.rules.templates import compile_template
from slotwise.rules.visitor import freeze
from slotwise.rules.vocabulary import CONDITION_NAMES, MAPPING_METHODS, TEMPLATE_NAMES, VARIANT_NAMES
from slotwise.rules.yaml_marks import Node, Source, compose

MAX_INCLUDE_DEPTH = 10
MAX_TEMPLATE_BYTES = 256 * 1024


@dataclass(frozen=True)
class RulesLimits:
    """How much one rules set may hold. Against an accident (a generator's runaway loop, a paste twice
    over), not an attacker: loading costs every worker CPU for each slot (20,000 slots took ~50 s), so
    such a set is refused at once, naming the limit, and the last good rules keep serving."""

    # the main file and its includes together (templates have their own): libyaml reads ~4 MB a second,
    # the pure-Python parser (a file with a tab, ``yaml_marks._PURE_PYTHON_ONLY``) ~500 KB, and compiling
    # costs more than reading, so a set refused at this size costs nothing and one just under it seconds
    max_bytes: int = 1024 * 1024
    max_slots: int = 1000  # 1.0–1.4 s of CPU to load 1,000 small slots (`python -m bench.rules_load`)


LIMITS = RulesLimits()


def load_rules(path: str | os.PathLike[str], *, policy_validator: PolicyValidator | None = None,
               limits: RulesLimits = LIMITS, secrets: bool = True) -> RuleSet:
    """A compiled RuleSet, or ``RulesError`` listing every issue in the file and its includes. ``secrets``
    false: the secrets the rules name (``capture.customer.secret_env``) need not be in the environment, for
    a command that reads the slots or the catalog but never checks a signature (report, import, preview)."""
    loader = _Loader(policy_validator or default_validator(), limits, secrets=secrets)
    ruleset = loader.load(Path(path), str(path))
    if loader.issues or ruleset is None:
        # the files it tried to read, a missing one too: fixing or creating any of them is worth a reload
        raise RulesError(loader.issues or [Issue(str(path), 1, 1, "invalid rules")],
                         files=[str(f) for f in dict.fromkeys(loader.tried)])
    return ruleset


def check_rules(
    path: str | os.PathLike[str], *, policy_validator: PolicyValidator | None = None, limits: RulesLimits = LIMITS
) -> tuple[RuleSet | None, list[Issue]]:
    """Like ``load_rules`` but returns the issues (sorted) instead of raising."""
    loader = _Loader(policy_validator or default_validator(), limits)
    ruleset = loader.load(Path(path), str(path))
    issues = sorted(set(loader.issues))
    return (None if issues else ruleset), issues


class _Loader:
    def __init__(self, policy_validator: PolicyValidator, limits: RulesLimits = LIMITS, *, secrets: bool = True) -> None:
        self.issues: list[Issue] = []
        self.secrets = secrets
        self.validate_policy = policy_validator
        self.limits = limits
        self.bytes_read = 0  # of the main file and its includes, against ``limits.max_bytes``
        self.files: list[Path] = []
        self.tried: list[Path] = []  # every file it tried to read, read or not (what a rejected set names)
        self.loaded: set[Path] = set()
        self.captures: list[CaptureSpec] = []
        self.cookie_warnings: list[Issue] = []  # each cookie field's: the tag cannot see an HttpOnly cookie
        self.journeys: list[dict[str, Section]] = []
        self._texts: list[str] = []  # the current slot's expressions and templates (which facts it reads)
        self._vars: frozenset[str] = frozenset()  # the current slot's `vars` keys, over all its variants
        self.timezone = DEFAULT_TIMEZONE  # the main file's: its slots' windows are read in it

    # -- reading files ------------------------------------------------------------
    def _read(self, path: Path, display: str, where: tuple[Source, Node] | None, what: str,
              counted: bool = False) -> str | None:
        """The file's text, or None with an issue. ``counted``: a rules file, within ``limits.max_bytes``
        with the others (a template has its own limit, and may be read for many variants)."""
        self.tried.append(path.resolve())
        room = self.limits.max_bytes - self.bytes_read if counted else -1
        try:
            with path.open("rb") as file:
                data = file.read(room + 1 if counted else -1)  # never past the limit into memory, however large
            if counted and len(data) > room:
                self._issue(display, where, f"{what} {display!r} takes the rules past {self.limits.max_bytes:,} "
                            "bytes (the main file and its includes together): a set this large is refused, "
                            "not loaded; is it the file you meant? (docs/rules.md, Limits)")
                return None
            self.bytes_read += len(data) if counted else 0
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:  # saved in Latin-1 or Windows-1252: point at the first such byte
            line = data.count(b"\n", 0, exc.start) + 1
            column = len(data[data.rfind(b"\n", 0, exc.start) + 1:exc.start].decode("utf-8", "replace")) + 1
            self.issues.append(Issue(display, line, column, f"cannot read {what} {display!r}: byte "
                                     f"0x{data[exc.start]:02x} is not UTF-8; save the file as UTF-8"))
            return None
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self._issue(display, where, f"cannot read {what} {display!r}: {reason}")
            return None
        self.files.append(path.resolve())
        return text

    def _issue(self, display: str, where: tuple[Source, Node] | None, message: str) -> None:
        """A problem with a file as a whole: at its include, or at the top of the main file."""
        if where is None:
            self.issues.append(Issue(display, 1, 1, message))
        else:
            self.issues.append(where[0].loc(where[1]).issue(message))

    def _document(self, path: Path, display: str, *, main: bool, where: tuple[Source, Node] | None) -> DocumentSpec | None:
        text = self._read(path, display, where, "rules file" if main else "included file", counted=True)
        if text is None:
            return None
        source = Source(display, text)
        root, issues = compose(source, text)
        self.issues += issues
        if issues:
            return None
        return parse_document(Checker(source, self.issues, secrets=self.secrets), root, main=main)

    def _collect(self, doc: DocumentSpec, path: Path, chain: tuple[Path, ...]) -> list[SlotSpec]:
        """A file's slots followed by those of its includes, depth first, in file order.

        Captures are gathered on the way (``self.captures``): one file may say how
        a store's events are read, and several rules files include it.
        """
        slots = list(doc.slots)
        self.captures.append(doc.capture)
        self.journeys.append(doc.journeys)
        for include in doc.includes:
            target = (path.parent / include.value).resolve()
            display = os.path.normpath(os.path.join(os.path.dirname(doc.source.display), include.value))
            where = (include.source, include.node)
            if target in chain:
                names = " -> ".join(p.name for p in chain + (target,))
                self.issues.append(include.source.loc(include.node).issue(f"include cycle: {names}"))
                continue
            if target in self.loaded:
                self.issues.append(include.source.loc(include.node).issue(f"{include.value!r} is already included"))
                continue
            if len(chain) > MAX_INCLUDE_DEPTH:
                self.issues.append(include.source.loc(include.node).issue(f"includes nest deeper than {MAX_INCLUDE_DEPTH}"))
                continue
            self.loaded.add(target)
            sub = self._document(target, display, main=False, where=where)
            if sub is not None:
                slots += self._collect(sub, target, chain + (target,))
        return slots

    # -- the whole set --------------------------------------------------------------
    def load(self, path: Path, display: str) -> RuleSet | None:
        main = path.resolve()
        self.loaded.add(main)
        doc = self._document(path, display, main=True, where=None)
        if doc is None:
            return None
        specs = self._collect(doc, main, (main,))
        if len(specs) > self.limits.max_slots:  # before any is compiled: that is where the time goes
            self.issues.append(Issue(display, 1, 1, f"{len(specs):,} slots (with the included files): at most "
                                     f"{self.limits.max_slots:,} are loaded; a set this large is refused, not "
                                     "loaded (docs/rules.md, Limits)"))
            return None
        self.timezone = doc.timezone
        catalog = self._catalog(doc.catalog, main.parent)
        merged_capture = self._merged_capture(doc)
        capture = compile_capture(self, merged_capture)
        journeys = merge_journeys(self.journeys, self.issues)
        slots: list[Slot] = []
        first: dict[str, SlotSpec] = {}
        for spec in specs:
            if spec.id is None:
                self._slot(spec)  # for its errors only
                continue
            if spec.id in first:
                other = first[spec.id]
                loc = other.source.loc(other.id_node)
                self.issues.append(spec.source.loc(spec.id_node).issue(
                    f"duplicate slot id {spec.id!r} (first defined at {loc.file}:{loc.line}:{loc.column})"
                ))
                self._slot(spec)  # for its other errors
                continue
            first[spec.id] = spec
            slot = self._slot(spec, catalog)
            if slot is not None:
                slots.append(slot)
        if self.issues:
            return None
        return RuleSet(
            slots=tuple(slots),
            holdout=doc.holdout,
            consent=doc.consent,
            attribution_window=(
                AttributionWindow(float(doc.attribution_seconds), "fixed") if doc.attribution_seconds
                else AttributionWindow(float(SESSION_TIMEOUT_S), "inactivity")
            ),
            attribution_window_text=doc.attribution_window,
            catalog=catalog,
            capture=capture,
            journeys=replace(journeys, cart_form=cart_form_of(merged_capture.events)),
            signals=replace(doc.signals or Signals(), size_vocabulary=catalog.size_vocabulary, revenue=doc.revenue),
            cache=doc.cache,
            revenue=doc.revenue,
            timezone=doc.timezone,
            files=tuple(dict.fromkeys(self.files)),
            cookie_warnings=tuple(sorted(set(self.cookie_warnings))),  # in file order, each once
        )

    def _merged_capture(self, doc: DocumentSpec) -> CaptureSpec:
        """Every file's ``capture``: events add up; customer, cart, dataLayer and orders may be said once;
        ``soft_navigations: false`` in any file turns them off."""
        merged = CaptureSpec()
        for part in self.captures:
            merged.events += part.events
            merged.soft_navigations = merged.soft_navigations and part.soft_navigations  # a file that turns it off
            for name in ("customer", "cart", "cart_answer", "datalayer", "orders"):
                value = getattr(part, name)
                if value is None:
                    continue
                said = "cart" if name == "cart_answer" else name  # a basket's or an answer's: one cart
                if getattr(merged, name) is not None or (said == "cart" and (merged.cart or merged.cart_answer)):
                    self.issues.append(value.source.loc(value.node).issue(f"'capture.{said}' is set in more than one file"))
                    continue
                setattr(merged, name, value)
                if name == "customer":  # its secret_env comes with it
                    merged.identity = part.identity
        for event in merged.events:  # the order is the cart: only a cart the rules read can be it
            if event.cart_lines and merged.cart is None and merged.cart_answer is None:
                self.issues.append(event.source.loc(event.node).issue(
                    "'lines: cart' reads the order's lines from the visitor's cart, and no 'capture.cart' says "
                    "where the cart is (a mini basket, or a JSON answer)"))
        legacy = doc.catalog.customer
        if legacy is not None and merged.customer is None:  # catalog.customer: the older way to name the customer
            merged.customer = GroupSpec(legacy.node, legacy.source, fields={"id": legacy})
        return merged

    # -- compiling pieces -------------------------------------------------------------
    def _problems(self, text: Text, problems: Sequence[Problem]) -> None:
        for problem in problems:
            self.issues.append(text.source.text_loc(text.node, problem.line, problem.column).issue(problem.message))

    def _selector(self, text: Text) -> bool:
        message = validate_selector(text.value)
        if message:
            if text.value not in message:
                message = f"bad selector {text.value!r}: {message}"
            self.issues.append(text.source.loc(text.node).issue(message))
            return False
        return True

    def _patterns(self, texts: Sequence[Text]) -> tuple[re.Pattern[str], ...]:
        out = []
        for text in texts:
            try:
                out.append(compile_path_pattern(text.value))
            except ValueError as exc:
                self.issues.append(text.source.loc(text.node).issue(str(exc)))
        return tuple(out)

    def _js_patterns(self, texts: Sequence[Text]) -> tuple[str, ...]:
        out = []
        for text in texts:
            try:
                out.append(translate_path_pattern(text.value)[1])
            except ValueError:
                pass  # reported by _patterns
        return tuple(out)

    def _catalog(self, spec: CatalogSpec, base: Path) -> CatalogSettings:
        home = self._patterns(spec.home_pages) if spec.home_pages else (re.compile("/"),)
        patterns = CatalogPatterns(
            home=home, category=self._patterns(spec.category_pages), product=self._patterns(spec.product_pages),
            js={"home": self._js_patterns(spec.home_pages) if spec.home_pages else ("/",),
                "category": self._js_patterns(spec.category_pages), "product": self._js_patterns(spec.product_pages)},
            written={kind: tuple(text.value for text in texts) for kind, texts in (
                ("home", spec.home_pages), ("product", spec.product_pages), ("category", spec.category_pages))},
        )
        feed: Path | str | None = None
        if spec.feed is not None and spec.feed.value.startswith(("/", "http://", "https://")):
            feed = spec.feed.value  # fetched by the proxy: a path on the storefront, or a URL
        elif spec.feed is not None:
            feed = (base / spec.feed.value).resolve()
            if not feed.is_file():
                self.issues.append(spec.feed.source.loc(spec.feed.node).issue(f"catalog feed file {spec.feed.value!r} not found"))
        mapping, vocabulary = _size_vocabulary(spec)
        if spec.size_names is not None:
            self.issues += [text.source.loc(text.node).issue(message)
                            for text, message in named_not_sizes(spec.size_names, vocabulary)]
        return CatalogSettings(patterns=patterns, feed=feed, feed_mapping=mapping, size_vocabulary=vocabulary,
                               **compile_catalog_extras(self, spec))

    def _pages(self, rules: Sequence[PageRuleSpec]) -> PageMatcher:
        compiled = []
        for rule in rules:
            path, search = None, False
            if rule.path is not None:
                try:
                    path = compile_path_pattern(rule.path.value)
                except ValueError as exc:
                    self.issues.append(rule.path.source.loc(rule.path.node).issue(str(exc)))
            elif rule.regex is not None:
                search = True
                try:
                    path = re.compile(rule.regex.value)
                except re.error as exc:
                    self.issues.append(rule.regex.source.loc(rule.regex.node).issue(
                        f"bad regex {rule.regex.value!r}: {exc.msg}" + (f" at position {exc.pos}" if exc.pos is not None else "")
                    ))
            compiled.append(PageRule(
                path=path,
                search=search,
                query=tuple(compile_condition(c) for c in rule.query),
                headers=tuple(compile_condition(c, ignore_case=True) for c in rule.headers),
                pattern=rule.path.value if rule.path is not None else None,
            ))
        return PageMatcher(tuple(compiled))

    def _expression(self, text: Text | None, names: frozenset[str]) -> Any:
        if text is None:
            return None
        function, problems = compile_expression(text.value, names)
        self._problems(text, problems)
        return function

    def _template_file(self, text: Text) -> tuple[Text, str] | None:
        """The source of a ``template:`` file, as a Text whose errors point into that file."""
        base = Path(text.source.display).parent
        display = os.path.normpath(os.path.join(str(base), text.value))
        path = Path(display)
        try:
            if path.stat().st_size > MAX_TEMPLATE_BYTES:
                self.issues.append(text.source.loc(text.node).issue(f"template {text.value!r} is larger than {MAX_TEMPLATE_BYTES} bytes"))
                return None
        except OSError:
            pass
        body = self._read(path, display, (text.source, text.node), "template")
        if body is None:
            return None
        return text, body

    def _variant(self, v: VariantSpec) -> Variant:
        template = None
        self._texts += [t.value for t in (v.html, v.order, v.value, *v.attributes.values()) if t is not None]
        if v.html is not None:
            template, problems = compile_template(v.html.value, TEMPLATE_NAMES)
            self._problems(v.html, problems or self._unknown_vars(template, v.html.value))
        elif v.template is not None:
            found = self._template_file(v.template)
            if found is not None:
                text, body = found
                self._texts.append(body)
                template, problems = compile_template(body, TEMPLATE_NAMES)
                display = os.path.normpath(os.path.join(os.path.dirname(text.source.display), text.value))
                for problem in problems or self._unknown_vars(template, body):
                    self.issues.append(Issue(display, problem.line, problem.column or 1, problem.message))
        attributes = {}
        for name, value in v.attributes.items():
            if value is None:
                attributes[name] = None
                continue
            compiled, problems = compile_template(value.value, VARIANT_NAMES, html=False)
            self._problems(value, problems or self._unknown_vars(compiled, value.value))
            attributes[name] = compiled
        return Variant(
            id=v.id,
            control=v.control,
            template=template,
            order=self._expression(v.order, VARIANT_NAMES),
            value=self._expression(v.value, VARIANT_NAMES),
            attributes=attributes,
            vars=freeze(v.vars),
            recommend=v.recommend,
            coupon_cost=v.coupon_cost,
            description=v.description,
            window=self._window(v.active),
        )

    def _window(self, spec: Any) -> Window | None:
        """An ``active`` window as instants, read in the rules' ``timezone``."""
        return Window.of(spec, self.timezone) if spec is not None else None

    def _unknown_vars(self, template: Any, source: str) -> list[Problem]:
        """``vars.X`` that no variant of the slot sets: a typo (``vars.nme``) would render as nothing
        for every visitor, so it is an error like an unknown fact. A template that reads ``vars``
        with a computed key is not checked."""
        members = template.reads.names.get("vars") if template is not None else None
        problems = []
        for _, name in sorted(members or ()):
            if name in self._vars or name in MAPPING_METHODS:
                continue
            written = re.compile(rf"vars\s*(\.\s*{re.escape(name)}\b|\[\s*['\"]{re.escape(name)}['\"])")
            line, column = next(((n, found.start() + 1) for n, text in enumerate(source.splitlines(), 1)
                                 if (found := written.search(text))), (1, None))
            known = ", ".join(sorted(self._vars)) or "none"
            problems.append(Problem(line, f"unknown var {name!r}{did_you_mean(name, sorted(self._vars))}; "
                                          f"the slot's variants set vars: {known}", column))
        return problems

    @staticmethod
    def _policy_node(spec: SlotSpec, message: str) -> Node:
        """The policy parameter a message names (quoted), else the policy, else the slot."""
        for param, node in spec.policy.param_nodes.items():
            if param != "name" and f"{param!r}" in message:
                return node
        if "name" in spec.policy.param_nodes:
            return spec.policy.param_nodes["name"]
        return spec.policy.node if spec.policy.node is not None else spec.node

    def _item_key(self, spec: SlotSpec, catalog: CatalogSettings) -> str | ItemKey | None:
        """A slot's ``key``: a bare attribute name as is, a field as an ``ItemKey`` (links through the patterns)."""
        if not isinstance(spec.key, FieldSpec):
            return spec.key
        if spec.key.const is not None:
            self.issues.append(spec.source.loc(spec.key.node).issue("'key' reads a field of each item: a constant 'value' is not allowed here"))
            return None
        if spec.key.cookie is not None:
            self.issues.append(spec.source.loc(spec.key.node).issue(
                "'key' reads a field of each item: a 'cookie' (the page's, one value) is not allowed here"))
            return None
        if spec.key.script is not None:
            self.issues.append(spec.source.loc(spec.key.node).issue(
                "'key' reads a field of each item: a 'script' global (the page's, one value) is not allowed here"))
            return None
        field = FieldCompiler(self).field(spec.key)
        if field is None:
            return None
        if field.attr in ("href", "src", "action"):
            mode = "link"
        elif field.attr is None:
            mode = "size" if spec.action == "select-option" else "slug"
        else:
            mode = "size" if spec.action == "select-option" else "raw"

        def resolve(url: str) -> str | None:
            return catalog.link_key(url, "category") or catalog.link_key(url, "product")

        js = None
        if field.match is not None and spec.key.match is not None:
            regex, self._key_warning = tag_regex(spec.key.match, f"slot {spec.id!r}", "the tag cannot read its items' keys",
                                                 "its key's match")
            js = (regex.source, regex.flags) if regex is not None else None
        return ItemKey(field.css, field.attr, mode, resolve if mode == "link" else None,
                       field.match.pattern if field.match is not None else None, js)

    def _slot(self, spec: SlotSpec, catalog: CatalogSettings | None = None) -> Slot | None:
        count = len(self.issues)
        self._key_warning: Issue | None = None
        key = self._item_key(spec, catalog or CatalogSettings())
        items = None
        if spec.items is not None and self._selector(spec.items):
            items = spec.items.value.strip()
        selector = POPUP_SELECTOR
        if spec.selector is not None and self._selector(spec.selector):
            selector = spec.selector.value.strip()
        pages = self._pages(spec.pages or [])
        when = self._expression(spec.when, CONDITION_NAMES)
        self._texts = [spec.when.value] if spec.when is not None else []
        self._vars = frozenset(name for v in spec.variants for name in v.vars)
        variants = tuple(self._variant(v) for v in spec.variants)
        reads = facts_read(self._texts)
        policy = Policy(spec.policy.name, freeze(spec.policy.params), spec.policy.sticky)
        for message in self.validate_policy(policy.spec(), spec.goal):
            self.issues.append(spec.source.loc(self._policy_node(spec, message)).issue(message))
        if len(self.issues) > count or spec.id is None or spec.action is None or spec.pages is None:
            return None
        loc = spec.source.loc(spec.node)
        return Slot(
            id=spec.id, action=spec.action, selector=selector, pages=pages, variants=variants,
            when=when, when_source=spec.when.value.strip() if spec.when else None, goal=spec.goal,
            policy=policy, enabled=spec.enabled, key=key, items=items, trigger=spec.trigger, limit=spec.limit,
            wait_ms=spec.wait_ms, click=spec.click, description=spec.description, file=loc.file, line=loc.line, reads=reads,
            key_warning=self._key_warning, sizes=(catalog or CatalogSettings()).size_vocabulary,
            window=self._window(spec.active),
        )


def _size_vocabulary(spec: CatalogSpec) -> tuple[Any, SizeVocabulary]:
    """The feed mapping and the catalog's size vocabulary: ``catalog.not_sizes`` and the older spelling
    under the feed mapping (``catalog.feed.sizes.not_sizes``) are one list, with ``catalog.size_names``
    one vocabulary, which the feed reads too."""
    mapping = spec.feed_mapping
    sizes = mapping.sizes if mapping is not None else None
    joined = (spec.not_sizes or PLAIN_SIZES).joined(sizes.vocabulary if sizes is not None else PLAIN_SIZES)
    if spec.size_names is not None:
        joined = joined.joined(spec.size_names.vocabulary())
    if sizes is not None and sizes.vocabulary != joined:
        mapping = replace(mapping, sizes=replace(sizes, vocabulary=joined))
    return mapping, joined
