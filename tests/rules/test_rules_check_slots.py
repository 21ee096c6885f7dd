"""What ``slotwise rules check --url`` says of each slot on a live page (served on 127.0.0.1): whom it is
shown to, and whether a selector that finds nothing is a mistake.

A ``when`` that reads the page alone is evaluated on it, as the proxy would
for every visitor; one that reads the visitor (or their request: device,
referrer, UTM) is neither counted as shown nor as not shown, but said with
its condition. A slot that reads sizes on a product the rules read none for
finds nothing rightly: said as such, not as a warning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from page_server import Page

from slotwise.cli import main

RULES = """
catalog:
  product_pages: "/p/{product}"
  sizes: {items: "select#size option", id: "@data-id", size: "text"}
slots:
  - {id: returning, pages: "/**", selector: h1, action: append, html: "<b>again</b>", when: visitor.is_returning}
  - {id: mobile, pages: "/**", selector: h1, action: append, html: "<b>m</b>", when: "request.device == 'mobile'"}
  - {id: products, pages: "/**", selector: h1, action: append, html: "<b>p</b>", when: "page.type == 'product'"}
  - {id: boxed, pages: "/**", selector: div.box, action: append, html: "<b>b</b>", when: "page.type == 'product'"}
  - {id: broken, pages: "/p/*", selector: h1, action: append, html: "<b>b</b>", when: "page.product.price + 'x'"}
  - {id: size, pages: "/p/*", selector: "select#size", action: select-option, value: "visitor.preferred_size['shoes']"}
  - {id: badge, pages: "/p/*", selector: "span.badge", action: append, html: "<b>new</b>", when: "page.product.sizes"}
  - {id: gallery, pages: "/p/*", selector: "div.gallery", action: append, html: "<b>g</b>"}
  - {id: swatches, pages: "/p/*", selector: "div.swatches", action: append, html: "<b>s</b>", wait: 1.5s}
  - {id: h1-late, pages: "/p/*", selector: h1, action: append, html: "<b>h</b>", wait: 800ms}
