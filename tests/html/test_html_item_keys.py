"""Items that name themselves by a field: reorder by a link's URL, choose a size among links or radios.

Stores without ``data-*`` hooks only give links and text; an ``ItemKey``
reads a field of each item and normalises it. Both rewrite paths (splice and
the tree fallback) must choose the same items.
"""

from __future__ import annotations

import re

import pytest

from slotwise.html import Edit, rewrite
from slotwise.html.edits import ItemKey

NAV = (b'<nav><ul class="menu"><li><a href="/shop/category/jackets-1/">Jackets</a></li>'
       b'<li><a href="/shop/category/trail-shoes-3/">Trail Shoes</a></li>'
       b'<li><a href="https://shop.example/shop/category/socks-9/?sort=new">Socks</a></li>'
       b'<li><a href="/about/">About us</a></li></ul>'
       b'<div class="tiles"><a href="/shop/category/socks-9/"><span>Socks</span></a>'
       b'<a href="/shop/category/jackets-1/"><span>Jackets</span></a></div></nav>')
# a link the parser clones (the adoption agency): more <a> elements than start tags, so the
# splice path cannot map links with certainty and the tree is edited instead
BREAKS_SPLICING = b'<a href="/x"><p>x</a>y</p>'
CATEGORY = re.compile(r"/shop/category/(?P<category>[^/]+)-[0-9]+/")


def category_of(url: str) -> str | None:
    from urllib.parse import urlsplit

    found = CATEGORY.fullmatch(urlsplit(url).path)
    return found.group("category") if found else None


LINK_KEY = ItemKey("a", "href", "link", category_of)


def labels(body: bytes, selector: str) -> list[str]:
    from selectolax.lexbor import LexborHTMLParser

    return [n.text(strip=True) for n in LexborHTMLParser(body).css(selector)]


@pytest.mark.parametrize("fallback", [False, True])
def test_reorder_by_each_items_link_through_the_url_pattern(fallback: bool) -> None:
    src = NAV + (BREAKS_SPLICING if fallback else b"")
    edits = [Edit("cats", "ul.menu, .tiles", "reorder", order=["socks", "trail-shoes"], key=LINK_KEY, decision_id="d1")]
    r = rewrite(src, edits, cache=False)
    assert r.matches == {0: 2} and r.method == ("serialize" if fallback else "splice")
    assert labels(r.body, "ul.menu li") == ["Socks", "Trail Shoes", "Jackets", "About us"]
    assert labels(r.body, ".tiles a") == ["Socks", "Jackets"]  # the tile is the link itself


def test_reorder_by_text_as_category_names() -> None:
    src = b'<ul><li><a href="#">T-Shirts</a></li><li><a href="#">Running Shoes</a></li></ul>'
    r = rewrite(src, [Edit("c", "ul", "reorder", order=["running-shoes"], key=ItemKey("a", None, "slug"))])
    assert labels(r.body, "li") == ["Running Shoes", "T-Shirts"]


SIZES = (b'<div class="sizes"><a href="/catalogue/runner-size-41_11/">Everyday Runner, size 41</a><br>'
         b'<a href="/catalogue/runner-size-42_10/">Everyday Runner, size 42</a><br>'
         b'<a href="/catalogue/runner-size-43_9/" aria-disabled="true">Everyday Runner, size 43</a></div>')


@pytest.mark.parametrize("fallback", [False, True])
def test_a_size_offered_as_links_is_marked_by_the_rules_attributes(fallback: bool) -> None:
    src = SIZES + (BREAKS_SPLICING if fallback else b"")
    key = ItemKey(None, None, "size", match=r"size (\S+)$")
    edit = Edit("size", "div.sizes", "select-option", value="42", items="a", key=key, decision_id="d2",
                attributes={"aria-current": "true", "class": "sw-your-size"})
    r = rewrite(src, [edit], cache=False)
    assert r.matches == {0: 1} and r.method == ("serialize" if fallback else "splice")
    assert b'<a href="/catalogue/runner-size-42_10/" aria-current="true" class="sw-your-size">' in r.body
    assert r.body.count(b"sw-your-size") == 1 and b'data-sw-decision="d2"' in r.body
    disabled = Edit("size", "div.sizes", "select-option", value="43", items="a", key=key, attributes={"class": "x"})
    assert rewrite(src, [disabled], cache=False).matches == {0: 0}  # not offered: nothing changes


def test_sizes_compare_as_sizes_and_options_can_be_chosen_by_their_text() -> None:
    src = (b'<select id="variant"><option value="">Choose</option><option value="2010">Size: m</option>'
           b'<option value="2011">Size: L</option></select>')
    r = rewrite(src, [Edit("s", "#variant", "select-option", value="M", key=ItemKey(None, None, "size"))])
    assert b'<option value="2010" selected>Size: m</option>' in r.body


def test_radios_get_checked_and_lose_it() -> None:
    src = (b'<fieldset><input type="radio" name="size" value="S" checked><input type="radio" name="size" value="M">'
           b"</fieldset>")
    r = rewrite(src, [Edit("s", "fieldset", "select-option", value="m", items="input[type=radio]")])
    assert r.body == b'<fieldset><input type="radio" name="size" value="S"><input type="radio" name="size" value="M" checked></fieldset>'


def test_the_cache_tells_two_resolvers_apart() -> None:
    """A rules reload with other URL patterns must not reuse item keys read with the old ones."""
    src = NAV
    first = rewrite(src, [Edit("c", "ul.menu", "reorder", order=["jackets"], key=LINK_KEY)])
    other = ItemKey("a", "href", "link", lambda url: "jackets" if "socks" in url else None)
    second = rewrite(src, [Edit("c", "ul.menu", "reorder", order=["jackets"], key=other)])
    assert labels(first.body, "ul.menu li")[0] == "Jackets"
    assert labels(second.body, "ul.menu li")[0] == "Socks"


SIZE_SELECT = b'<select id="size"><option value="">Choose</option><option selected>41</option><option>42</option></select>'


@pytest.mark.parametrize("fallback", [False, True])
@pytest.mark.parametrize("cached", [False, True])
def test_a_decision_whose_size_is_not_offered_still_marks_the_element_and_chooses_nothing(
        fallback: bool, cached: bool) -> None:
    """The decision is on the page (the proxy keeps it): its element carries it, so the tag reports the
    exposure and clicks as it does the control's; the store's own choice stays as it was."""
    src = (b'<div data-tpl="<select>"></div>' if fallback else b"") + SIZE_SELECT  # a fake tag: no splice
    edit = Edit("size", "select#size", "select-option", value="47", key=None, decision_id="d9")
    if cached:
        rewrite(src, [edit])  # the first keeps the page's targets, the second is a splice of them
    r = rewrite(bytes(bytearray(src)), [edit], cache=cached)
    assert r.matches == {0: 1} and r.method == ("serialize" if fallback else "splice")
    assert re.search(rb'<select id="size" data-sw-decision="d9" data-sw-slot="size">', r.body)
    assert labels(r.body, "option[selected]") == ["41"]
    assert r.body.count(b"selected") == 1
    unmarked = Edit("size", "select#size", "select-option", value="47", key=None)  # no decision: nothing to say
    assert rewrite(src, [unmarked], cache=False).matches == {0: 0}
