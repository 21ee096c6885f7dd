"""The fast paths of rules evaluation give exactly what plain Jinja gives, and keep the sandbox shut.

The shortcuts are checked against Jinja's own ``ImmutableSandboxedEnvironment``:
expressions run without a ``Context`` (``CompiledExpression``), ``mapping.key``
skips the failing ``getattr`` and a facts record's field skips the checks
(``RulesSandbox``), a ``str`` output is escaped without ``Markup``
(``RulesCodeGenerator``), and rendered templates are kept per input
(``CachedTemplate``): a cached output must never stand in for an input the key
forgot, and a cache that does not pay pauses without changing an output.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from html import escape as html_escape
from pathlib import Path
from types import MappingProxyType
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import ChainableUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from slotwise.rules.expressions import CompiledExpression, make_environment, parse_expression
from slotwise.rules import actions, render_cache
from slotwise.rules.facts import PageFacts, RequestFacts
from slotwise.rules.interests import Affinities
from slotwise.rules.render_cache import CachedTemplate, Uncacheable, frozen_key, value_key
from slotwise.rules.sandbox import FACT_RECORDS, PLAIN_MAPPINGS, RulesSandbox, escape_output
from slotwise.rules.templates import compile_template
from slotwise.rules.testing import make_context, make_profile
from slotwise.rules.visitor import VisitorView, freeze
from slotwise.rules.vocabulary import TEMPLATE_NAMES

EXAMPLES = Path(__file__).resolve().parents[2] / "slotwise" / "rules" / "examples"


def plain_env(*, autoescape: bool) -> ImmutableSandboxedEnvironment:
    """Jinja's own sandbox, configured as the rules' one: the reference every fast path must match."""
    return make_environment(autoescape=autoescape, sandbox=ImmutableSandboxedEnvironment)


PLAIN_TEXT = plain_env(autoescape=False)
PLAIN_HTML = plain_env(autoescape=True)


def outcome(run: Any) -> tuple[str, str]:
    """What a caller can observe: the value's type and repr, or the exception's type."""
    try:
        value = run()
    except Exception as exc:  # the same failure is part of the same behaviour
        return ("raised", type(exc).__name__)
    return (type(value).__name__, repr(value))


# Values that equal each other yet render differently (1/True/1.0, 0.0/-0.0, str/Markup, tuple/mapping).
SCALARS = st.sampled_from([None, 0, 1, True, False, 1.0, 0.0, -0.0, 2.5, "", "1", "a", "<b>", Markup("<b>"), "M"])
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.sampled_from(["a", "b", "name", "price", "items"]), inner, max_size=3).map(MappingProxyType),
    ),
    max_leaves=6,
)
NAMES = st.fixed_dictionaries({}, optional={"a": VALUES, "b": VALUES, "c": VALUES})


# --- expressions without a Context ----------------------------------------------------------------

EXPRESSIONS = [
    "a", "a.b", "a['b']", "a[b]", "a.b.c", "a.name.items", "b in a", "a and not b", "a or b or c", "a == b",
    "a != b", "a < b", "a >= 1", "a + b", "a * 2", "-a", "not a", "a ~ b", "a if b else c", "a if b", "[a, b]",
    "(a, b)", "{'k': a}", "a | length", "a | default('x')", "a | money(b)", "a | first", "a is number",
    "a is defined", "a is none", "a[1:]", "a.__class__", "a._mapping", "a.items", "a.get", "a.items()",
    "range(2)", "x", "x.y.z", "a | map('upper') | list", "'b' in a and a.b", "a.b > 1 or c",
]


def test_plain_expressions_run_without_a_context_and_calls_do_not() -> None:
    direct = {src: CompiledExpression(src, parse_expression(src)).direct for src in EXPRESSIONS}
    assert direct["a[b]"] and direct["a and not b"] and direct["b in a"] and direct["a | money(b)"] and direct["a is number"]
    assert not direct["range(2)"] and not direct["a.items()"]  # calls take Jinja's path
    assert not direct["a | map('upper') | list"]  # map is given the context


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=st.sampled_from(EXPRESSIONS), names=NAMES)
def test_expressions_evaluate_as_jinja_does(source: str, names: dict[str, Any]) -> None:
    compiled = CompiledExpression(source, parse_expression(source))
    reference = PLAIN_TEXT.compile_expression(source)
    assert outcome(lambda: compiled.evaluate(names)) == outcome(lambda: reference(**names))
    assert outcome(lambda: compiled(**names)) == outcome(lambda: reference(**names))


def test_expressions_on_a_visitor_match_jinja() -> None:
    profile = make_profile(views=[("bags", "p1"), ("shoes", "p2")], cart=[{"product": "p1", "qty": 2}],
                           purchases=[{"product": "p3", "category": "shoes", "size": "42", "qty": 1}])
    ctx = make_context(profile, path="/c/shoes")
    for source in ["visitor.preferred_size[page.category]", "page.category in visitor.preferred_size",
                   "visitor.has_cart and not visitor.subscribed", "visitor.recent_categories", "visitor._profile",
                   "visitor.__class__", "visitor.keys", "visitor.nope", "visitor.cart_count > 1"]:
        compiled = CompiledExpression(source, parse_expression(source))
        reference = PLAIN_TEXT.compile_expression(source)
        assert outcome(lambda: compiled.evaluate(ctx.names)) == outcome(lambda: reference(**ctx.names)), source


def test_unsafe_reads_in_a_direct_expression_stay_undefined() -> None:
    view = VisitorView(make_profile())
    for source in ["v._profile", "v.__class__.__mro__", "m.__class__", "m.__len__", "v._cache"]:
        compiled = CompiledExpression(source, parse_expression(source))
        assert compiled.direct
        assert compiled.evaluate({"v": view, "m": MappingProxyType({"_x": 1})}) is None, source


# --- the sandbox's mapping fast path --------------------------------------------------------------

def test_plain_mappings_have_no_instance_attributes() -> None:
    """What the fast path relies on: getattr on these fails exactly for names not on the type."""
    for cls in PLAIN_MAPPINGS:
        assert not hasattr(cls, "__getattr__")
        # the built-in types look attributes up generically (PyObject_GenericGetAttr), like object
        assert cls.__getattribute__ is object.__getattribute__ or cls in (dict, MappingProxyType)
    for instance in (MappingProxyType({}), {}, VisitorView(make_profile())):
        assert not hasattr(instance, "__dict__")


ATTRS = st.one_of(
    st.sampled_from(["name", "items", "keys", "get", "clear", "pop", "update", "copy", "setdefault", "_profile",
                     "_cache", "__class__", "__init__", "__len__", "__getitem__", "mro", "visits", "cart_count",
                     "nope", "_x", "__dict__", "__slots__", "__module__", "values", "fromkeys"]),
    st.text(max_size=6),
)


@settings(max_examples=300, deadline=None)
@given(attr=ATTRS, value=VALUES)
def test_mapping_getattr_matches_the_jinja_sandbox(attr: str, value: Any) -> None:
    fast = RulesSandbox(undefined=ChainableUndefined)
    owners = [MappingProxyType({attr: value, "name": 1}), {attr: value}, MappingProxyType({}), {},
              VisitorView(make_profile(views=[("bags", None)]))]
    for obj in owners:
        got, want = fast.getattr(obj, attr), PLAIN_TEXT.getattr(obj, attr)
        assert type(got) is type(want) and (got == want or got is want or isinstance(got, ChainableUndefined)), attr
        if isinstance(want, ChainableUndefined):
            assert got._undefined_exception is want._undefined_exception  # a SecurityError stays one


def test_facts_records_have_plain_fields() -> None:
    """What reading a field directly relies on: the sandbox's checks pass for every field, whatever its value."""
    for cls, fields in FACT_RECORDS.items():
        assert not hasattr(cls, "__getattr__") and cls.__getattribute__ is object.__getattribute__
        assert all(not name.startswith("_") for name in fields)
        assert not PLAIN_TEXT.is_safe_attribute(cls(), "__class__", None)  # the checks are the sandbox's own
        for name in fields:
            assert PLAIN_TEXT.is_safe_attribute(cls(), name, getattr(cls(), name))