"""
SIZED = (b'<html><body><h1>Runner</h1><select id="size"><option data-id="11">40</option><option data-id="12">41'
         b'</option></select></body></html>')
SIZELESS = b'<html><body><h1>Cap</h1><p>One size</p></body></html>'
HOME = b'<html><body><h1>Shop</h1></body></html>'


@pytest.fixture
def out(tmp_path: Path, page_server: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    (tmp_path / "rules.yaml").write_text(RULES)
    shop = page_server({"/p/runner": SIZED, "/p/cap": SIZELESS, "/": HOME})

    def check(path: str) -> list[str]:
        assert main(["rules", "check", str(tmp_path / "rules.yaml"), "--url", shop.url + path]) == 0
        lines = capsys.readouterr().out.splitlines()
        return [line.strip() for line in lines[lines.index("  slots:") + 1:]]
    return check


def test_a_when_that_reads_the_visitor_is_said_not_counted(out: Any) -> None:
    lines = out("/p/runner")
    assert ("returning: page matches; 1 element matches 'h1' [depends on the visitor: shown only when "
            "visitor.is_returning]") in lines
    assert ("mobile: page matches; 1 element matches 'h1' [depends on the visitor: shown only when "
            "request.device == 'mobile']") in lines
    assert ("size: page matches; 1 element matches 'select#size' [depends on the visitor: shown only when "
            "visitor.preferred_size['shoes']]") not in lines  # a value is no condition
    assert "size: page matches; 1 element matches 'select#size'" in lines


def test_a_when_that_reads_the_page_alone_is_evaluated_on_it(out: Any) -> None:
    product, home = out("/p/runner"), out("/")
    assert "products: page matches; 1 element matches 'h1' [when page.type == 'product': true on this page]" in product
    assert "boxed: page matches; 0 elements match 'div.box' <- selector finds nothing [when page.type == 'product': " \
           "true on this page]" in product
    assert ("products: page matches; 1 element matches 'h1' [not shown: when page.type == 'product' is false on "
            "this page]") in home
    assert ("boxed: page matches; 0 elements match 'div.box' [not shown: when page.type == 'product' is false on "
            "this page]") in home  # nothing to find where it is never shown
    assert "badge: page matches; 0 elements match 'span.badge' <- selector finds nothing [when page.product.sizes: " \
           "true on this page]" in product


def test_a_when_that_fails_on_the_page_is_a_warning(out: Any) -> None:
    """The proxy fails open on it: the page goes out as the store sent it, no slot shown."""
    line = next(line for line in out("/p/cap") if line.startswith("broken:"))
    assert line.startswith("broken: page matches; 1 element matches 'h1' [WARNING: 'when' \"page.product.price + "
                           "'x'\" failed: TypeError: "), line
    assert line.endswith(": the proxy would serve this page unchanged]")


def test_a_size_slot_on_a_product_without_sizes_is_no_warning(out: Any) -> None:
    """The rules read sizes (``catalog.sizes``) and find none on this product: a slot that reads a size has
    nothing to do here; a slot that does not read one and finds nothing is still a warning."""
    lines = out("/p/cap")
    assert "size: page matches; 0 elements match 'select#size' (this product has no sizes)" in lines
    assert ("badge: page matches; 0 elements match 'span.badge' [not shown: when page.product.sizes is false on "
            "this page]") in lines
    assert "gallery: page matches; 0 elements match 'div.gallery' <- selector finds nothing" in lines
    assert "gallery: page matches; 0 elements match 'div.gallery' <- selector finds nothing" in out("/p/runner")


def test_an_element_the_page_s_scripts_render_is_said_not_warned(out: Any) -> None:
    """A slot with ``wait`` is for an element the store's script renders in the browser: not finding it in the
    HTML is what it expects (said, with what happens); one it finds is said as any other."""
    lines = out("/p/runner")
    assert ("swatches: page matches; 0 elements match 'div.swatches' (not in the page's HTML: the tag waits up to "
            "1.5s for the page's scripts to render it, and applies the decision then)") in lines
    assert "h1-late: page matches; 1 element matches 'h1'" in lines
    assert "gallery: page matches; 0 elements match 'div.gallery' <- selector finds nothing" in lines


def test_sizes_the_rules_do_not_read_are_not_said_to_be_none(
    tmp_path: Path, page_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without ``catalog.sizes`` the rules know nothing of a product's sizes: a size slot that finds nothing
    is a warning (its selector may be the mistake)."""
    (tmp_path / "rules.yaml").write_text(RULES.replace('  sizes: {items: "select#size option", id: "@data-id", '
                                                       'size: "text"}\n', ""))
    shop = page_server({"/p/cap": Page(SIZELESS)})
    assert main(["rules", "check", str(tmp_path / "rules.yaml"), "--url", shop.url + "/p/cap"]) == 0
    assert "size: page matches; 0 elements match 'select#size' <- selector finds nothing" in capsys.readouterr().out


