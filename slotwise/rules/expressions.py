"""Safe expressions: Jinja2's immutable sandbox, and a static check of the facts they name.

Conditions (``when``), ``order`` and ``value`` are Jinja expressions, never
Python ``eval``. Undefined values chain to ``None`` so that
``visitor.preferred_size[page.category]`` on a first visit is simply empty.
The static check walks the Jinja AST for attribute chains rooted at
``visitor``, ``page`` and ``request`` and reports unknown facts with a
suggestion, which is what makes a typo a load error instead of a silent no-op.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Collection, Iterator, Mapping

from jinja2 import ChainableUndefined, TemplateSyntaxError, meta, nodes
from jinja2.environment import TemplateExpression
from jinja2.nodes import EvalContext
from jinja2.parser import Parser
from jinja2.runtime import Undefined, missing
from jinja2.sandbox import ImmutableSandboxedEnvironment

from slotwise.rules.checker import did_you_mean
from slotwise.rules.jinja_places import error_place, node_places
from slotwise.rules.sandbox import RulesSandbox
from slotwise.rules.vocabulary import FACTS, JINJA_GLOBALS, MAPPING_METHODS, VALUES


_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹"}


def money(value: Any, currency: Any = None) -> str:
    """``{{ p.price | money(p.currency) }}`` → ``€59.90`` (empty for no price)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    code = str(currency).upper() if isinstance(currency, str) and currency else ""
    symbol = _SYMBOLS.get(code)
    return f"{symbol}{value:,.2f}" if symbol else f"{value:,.2f} {code}".strip()


def make_environment(*, autoescape: bool,
                     sandbox: type[ImmutableSandboxedEnvironment] = RulesSandbox) -> ImmutableSandboxedEnvironment:
    """The sandbox all rules code runs in (one per escaping mode, shared by a RuleSet).

    ``sandbox``: Jinja's own ``ImmutableSandboxedEnvironment`` gives the reference the fast paths are
    tested against, configured the same way."""
    env = sandbox(autoescape=autoescape, undefined=ChainableUndefined)
    env.filters["money"] = money
    return env


HTML_ENV = make_environment(autoescape=True)
"""Templates that produce HTML: every value is escaped unless marked safe by the template."""

TEXT_ENV = make_environment(autoescape=False)
"""Expressions and attribute values: plain values; the rewriter escapes attributes when it writes them."""


@dataclass(frozen=True)
class Problem:
    """A problem at a line (1-based) of an expression or template's own text, and at a column
    (1-based, of that line) when known, which Jinja gives none for: ``syntax_problem`` and
    ``placed_problems`` find it."""

    line: int
    message: str
    column: int | None = None


Check = Callable[[nodes.Node], list[Problem]]


def placed_problems(env: ImmutableSandboxedEnvironment, source: str, check: Check, found: list[Problem],
                    *, expression: bool = False) -> list[Problem]:
    """``found`` (what ``check`` found in the parsed ``source``, each at its node's line) at their
    nodes' columns: ``check`` runs again over the text parsed with the tokens' places for line
    numbers (``jinja_places.node_places``). A problem said twice on one line is said once, as before."""
    placed = node_places(env, source, _whole_expression if expression else Parser.parse,
                         "variable" if expression else None)
    if placed is None:  # not expected for a text that parsed: then as Jinja places them
        return found
    tree, place = placed
    out: dict[tuple[int, str], Problem] = {}
    for problem in check(tree):
        line, column = place(problem.line)
        out.setdefault((line, problem.message), Problem(line, problem.message, column))
    return list(out.values())


def syntax_problem(env: ImmutableSandboxedEnvironment, source: str, exc: TemplateSyntaxError, message: str,
                   *, expression: bool = False) -> Problem:
    """A syntax error as a Problem placed at the token at fault (``jinja_places``), not only its line."""
    place = error_place(env, source, _whole_expression if expression else Parser.parse,
                        "variable" if expression else None)
    if place is None:
        return Problem(exc.lineno or 1, message)
    message = _CHAR_OFFSET.sub(r"\1", message)  # Jinja's "at 12" counts from the text's start: the column says it
    return Problem(place[0], message, place[1])


