"""Script fields: the facts a storefront keeps in its scripts' data, not in its markup.

``{script: "prestashop.customer.email"}`` reads a global an inline script
assigns a JSON literal to (PrestaShop's ``var prestashop = {...}``, Magento's
``window.checkout = {...}``, BigCommerce's ``var BCData = {...}``, Shopify's
``ShopifyAnalytics.meta = {...}``): the path's longest start that the page
assigns (``ShopifyAnalytics.meta``) is the global, the rest a key path into its
value. ``{css: "script#__NEXT_DATA__", json: "props.pageProps.product.id"}``
reads an element's text as JSON (Next.js, Shopify's ``data-product-json``),
then the key path. Key paths step as every JSON key path of the rules does
(``extract.at_path``: a key, or a number indexing a list).

Behind the proxy the page's HTML is read without running any script: in each
inline ``<script>`` of a JavaScript type, an assignment to the name
(``var|let|const NAME =``, ``window.NAME =``, ``NAME =``, ``window["NAME"] =``)
is followed by a JSON literal, decoded from its first character; a literal
that is no JSON (single quotes, a function, ``window.x || {}``) reads as
nothing, and one longer than ``MAX_LITERAL`` is not read. The last assignment
in the page's order wins, as it does when the scripts run. In the browser the
tag reads the live global instead (``window.NAME``, after the store's scripts
ran: it may hold more); both send the value found as ``scalar_text`` writes
it, JavaScript's ``String(value)``, so both modes read the same text.
"""

from __future__ import annotations

import functools
import json
import math
import re
from decimal import Decimal
from typing import Any, Iterable, Sequence

MAX_LITERAL = 512 * 1024
"""The most of a literal or JSON text that is decoded (characters): a longer one reads as nothing."""
JS_TYPES = frozenset({"", "text/javascript", "application/javascript", "module", "text/ecmascript",
                      "application/ecmascript", "application/x-javascript", "text/x-javascript", "text/jscript"})
"""A ``<script>``'s ``type`` whose text is JavaScript (no ``type`` at all: the same)."""
IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*", re.ASCII)
MISSING = object()
"""No value: no assignment, no JSON, or a step that is not there."""


def _refuse(constant: str) -> Any:
    raise ValueError(f"{constant} is no JSON")


_DECODER = json.JSONDecoder(parse_constant=_refuse)  # NaN and Infinity are JavaScript, not JSON


def path_problem(steps: Sequence[str], *, script: bool) -> str | None:
    """Why a written key path (split at its dots) cannot be read, or None. A script field's first step is
    the global's name: a JavaScript identifier."""
    if not steps or not any(steps):
        return "an empty key path: name what to read (prestashop.customer.email)"
    if not all(steps):
        return "an empty step (two dots, or a dot at an end): steps are names separated by single dots"
    if script and not IDENTIFIER.fullmatch(steps[0]):
        return (f"{steps[0]!r} is no global's name: a script field starts with the name a script assigns "
                "(letters, digits, _ and $, not starting with a digit)")
    return None


@functools.lru_cache(maxsize=256)
def assignment(steps: tuple[str, ...]) -> re.Pattern[str]:
    """Where a script assigns a value to any start of ``steps`` that is a dotted name (``a``, ``a.b``):
    ``var|let|const a =``, ``window.a.b =``, ``a.b =``, ``window["a"] =``; group ``name``/``quoted``: which."""
    names = [steps[:n] for n in range(len(steps), 0, -1) if all(IDENTIFIER.fullmatch(s) for s in steps[:n])]
    dotted = "|".join(r"\s*\.\s*".join(re.escape(s) for s in name) for name in names)
    return re.compile(rf"(?:(?<![\w$.])(?:window\s*\.\s*)?(?P<name>{dotted})"
                      rf"|(?<![\w$.])window\s*\[\s*(?P<q>[\"'])(?P<quoted>{re.escape(steps[0])})(?P=q)\s*\])"
                      r"\s*=(?![=>])")


def literal_at(text: str, start: int) -> tuple[Any, int]:
    """The JSON literal starting at ``text[start:]`` (after spaces) and where it ends; ``MISSING`` when there is
    none, or it is longer than ``MAX_LITERAL`` (then its end all the same: nothing in it is read again)."""
    while start < len(text) and text[start] in " \t\r\n":
        start += 1
    try:
        value, end = _DECODER.raw_decode(text, start)  # no copy: a decode reads its literal only
    except ValueError:
        return MISSING, start
    return (value if end - start <= MAX_LITERAL else MISSING), end