RECORDS = st.one_of(
    st.builds(PageFacts, path=st.text(max_size=4), type=st.sampled_from(["home", "product"]),
              category=st.one_of(st.none(), st.text(max_size=4)), product=st.one_of(st.none(), VALUES),
              params=st.dictionaries(st.text(max_size=2), st.text(max_size=2)).map(MappingProxyType)),
    st.builds(RequestFacts, device=st.sampled_from(["mobile", "desktop"]), referrer=st.one_of(st.none(), st.text()),
              country=st.one_of(st.none(), st.text(max_size=2)), gpc=st.booleans()),
)
RECORD_ATTRS = st.one_of(ATTRS, st.sampled_from(["path", "url", "type", "category", "product", "params", "query",
                                                 "device", "referrer", "utm", "country", "language", "gpc",
                                                 "__dataclass_fields__", "__eq__", "__hash__", "__repr__"]))


@settings(max_examples=300, deadline=None)
@given(attr=RECORD_ATTRS, record=RECORDS)
def test_fact_record_getattr_matches_the_jinja_sandbox(attr: str, record: Any) -> None:
    fast = RulesSandbox(undefined=ChainableUndefined)
    got, want = fast.getattr(record, attr), PLAIN_TEXT.getattr(record, attr)
    assert type(got) is type(want) and (got is want or isinstance(got, ChainableUndefined)), attr
    if isinstance(want, ChainableUndefined):
        assert got._undefined_exception is want._undefined_exception