_CHAR_OFFSET = re.compile(r"(unexpected char '.*?') at \d+")

# What to do about Jinja's commonest syntax errors in a marketer's template, in the rules' words
_SYNTAX_HINTS = (
    (re.compile(r"^unexpected '\}'$"), "a '{{' closes with '}}', a '{%' with '%}'"),
    (re.compile(r"^unexpected end of template, expected 'end of print statement'"), "a '{{' is not closed with '}}'"),
    (re.compile(r"^expected token 'end of print statement'"),
     "two values side by side: join them ({{ a ~ ' ' ~ b }}), or close the '{{' with '}}' before the text"),
    (re.compile(r"^Encountered unknown tag 'end(\w+)'"),
     "nothing before it opens a '{%% %s %%}' block: remove it, or open the block it closes"),
    (re.compile(r"^unexpected '[^']+'$"), "is a '}}' (or '%}') missing before it?"),
)


def with_hint(message: str) -> str:
    """Jinja's message, then '; what to do' for a syntax error the rules' authors often make."""
    for pattern, hint in _SYNTAX_HINTS:
        found = pattern.search(message)
        if found:
            return f"{message.rstrip('.')}; {hint % found.group(1) if found.groups() else hint}"
    return message


def _whole_expression(parser: Parser) -> nodes.Expr:
    expr = parser.parse_expression()
    if not parser.stream.eos:
        raise TemplateSyntaxError("chunk after expression", parser.stream.current.lineno, None, None)
    return expr


def parse_expression(source: str) -> nodes.Expr:
    """The AST of one expression; raises TemplateSyntaxError like ``compile_expression``."""
    return _whole_expression(Parser(TEXT_ENV, source, state="variable"))


def check_names(tree: nodes.Node, allowed: Collection[str], undeclared: Collection[str]) -> list[Problem]:
    """Unknown top-level names and unknown facts (``visitor.recnt_categories``)."""
    problems: list[Problem] = []
    for name in sorted(set(undeclared) - set(allowed) - JINJA_GLOBALS):
        found = [tree] if isinstance(tree, nodes.Name) else list(tree.find_all(nodes.Name))
        line = next((n.lineno for n in found if n.name == name), 1)
        hint = did_you_mean(name, allowed)
        problems.append(Problem(line, f"unknown name {name!r}{hint}; rules can use {', '.join(sorted(allowed))}"))
    chains = list(tree.find_all((nodes.Getattr, nodes.Getitem)))
    if isinstance(tree, (nodes.Getattr, nodes.Getitem)):
        chains.insert(0, tree)  # find_all skips the node itself (a bare `visitor.x` expression)
    for node in chains:
        problem = _check_chain(node, undeclared)
        if problem and problem not in problems:
            problems.append(problem)
    if not problems:
        problems += _impossible_values(tree)
    return problems


