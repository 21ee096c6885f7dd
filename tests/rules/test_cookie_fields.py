"""Cookie fields (``{cookie: NAME, match}``): what they compile to, the page's cookies they read behind the proxy
(the request's, overlaid by the response's ``Set-Cookie``), what ``rules check`` says of them, and the tag that
carries the cookie reader only when a field needs one. Bad ones: tests/rules/broken/bad-cookie-fields.yaml."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from page_server import Page

from slotwise.cli import main
from slotwise.rules.cookies import cookie_value, page_cookies
from slotwise.rules.extract import Field, Group
from slotwise.rules.reading import cookie_values, read_html, with_cookies
from slotwise.rules.tag_config import tag_config
from slotwise.rules.testing import rules_from_text
from slotwise.tag import assets

RULES = """
    catalog:
      product_pages: "/p/{product}"
      page_currency: {cookie: cart_currency}
      selectors:
        currency: {cookie: "wmc_current_currency*"}
    capture:
      events:
        - event: store_chosen
          page: "/**"
          fields:
            store: {cookie: store_pref, match: "id=(\\\\w+)"}
    slots: []
"""


def test_cookie_fields_compile_with_their_match(tmp_path: Path) -> None:
    rules = rules_from_text(tmp_path, RULES)
    assert rules.catalog.page_currency == Field(cookie="cart_currency")
    assert [re.search(r"WARNING: cookie field '([^']+)'", str(w)).group(1) for w in rules.cookie_warnings] == [  # type: ignore[union-attr]
        "cart_currency", "wmc_current_currency*", "store_pref"]  # in file order
    assert [(w.line, w.column) for w in rules.cookie_warnings] == [(4, 18), (6, 15), (12, 16)]
    assert Field(cookie="cart_currency").to_json() == {"k": "cart_currency"}


@pytest.mark.parametrize(("request_cookie", "set_cookies", "jar"), [
    ("cart_currency=EUR; sw_vid=abc.def", [], {"cart_currency": "EUR"}),
    ("cart_currency=EUR", ["cart_currency=GBP; Path=/; SameSite=Lax"], {"cart_currency": "GBP"}),
    ("cart_currency=EUR", ["cart_currency=; Max-Age=0"], {}),
    ("cart_currency=EUR", ["cart_currency=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT"], {}),
    ("cart_currency=EUR", ["cart_currency=GBP; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60"], {"cart_currency": "GBP"}),
    ('a="quoted"; junk; =x; b', ["sw_preview=t; HttpOnly", "mine=1"], {"a": "quoted", "mine": "1"}),
], ids=["request", "set-cookie-newest", "max-age-deletes", "expires-deletes", "max-age-wins", "junk-and-own"])
def test_the_page_s_cookies_are_the_request_s_overlaid_by_the_response_s(
        request_cookie: str, set_cookies: list[str], jar: dict[str, str]) -> None:
    got = page_cookies([("cookie", request_cookie)], [("Set-Cookie", c) for c in set_cookies], own="mine")
    assert got == {k: v for k, v in jar.items() if k != "mine"}


def test_values_are_url_decoded_and_a_last_star_is_a_name_prefix() -> None:
    jar = page_cookies([("cookie", "OptanonConsent=isGpcEnabled=0&groups=C0001%3A1%2CC0002%3A0; "
                                   "wordpress_logged_in_5f3a=ana%7C1767225600%7Ctoken")])
    assert cookie_value("OptanonConsent", jar) == "isGpcEnabled=0&groups=C0001:1,C0002:0"
    assert cookie_value("wordpress_logged_in_*", jar) == "ana|1767225600|token"
    assert cookie_value("wordpress_logged_in_", jar) is None and cookie_value("cart_currency", jar) is None


def test_a_reading_takes_its_cookie_fields_from_the_page_s_cookies_never_from_the_html(tmp_path: Path) -> None:
    rules = rules_from_text(tmp_path, RULES)
    groups = {**rules.catalog.page_groups("product"), **rules.capture.page_groups("/p/coat")}  # product, events
    html = b'<html><body><p cookie="cart_currency">USD</p></body></html>'
    reading = read_html(html, rules.catalog, groups)
    assert reading.group("page_currency")["fields"] == {"currency": None}
    jar = page_cookies([("cookie", "cart_currency=GBP; wmc_current_currency_x=USD; store_pref=id%3Dparis%26v%3D2")])
    filled = with_cookies(reading, groups, cookie_values(groups, jar))
    assert filled.group("page_currency")["fields"] == {"currency": "GBP"}
    assert filled.group("product")["fields"]["currency"] == "USD"
    assert [g["fields"] for n, g in filled.groups.items() if n.startswith("ev:")] == [{"store": "paris"}]
    assert reading.group("page_currency")["fields"] == {"currency": None}  # the kept reading is not changed
    absent = Group(within="#minicart", fields={"currency": Field(cookie="cart_currency")})
    empty = read_html(html, rules.catalog, {"mini": absent})
    assert with_cookies(empty, {"mini": absent}, cookie_values({"mini": absent}, jar)).group("mini")["present"] is False


def test_the_tag_reads_cookies_only_when_a_field_does(tmp_path: Path) -> None:
    """The cookie reader is in the tag-only tag when any field reads a cookie; in the tag the proxy injects only
    when a click or submit trigger's does (the proxy reads the page's own fields from the request)."""
    page_only = rules_from_text(tmp_path, RULES)
    trigger = rules_from_text(tmp_path, """
        capture:
          events:
            - event: add_to_cart
              click: "button.quick-add"
              fields: {product: "@data-sku", size: {cookie: last_size}}
        slots: []
    """, name="trigger.yaml")
    plain = rules_from_text(tmp_path, "slots: []\n", name="plain.yaml")

    def reads(rules: Any, tag_only: bool, variant: str) -> bool:
        return "function cookie(" in assets.bundle(tag_config(rules, tag_only=tag_only), variant).source.decode()

    assert [reads(page_only, True, "full"), reads(page_only, False, "proxy")] == [True, False]
    assert [reads(trigger, True, "full"), reads(trigger, False, "proxy")] == [True, True]
    assert [reads(plain, True, "full"), reads(plain, False, "proxy")] == [False, False]
    for variant, budget in (("full", 10 * 1024), ("proxy", 6.25 * 1024)):  # tests/tag/test_assets.py's budgets
        assert len(assets.bundle({"v": 1, "cookies": 1}, variant).compressed) < budget
        reader = (len(assets.bundle({"v": 1, "cookies": 1}, variant).compressed)
                  - len(assets.bundle({"v": 1, "cookies": 0}, variant).compressed))
        assert 0 < reader < 200, f"the cookie reader takes {reader} bytes gzipped"


def test_rules_check_warns_of_httponly_and_reads_the_cookie_it_is_given(
        tmp_path: Path, page_server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    shop = page_server({"/c/all": Page(b"<html><body><h1>All</h1></body></html>")})
    path = tmp_path / "rules.yaml"
    path.write_text('catalog:\n  currency: EUR\n  page_currency: {cookie: cart_currency}\nslots: []\n', encoding="utf-8")
    assert main(["rules", "check", str(path), "--url", shop.url + "/c/all", "--cookie", "cart_currency=GBP"]) == 0
    assert main(["rules", "check", str(path), "--url", shop.url + "/c/all"]) == 0
    out = capsys.readouterr().out
    assert (f"{path}:3:18: WARNING: cookie field 'cart_currency': in tag-only mode the tag reads document.cookie, "
            "which never shows an HttpOnly cookie: if the store sets it HttpOnly, the field reads nothing there. "
            "Behind the proxy it is read from the request as ever") in out
    assert "  currency GBP (catalog.page_currency)" in out
    assert "  currency EUR: catalog.page_currency reads none here" in out