def test_expressions_on_page_and_request_match_jinja() -> None:
    ctx = make_context(make_profile(purchases=[{"product": "p3", "category": "shoes", "size": "42", "qty": 1}]),
                       path="/c/shoes", query="utm_source=news&x=1", headers={"user-agent": "iPhone", "referer": "https://a.example/"})
    for source in ["page.category in visitor.preferred_size", "page.type == 'other' and request.device", "page.query.x",
                   "request.utm.source", "request.referrer_host", "page.__class__", "request._x", "page.nope",
                   "request.__dataclass_fields__", "page.params.category | default('-')"]:
        compiled = CompiledExpression(source, parse_expression(source))
        reference = PLAIN_TEXT.compile_expression(source)
        assert outcome(lambda: compiled.evaluate(ctx.names)) == outcome(lambda: reference(**ctx.names)), source


# --- escaping a template's output -----------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.text(), SCALARS, st.integers(), VALUES, st.text().map(Markup)))
def test_escape_output_gives_escapes_text(value: Any) -> None:
    assert str(escape_output(value)) == str(escape(value))


def test_autoescaped_outputs_take_the_str_path_and_plain_text_does_not() -> None:
    assert "environment.escape_output(" in make_environment(autoescape=True).compile("{{ a }}", raw=True)
    assert "escape_output" not in make_environment(autoescape=False).compile("{{ a }}", raw=True)
    assert "escape_output" not in make_environment(autoescape=True).compile(
        "{% autoescape false %}{{ a }}{% endautoescape %}", raw=True)  # volatile: Jinja's own choice at run time


def test_templates_cannot_reach_internals_or_mutate_through_mappings() -> None:
    template, problems = compile_template(
        "{{ p.__class__ }}|{{ p.__len__ }}|{{ v._profile }}|{{ v.__init__ }}|{{ p.name }}",
        TEMPLATE_NAMES | {"p", "v"})  # `v`: a VisitorView the static fact check does not know
    assert template is not None and not problems
    view = VisitorView(make_profile())
    html = template.render({"p": MappingProxyType({"_x": "secret", "name": "ok"}), "v": view})
    assert html == "||||ok"
    mutate, problems = compile_template("{{ d.clear() }}", TEMPLATE_NAMES | {"d"})
    assert mutate is not None
    with pytest.raises(Exception, match="unsafe"):
        mutate.render({"d": {"a": 1}})