def assigned(scripts: Iterable[str], steps: tuple[str, ...]) -> tuple[Any, tuple[str, ...]]:
    """The value the last JSON assignment to a start of ``steps`` gives, and the steps left to read in it
    (``(MISSING, ())``: none). Each script is scanned once: the search goes on after a literal decoded, so the
    work is linear in the page, however many assignments it has."""
    found: tuple[Any, tuple[str, ...]] = (MISSING, ())
    pattern = assignment(steps)
    for text in scripts:
        if steps[0] not in text:  # most scripts never name it: no scan
            continue
        m = pattern.search(text)
        while m is not None:
            value, end = literal_at(text, m.end())
            if value is not MISSING:
                name = m.group("name")
                found = (value, steps[name.count(".") + 1 if name is not None else 1:])
            m = pattern.search(text, max(end, m.end()))
    return found


def json_value(text: str | None) -> Any:
    """``text`` as JSON (``MISSING``: none, not JSON, or longer than ``MAX_LITERAL``)."""
    if text is None or len(text) > MAX_LITERAL:
        return MISSING
    try:
        return _DECODER.decode(text)  # spaces around it as JSON.parse allows them
    except ValueError:
        return MISSING


def inline_scripts(tree: Any) -> list[str]:
    """The text of each inline JavaScript ``<script>`` of a parsed page (``LexborHTMLParser``), in order."""
    out = []
    for node in tree.css("script"):
        attrs = node.attributes
        if "src" in attrs or (attrs.get("type") or "").strip().lower() not in JS_TYPES:
            continue
        out.append(node.text(deep=True, separator="", strip=False) or "")
    return out


def scalar_text(value: Any) -> str | None:
    """A value read by a script or JSON field as JavaScript's ``String(value)`` writes it (what the tag sends):
    a text as it is, ``true``/``false``, a number as the browser writes it (``1.0`` is ``1``, ``1e-7``);
    nothing for ``null``, a list, an object, or ``MISSING``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return js_number(value)
    return None


def js_number(value: int | float) -> str:
    """A number as JavaScript's ``Number.prototype.toString`` writes it (ECMA-262 Number::toString): the
    browser holds every number as a double, so a whole number too long for one is rounded as there."""
    try:
        x = float(value)
    except OverflowError:
        x = math.inf if value > 0 else -math.inf
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    _, digits_t, exponent = Decimal(repr(abs(x))).normalize().as_tuple()  # repr: the shortest that reads back
    digits = "".join(map(str, digits_t))
    k = len(digits)
    n = k + int(exponent)  # the value is 0.DIGITS × 10^n
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    e = n - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


def script_field_trouble(html: bytes, field: Any) -> str:
    """Why a script or JSON field (``extract.Field``) reads nothing on a page, for ``rules check --url``."""
    from selectolax.lexbor import LexborHTMLParser

    from slotwise.rules.extract import at_path, node_text

    tree = LexborHTMLParser(html)
    if field.script is not None:
        steps = field.script
        scripts = inline_scripts(tree)
        if not any(assignment(steps).search(text) for text in scripts):
            return f"no inline script assigns {steps[0]} (or a start of {'.'.join(steps)})"
        value, rest = assigned(scripts, steps)
        if value is MISSING:
            return (f"{'.'.join(steps)} is assigned no JSON literal (single quotes, a call, a || b: read as nothing; "
                    f"or one longer than {MAX_LITERAL // 1024} KB)")
        read = steps[:len(steps) - len(rest)]
    else:
        steps = rest = field.json or ()
        node = tree.css_first(field.css) if field.css else tree.root
        if node is None:
            return f"{field.css!r} finds no element"
        value = json_value(node_text(node))
        if value is MISSING:
            return f"the text of {field.css or 'the element'!r} is no JSON (or longer than {MAX_LITERAL // 1024} KB)"
        read = ()
    for n, step in enumerate(rest):
        if at_path(value, rest[:n + 1]) is None:
            where = ".".join((*read, *rest[:n])) or "the JSON"
            return f"{where} has no {step!r}" + (" (or it is null)" if isinstance(at_path(value, rest[:n]), dict) else "")
    found = at_path(value, rest)
    return f"{'.'.join(steps)} is {'a list' if isinstance(found, list) else 'an object'}: name a text, number or boolean in it"
