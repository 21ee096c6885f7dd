"""A rules regex (Python's ``re``) as a JavaScript ``RegExp``, or the construct that keeps it from being one.

Why: in tag-only mode the tag matches the page's own requests against a
``request`` source's path regex in the browser (``tag_config``), where only
JavaScript's ``RegExp`` runs. A regex that JavaScript rejects, or reads
otherwise, would leave the source silently unobserved; so what has a JS
equivalent is translated — ``(?P<n>`` → ``(?<n>``, ``(?P=n)`` → ``\\k<n>``,
leading ``(?i)``/``(?m)``/``(?s)`` → flags (``(?a)``, ``(?u)`` dropped: a
browser's ``pathname`` is percent-encoded ASCII), ``\\A`` → ``^``, ``\\Z`` →
``$``, ``{,n}`` → ``{0,n}``, ``(?#…)`` dropped, a class's leading ``]``
escaped — and what has none is named with its place (``NotJs``), for
``rules check`` to warn of. A lookbehind (``(?<=…)``, ``(?<!…)``, and ``\\A``
under ``(?m)``, written as one) is passed as it is, and named too
(``JsRegex.safari``): Safari before 16.4 cannot compile one, so those
browsers do not observe the source (the tag skips a ``RegExp`` that throws).

No JavaScript engine runs at check time: the judgement is conservative, by
a list of what is known to mean the same in both (a construct not on it is
named even where a browser might take it). The pattern is one Python compiled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FLAGS = {"i": "i", "m": "m", "s": "s", "a": "", "u": ""}
"""Leading inline flags JavaScript has as a flag ("" : meaningless on a browser's ASCII pathname)."""
_LEADING_FLAGS = re.compile(r"\(\?([aiLmsux]+)\)")
_QUANTIFIER = re.compile(r"\{(\d*)(,?)(\d*)\}")
"""A counted quantifier, as Python reads one: ``{}`` is two characters, ``{,n}`` is ``{0,n}``."""
_NAMED_REF = re.compile(r"\(\?P=(\w+)\)")


@dataclass(frozen=True)
class JsRegex:
    """The regex as a ``RegExp``: ``new RegExp(source, flags)``."""

    source: str
    flags: str = ""
    safari: NotJs | None = None
    """Its first construct Safari before 16.4 cannot compile (a lookbehind): there the source goes unobserved."""


@dataclass(frozen=True)
class NotJs:
    """What keeps the regex from being a ``RegExp``: the construct as written, what it is, where it starts
    (an offset into the pattern) and how to write it otherwise."""

    construct: str
    what: str
    offset: int
    hint: str


def js_regex(pattern: str) -> JsRegex | NotJs:
    """``pattern`` (one ``re.compile`` took) as a JavaScript ``RegExp``, or the first construct that has none."""
    flags, i = "", 0
    while (lead := _LEADING_FLAGS.match(pattern, i)) is not None:
        for flag in lead.group(1):
            if flag not in _FLAGS:
                return _not_js(pattern, lead.start(), lead.group(0))
            flags += _FLAGS[flag] if _FLAGS[flag] not in flags else ""
        i = lead.end()
    out: list[str] = []
    safari: NotJs | None = None
    in_class = quantified = False
    quantifier = 0  # where the last quantifier began (a possessive one is named whole: {2}+)
    while i < len(pattern):
        c = pattern[i]
        was_quantifier, quantified = quantified, False
        if c == "\\":
            escape = pattern[i:i + 2]
            problem = _escape(pattern, i, in_class)
            if problem is not None:
                return problem
            if escape == "\\A" and "m" in flags and not in_class:
                safari = safari or _lookbehind(i, escape)
            out.append({"\\A": "(?<![\\s\\S])" if "m" in flags else "^",
                        "\\Z": "(?![\\s\\S])" if "m" in flags else "$"}.get(escape, escape) if not in_class else escape)
            i += 2
            continue
        if in_class:
            in_class = c != "]"
            out.append(c)
            i += 1
            continue
        if c == "[":
            start = i + 1 + (pattern[i + 1:i + 2] == "^")
            out.append(pattern[i:start])
            if pattern[start:start + 1] == "]":  # Python: a literal ]; JavaScript: [] matches nothing, [^] all
                out.append("\\]")
                start += 1
            in_class, i = True, start
            continue
        if c == "(" and pattern.startswith("(?", i):
            group = _group(pattern, i)
            if isinstance(group, NotJs):
                return group
            written, after = group
            if written in ("(?<=", "(?<!"):
                safari = safari or _lookbehind(i, written)
            out.append(written)
            i = after
            continue
        counted = _QUANTIFIER.match(pattern, i) if c == "{" else None
        if counted is not None and not (counted.group(1) or counted.group(2)):
            counted = None  # {}: literal, in both
        if c in "*+?" or counted is not None:
            if was_quantifier and c == "+":
                return _not_js(pattern, quantifier, pattern[quantifier:i + 1])
            quantifier = i
            if counted is not None:
                low, comma, high = counted.groups()
                out.append("{" + (low or "0") + comma + high + "}")
                i = counted.end()
            else:
                out.append(c)
                i += 1
            quantified = not was_quantifier  # a lazy ? after a quantifier ends it
            continue
        out.append(c)
        i += 1
    return JsRegex("".join(out), "".join(sorted(flags)), safari)


def _escape(pattern: str, i: int, in_class: bool) -> NotJs | None:
    """The escape at ``i`` when JavaScript has none like it: Python's ``\\a``, ``\\U…``, ``\\N{…}``, an
    octal escape, a two-digit back-reference."""
    escape = pattern[i:i + 2]
    if escape[1:] in ("a", "U", "N"):
        return _not_js(pattern, i, escape)
    if escape[1:].isdigit():
        digits = re.match(r"\d+", pattern[i + 1:])
        assert digits is not None
        number = digits.group(0)
        if number == "0" or (not in_class and len(number) == 1):
            return None  # NUL, or a back-reference \1-\9: the same in both
        return _not_js(pattern, i, "\\" + number)
    return None


def _group(pattern: str, i: int) -> tuple[str, int] | NotJs:
    """A ``(?…`` group's opening as JavaScript writes it, and where the pattern goes on."""
    rest = pattern[i + 2:]
    for same in (":", "=", "!", "<=", "<!"):
        if rest.startswith(same):
            return "(?" + same, i + 2 + len(same)
    if rest.startswith("P<"):
        return "(?<", i + 4
    if (ref := _NAMED_REF.match(pattern, i)) is not None:
        return f"\\k<{ref.group(1)}>", ref.end()
    if rest.startswith("#"):  # a comment: nothing to match
        end = pattern.find(")", i)
        return "", (end + 1 if end >= 0 else len(pattern))
    if rest.startswith(">"):
        return _not_js(pattern, i, "(?>")
    if rest.startswith("("):
        return _not_js(pattern, i, "(?(")
    flags = re.match(r"\(\?[aiLmsux]*(?:-[imsx]+)?[:)]", pattern[i:])
    return _not_js(pattern, i, flags.group(0) if flags else pattern[i:i + 3])


_WHAT: tuple[tuple[str, str, str], ...] = (
    ("(?>", "an atomic group", "write a plain group (?:...): it matches the same paths unless it backtracks into it"),
    ("(?(", "a conditional group", "write the alternatives out, or make two request sources"),
    ("(?x", "the verbose flag", "write the regex without spaces and comments, and without (?x)"),
    ("(?", "an inline flag group", "write the flag at the start, for the whole regex: (?i) is the i flag"),
    ("\\N", "a named Unicode escape", "write the character itself"),
    ("\\U", "an 8-digit Unicode escape", "write the character itself"),
    ("\\a", "the bell escape", "write \\x07"),
    ("\\", "an octal escape or a back-reference past \\9", "write \\xNN for a character, or name the group: (?P<n>...) and (?P=n)"),
    ("", "a possessive quantifier", "write it without the last +: it matches the same paths unless it backtracks"),
)


_LOOKBEHINDS = {
    "(?<=": ("a lookbehind", "write what it looks back at as part of the match: as a search, (?<=/cart)/add "
             "matches the paths /cart/add matches"),
    "(?<!": ("a negative lookbehind", "write what it rules out as a class: (?<!x)/add as (?:^|[^x])/add"),
    "\\A": ("\\A with the m flag (a lookbehind in JavaScript)", "write ^: a browser's path has no line break"),
}


def _lookbehind(offset: int, construct: str) -> NotJs:
    what, hint = _LOOKBEHINDS[construct]
    return NotJs(construct, what, offset, hint)


def _not_js(pattern: str, offset: int, construct: str) -> NotJs:
    verbose = construct.startswith("(?") and "x" in re.split(r"[-:)]", construct[2:])[0]
    key = "(?x" if verbose else construct
    what, hint = next((w, h) for prefix, w, h in _WHAT if key.startswith(prefix))
    return NotJs(construct, what, offset, hint)