# --- the render cache -----------------------------------------------------------------------------

TEMPLATES = [
    "<p>{{ a }}</p>",
    "<p>{{ a.name }} {{ a['price'] }} {{ b }}</p>",
    "{% for x in a %}<i>{{ x }}</i>{% endfor %}{{ b.items | default('') }}",
    "{% if a is number %}{{ a | money(b) }}{% else %}{{ a | length }}{% endif %}",
    "{{ a.b }}{% set a = c %}{{ a }}",  # a name read both from the context and as a local
    "{{ a[b] }}|{{ c }}",
    "{{ a ~ b }}{{ a.name.name }}{{ (a, b) }}",
    "{% for k, v in a.items() %}{{ k }}={{ v }};{% endfor %}",
    # outputs inside macros, caller blocks, block sets, filter blocks and `{% autoescape %}` blocks
    "{% macro m(x) %}<{{ x }}>{% endmacro %}{{ m(a) }}{{ b ~ m(c) }}",
    "{% macro k() %}[{{ caller() }}]{% endmacro %}{% call k() %}{{ a }}&{{ b }}{% endcall %}",
    "{% set s %}{{ a }}<{{ b }}{% endset %}{{ s }}|{{ s | upper }}|{{ s | length }}",
    "{% filter upper %}{{ a }}&{{ b.name }}{% endfilter %}{{ c | e }}{{ c | safe }}",
    "{% autoescape false %}{{ a }}{% endautoescape %}{% autoescape true %}{{ b }}{% endautoescape %}{{ c }}",
    "{{ a | string }}{{ a | join(',') }}{{ a | tojson }}{{ (a | default('<'))[:2] }}",
]


def fresh(source: str, *, html: bool = True) -> CachedTemplate:
    template, problems = compile_template(source, {"a", "b", "c", "x"} | TEMPLATE_NAMES, html=html)
    assert template is not None, problems
    return template


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=st.sampled_from(TEMPLATES), html=st.booleans(), contexts=st.lists(NAMES, min_size=2, max_size=8))
def test_cached_renders_equal_plain_renders(source: str, html: bool, contexts: list[dict[str, Any]]) -> None:
    """Many inputs through one cache (small domains: keys collide often): every output is Jinja's own."""
    cached = fresh(source, html=html)
    reference = (PLAIN_HTML if html else PLAIN_TEXT).from_string(source)
    for names in contexts + contexts:
        assert outcome(lambda: cached.render(names)) == outcome(lambda: reference.render(names))


def recommendation(i: int) -> dict[str, Any]:
    return {"id": f"p{i}", "name": f"Shoe {i}", "url": f"/p/p{i}", "image": f"/img/{i}.jpg", "price": 10.0 + i,
            "currency": "EUR", "category": "shoes", "in_stock": True}


def render_example(template: CachedTemplate, names: dict[str, Any], recs: list[dict[str, Any]]) -> str:
    return template.render(names, {"recommendations": (lambda: (tuple, *[frozen_key(r) for r in recs]),
                                                       lambda: tuple(freeze(r) for r in recs))})