def _fact_path(node: nodes.Node) -> str | None:
    """``request.device``, or ``visitor.stage[]`` for any key of ``visitor.stage``; None for the rest."""
    parts: list[str] = []
    while isinstance(node, (nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
        elif parts:
            return None
        else:
            parts.append("[]")
        node = node.node
    if not isinstance(node, nodes.Name):
        return None
    return ".".join([node.name, *reversed(parts)]).replace(".[]", "[]")


def _impossible_values(tree: nodes.Node) -> list[Problem]:
    """``request.device == 'phone'``, ``page.type in ['product', 'cart']``: a word the fact never holds
    makes the condition never (or always) true, silently; it is named like an unknown fact."""
    problems: list[Problem] = []
    compares = [tree] if isinstance(tree, nodes.Compare) else []
    for compare in [*compares, *tree.find_all(nodes.Compare)]:
        left = compare.expr
        for operand in compare.ops:
            right = operand.expr
            sides = [(left, right), (right, left)] if operand.op in ("eq", "ne") else [(left, right)]
            for fact, other in sides:
                path = _fact_path(fact)
                if path not in VALUES:
                    continue
                if isinstance(other, nodes.Const):
                    words = [other.value]
                elif isinstance(other, (nodes.List, nodes.Tuple)) and operand.op in ("in", "notin"):
                    words = [item.value for item in other.items if isinstance(item, nodes.Const)]
                else:
                    continue
                for word in words:
                    if isinstance(word, str) and word not in VALUES[path]:
                        shown = path.replace("[]", "[...]")
                        problems.append(Problem(_root(fact).lineno, f"{shown} is never {word!r}{did_you_mean(word, VALUES[path])}; "
                                                                f"it is one of {', '.join(VALUES[path])}"))
            left = right
    return problems


def _methods_read_as_keys(tree: nodes.Node) -> list[Problem]:
    """``json.items[0].id`` reads the mapping's method ``items``, not the key of a body like
    ``{"items": [...]}`` (Jinja tries the attribute first): the key would be silently never read.
    A method name after a dot is only right when it is called (``visitor.preferred_size.items()``)."""
    problems: list[Problem] = []
    stack: list[nodes.Node] = [tree]
    while stack:
        node = stack.pop()
        for child in node.iter_child_nodes():
            stack.append(child)
            if (isinstance(child, nodes.Getattr) and child.attr in MAPPING_METHODS
                    and not (isinstance(node, nodes.Call) and node.node is child)):
                where = _dotted(child.node)
                problems.append(Problem(_root(child).lineno, f"'{where}.{child.attr}' is the method {child.attr}() of "
                                        f"{where}, not its key {child.attr!r}: write {where}['{child.attr}']"))
    return problems


def _root(node: nodes.Node) -> nodes.Node:
    """What ``visitor.stage['x'].y`` starts with: where a problem with the chain is pointed at (a
    ``Getattr``'s line is its dot's, a ``Compare``'s the token after it)."""
    while isinstance(node, (nodes.Getattr, nodes.Getitem)):
        node = node.node
    return node


def _dotted(node: nodes.Node) -> str:
    """``json.cart['x']`` back as text, for a message (``…`` for what is not a plain name chain)."""
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_dotted(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return f"{_dotted(node.node)}[{node.arg.value!r}]"
    return "…"


def _check_chain(node: nodes.Node, roots: Collection[str]) -> Problem | None:
    chain: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            chain.append(node.attr)
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            chain.append(node.arg.value)
        elif isinstance(node, nodes.Getitem):
            chain.clear()  # a dynamic key: only what lies below it is checkable
        else:
            break
        node = node.node
    if not isinstance(node, nodes.Name) or node.name not in FACTS or node.name not in roots:
        return None
    chain.reverse()
    level: Any = FACTS[node.name]
    path = node.name
    for attr in chain:
        if level is None or attr in MAPPING_METHODS:
            return None
        if attr not in level:
            return Problem(node.lineno, f"unknown fact '{path}.{attr}'{did_you_mean(attr, level)}")
        level = level[attr]
        path = f"{path}.{attr}"
    return None


def compile_expression(source: str, allowed: Collection[str]) -> tuple[Callable[..., Any] | None, list[Problem]]:
    """A callable ``f(**context) -> value``, or the problems that stop it compiling."""
    try:
        tree = parse_expression(source)
    except TemplateSyntaxError as exc:
        return None, [syntax_problem(TEXT_ENV, source, exc, f"syntax error in expression {source.strip()!r}: {exc.message}",
                                     expression=True)]
    function, problems = None, _expression_names(tree, allowed)
    if not problems:
        function, problems = _compiled(source, tree)
    if problems:
        def check(tree: nodes.Node) -> list[Problem]:
            return _expression_names(tree, allowed) or _compiled(source, tree)[1]

        return None, placed_problems(TEXT_ENV, source, check, problems, expression=True)
    return function, []


def _expression_names(tree: nodes.Node, allowed: Collection[str]) -> list[Problem]:
    # Names an expression reads are all undeclared (expressions cannot assign).
    names = [tree] if isinstance(tree, nodes.Name) else tree.find_all(nodes.Name)
    undeclared = {n.name for n in names if n.ctx == "load"}
    return check_names(tree, allowed, undeclared) + _methods_read_as_keys(tree)


def _compiled(source: str, tree: nodes.Node) -> tuple[CompiledExpression | None, list[Problem]]:
    try:
        return CompiledExpression(source, tree), []  # type: ignore[arg-type]  # an expression's tree
    except TemplateSyntaxError as exc:  # filters/tests unknown to the sandbox
        return None, [Problem(exc.lineno or 1, f"error in expression {source.strip()!r}: {exc.message}")]


_DIRECT_NODES = (nodes.Name, nodes.Const, nodes.Getattr, nodes.Getitem, nodes.Slice, nodes.And, nodes.Or, nodes.Not,
                 nodes.Neg, nodes.Pos, nodes.Compare, nodes.Operand, nodes.Tuple, nodes.List, nodes.Dict, nodes.Pair,
                 nodes.CondExpr, nodes.BinExpr, nodes.Concat, nodes.Filter, nodes.Test)
"""What an expression may contain to run without a Jinja ``Context``: its compiled code then reads only
names (``resolve_or_missing``), ``eval_ctx`` and the ``result`` it stores. Calls (and filters or tests
given the context) take Jinja's own path."""


def _runs_directly(tree: nodes.Node) -> bool:
    for node in (tree, *tree.find_all(nodes.Node)):
        if not isinstance(node, _DIRECT_NODES):
            return False
        if isinstance(node, (nodes.Filter, nodes.Test)):
            table = TEXT_ENV.filters if isinstance(node, nodes.Filter) else TEXT_ENV.tests
            pass_arg = getattr(table.get(node.name), "jinja_pass_arg", None)
            if pass_arg is not None and pass_arg.name == "context":
                return False
    return True


class _NoExports:
    """``context.exported_vars`` for an expression's code: nothing is exported from an expression."""

    __slots__ = ()

    def add(self, name: str) -> None:
        pass


class _Scope:
    """The little of a Jinja ``Context`` an expression's compiled code touches.

    Resolves like ``Context.resolve_or_missing`` over ``dict(globals, **names)``: names first,
    then the environment's globals; ``vars`` receives ``result``.
    """

    __slots__ = ("_names", "vars")
    exported_vars = _NoExports()
    eval_ctx: EvalContext
    _globals: Mapping[str, Any]

    def __init__(self, names: Mapping[str, Any]) -> None:
        self._names = names
        self.vars: dict[str, Any] = {}

    def resolve_or_missing(self, key: str) -> Any:
        names = self._names
        if key in names:
            return names[key]
        return self._globals.get(key, missing)


_Scope.eval_ctx = EvalContext(TEXT_ENV)
_Scope._globals = TEXT_ENV.globals


def fact_parts(tree: nodes.Node) -> frozenset[tuple[str, ...]]:
    """Every name and fact an expression reads, as paths of names: ``form['customer[email]']`` reads
    ``("form",)`` and ``("form", "customer[email]")`` (a key may hold any character, a dot too);
    ``fact_paths`` gives the same joined with dots."""
    out: set[tuple[str, ...]] = set()
    for node in (tree, *tree.find_all((nodes.Name, nodes.Getattr, nodes.Getitem))):
        parts: list[str] = []
        while isinstance(node, (nodes.Getattr, nodes.Getitem)):
            if isinstance(node, nodes.Getattr):
                parts.append(node.attr)
            elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                parts.append(node.arg.value)
            else:
                parts.clear()  # below a computed key: no fact's name
            node = node.node
        if isinstance(node, nodes.Name) and node.ctx == "load":
            out.add((node.name, *reversed(parts)))
    return frozenset(out)


def fact_paths(tree: nodes.Node) -> frozenset[str]:
    """Every name and fact an expression reads, as dotted paths: ``visitor.preferred_size[page.category]``
    reads ``visitor``, ``visitor.preferred_size``, ``page`` and ``page.category`` (a string key counts as
    a member, ``visitor['stage']`` is ``visitor.stage``; a computed key ends a path)."""
    return frozenset(".".join(parts) for parts in fact_parts(tree))


class CompiledExpression:
    """A ``when``/``order``/``value`` expression, compiled once; ``evaluate(names)`` per use.

    The same code Jinja generates for ``compile_expression`` (so the same sandbox, operators
    and Undefined chaining; Undefined comes out as None), run against a ``_Scope`` instead of a
    new ``Context`` per call where the expression allows it (see ``_DIRECT_NODES``). ``facts``:
    what it reads (``fact_paths``), e.g. whether a ``when`` depends on the visitor at all; ``parts``:
    the same as paths of names (``fact_parts``: which keys of a request's body it reads).
    """

    __slots__ = ("source", "facts", "parts", "_root", "_jinja")

    def __init__(self, source: str, tree: nodes.Expr) -> None:
        self.source = source
        self.parts = fact_parts(tree)
        self.facts = frozenset(".".join(p) for p in self.parts)
        direct = _runs_directly(tree)
        tree.set_environment(TEXT_ENV)
        body = [nodes.Assign(nodes.Name("result", "store"), tree, lineno=1)]
        template = TEXT_ENV.from_string(nodes.Template(body, lineno=1))  # as Environment.compile_expression
        self._jinja = TemplateExpression(template, undefined_to_none=True)
        self._root: Callable[[Any], Iterator[str]] | None = template.root_render_func if direct else None

    @property
    def direct(self) -> bool:
        """Whether it runs without a Jinja ``Context`` (tests assert which expressions do)."""
        return self._root is not None

    def evaluate(self, names: Mapping[str, Any]) -> Any:
        """The value for these names (a mapping: no ``**`` dict per call)."""
        if self._root is None:
            return self._jinja(names)
        scope = _Scope(names)
        for _ in self._root(scope):  # an expression's code yields nothing: it stores `result`
            pass
        value = scope.vars["result"]
        return None if isinstance(value, Undefined) else value

    def __call__(self, **names: Any) -> Any:
        return self.evaluate(names)

    def __repr__(self) -> str:
        return f"CompiledExpression({self.source!r})"


def template_problems(env: ImmutableSandboxedEnvironment, source: str, allowed: Collection[str]) -> tuple[nodes.Template | None, list[Problem]]:
    """Parse a template and check its names; the AST is returned for compiling."""
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        return None, [syntax_problem(env, source, exc, f"template syntax error: {with_hint(exc.message or '')}")]

    def check(tree: nodes.Node) -> list[Problem]:
        problems = [Problem(node.lineno, "templates cannot include, extend or import other templates")
                    for node in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport))]
        try:
            undeclared = meta.find_undeclared_variables(tree)  # type: ignore[arg-type]  # compiles: an unknown filter or test stops it
        except TemplateSyntaxError as exc:
            return [Problem(exc.lineno or 1, f"template error: {exc.message}{_filter_hint(env, exc.message)}")]
        return problems + check_names(tree, allowed, undeclared) + unknown_filters(env, tree)

    problems = check(tree)
    return tree, placed_problems(env, source, check, problems) if problems else []


def unknown_filters(env: ImmutableSandboxedEnvironment, tree: nodes.Node) -> list[Problem]:
    """Filters and tests the sandbox does not have. Jinja only fails on them when it renders one
    inside an ``{% if %}``, so a typo there would fail that slot for the visitors who reach it."""
    problems = []
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        kind, known = ("filter", env.filters) if isinstance(node, nodes.Filter) else ("test", env.tests)
        if node.name not in known:
            problems.append(Problem(node.lineno, f"template error: No {kind} named {node.name!r}."
                                                 f"{did_you_mean(node.name, sorted(known))}"))
    return problems


def _filter_hint(env: ImmutableSandboxedEnvironment, message: str | None) -> str:
    """" (did you mean 'length'?)" for Jinja's "No filter named 'lenght'." (or a test)."""
    for kind, known in (("filter", env.filters), ("test", env.tests)):
        prefix = f"No {kind} named '"
        if message and message.startswith(prefix):
            return did_you_mean(message[len(prefix):].split("'", 1)[0], sorted(known))
    return ""
