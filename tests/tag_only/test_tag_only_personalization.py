"""Tag-only mode personalizes: the real tag, the real `/decide`, the store's pages never seen by Slotwise.

Issue 17's first two failures (``/decide`` always ``[]``; no page facts, so no
size prefill) and what the report makes of tag-only decisions.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser
from tag_only_helpers import RULES, Requests, Stack, browse, category_order, flush, goto, visitor_id, wait_for

from slotwise.html import Edit, rewrite
from slotwise.proxy.operations.reporting import DecisionLog, build_decision_log, slot_reports
from slotwise.rules import load_rules, page_facts
from slotwise.rules.reading import read_extract
from slotwise.tag.recorder import browser_key

pytestmark = pytest.mark.browser

STORE_ORDER = ["/c/jackets", "/c/shoes", "/c/socks", "/c/hats"]
LD_BLOCK = r'<script type="application/ld\+json">.*?</script>'


def slot_report(stack: Stack, visitor: str, slot: str) -> Any:
    """The report of ``slot`` (``slotwise report``'s code) over this visitor's decisions only."""
    log = build_decision_log(stack.log())
    rows = [r for r in log.rows if r.visitor == visitor and r.slot == slot]
    [report] = slot_reports(DecisionLog(rows, log.slots, log.holdout_share), slot)
    return report


def test_home_categories_follow_what_the_visitor_browsed(stack: Stack, page: Any) -> None:
    goto(page, stack.url("main", "/"))
    page.wait_for_selector("ul.category-list[data-sw-decision]")  # decided: nothing to reorder yet
    assert category_order(page) == STORE_ORDER
    flush(page)
    browse(page, stack.url("main", "/c/socks"))
    browse(page, stack.url("main", "/c/hats"))
    goto(page, stack.url("main", "/"))
    page.wait_for_function("document.querySelector('ul.category-list a').getAttribute('href') === '/c/hats'")
    assert category_order(page) == ["/c/hats", "/c/socks", "/c/jackets", "/c/shoes"]
    assert page.evaluate("getComputedStyle(document.body).opacity") == "1"


def test_exposures_and_clicks_reach_the_report_as_seen(stack: Stack, page: Any) -> None:
    """Logged once applied (the tag's ``applied`` event), seen once in view, rewarded by a click on it."""
    requests = Requests(page.context)
    browse(page, stack.url("main", "/c/shoes"))
    goto(page, stack.url("main", "/"))
    ul = page.wait_for_selector("ul.category-list[data-sw-decision]")
    decision_id = ul.get_attribute("data-sw-decision")
    visitor = visitor_id(page.context)
    logged = wait_for(lambda: stack.decisions(visitor), what="the decision in the log")
    assert [r.data["decision_id"] for r in logged] == [decision_id]
    applied = [e for e in requests.events() if e["type"] == "applied"]
    assert applied and all(len(e["props"]["tokens"]) == 1 for e in applied)  # the token, not the decision id
    wait_for(lambda: stack.events("exposure", visitor), what="the exposure")
    with page.expect_navigation():
        page.click("ul.category-list a[href='/c/shoes']")
    page.wait_for_function("window.slotwise && window.slotwise.v === 1")
    flush(page)
    [click] = wait_for(lambda: stack.events("click", visitor), what="the click")
    assert click.data["props"]["decision_id"] == decision_id and click.data["props"]["href"].endswith("/c/shoes")
    report = slot_report(stack, visitor, "home-categories")
    [arm] = report.arms
    assert (arm.arm, arm.decisions, arm.exposures, arm.rewarded) == ("recent", 1, 1, 1)


def test_size_is_preset_after_a_purchase_tracked_on_the_confirmation_page(stack: Stack, page: Any) -> None:
    """The product's category comes from its page (the breadcrumb), never from its URL (/p/201)."""
    browse(page, stack.url("main", "/p/201"))
    assert (stack.product("201") or {}).get("category") == "shoes"  # learned from the tag's page extract
    assert page.eval_on_selector("#size", "e => e.value") == ""  # nothing known about this visitor yet
    browse(page, stack.url("main", "/order/confirmed?order=T-1001&product=201&size=43&price=119"))
    visitor = visitor_id(page.context)
    [purchase] = wait_for(lambda: stack.events("purchase", visitor), what="the purchase")
    assert purchase.data["props"]["lines"][0]["category"] == "shoes"  # filled in from the catalog
    assert stack.profile(visitor).purchases[0]["size"] == "43"

    requests = Requests(page.context)
    goto(page, stack.url("main", "/p/203"))  # never seen by anyone: /decide needs the page's extract
    page.wait_for_selector("select#size[data-sw-decision]")
    assert page.eval_on_selector("#size", "e => e.value") == "43"
    asked = [r.method for r in requests.to("decide")]
    assert asked == ["GET", "POST"], asked  # "complete: false", then the page's extract
    goto(page, stack.url("main", "/p/201"))  # in the catalog now: the snippet's GET is enough
    page.wait_for_selector("select#size[data-sw-decision]")
    assert page.eval_on_selector("#size", "e => e.value") == "43"

    with page.expect_navigation():
        page.click("form.add-to-cart button")  # the rules' submit capture: an add to cart in size 43, twice
    page.wait_for_function("window.slotwise && window.slotwise.v === 1")
    flush(page)
    [added] = wait_for(lambda: stack.events("add_to_cart", visitor), what="the add to cart")
    props = added.data["props"]
    assert (props["product"], props["size"], props["qty"]) == ("201", "43", 2)  # qty: a field outside, form="add-201"
    [arm] = wait_for(lambda: [a for a in slot_report(stack, visitor, "size-prefill").arms if a.rewarded],
                     what="the size decision rewarded by the add to cart")
    assert (arm.decisions, arm.exposures, arm.rewarded) == (1, 1, 1)  # sticky per visitor: one decision


def test_a_size_not_offered_still_counts_the_decision(stack: Stack, page: Any) -> None:
    """The slot is on the page, its variant's size is not: the decision counts as the proxy counts it (and as
    the control's does), so that the variants are measured on the same pages. Nothing is selected."""
    browse(page, stack.url("main", "/p/201"))
    browse(page, stack.url("main", "/order/confirmed?order=T-2001&product=201&size=47&price=119"))
    visitor = visitor_id(page.context)
    wait_for(lambda: stack.events("purchase", visitor), what="the purchase")
    assert stack.profile(visitor).purchases[0]["size"] == "47"  # the page offers 41-44 only
    goto(page, stack.url("main", "/p/202"))
    flush(page)
    [decision] = wait_for(lambda: [d for d in stack.decisions(visitor) if d.data["slot"] == "size-prefill"],
                          what="the size decision logged")
    assert decision.data["arm"] == "preferred"
    assert page.eval_on_selector("#size", "e => e.value") == ""
    # marked as the control's element is: its exposure is reported, and a click on it would be
    assert page.get_attribute("#size", "data-sw-decision") == decision.data["decision_id"]
    assert page.get_attribute("#size", "data-sw-slot") == "size-prefill"
    flush(page)
    wait_for(lambda: [e for e in stack.events("exposure", visitor)
                      if e.data["props"]["decision_id"] == decision.data["decision_id"]], what="the exposure")


GIFT_NOTE = "[...document.querySelectorAll('.gift-note')].map(e => [e.tagName.toLowerCase(), e.getAttribute('data-sw-slot')])"


def test_set_value_acts_on_the_field_and_marks_what_the_proxy_marks(stack: Stack, page: Any) -> None:
    """set-value's selector finds a wrapper around a field, a wrapper without one, a field and a radio: the
    field is set, the others are marked and left alone (the field inside the wrapper too; the radio's value is
    the choice it stands for, not a visitor's answer), as the proxy's rewriter does with the same page; and
    the decision is applied, so logged."""
    url = stack.url("main", "/gift")
    edit = Edit("gift-note", ".gift-note", "set-value", value="Happy birthday!", decision_id="d1")
    proxied = LexborHTMLParser(rewrite(httpx.get(url, timeout=10).content, [edit], cache=False).body)
    by_proxy = [[n.tag, n.attributes.get("data-sw-slot")] for n in proxied.css(".gift-note")]
    assert by_proxy == [["div", "gift-note"], ["div", "gift-note"], ["input", "gift-note"], ["input", "gift-note"]]
    goto(page, url)
    page.wait_for_selector("input.gift-note[data-sw-decision]")
    assert page.evaluate(GIFT_NOTE) == by_proxy
    assert page.eval_on_selector("input.gift-note", "e => e.value") == "Happy birthday!"
    assert page.eval_on_selector("#note", "e => e.value") == "from the store"  # not looked for inside the wrapper
    assert proxied.css_first("#note").attributes["value"] == "from the store"
    assert page.eval_on_selector("input.gift-note[type=radio]", "e => [e.value, e.checked]") == ["paper", True]
    assert proxied.css_first("input.gift-note[type=radio]").attributes["value"] == "paper"
    ids = page.eval_on_selector_all(".gift-note", "els => els.map(e => e.getAttribute('data-sw-decision'))")
    visitor = visitor_id(page.context)
    flush(page)
    [decision] = wait_for(lambda: [d for d in stack.decisions(visitor) if d.data["slot"] == "gift-note"],
                          what="the gift-note decision logged")
    assert ids == [decision.data["decision_id"]] * 4


@pytest.mark.parametrize("product", ["201", "202", "301", "401", "501", "601", "701", "801", "901", "902", "903", "904", "905"])
def test_page_facts_from_the_tag_equal_the_proxys(stack: Stack, page: Any, product: str) -> None:
    """The proxy reads the store's HTML; tag-only mode reads the tag's extract: the same facts."""
    ruleset = load_rules(RULES)
    url = stack.url("main", f"/p/{product}")
    html = httpx.get(url, timeout=10).content  # what the proxy would read
    requests = Requests(page.context)
    goto(page, url)
    flush(page)
    [view] = [e for e in requests.events() if e["type"] == "page_view" and e["props"]["url"] == url][:1]
    path = urlsplit(url).path
    groups = ruleset.catalog.product_groups()
    reading = read_extract(view["props"]["extract"], ruleset.catalog, groups)  # what the server does with it
    from_tag = page_facts(path, "", None, ruleset, reading=reading)
    from_html = page_facts(path, "", html, ruleset)
    assert from_tag == from_html
    assert from_tag.type == "product" and from_tag.product is not None
    expected = {"201": "shoes", "202": "shoes", "301": "socks", "401": "hats", "501": "jackets",
                "601": "socks", "701": "hats", "801": "socks", "901": "jackets", "902": "shoes",
                "903": "jackets", "904": "jackets", "905": "hats"}[product]  # 601: from its microdata BreadcrumbList, 701 its Product
    assert from_tag.category == from_tag.product["category"] == expected  # from the page: the URL has none
    if product == "701":  # microdata only, after a list of other products, with items of its own nested in it
        assert {k: from_tag.product[k] for k in ("name", "price", "brand", "in_stock", "image")} == {
            "name": "Alpine Cap", "price": 35.0, "brand": "Fjord", "in_stock": True, "image": "/img/701.jpg"}
    if product == "801":  # microdata whose parts stand outside the product, named by itemref: the tag sends them
        assert {k: from_tag.product[k] for k in ("id", "name", "price", "brand", "in_stock", "image")} == {
            "id": "801", "name": "Trail Gaiter", "price": 42.0, "brand": "Fjord", "in_stock": True, "image": "/img/801.jpg"}
    assert from_tag.product["price"] and from_tag.product["name"] and from_tag.product["sizes"]
    expected_facts = {  # pages whose early parts are bigger than the extract: the product still goes, whole
        "901": {"name": "Storm Shell", "price": 189.0, "category": "jackets"},
        "902": {"name": "Fell Boot", "price": 149.0, "category": "shoes"},
        "903": {"name": "山岳シェルジャケット", "price": 24800.0, "category": "jackets"},
        "904": {"name": "Fjell Parka", "price": 249.0, "category": "jackets"},
        "905": {"name": "Ridge Beanie", "price": 32.0, "category": "hats", "brand": "Fjord", "in_stock": True},
    }.get(product)
    if expected_facts:
        assert {k: from_tag.product[k] for k in expected_facts} == expected_facts
        doc, page = view["props"]["extract"]["doc"], html.decode("utf-8")
        if product == "904":  # its ProductGroup alone is over the budget: it goes alone, as the server reads it all
            [group] = [b for b in re.findall(LD_BLOCK, page) if "ProductGroup" in b]
            assert doc == group and 40_000 < sent_size(doc) <= 48 * 1024
        elif product == "905":  # its microdata Product is bigger than the extract: it goes without its details tab
            assert "Care and details" not in doc and '<span itemprop="price" content="32.00">32.00</span>' in doc
            assert len(page) > 48 * 1024 > sent_size(doc)
        else:
            assert_whole_parts(doc, page)



def test_page_views_queued_together_go_in_batches_the_server_takes(stack: Stack, page: Any) -> None:
    """A batch is at most 60,000 bytes as sent, not characters: two page views of a Japanese page (~34 KB
    each in UTF-8, ~16,000 characters) queued together (a visitor who left the first page before it went)
    go in two batches, not in one the server refuses (its 64 KB body limit) and the tag drops."""
    goto(page, stack.url("main", "/p/903"))
    ids = page.evaluate("""() => {
        const doc = [...document.querySelectorAll('script[type="application/ld+json"]')].slice(0, 2)
            .map(e => e.outerHTML).join('\\n');
        return [1, 2].map(() => slotwise.track('page_view', {url: location.href, extract: {doc, values: {}}}));
    }""")
    flush(page)
    visitor = visitor_id(page.context)
    wait_for(lambda: {browser_key(visitor, i) for i in ids} <= {r.key for r in stack.events("page_view", visitor)},
             what="both page views stored")

def sent_size(text: str) -> int:
    """Bytes of ``text`` as the tag sends it: a JSON string, in UTF-8."""
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8"))


def assert_whole_parts(doc: str, page: str) -> None:
    """The extract is whole parts of the page (each JSON-LD block parses) within 40,000 bytes as sent, and
    a part was left out only when it would not fit: after one too big to go, smaller ones still went."""
    assert all(json.loads(block[block.index(">") + 1:-len("</script>")]) for block in re.findall(LD_BLOCK, doc, re.DOTALL))
    assert sent_size(doc) <= 40_000
    parts = re.findall(LD_BLOCK + r'|<meta (?:name|property)=[^>]*>', page, re.DOTALL)
    left_out = [part for part in parts if part not in doc]
    assert left_out and all(sent_size(doc) + sent_size(part) > 40_000 for part in left_out)
