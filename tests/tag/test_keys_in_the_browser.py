"""The tag's twins of ``slotwise.keys`` give the same keys in Chromium as Python does.

In tag-only mode the tag keys a reorder's items (a category link's text, a
size link's label) itself; a key that differs by one character would leave an
item in place. And a ``select-option`` chooses a choice whose label is the
value's size (or another name of it, ``catalog.size_names``) as the server
compares labels (``label_key``: casefolded, so ``Groß`` is ``GROSS``): the
tag's ``same`` must say the same. The functions are taken from tag.js as shipped.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slotwise.keys import category_key, label_key, product_key, size_key
from slotwise.tag import assets

pytestmark = pytest.mark.browser

SAMPLES = [
    "T-Shirts", "t-shirts", "T%2DShirts", "  Running Shoes ", "Dog & Cat  Toys!", "running_shoes", "Café Crème",
    "Обувь", "Größe 42", "100%", "--", "", "Size: 42", "size: m", "xl", "3xl", "One size", "EU 42", "W32/L34",
    "Размер: 42", "Taille : S", "36-38", " 42 ", "ÉTÉ", "e\u0301te\u0301",
    "²:", "² : 42", "Ⅻ: M",  # a number that Python's \w calls a word character is no label
    "%80", "a%zz%41", "%E2%82%AC", "%ed%a0%80", "T%2dShirts%20",  # escapes the browser refuses, or decodes
    "\ufeffsku-1", "sku-2\x1c", "\x85sku-3",  # whitespace JavaScript trims and Python does not, and back
]


PRODUCT_KEY = "decoded(g.product).trim() || null"
"""The product key of a link in the tag (``linkKey``)."""


def _function(name: str) -> str:
    source = assets.tag_source().decode()
    found = re.search(rf"function {name}\(s\) \{{.*?\n\s*\}}\n|function {name}\(s\) \{{.*?\}}\n", source, re.DOTALL)
    assert found, f"tag.js has no function {name}(s)"
    return found.group(0)


@pytest.fixture(scope="module")
def twins(browser: Any) -> Any:
    page = browser.new_page()
    page.set_content("<!doctype html><title>keys</title>")
    assert PRODUCT_KEY in assets.tag_source().decode()  # linkKey's product key, as evaluated below
    same = re.search(r"function same\(a, b\) \{.*?\}\n", assets.tag_source().decode())
    assert same, "tag.js has no function same(a, b)"
    page.evaluate(f"() => {{ {_function('decoded')}; {_function('slug')}; {_function('size')}; {_function('fold')}; "
                  f"{same.group(0)}; window.__same = same; "
                  f"window.__slug = slug; window.__size = size; window.__product = (s) => {PRODUCT_KEY.replace('g.product', 's')}; }}")
    yield page
    page.close()


def _js(page: Any, texts: list[str]) -> tuple[list[Any], list[Any]]:
    return page.evaluate("(xs) => [xs.map(x => window.__slug(x)), xs.map(x => window.__size(x))]", texts)


def _js_products(page: Any, texts: list[str]) -> list[Any]:
    return page.evaluate("(xs) => xs.map(x => window.__product(x))", texts)


def test_the_samples_give_the_same_keys(twins: Any) -> None:
    slugs, sizes = _js(twins, SAMPLES)
    assert slugs == [category_key(s) for s in SAMPLES]
    assert sizes == [size_key(s) for s in SAMPLES]
    assert _js_products(twins, SAMPLES) == [product_key(s) for s in SAMPLES]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# the Basic Multilingual Plane: letters Python's and the browser's Unicode tables agree on (a letter added in a
# newer Unicode than Python's is a letter to the browser only)
@given(st.lists(st.text(alphabet=st.characters(max_codepoint=0xFFFF, blacklist_categories=("Cs", "Cn", "Co")),
                        max_size=24), min_size=1, max_size=20))
def test_any_text_gives_the_same_keys(twins: Any, texts: list[str]) -> None:
    slugs, sizes = _js(twins, texts)
    assert slugs == [category_key(t) for t in texts]
    assert sizes == [size_key(t) for t in texts]
    assert _js_products(twins, texts) == [product_key(t) for t in texts]  # no text here is over MAX_KEY


def _server_same(a: str, b: str) -> bool:
    """How the server matches a choice's label to a value (``targets.chosen_option``): equal, or one size key
    with case folded (``label_key``)."""
    return a == b or (key := label_key(a)) is not None and key == label_key(b)


LABELS = [("Groß", "GROSS"), ("groß", "Gross"), ("GROẞ", "gross"), ("ẞ", "ss"), ("ΜΕΣΑΊΟΣ", "μεσαίοσ"),
          ("Μεσαίος", "ΜΕΣΑΊΟΣ"), ("Größe: XL", "xl"), ("M", "m"), ("Medium", "MEDIUM"), ("ı", "I"), ("ı", "i"),
          ("İ", "i"), ("ﬁt", "FIT"), (":", " "), ("", ""), ("Size:", "Size:"), ("S", "M")]


def _js_same(page: Any, pairs: list[tuple[str, str]]) -> list[bool]:
    return page.evaluate("(ps) => ps.map(p => window.__same(p[0], p[1]))", pairs)


def test_the_tag_matches_labels_as_the_server_does(twins: Any) -> None:
    """``ß`` is ``SS`` and ``ẞ`` is ``ss`` (``toLowerCase`` alone says not), ``σ`` is ``ς``; Turkish ``ı`` is no
    ``i`` (Python folds it to itself); labels without a size key match nothing but themselves."""
    assert _js_same(twins, LABELS) == [_server_same(a, b) for a, b in LABELS]
    assert _js_same(twins, LABELS[:6]) == [True] * 6


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(alphabet=st.characters(max_codepoint=0xFFFF, blacklist_categories=("Cs", "Cn", "Co")),
                        max_size=12), min_size=1, max_size=20))
def test_any_label_in_any_case_matches_as_on_the_server(twins: Any, texts: list[str]) -> None:
    """Each text against itself upper-cased, lower-cased, casefolded and case-swapped (pairs of one text in
    another case, where the two could differ), and against the next text."""
    pairs = [(t, other) for t in texts for other in (t.upper(), t.lower(), t.casefold(), t.swapcase())]
    pairs += list(zip(texts, texts[1:]))
    assert _js_same(twins, pairs) == [_server_same(a, b) for a, b in pairs]


@pytest.mark.parametrize("page_types", [True, False], ids=["page-types", "url-only"])
def test_a_links_key_is_the_one_python_reads(twins: Any, tmp_path: Any, page_types: bool) -> None:
    """``linkKey`` as shipped, with the tag config of rules whose category and product patterns share a shape:
    with ``catalog.page_types`` a link both match names a category first, as the proxy's reorder key reads it
    (``link_key`` for a category, else for a product); without, a product, as before."""
    from slotwise.rules.tag_config import tag_config
    from slotwise.rules.testing import rules_from_text

    types = '\n  page_types: {product: "body.pv", category: "body.cv"}' if page_types else ""
    ruleset = rules_from_text(tmp_path, f'catalog:\n  product_pages: "/{{product}}.html"\n'
                                        f'  category_pages: ["/{{category}}.html", "/*/{{category}}.html"]{types}\n')
    # linkKey and the kind(path, types) it asks (the tag's one matcher of the rules' URL patterns)
    found = re.search(r"function kind\(path, types\) \{.*?(?=function keyOf\()", assets.tag_source().decode(), re.DOTALL)
    assert found, "tag.js has no function kind(path, types) followed by linkKey(u)"
    config = {k: v for k, v in tag_config(ruleset).items() if k in ("patterns", "types")}
    urls = [f"https://shop.example{path}" for path in  # absolute: the page here is about:blank
            ("/Men.html", "/men/Tops-Men.html", "/hero-hoodie.html", "/gear.html?x=1", "/", "/c/x")]
    keys = twins.evaluate(f"(us) => {{ var CFG = {json.dumps(config)}; {_function('decoded')}; {_function('slug')}; "
                          f"{found.group(0)}; return us.map(linkKey); }}", urls)
    catalog = ruleset.catalog
    assert keys == [catalog.link_key(u, "category") or catalog.link_key(u, "product") for u in urls]