def test_the_docs_say_what_the_slot_lines_say() -> None:
    """docs/rules.md's quoted words are the command's, and its size facts are the ones it knows."""
    from slotwise.rules.vocabulary import SIZE_FACTS, VISITOR_NAMES

    text = " ".join((Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text().split())
    for said in ("`[when page.type == 'product': true on this page]`",
                 "`[not shown: when page.type == 'product' is false on this page]`",
                 "`[depends on the visitor: shown only when visitor.is_returning]`",
                 "`<- selector finds nothing`", "`(this product has no sizes)`",
                 "`(not in the page's HTML: the tag waits up to 3s for the page's scripts to render it, and "
                 "applies the decision then)`"):
        assert said in text, said
    assert SIZE_FACTS == {"visitor.preferred_size", "page.product.sizes", "page.product.variants"}
    assert "(`visitor.preferred_size`, `page.product.sizes` or `variants`)" in text
    assert VISITOR_NAMES == {"visitor", "request"} and "one that reads `visitor` or `request`" in text


def test_a_slot_outside_its_window_and_a_when_on_the_time_are_said_of_now(
        tmp_path: Path, page_server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """A campaign that has not started is not shown on the page (however its selector fares), and a ``when``
    that reads ``time`` is evaluated at the moment of the check, not taken for the visitor's."""
    (tmp_path / "rules.yaml").write_text("""
timezone: Europe/Berlin
slots:
  - {id: later, pages: "/**", selector: h1, action: append, html: "<b>x</b>", active: {from: "2999-01-01"}}
  - {id: later-box, pages: "/**", selector: div.box, action: append, html: "<b>x</b>", active: {from: "2999-01-01"}}
  - {id: always, pages: "/**", selector: h1, action: append, html: "<b>x</b>", when: "time.hour >= 0"}
  - {id: never, pages: "/**", selector: h1, action: append, html: "<b>x</b>", when: "time.minute > 59"}
""")
    shop = page_server({"/": HOME})
    assert main(["rules", "check", str(tmp_path / "rules.yaml"), "--url", shop.url + "/"]) == 0
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    assert ("later: page matches; 1 element matches 'h1' [not shown now: outside its active window (runs from "
            "2999-01-01 00:00 Europe/Berlin; now: not yet started)]") in lines
    assert any(line.startswith("later-box: page matches; 0 elements match 'div.box' [not shown now") for line in lines)
    assert "always: page matches; 1 element matches 'h1' [when time.hour >= 0: true on this page now]" in lines
    assert "never: page matches; 1 element matches 'h1' [not shown: when time.minute > 59 is false on this page now]" in lines


THEMED = """
slots:
  - {id: buy, pages: "/p/*", selector: "main .product-info .buy-bx", action: append, html: "<b>b</b>"}
  - {id: badge, pages: "/p/*", selector: "#gallery-main img.badge", action: append, html: "<b>n</b>"}
  - {id: tabs, pages: "/p/*", selector: "#prodcut-tabs", action: append, html: "<b>t</b>"}
  - {id: title, pages: "/p/*", selector: "h1", action: append, html: "<b>h</b>"}
"""
THEME = (b'<html><body><main><div class="product-info"><div class="buy-box">Buy</div></div>'
         b'<div id="gallery-main"><img src=a.jpg></div><div id="product-tabs"></div></main><h1>Coat</h1></body></html>')


@pytest.fixture
def themed(tmp_path: Path, page_server: Any) -> tuple[Path, str]:
    (tmp_path / "rules.yaml").write_text(THEMED)
    return tmp_path / "rules.yaml", page_server({"/p/coat": THEME, "/p/fine": b"<html><body><h1>x</h1>"
                                                 b"<main><div class=product-info><div class=buy-bx></div></div>"
                                                 b"<div id=gallery-main><img class=badge></div>"
                                                 b"<div id=prodcut-tabs></div></main></body></html>"}).url


def test_a_selector_that_finds_nothing_names_its_near_misses(themed: tuple[Path, str],
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A typo'd class or id, or a theme that renamed the element: the warning says what the page has instead, a
    class or id a small edit away and the selector without its last part, each with what it matches."""
    rules, url = themed
    assert main(["rules", "check", str(rules), "--url", url + "/p/coat"]) == 0  # a warning, not an error
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    assert ("buy: page matches; 0 elements match 'main .product-info .buy-bx' <- selector finds nothing; near misses: "
            "'main .product-info .buy-box' (class 'buy-box' is on the page) matches 1 element; "
            "'main .product-info' (without its last part) matches 1 element") in lines
    assert ("badge: page matches; 0 elements match '#gallery-main img.badge' <- selector finds nothing; near misses: "
            "'#gallery-main img' (without '.badge') matches 1 element; '#gallery-main' (without its last part) matches 1 element") in lines
    assert ("tabs: page matches; 0 elements match '#prodcut-tabs' <- selector finds nothing; near misses: "
            "'#product-tabs' (id 'product-tabs' is on the page) matches 1 element") in lines
    assert "title: page matches; 1 element matches 'h1'" in lines


def test_strict_exits_non_zero_on_a_page_with_a_warning(themed: tuple[Path, str],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """For a deploy's check: ``--strict`` exits 3 (not 1, the rules are valid; not 2, the page was read) when a
    selector finds nothing; a page where every slot finds its element passes."""
    from slotwise.commands.rules import STRICT_EXIT

    rules, url = themed
    assert STRICT_EXIT == 3
    assert main(["rules", "check", str(rules), "--url", url + "/p/coat", "--strict"]) == 3
    assert "slotwise rules check: --strict: 3 warnings on " in capsys.readouterr().err
    assert main(["rules", "check", str(rules), "--url", url + "/p/fine", "--strict"]) == 0
    assert "near misses" not in capsys.readouterr().out
