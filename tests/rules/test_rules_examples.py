"""The shipped example rules load, and the CLI checks files as documented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from slotwise.cli import main
from slotwise.rules import load_rules

EXAMPLES = Path(__file__).resolve().parents[2] / "slotwise" / "rules" / "examples"
BROKEN = Path(__file__).parent / "broken"


def test_demo_rules_load_with_the_four_slots() -> None:
    ruleset = load_rules(EXAMPLES / "demo.yaml")
    ids = [s.id for s in ruleset.slots]
    assert ids == ["home-categories", "size-prefill", "product-recommendations", "home-recommendations", "exit-coupon",
                   "stage-banner", "interest-hero", "decision-coupon", "reorder", "cart-waits", "viewed-news",
                   "nearby-store"]
    assert ruleset.holdout == pytest.approx(0.10)
    assert ruleset.consent == "implied"
    assert ruleset.attribution_window == (1800.0, "inactivity")
    names = {p.name for p in ruleset.files}
    assert {"demo.yaml", "demo-popup.yaml", "demo-recommendations.yaml", "coupon-popup.html", "recommendations.html"} <= names
    popup = ruleset.slot("exit-coupon")
    assert popup.action == "popup" and popup.selector == "body" and popup.goal == "margin"
    assert [v.id for v in popup.variants if v.control] == ["no-popup"]
    costs = {v.id: v.coupon_cost for v in popup.variants if v.coupon_cost}
    assert costs["pct10"].kind == "fraction" and costs["pct10"].value == pytest.approx(0.10)
    assert costs["eur5"].kind == "amount" and costs["eur5"].value == pytest.approx(5.0)
    assert ruleset.slot("size-prefill").sticky == "visitor"


def test_every_yaml_example_file_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLOTWISE_IDENTITY_SECRET", "the-store-s-secret")  # shopify.yaml's signed customer id
    mains = [p for p in EXAMPLES.glob("*.yaml") if not p.name.startswith("demo-")]
    assert mains
    for path in mains:
        load_rules(path)


def test_an_example_whose_secret_is_not_in_the_environment_is_refused_naming_it(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLOTWISE_IDENTITY_SECRET", raising=False)
    assert main(["rules", "check", str(EXAMPLES / "shopify.yaml")]) == 1
    err = capsys.readouterr().err
    assert ("shopify-capture.yaml:13:17: 'capture.customer.secret_env': the environment variable "
            "SLOTWISE_IDENTITY_SECRET is not set") in err


def test_commands_that_check_no_signature_read_the_example_without_its_secret(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The identity secret is serve's (it checks the tag's signatures): a report, an import or a preview link
    with the Shopify example's --rules reads slot names and the catalog's sizes, and once refused the rules
    for want of the store's secret — which a marketer's machine or a POS cron job should not hold."""
    monkeypatch.delenv("SLOTWISE_IDENTITY_SECRET", raising=False)
    rules, data = str(EXAMPLES / "shopify.yaml"), str(tmp_path / "data")
    pos = tmp_path / "pos.csv"
    pos.write_text("order_id,email,ts,product,size,qty,price\nPOS-1,ann@example.com,2026-11-20,rain-jacket,Default Title,1,89.90\n")
    assert main(["import", "purchases", str(pos), "--data", data, "--rules", rules, "--quiet"]) == 0, capsys.readouterr().err
    assert '"loaded": 1' in capsys.readouterr().out
    assert main(["report", "--data", data, "--rules", rules]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("No decisions logged yet.") and "Slot home-collections" in out and err == ""
    (tmp_path / "data" / "secret").write_text("the-servers-signing-key")
    assert main(["preview", "http://127.0.0.1:9/", "--force", "size-preset=preset", "--rules", rules,
                 "--data", data, "--no-check"]) == 0
    assert "sw_preview=" in capsys.readouterr().out
    assert main(["rules", "check", rules]) == 1  # serve's own check still wants it
    assert "SLOTWISE_IDENTITY_SECRET is not set" in capsys.readouterr().err


def test_check_valid_file_exits_zero_with_one_line_per_slot(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["rules", "check", str(EXAMPLES / "demo.yaml")])
    out = capsys.readouterr().out
    assert status == 0
    lines = out.strip().splitlines()
    assert "OK, 12 slots" in lines[0]
    assert len(lines) == 15  # a line per slot, then the capture's summary and what the tag does on a single-page store
    assert lines[1].strip().startswith("home-categories: reorder")
    assert lines[13].strip() == "capture: 8 event sources; customer, cart"
    assert lines[14].strip().startswith("soft navigations: followed")


TAG_ONLY = Path(__file__).resolve().parents[1] / "tag_only"


@pytest.mark.parametrize(("rules", "said"), [
    ("rules-spa.yaml", "soft navigations: followed (a single-page storefront's history.pushState or back button to a "
                       "new path or a new ?ref is a page: read, decided and applied in the browser)"),
    ("rules-spa-off.yaml", "soft navigations: not followed (capture.soft_navigations: false): only pages the browser "
                           "loads are pages"),
], ids=["on", "off"])
def test_check_says_what_the_tag_does_on_a_single_page_store(capsys: pytest.CaptureFixture[str], rules: str,
                                                              said: str) -> None:
    """``capture.soft_navigations`` (on by default): rules check says it as it says the other capture settings,
    with what makes a new page (a path, or a query parameter some ``pages`` of the rules read: spa-mail's ?ref=)."""
    assert main(["rules", "check", str(TAG_ONLY / rules)]) == 0
    assert f"  {said}" in capsys.readouterr().out.splitlines()


def test_check_broken_file_prints_all_errors_and_fails(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BROKEN)
    status = main(["rules", "check", "unknown-fact.yaml"])
    err = capsys.readouterr().err
    assert status == 1
    assert "unknown-fact.yaml:6:12: unknown fact 'visitor.recnt_categories' (did you mean 'recent_categories'?)" in err
    assert err.count("unknown fact") == 4
    assert "4 errors; rules rejected" in err


def test_check_with_url_reports_page_match_and_selector_counts(capsys: pytest.CaptureFixture[str], page_server: Any) -> None:
    page = (
        b'<html><body data-page="product"><main class="product" data-product-id="101" data-category="running-shoes">'
        b'<form class="add-to-cart"><select name="size" id="size"><option value="">Choose</option></select></form>'
        b'<section class="related"></section></main></body></html>'
    )
    shop = page_server({"/p/101": page})
    status = main(["rules", "check", str(EXAMPLES / "demo.yaml"), "--url", shop.url + "/p/101"])
    out = capsys.readouterr().out
    assert status == 0
    assert "page type product" in out
    assert "size-prefill: page matches; 1 element matches 'select#size'" in out
    assert "home-categories: page does not match; 0 elements match" in out
    assert "product-recommendations: page matches; 1 element matches 'section.related'" in out


def test_check_with_url_tells_a_count_that_reads_nothing_from_an_empty_basket(
    capsys: pytest.CaptureFixture[str], page_server: Any, tmp_path: Path
) -> None:
    """A typo'd ``count`` inside a basket that is there says nothing about the cart (it is not "empty")."""
    page = b'<html><body><a id="cart-icon-bubble">Cart <div class="cart-count-bubble"><span>2</span></div></a></body></html>'
    shop = page_server({"/": page})
    for count, said in ((".cart-count-bubble span", "cart: count 2; lines not read"),
                        (".cart-cont-bubble span", "cart: #cart-icon-bubble found, but its count "
                                                   "('.cart-cont-bubble span') reads no number: says nothing")):
        (tmp_path / "rules.yaml").write_text(f'capture:\n  cart: {{within: "#cart-icon-bubble", count: "{count}"}}\n')
        assert main(["rules", "check", str(tmp_path / "rules.yaml"), "--url", shop.url + "/"]) == 0
        out = capsys.readouterr().out
        assert said in out and "cart: empty" not in out


def test_check_with_url_shows_the_keys_a_slot_reads_from_its_items(
    capsys: pytest.CaptureFixture[str], page_server: Any, tmp_path: Path
) -> None:
    """A typo'd ``key`` finds the element but no keys: the slot would never change anything, silently."""
    page = (b'<html><body><fieldset class="sizes"><input type="radio" name="Size" value="S"><input type="radio" name="Size"'
            b' value="M"></fieldset><ul class="tiles"><li><a href="/collections/knitwear">Knitwear</a></li>'
            b'<li><a href="/collections/outerwear">Outerwear</a></li></ul></body></html>')
    shop = page_server({"/": page})
    slots = """
catalog: {category_pages: "/collections/{category}"}
slots:
  - {id: size, pages: "/", selector: fieldset.sizes, action: select-option, items: "input[type=radio]", key: "@KEY",
     value: "'M'"}
  - {id: tiles, pages: "/", selector: ul.tiles, action: reorder, key: "a @HREF", order: "['outerwear']"}
"""
    for attr, href, said in (("value", "href", ["choices (input[type=radio]): 'S', 'M'", "children: 'knitwear', 'outerwear'"]),
                             ("valeu", "hrf", ["choices (input[type=radio]): none, none <- key reads nothing",
                                               "children: none, none <- key reads nothing"])):
        (tmp_path / "rules.yaml").write_text(slots.replace("KEY", attr).replace("HREF", href))
        assert main(["rules", "check", str(tmp_path / "rules.yaml"), "--url", shop.url + "/"]) == 0
        out = capsys.readouterr().out
        assert all(f"item keys of its {s}" in out for s in said), out


def test_check_with_url_warns_of_a_value_slot_on_an_element_with_nothing_to_set(
    capsys: pytest.CaptureFixture[str], page_server: Any, tmp_path: Path
) -> None:
    """A set-value on the wrapper of a field, or a select-option on an element with no choice in it: behind
    the proxy and in tag-only mode alike the variant sets nothing (it is only marked and counted), and
    ``rules check --url`` showed the selector's hit as if all were well."""
    page = (b'<html><body><div class="qty" id="q"><input name="quantity" value="1"></div>'
            b'<textarea class="note"></textarea><select class="colour"></select>'
            b'<fieldset class="sizes"><input type="radio" name="size" value="S"></fieldset>'
            b'<ul class="swatches"><li>Red</li></ul></body></html>')
    shop = page_server({"/": page})
    (tmp_path / "rules.yaml").write_text("""
slots:
  - {id: qty, pages: "/", selector: div.qty, action: set-value, value: "'2'"}
  - {id: note, pages: "/", selector: textarea.note, action: set-value, value: "'hi'"}
  - {id: qty-field, pages: "/", selector: div.qty input, action: set-value, value: "'2'"}
  - {id: colour, pages: "/", selector: select.colour, action: select-option, value: "'red'"}
  - {id: sizes, pages: "/", selector: fieldset.sizes, action: select-option, value: "'S'"}
  - {id: sizes-typo, pages: "/", selector: fieldset.sizes, action: select-option, items: "input[type=radoi]", value: "'S'"}
  - {id: sizes-ok, pages: "/", selector: fieldset.sizes, action: select-option, items: "input[type=radio]", value: "'S'"}
  - {id: swatches, pages: "/", selector: ul.swatches, action: select-option, items: li, value: "'Red'"}
  - {id: either, pages: "/", selector: "#q, #q input", action: set-value, value: "'2'"}
  - {id: size-radio, pages: "/", selector: "fieldset.sizes input", action: set-value, value: "'M'"}
""")
    assert main(["rules", "check", str(tmp_path / "rules.yaml"), "--url", shop.url + "/"]) == 0
    out = capsys.readouterr().out
    tail = ": nothing is set there, its variants are only marked and counted"
    for said in (
        "WARNING: slot 'qty' (set-value): 'div.qty' matches <div id=\"q\" class=\"qty\">, not a form field (input, "
        "textarea or select)" + tail + "; select the field itself, e.g. 'div.qty input'",
        "WARNING: slot 'colour' (select-option): 'select.colour' matches <select class=\"colour\">, with nothing to "
        "choose (a <select> with no option)" + tail,
        "WARNING: slot 'sizes' (select-option): 'fieldset.sizes' matches <fieldset class=\"sizes\">, with nothing to "
        "choose (not a <select>, and no items say what its choices are)" + tail + "; say them with items",
        "WARNING: slot 'sizes-typo' (select-option): 'fieldset.sizes' matches <fieldset class=\"sizes\">, with "
        "nothing to choose (items 'input[type=radoi]' find none in it)" + tail,
        "WARNING: slot 'size-radio' (set-value): 'fieldset.sizes input' matches <input type=\"radio\" name=\"size\">, "
        "an <input type=radio>, whose value is the choice it stands for: setting it would change what the form sends, "
        "not which one is checked" + tail + '; choose among them with select-option on their container and items, '
        'e.g. items: "input[type=radio]"',
    ):
        assert said in out, out
    assert "'#q, #q input' matches 2 elements, 1 of them like <div id=\"q\" class=\"qty\">, not a form" in out
    assert out.count("WARNING") == 6, out  # a textarea, a text input, radios (chosen) and an <li> are something to set
    assert "item keys of its choices (input[type=radio]): 'S'" in out and "item keys of its choices (li): 'Red'" in out


def test_check_with_url_shows_every_fact_and_capture_source_of_a_store_it_never_saw(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The fixture store (no data-* hooks, no JSON-LD): what the rules read from its live pages, with a basket."""
    import sys

    import httpx
    from selectolax.lexbor import LexborHTMLParser

    sys.path.insert(0, str(Path(__file__).parents[1] / "fixture_store"))
    from outdoor_shop import OutdoorShop

    rules = str(Path(__file__).parents[1] / "fixture_store" / "rules" / "fjell.yaml")
    with OutdoorShop() as shop, httpx.Client(base_url=shop.url) as browser:
        form = LexborHTMLParser(browser.get("/shop/product/1005-ridge-runner/").text)
        token = form.css_first("input[name=token]").attributes["value"]
        browser.post("/basket/add/", data={"token": token, "product": "1005", "variant": "2011", "quantity": "2"})
        session = browser.cookies["fjell_sid"]
        assert main(["rules", "check", rules, "--url", shop.url + "/shop/product/1006-scree-grip/",
                     "--cookie", f"fjell_sid={session}", "--header", "Accept-Language: de"]) == 0
    out = capsys.readouterr().out
    assert "page type product, category 'trail-shoes'" in out
    assert "product '1006': 'Scree Grip', price 139.00 EUR, in stock" in out
    assert "url 'http" in out and "/shop/product/1006-scree-grip/'" in out and "/static/img/1006.svg'" in out
    assert "in stock: 40, 41, 42, 43, 44;" not in out and "in stock: 40, 41, 42, 43, 44" in out  # 45 is sold out
    assert "cart: count 2; 1 line: 1005 size 42 ×2" in out  # the basket the cookie names
    assert "size-prefill: page matches; 1 element matches 'select#variant'" in out
    assert "(fields: product, quantity, token, variant); recorded when response.location == '/basket/'" in out
    assert "purchase from a page): page does not match" in out


@pytest.mark.parametrize("args, message", [
    (["--cookie", "basket"], "slotwise rules check: --cookie 'basket': expected NAME=VALUE"),
    (["--cookie", "a=1", "--header", "X-Test"], "slotwise rules check: --header 'X-Test': expected 'NAME: VALUE'"),
    ([], "slotwise rules check: --url 'shop.test/p/101' is not an http(s) URL"),
])
def test_check_names_the_option_that_is_wrong(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    """One message for any bad --cookie or --header ("--cookie takes NAME=VALUE, --header takes ...")
    did not say which of several was wrong."""
    url = "http://shop.test/p/101" if args else "shop.test/p/101"
    status = main(["rules", "check", str(EXAMPLES / "demo.yaml"), "--url", url, *args])
    assert status == 2
    assert capsys.readouterr().err.strip() == message
