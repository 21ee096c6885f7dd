"""A page that is not UTF-8 is read in its own charset (``reading.bytes_to_read``): the same facts as the
same page in UTF-8, whatever the reader (JSON-LD and meta scans, Lexbor for microdata and selectors)."""

from __future__ import annotations

import html as html_lib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slotwise.rules import page_facts
from slotwise.rules.reading import bytes_to_read, read_html, reading_codec
from slotwise.rules.ruleset import RuleSet
from slotwise.rules.testing import rules_from_text

RULES = """
catalog:
  product_pages: "/p/{product}"
  selectors:
    name: "main h1"
    brand: "main @data-brand"
    category: "main @data-category"
slots: []
"""
PATH = "/p/7"

# (the label the store sends, the encoder its pages are written with): windows-1252 shops often say
# ISO-8859-1, and Shift_JIS shops write Windows' Shift_JIS (cp932), as browsers read both
CHARSETS = [("windows-1252", "cp1252"), ("iso-8859-1", "cp1252"), ("iso-8859-15", "iso8859-15"),
            ("shift_jis", "cp932"), ("euc-jp", "euc_jp"), ("utf-16", "utf-16")]


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    return rules_from_text(tmp_path_factory.mktemp("charsets"), RULES)


def page(name: str, category: str, brand: str, label: str) -> str:
    """A product page naming its product in JSON-LD, Open Graph, microdata and the selectors' markup."""
    node = {"@context": "https://schema.org", "@type": "Product", "sku": "7", "name": name, "category": category,
            "offers": {"@type": "Offer", "price": "9.50", "priceCurrency": "EUR"}}
    ld = json.dumps(node, ensure_ascii=False).replace("</", "<\\/")
    a = html_lib.escape
    return (f'<!doctype html><html><head><meta charset="{label}"><title>{a(name)}</title>'
            f'<meta property="og:type" content="product"><meta property="og:title" content="{a(name)}">'
            f'<script type="application/ld+json">{ld}</script></head><body>'
            f'<div itemscope itemtype="https://schema.org/Product"><span itemprop="brand">{a(brand)}</span></div>'
            f'<main data-category="{a(category)}" data-brand="{a(brand)}"><h1>{a(name)}</h1></main></body></html>')


def reading_of(rules: RuleSet, html: bytes) -> Any:
    return read_html(html, rules.catalog, rules.catalog.product_groups())


_LOSSY = "\xa2\xa3\xa5\u2016\u203e\u301c"  # encoded as another character (cp932's ¢ is ￠): not the page's text


def _writable(writer: str) -> st.SearchStrategy[str]:
    """The text ``writer`` can write."""
    chars = st.characters(codec=writer, categories=("L", "N", "Zs", "Pd", "Sc", "Po"), exclude_characters=_LOSSY)
    return st.text(chars.filter(lambda c: c.encode(writer).decode(writer) == c), max_size=12)


# built once, not per example (each is the codec's characters worked out)
_TEXTS = {writer: _writable(writer) for _, writer in CHARSETS}


@st.composite
def pages(draw: Any) -> tuple[str, str, dict[str, str]]:
    label, writer = draw(st.sampled_from(CHARSETS))
    text = _TEXTS[writer]
    return label, writer, {"name": draw(text), "category": draw(text), "brand": draw(text)}


# 100, was 150: drawing the text is most of the time (the codecs' characters); 100 pages are still ~16 per charset,
# each with three texts of up to 12 characters (on CI the same every run: derandomized)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=pages())
def test_a_page_in_any_charset_reads_as_the_same_page_in_utf8(rules: RuleSet, drawn: tuple[str, str, dict[str, str]]) -> None:
    label, writer, text = drawn
    source = page(text["name"], text["category"], text["brand"], label)
    served = source.encode(writer)
    as_utf8 = source.encode("utf-8")
    reading = reading_of(rules, bytes_to_read(served, label))
    assert reading == reading_of(rules, as_utf8)
    assert page_facts(PATH, None, None, rules, reading=reading) == page_facts(PATH, None, as_utf8, rules)


def test_a_windows_1252_page_gives_its_names_and_category_keys(rules: RuleSet) -> None:
    served = page("Café Crème", "Küche", "Müller", "windows-1252").encode("cp1252")
    assert dict(reading_of(rules, served).structured or {}).get("name") == "Caf\ufffd Cr\ufffdme"  # read as UTF-8: lost
    product = page_facts(PATH, None, None, rules, reading=reading_of(rules, bytes_to_read(served, "cp1252"))).product
    assert product is not None
    assert (product["name"], product["category"], product["category_name"], product["brand"]) == (
        "Café Crème", "küche", "Küche", "Müller")


def test_utf8_and_ascii_pages_are_read_as_they_are_not_copied() -> None:
    served = "<p>Café</p>".encode()
    for charset in ("utf-8", "UTF8", "ascii", "us-ascii", "no-such-charset"):
        assert bytes_to_read(served, charset) is served


@pytest.mark.parametrize(("label", "raw", "text"), [
    ("iso-8859-1", b"\x80 \x93x\x94", "€ “x”"),  # ISO-8859-1 is read as windows-1252, as browsers do
    ("shift_jis", b"\x81\x60", "～"),  # Shift_JIS as Windows' (cp932): the wave dash browsers show
    ("windows-1252", b"\x81", "\ufffd"),  # a byte the charset lacks: U+FFFD, nothing else lost
    ("utf-16", "\ufeff<p>é</p>".encode("utf-16-le"), "<p>é</p>"),  # the BOM is not read as text
    ("euc-jp", "台所".encode("euc_jp"), "台所"),
])
def test_what_each_charset_reads_as(label: str, raw: bytes, text: str) -> None:
    assert bytes_to_read(raw, label).decode("utf-8") == text


def test_the_codec_a_label_is_read_with() -> None:
    assert [reading_codec(n) for n in ("utf-8", "ascii", "windows-1252", "latin1", "Shift_JIS", "euc-jp", "x-nope")] == [
        None, None, "cp1252", "cp1252", "cp932", "euc_jp", None]
