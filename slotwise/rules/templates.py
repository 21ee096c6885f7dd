"""Variant templates: inline (``html:``) or from a file (``template:``), compiled once.

HTML templates run autoescaped in the immutable sandbox, so a category
named ``<script>`` is text, never markup. Attribute values are compiled as
plain-text templates: the rewriter escapes them when it writes the attribute.
Each comes with the cache of its outputs keyed by what it reads (``render_cache``).
"""

from __future__ import annotations

from typing import Collection

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from slotwise.rules.expressions import HTML_ENV, TEXT_ENV, Problem, template_problems
from slotwise.rules.render_cache import CachedTemplate


def compile_template(
    source: str, allowed: Collection[str], *, html: bool = True
) -> tuple[CachedTemplate | None, list[Problem]]:
    """A compiled template, or the problems (syntax, unknown names/facts/filters) that stop it."""
    env: ImmutableSandboxedEnvironment = HTML_ENV if html else TEXT_ENV
    tree, problems = template_problems(env, source, allowed)
    if tree is None or problems:
        return None, problems
    try:
        return CachedTemplate(env.from_string(source), tree, source), []
    except TemplateSyntaxError as exc:  # unknown filter or test
        return None, [Problem(exc.lineno or 1, f"template error: {exc.message}")]