def test_every_value_the_recommendations_template_reads_is_in_its_key() -> None:
    source = (EXAMPLES / "recommendations.html").read_text()
    cached, reference = fresh(source), PLAIN_HTML.from_string(source)
    base_names = {"variant": "mixed", "vars": freeze({"title": "Picked for you"}), "slot": "recs"}
    base_recs = [recommendation(i) for i in range(3)]

    def check(names: dict[str, Any], recs: list[dict[str, Any]]) -> str:
        got = render_example(cached, names, recs)
        assert got == reference.render({**names, "recommendations": freeze(recs)})
        return got

    base = check(base_names, base_recs)
    assert check(base_names, base_recs) == base and cached.hits >= 1  # the same inputs: served from the cache
    changes = [({**base_names, "variant": "other"}, base_recs),
               ({**base_names, "vars": freeze({"title": "Other title"})}, base_recs),
               (base_names, base_recs[:2]),
               (base_names, [*base_recs, recommendation(9)])]
    for i in range(3):
        for field, value in [("id", "zz"), ("name", "Other"), ("url", "/x"), ("image", None), ("price", "12"),
                             ("price", 99), ("price", -0.0), ("currency", "USD"), ("category", None)]:
            recs = [dict(r) for r in base_recs]
            recs[i][field] = value
            changes.append((base_names, recs))
    for names, recs in changes:
        assert check(names, recs) != base, (names, recs)


def test_every_visitor_fact_the_popup_reads_is_in_its_key() -> None:
    source = (EXAMPLES / "coupon-popup.html").read_text()
    cached, reference = fresh(source), PLAIN_HTML.from_string(source)
    variant_vars = freeze({"headline": "Wait", "offer": "10% off", "cta": "Send"})
    seen: set[str] = set()
    for qty in (1, 2, 1, 3, 2):
        ctx = make_context(make_profile(cart=[{"product": "p1", "qty": qty}]))
        for names in ({**ctx.names, "vars": variant_vars, "variant": "pct10"},
                      {**ctx.names, "vars": freeze({"headline": "Hi", "offer": "5%", "cta": "Go"}), "variant": "pct5"}):
            got = cached.render(names)
            assert got == reference.render(names)
            seen.add(got)
    assert len(seen) == 6 and cached.hits == 4


def test_what_a_render_cannot_fix_is_never_cached() -> None:
    view = VisitorView(make_profile())
    assert fresh("{{ lipsum(1) }}")._key({}, {}) is None  # lipsum is random: not a pure global
    assert fresh("{{ range(2) | list }}{{ a }}")._key({"a": 1}, {}) is not None
    assert fresh("{{ range }}")._key({"range": 1}, {}) != fresh("{{ range }}")._key({"range": 2}, {})
    assert not fresh("{{ a | random }}").reads.cacheable
    assert not fresh("{{ a | map('random') | list }}").reads.cacheable
    assert not fresh("{{ a | map(b) | list }}").reads.cacheable
    assert fresh("{{ a | map('upper') | list }}").reads.cacheable
    assert fresh("{{ visitor[a] }}")._key({"visitor": view, "a": "visits"}, {}) is None  # a whole VisitorView
    assert fresh("{{ a }}")._key({"a": [1]}, {}) is None  # a mutable list
    assert fresh("{{ a }}")._key({"a": 1}, {}) != fresh("{{ a }}")._key({"a": True}, {})


@settings(max_examples=300, deadline=None)
@given(value=st.recursive(
    st.one_of(SCALARS, st.integers(), st.floats(allow_nan=False)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.lists(inner, max_size=3).map(tuple),
                            st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3)),
    max_leaves=8,
))
def test_frozen_key_is_the_key_of_the_frozen_value(value: Any) -> None:
    try:
        want: Any = value_key(freeze(value))
    except Uncacheable:
        want = Uncacheable
    try:
        got: Any = frozen_key(value)
    except Uncacheable:
        got = Uncacheable
    assert got == want


def test_a_full_cache_drops_old_outputs_within_its_bound() -> None:
    template, _ = compile_template("{{ a }}", {"a"})
    assert template is not None
    small = CachedTemplate(template.template, template.template.environment.parse("{{ a }}"), max_bytes=10_000)
    for i in range(100):
        assert small.render({"a": str(i) * 20}) == str(i) * 20
    assert small._cache.currsize <= 10_000 and 0 < len(small._cache) < 100
    assert small.render({"a": "99" * 20}) == "99" * 20 and small.hits == 1  # the latest stays


