"""The sandbox rules run in: Jinja2's immutable sandbox with cheaper paths for what templates read most.

A template reads ``p.name`` on a recommendation (a read-only mapping) dozens
of times per page. Jinja's sandbox first tries ``getattr(p, "name")``, which
raises ``AttributeError`` (costly), then falls back to ``p["name"]``. For the
plain mapping types below that first step is decided by the type alone: their
instances carry no ``__dict__`` and no ``__getattr__``, so ``getattr`` fails
exactly when the name is not an attribute of the type. Names that are (``items``,
``keys``, ``_profile``, ``__class__`` ...) still take the sandbox's own path with
its safety checks, so what a template can reach is unchanged.

``page.category`` and ``request.device`` read a field of a frozen facts record:
the sandbox's checks (``is_safe_attribute``: no leading ``_``, not an internal
attribute of a function or frame, not a mutating method of a known mutable
type) depend on the type and the name only, and pass for every field, so a
field is read directly (~10x less than the checks, which test the record
against the mutable ABCs every time).

Each ``{{ value }}`` of an autoescaped template goes through markupsafe's
``escape``, which builds a ``Markup`` (a Python ``__new__``) only for the
output to join it into a plain ``str``; ``escape_output`` gives the same text
without the ``Markup`` for a plain ``str`` (~8x less), everything else goes
through ``escape`` as before.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from jinja2.compiler import CodeGenerator, Frame
from jinja2 import nodes
from jinja2.runtime import Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import escape

from slotwise.rules.facts import PAGE_FIELDS, REQUEST_FIELDS, PageFacts, RequestFacts
from slotwise.rules.visitor import VisitorView

try:  # markupsafe's own escaping of a str's text (C speedups), without wrapping it in Markup
    from markupsafe import _escape_inner as _escape_text
except ImportError:  # pragma: no cover - markupsafe without it: its pure-Python equivalent
    def _escape_text(s: str, /) -> str:
        return (s.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
                .replace("'", "&#39;").replace('"', "&#34;"))

PLAIN_MAPPINGS: dict[type, frozenset[str]] = {
    cls: frozenset(dir(cls)) for cls in (MappingProxyType, dict, VisitorView)
}
"""Mapping types whose instances have no per-instance attributes, with the attribute names of the type."""

FACT_RECORDS: dict[type, frozenset[str]] = {PageFacts: frozenset(PAGE_FIELDS), RequestFacts: frozenset(REQUEST_FIELDS)}
"""Frozen facts records and their fields: every field passes the sandbox's checks, so it is read directly."""


def escape_output(value: Any) -> Any:
    """What ``{{ value }}`` adds to an autoescaped template's output: ``escape(value)``'s text.

    Only ever joined into the output (``concat``), where a ``Markup`` and a ``str`` of
    the same text give the same result."""
    if value.__class__ is str:
        return _escape_text(value)
    return escape(value)


class RulesCodeGenerator(CodeGenerator):
    """Jinja's code generator, emitting ``environment.escape_output(...)`` around an autoescaped output."""

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        if frame.eval_ctx.volatile or not frame.eval_ctx.autoescape:
            super()._output_child_pre(node, frame, finalize)  # `{% autoescape %}` blocks, plain text: as Jinja
            return
        self.write("environment.escape_output(")
        if finalize.src is not None:
            self.write(finalize.src)


class RulesSandbox(ImmutableSandboxedEnvironment):
    """``ImmutableSandboxedEnvironment`` whose ``getattr`` skips the failing ``getattr`` on plain mappings
    and the checks on facts records' fields, and whose templates escape a ``str`` output without ``Markup``."""

    code_generator_class = RulesCodeGenerator
    escape_output = staticmethod(escape_output)

    def getattr(self, obj: Any, attribute: str) -> Any | Undefined:
        kind = type(obj)
        type_names = PLAIN_MAPPINGS.get(kind)
        if type_names is None:
            fields = FACT_RECORDS.get(kind)
            if fields is not None and attribute in fields:
                return getattr(obj, attribute)
            return super().getattr(obj, attribute)
        if attribute in type_names:
            return super().getattr(obj, attribute)
        try:  # what the sandbox does once getattr has raised AttributeError
            return obj[attribute]
        except (TypeError, LookupError):
            return self.undefined(obj=obj, name=attribute)
