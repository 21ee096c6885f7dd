"""One normalisation of the keys everything is joined on: categories, products, sizes.

A category arrives as a URL segment (``t-shirts``), a breadcrumb or
JSON-LD name (``T-Shirts``), a POS export (``T-SHIRTS``), a GA4 item
(``item_category: "T-shirts"``) or a product feed. Profiles, the catalog,
imports and rules compare them, so every source goes through the same
function before it is stored. Pure and tiny on purpose: the tag has a
JavaScript twin of ``category_key`` (``slug`` in ``tag.js``), kept equal by a
browser test.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote

_SLUG_RE = re.compile(r"[\W_]+")
JS_WHITESPACE = "\t\n\v\f\r \u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000\ufeff"
"""Whitespace as JavaScript knows it (``\\s``, ``trim``): not Python's (``str.strip`` takes U+001C–U+001F and
U+0085, and leaves U+FEFF)."""
_SPACE_RE = re.compile(f"[{re.escape(JS_WHITESPACE)}]+")
"""Runs of it: the tag's twin of ``size_key`` collapses the same characters."""
_SIZE_LABEL_RE = re.compile(r"^[^:]{1,21}: *")  # the first character must be a letter (_drop_label)
_LETTER_SIZE_RE = re.compile(r"^[0-9]?[a-zA-Z]{1,4}$")
MAX_KEY = 128
_NOT_AN_ESCAPE_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def percent_decoded(text: str) -> str:
    """A URL segment decoded as the browser's ``decodeURIComponent`` does it, all or nothing: ``T%2DShirts``
    → ``T-Shirts``; a text with a ``%`` that starts no escape (``100%``) or escapes that are not UTF-8
    (``%80``) stays as it is, as the tag keeps it (its ``decodeURIComponent`` throws there)."""
    if "%" not in text or _NOT_AN_ESCAPE_RE.search(text):
        return text
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError:
        return text


def category_key(name: object) -> str | None:
    """``'T-Shirts'``, ``'t-shirts'``, ``'T%2DShirts'`` → ``'t-shirts'``; ``'Обувь'`` → ``'обувь'``; empty → None.

    Lower-case (NFC); every run of characters that are not letters or digits
    (in any script) becomes one ``-``. URL segments are percent-decoded first.
    """
    if name is None:
        return None
    text = percent_decoded(str(name))
    key = _SLUG_RE.sub("-", unicodedata.normalize("NFC", text.strip()).lower()).strip("-")
    return key[:MAX_KEY] or None


def product_key(value: object) -> str | None:
    """A product id as stored: its text, trimmed (ids are case-sensitive); empty → None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = percent_decoded(str(value)).strip(JS_WHITESPACE)  # as the tag's ``trim`` (its link keys)
    return text[:MAX_KEY] or None


def size_key(label: object) -> str | None:
    """``'Size: 42'``, ``' 42 '`` → ``'42'``; ``'m'``, ``'xl'`` → ``'M'``, ``'XL'``; empty → None.

    Leading ``Word:`` labels (``Size:``, ``Taille :``, ``Size: EU:``) are dropped, spaces are
    collapsed and letter sizes (``s``…``3xl``) upper-cased, so a size bought
    online (an option's text), in store (a POS column) and offered on a page
    (a link's text) compare equal. Other labels keep their case (``One size``).
    """
    if label is None or isinstance(label, bool):
        return None
    text = _SPACE_RE.sub(" ", str(label)).strip(" ")
    while ":" in text:  # every leading label: 'Size: EU: 42' is 42, and a key is its own key ('A:A:' is none)
        dropped = _drop_label(text)
        if dropped == text:
            break
        text = dropped
    if _LETTER_SIZE_RE.match(text):
        text = text.upper()
    return text[:MAX_KEY] or None


def label_key(label: object) -> str | None:
    """How labels are compared (``not_sizes``, ``size_names``, a page's choices: ``select-option``, and the
    tag's ``same()`` alike): their size key, case folded (``Default Title``, ``default title``; ``Medium``,
    ``MEDIUM``; ``Groß``, ``GROSS``)."""
    key = size_key(label)
    return key.casefold() if key else None


def _drop_label(text: str) -> str:
    """``'Size: 42'`` → ``'42'``: a label starting with a letter (Unicode category L*, as the tag's
    ``\\p{L}``; not ``'²'``, which Python's ``\\w`` counts), then up to 20 more characters and a colon."""
    m = _SIZE_LABEL_RE.match(text)
    if m is None or not unicodedata.category(text[0]).startswith("L"):
        return text
    return text[m.end():]



def store_key(name: object) -> str | None:
    """A physical store, named by a POS export (``Amsterdam Centraal``), a page or a form: the
    category rule (``amsterdam-centraal``), so every source names one store one way."""
    return category_key(name)