def test_reads_names_members_and_whole_values() -> None:
    reads = fresh("{{ vars.title }}{{ visitor.cart_count }}{% for p in recommendations %}{{ p.id }}{% endfor %}"
                  "{{ page['category'] }}{{ request[vars.k] }}").reads
    assert reads.names["vars"] == {("attr", "title"), ("attr", "k")}
    assert reads.names["visitor"] == {("attr", "cart_count")}
    assert reads.names["page"] == {("item", "category")}
    assert reads.names["recommendations"] is None and reads.names["request"] is None
    assert "p" not in reads.names


def test_random_templates_render_anew_every_time() -> None:
    """docs/rules.md: templates using `random` or `lipsum` are never served from the cache."""
    for source in ["{{ range(1000) | random }}", "{{ lipsum(1, html=False, min=5, max=20) }}",
                   "{{ ['abcdefghijklmnop'] | map('random') | join }}"]:
        template = fresh(source)
        outputs = {template.render({}) for _ in range(20)}
        assert len(outputs) > 1 and template.hits == 0, source


# --- a cache that does not pay pauses --------------------------------------------------------------

def test_a_cache_without_hits_pauses_and_tries_again() -> None:
    """docs/rules.md: all-new inputs (a store's cards) under 20% hits: no key for ``PAUSE`` renders, then again."""
    cached, reference = fresh("<p>{{ a }}</p>"), PLAIN_HTML.from_string("<p>{{ a }}</p>")
    window, pause = render_cache.WINDOW, render_cache.PAUSE
    for i in range(window + pause + 3):
        assert cached.render({"a": f"<{i}>"}) == reference.render({"a": f"<{i}>"})
    assert cached.misses == window + 3 and cached.hits == 0 and cached.unkeyed == pause
    assert len(cached._cache) == window + 3  # nothing stored while paused
    cached._paused = -1  # as two threads' racing decrements could leave it: keyed again, not paused for good
    cached.render({"a": "x"})
    assert cached.misses == window + 4


