"""The sandbox rules run in: Jinja2's immutable sandbox with a cheaper path for ``mapping.key``.

A template reads ``p.name`` on a recommendation (a read-only mapping) dozens
of times per page. Jinja's sandbox first tries ``getattr(p, "name")``, which
raises ``AttributeError`` (costly), then falls back to ``p["name"]``. For the
plain mapping types below that first step is decided by the type alone: their
instances carry no ``__dict__`` and no ``__getattr__``, so ``getattr`` fails
exactly when the name is not an attribute of the type. Names that are (``items``,
``keys``, ``_profile``, ``__class__`` ...) still take the sandbox's own path with
its safety checks, so what a template can reach is unchanged.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from jinja2.runtime import Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from slotwise.rules.visitor import VisitorView

PLAIN_MAPPINGS: dict[type, frozenset[str]] = {
    cls: frozenset(dir(cls)) for cls in (MappingProxyType, dict, VisitorView)
}
"""Mapping types whose instances have no per-instance attributes, with the attribute names of the type."""


class RulesSandbox(ImmutableSandboxedEnvironment):
    """``ImmutableSandboxedEnvironment`` whose ``getattr`` skips the failing ``getattr`` on plain mappings."""

    def getattr(self, obj: Any, attribute: str) -> Any | Undefined:
        type_names = PLAIN_MAPPINGS.get(type(obj))
        if type_names is None or attribute in type_names:
            return super().getattr(obj, attribute)
        try:  # what the sandbox does once getattr has raised AttributeError
            return obj[attribute]
        except (TypeError, LookupError):
            return self.undefined(obj=obj, name=attribute)