def test_a_cache_that_hits_keeps_keying() -> None:
    cached = fresh("<p>{{ a }}</p>")
    for i in range(3 * render_cache.WINDOW):
        cached.render({"a": str(i % 20)})  # a popup keyed by a cart count: nearly every render a hit
    assert cached.unkeyed == 0 and cached.hits == 3 * render_cache.WINDOW - 20


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=st.sampled_from(TEMPLATES), values=st.lists(VALUES, min_size=1, max_size=12), repeats=st.integers(1, 4))
def test_outputs_are_the_same_keyed_or_paused(source: str, values: list[Any], repeats: int) -> None:
    """A window of new inputs, the pause, then repeating inputs keyed again: every output is plain Jinja's."""
    cached, reference = fresh(source), PLAIN_HTML.from_string(source)
    window, pause = 16, 32  # small, so that many sequences run through all three
    with patch.object(render_cache, "WINDOW", window), patch.object(render_cache, "PAUSE", pause):
        for i in range(window + pause + window):
            names = {"a": values[i % len(values)], "b": values[(i // 3) % len(values)], "c": i if i < window else i % repeats}
            assert outcome(lambda: cached.render(names)) == outcome(lambda: reference.render(names))
            if i == window - 1:
                first = (cached.misses, cached.hits)
    if first == (window, 0):  # a whole window keyed and missed: paused
        assert cached.unkeyed == pause


# --- freeze: the exact types first, the same result -----------------------------------------------

def reference_freeze(value: Any) -> Any:
    """``freeze`` as it was before its exact-type checks (isinstance only)."""
    if isinstance(value, (str, int, float, bool, type(None))) or isinstance(value, Affinities):
        return value
    if isinstance(value, (dict, Mapping)):
        return MappingProxyType({k: reference_freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else value
        return tuple(reference_freeze(v) for v in items)
    return value


def shape(value: Any) -> Any:
    """Types all the way down, and the very objects where freeze keeps them."""
    if isinstance(value, MappingProxyType):
        return (MappingProxyType, [(k, shape(v)) for k, v in value.items()])
    if type(value) is tuple:
        return (tuple, [shape(v) for v in value])
    return (type(value), id(value) if not isinstance(value, (int, float, str)) else value)


class Size(str, enum.Enum):
    S = "S"


FREEZABLE = st.recursive(
    st.one_of(SCALARS, st.integers(), st.floats(allow_nan=False), st.sampled_from([Size.S, Markup("<i>"), object()])),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.sampled_from(["a", "b"]), inner, max_size=2),
        st.dictionaries(st.sampled_from(["a", "b"]), inner, max_size=2).map(OrderedDict),
        st.dictionaries(st.sampled_from(["a", "b"]), inner, max_size=2).map(MappingProxyType),
        st.sets(st.integers(0, 5), max_size=3), st.frozensets(st.text(max_size=2), max_size=3),
        st.just(Affinities({"dog": 1.0}, 0.0)),
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(value=FREEZABLE)
def test_freeze_gives_what_it_gave(value: Any) -> None:
    assert shape(freeze(value)) == shape(reference_freeze(value))


# --- actions: the str first, the same edits -------------------------------------------------------

def reference_order_keys(value: Any) -> Any:
    """``actions.order_keys`` before its str-first checks."""
    if value is None or value == "":
        return ()
    if isinstance(value, (str, bytes)) or isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise ValueError(value)
    out: dict[str, None] = {}
    for item in value:
        if item is None:
            continue  # nothing (a first visit's `visitor.last_category`): skipped since the marketer's walkthrough
        if isinstance(item, (list, tuple, dict)) or isinstance(item, Mapping):
            raise ValueError(item)
        out.setdefault(str(item), None)
        if len(out) >= actions.MAX_ORDER:
            break
    return tuple(out)


def reference_field_value(value: Any) -> Any:
    """``actions.field_value`` before its str-first check."""
    if value is None or value is False or value == "":
        return None
    if isinstance(value, bool) or isinstance(value, (Mapping, list, tuple, set)):
        raise ValueError(value)
    return str(value).strip() or None


ACTION_VALUES = st.recursive(
    st.one_of(SCALARS, st.text(" ab\t", max_size=4), st.integers(), st.sampled_from([Size.S, b"x", object, 1.5])),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.lists(inner, max_size=4).map(tuple),
                            st.sets(st.text("ab", max_size=2), max_size=3),
                            st.dictionaries(st.text("ab", max_size=1), inner, max_size=2).map(MappingProxyType)),
    max_leaves=6,
)


@settings(max_examples=400, deadline=None)
@given(value=ACTION_VALUES)
def test_order_keys_and_field_values_are_what_they_were(value: Any) -> None:
    assert outcome(lambda: actions.order_keys(value)) == outcome(lambda: reference_order_keys(value))
    assert outcome(lambda: actions.field_value(value)) == outcome(lambda: reference_field_value(value))
    if isinstance(value, tuple):
        many = value * (actions.MAX_ORDER // max(len(value), 1) + 2)
        assert outcome(lambda: actions.order_keys(many)) == outcome(lambda: reference_order_keys(many))


def test_a_popup_is_its_fragment_in_a_template_tag_with_the_slot_and_trigger_escaped() -> None:
    for slot, trigger in [("exit-coupon", "exit-intent"), ('a"<b', "t&'x"), ("exit-coupon", "scroll")]:
        edit = actions.popup_edit(slot, "body", trigger, "  <p>hi</p> ", decision_id="d")
        assert edit is not None and edit.html == (f'<template data-sw-popup="{html_escape(slot)}" '
                                                  f'data-sw-trigger="{html_escape(trigger)}"><p>hi</p></template>')
    assert actions.popup_edit("s", "body", "t", "  ", decision_id="d") is None
