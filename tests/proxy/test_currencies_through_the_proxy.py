"""Through the proxy: a store that sells in several currencies from one catalog (Shopify Markets).

A real store (``PageServer`` on 127.0.0.1) serves the same product page in EUR and, with ``?currency=GBP``
(the store's currency selector), in GBP. A visitor sees a coat in EUR and leaves it in the cart; another
visitor sees it in GBP. Back the next day, the first visitor's recommendation card shows the coat's EUR
price and the waiting cart no "price dropped": a price in one currency is never shown, nor compared, as
another's. A product the catalog knows in no price of the page's currency shows none, never a wrong one.
A page with no price of its own (a category page) says its currency where the rules' ``catalog.page_currency``
reads it (Shopify's localization form), behind the proxy and in tag-only ``/decide`` alike.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from agents import DESKTOP_UA
from page_server import Page

from slotwise.cli import main
from slotwise.profile import add_to_cart
from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.tag.testing import sync

RULES = """
holdout: 0
catalog:
  product_pages: "/p/{product}"
  currency: EUR
slots:
  - id: recent
    pages: "/p/*"
    selector: "section.related"
    action: append
    variants:
      - id: recent
        recommend: {strategy: recently_viewed, limit: 4}
        html: "{% for p in recommendations %}<i class=card data-id={{ p.id }}>[{{ p.price | money(p.currency) }}]</i>{% endfor %}"
  - id: waits
    pages: "/p/*"
    selector: "div.waits"
    action: append
    when: visitor.waiting_cart
    variants:
      - id: list
        html: >-
          {% for i in visitor.waiting_cart %}<b class=line data-id={{ i.product }}
          data-dropped={{ i.price_dropped }}>[{{ i.price | money(i.currency) }}]</b>{% endfor %}
"""


def product_page(sku: str, name: str, price: str, currency: str) -> bytes:
    node = {"@context": "https://schema.org", "@type": "Product", "sku": sku, "name": name,
            "offers": {"@type": "Offer", "price": price, "priceCurrency": currency,
                       "availability": "https://schema.org/InStock"}}
    return (f'<!doctype html><html><head><title>{name}</title>'
            f'<script type="application/ld+json">{json.dumps(node)}</script></head>'
            f'<body><h1>{name}</h1>{selector(currency)}<div class="waits"></div>'
            '<section class="related"></section></body></html>').encode()


def selector(currency: str) -> str:
    """Shopify's currency selector: the currency the page shows, in its localization form."""
    return (f'<form action="/localization" method="post"><input type="hidden" name="currency_code" '
            f'value="{currency}"></form>')


def category_page(currency: str) -> bytes:
    return (f'<!doctype html><html><head><title>All</title></head><body><h1>All</h1>{selector(currency)}'
            '<section class="related"></section></body></html>').encode()


PAGES = {
    "/p/coat": Page(product_page("coat", "Coat", "100.00", "EUR")),
    "/p/coat?currency=GBP": Page(product_page("coat", "Coat", "85.00", "GBP")),
    "/p/boot": Page(product_page("boot", "Boot", "60.00", "EUR")),
    "/p/boot?currency=GBP": Page(product_page("boot", "Boot", "51.00", "GBP")),
    "/p/scarf": Page(product_page("scarf", "Scarf", "20.00", "EUR")),
    "/p/scarf?currency=GBP": Page(product_page("scarf", "Scarf", "17.00", "GBP")),
    "/p/hat?currency=GBP": Page(product_page("hat", "Hat", "12.00", "GBP")),
    "/c/all": Page(category_page("EUR")),
    "/c/all?currency=GBP": Page(category_page("GBP")),
}
DAY = 86_400.0


def until(check: Any, timeout: float = 5.0) -> Any:
    """``check()`` once it is truthy (the store's writer writes views and catalog rows soon after a page)."""
    deadline = time.monotonic() + timeout
    while not (found := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def _edge(tmp_path: Path, shop: Any, rules: str, asgi_server: Any) -> tuple[Any, Any]:
    """Slotwise in front of ``shop`` with ``rules``, served on 127.0.0.1: (the server, its store)."""
    (tmp_path / "rules.yaml").write_text(rules, encoding="utf-8")
    settings = Settings(upstream=shop.url, rules=str(tmp_path / "rules.yaml"), data=str(tmp_path / "edge"),
                        personalize_budget_ms=5000)
    personalizer = SlotwisePersonalizer(settings)
    return asgi_server(create_app(settings, personalizer)), personalizer.store


def _boot_seen_in_both(client: httpx.Client, store: Any) -> None:
    """The boot's page seen in EUR, then in GBP: its row holds both prices."""
    client.get("/p/boot")
    assert until(lambda: (sync(store.get_products(["boot"])).get("boot") or {}).get("price") == 60.0)
    client.get("/p/boot?currency=GBP")
    assert until(lambda: "GBP" in json.dumps(sync(store.get_products(["boot"]))))


def test_a_price_seen_in_another_currency_is_neither_shown_nor_compared(
    tmp_path: Path, page_server: Any, asgi_server: Any
) -> None:
    shop = page_server(PAGES)
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    settings = Settings(upstream=shop.url, rules=str(tmp_path / "rules.yaml"), data=str(tmp_path / "edge"),
                        personalize_budget_ms=5000)
    now = [time.time() - 2 * DAY]
    personalizer = SlotwisePersonalizer(settings, clock=lambda: now[0])
    edge = asgi_server(create_app(settings, personalizer))
    store = personalizer.store

    def row(pid: str) -> dict[str, Any]:
        return sync(store.get_products([pid])).get(pid) or {}

    with (httpx.Client(base_url=edge.url, headers={"user-agent": DESKTOP_UA}, timeout=10, trust_env=False) as euro,
          httpx.Client(base_url=edge.url, headers={"user-agent": DESKTOP_UA}, timeout=10, trust_env=False) as pound):
        assert euro.get("/p/boot").status_code == 200  # two days ago, in EUR
        assert euro.get("/p/coat").status_code == 200  # in EUR: into the cart at 100.00
        visitor = euro.cookies["sw_vid"].split(".")[0]
        assert until(lambda: row("coat").get("price") == 100.0)
        sync(store.update_profile(visitor, lambda p: add_to_cart(p, {"product": "coat", "qty": 1, "price": 100.0,
                                                                      "added": now[0]}), now[0]))
        now[0] += 60
        assert pound.get("/p/coat?currency=GBP").status_code == 200  # another visitor, in GBP
        assert pound.get("/p/boot?currency=GBP").status_code == 200
        assert pound.get("/p/hat?currency=GBP").status_code == 200  # a product only ever seen in GBP
        assert until(lambda: all("GBP" in json.dumps(row(p)) for p in ("coat", "boot", "hat")))
        euro.get("/p/hat?currency=GBP")  # the EUR visitor glimpses the GBP page: the hat is among their views
        until(lambda: (p := sync(store.get_profile(visitor))) is not None and "hat" in p.products)
        now[0] += 2 * DAY
        page = euro.get("/p/scarf")  # back in EUR, the next visit
        gbp_page = euro.get("/p/scarf?currency=GBP")  # the same visitor switches to GBP

    assert page.status_code == 200 and gbp_page.status_code == 200
    # the boot's EUR price, not the GBP one seen since; the hat has no EUR price: none, rather than £12.00
    assert shown(page.text, "card") == {"boot": "€60.00", "hat": ""}
    assert shown(page.text, "line") == {"coat": "€100.00"} and "data-dropped=False" in page.text
    # the same visitor in GBP: the GBP prices, and 85.00 GBP is no drop from 100.00 EUR
    assert shown(gbp_page.text, "card") == {"boot": "£51.00", "hat": "£12.00"}
    assert shown(gbp_page.text, "line") == {"coat": "£85.00"} and "data-dropped=False" in gbp_page.text
    coat = row("coat")
    assert (coat["price"], coat["currency"]) == (100.0, "EUR")  # the row's own price stays the default currency's


def shown(html: str, kind: str) -> dict[str, str]:
    """Product id → the price text a slot's ``kind`` elements show."""
    return dict(re.findall(rf"<\w+ class={kind} data-id=(\w+)[^>]*>\[([^\]]*)\]", html))


PAGE_CURRENCY_RULES = """
holdout: 0
catalog:
  product_pages: "/p/{product}"
  category_pages: "/c/{category}"
  currency: EUR
  page_currency: "form[action='/localization'] [name=currency_code] @value"
slots:
  - id: recent
    pages: ["/c/*", "/p/*"]
    selector: "section.related"
    action: append
    variants:
      - id: recent
        recommend: {strategy: recently_viewed, limit: 4}
        html: "{% for p in recommendations %}<i class=card data-id={{ p.id }}>[{{ p.price | money(p.currency) }}]</i>{% endfor %}"
"""


def test_a_page_without_prices_says_its_currency_where_the_rules_read_it(
    tmp_path: Path, page_server: Any, asgi_server: Any
) -> None:
    shop = page_server(PAGES)
    edge, store = _edge(tmp_path, shop, PAGE_CURRENCY_RULES, asgi_server)
    with httpx.Client(base_url=edge.url, headers={"user-agent": DESKTOP_UA}, timeout=10, trust_env=False) as client:
        _boot_seen_in_both(client, store)
        euros, pounds = client.get("/c/all"), client.get("/c/all?currency=GBP")
        # tag-only: the early /decide knows no currency (only the page says it), so the tag is asked for its extract
        asked = client.get("/_sw/decide", params={"url": f"{edge.url}/c/all?currency=GBP"})
        decided = [client.post("/_sw/decide", json={"url": f"{edge.url}/c/all?currency=GBP", "extract": {
            "doc": "", "values": {"page_currency": {"present": True, "fields": {"currency": code}}}}})
            for code in ("GBP", "EUR")]
    assert shown(euros.text, "card") == {"boot": "€60.00"}
    assert shown(pounds.text, "card") == {"boot": "£51.00"}
    assert asked.status_code == 200 and (asked.json()["decisions"], asked.json()["complete"]) == ([], False)
    assert [shown(d.json()["decisions"][0]["html"], "card") for d in decided] == [{"boot": "£51.00"}, {"boot": "€60.00"}]


def test_rules_check_says_the_currency_a_page_shows(tmp_path: Path, page_server: Any,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    shop = page_server({**PAGES, "/c/plain": Page(b"<html><body><h1>No selector</h1></body></html>")})
    (tmp_path / "rules.yaml").write_text(PAGE_CURRENCY_RULES, encoding="utf-8")
    for path in ("/c/all?currency=GBP", "/c/plain"):
        assert main(["rules", "check", str(tmp_path / "rules.yaml"), "--url", shop.url + path]) == 0
    out = capsys.readouterr().out
    assert "  currency GBP (catalog.page_currency)" in out
    assert "  currency EUR: catalog.page_currency reads none here, the product's or catalog.currency instead" in out


MARKETS_RULES = """
holdout: 0
catalog:
  product_pages: ["/{locale}/products/{product}", "/products/{product}"]
  currency: EUR
slots:
  - id: recent
    pages: "/**"
    selector: "section.related"
    action: append
    variants:
      - id: recent
        recommend: {strategy: recently_viewed, limit: 4}
        html: "{% for p in recommendations %}<a class=card data-id={{ p.id }} href='{{ p.url }}'>[{{ p.price | money(p.currency) }}]</a>{% endfor %}"
"""


def test_cards_link_within_the_visitors_locale_prefix(tmp_path: Path, page_server: Any, asgi_server: Any) -> None:
    """Shopify Markets: the default market at ``/products/…`` in EUR, the UK's at ``/en-gb/products/…`` in GBP.
    The catalog row keeps the link of the page that taught it last; each card links within the page's market."""
    shop = page_server({
        "/products/boot": Page(product_page("boot", "Boot", "60.00", "EUR")),
        "/en-gb/products/boot": Page(product_page("boot", "Boot", "51.00", "GBP")),
        "/products/scarf": Page(product_page("scarf", "Scarf", "20.00", "EUR")),
        "/en-gb/products/scarf": Page(product_page("scarf", "Scarf", "17.00", "GBP")),
    })
    edge, store = _edge(tmp_path, shop, MARKETS_RULES, asgi_server)
    with httpx.Client(base_url=edge.url, headers={"user-agent": DESKTOP_UA}, timeout=10, trust_env=False) as client:
        client.get("/products/boot")
        assert until(lambda: (sync(store.get_products(["boot"])).get("boot") or {}).get("price") == 60.0)
        client.get("/en-gb/products/boot")  # the row's link is now the UK market's
        assert until(lambda: (sync(store.get_products(["boot"])).get("boot") or {}).get("url") == "/en-gb/products/boot")
        home, uk = client.get("/products/scarf"), client.get("/en-gb/products/scarf")
    assert re.findall(r"<a class=card data-id=boot href='([^']*)'[^>]*>\[([^\]]*)\]", home.text) == [("/products/boot", "€60.00")]
    assert re.findall(r"<a class=card data-id=boot href='([^']*)'[^>]*>\[([^\]]*)\]", uk.text) == [
        ("/en-gb/products/boot", "£51.00")]


COOKIE_CURRENCY_RULES = PAGE_CURRENCY_RULES.replace(
    """page_currency: "form[action='/localization'] [name=currency_code] @value\"""",
    "page_currency: {cookie: cart_currency}")
ALL = b"<!doctype html><html><body><h1>All</h1><section class=related></section></body></html>"


def test_a_page_in_the_currency_its_cookie_names(tmp_path: Path, page_server: Any, asgi_server: Any) -> None:
    """Shopify keeps the visitor's currency in the ``cart_currency`` cookie alone: the same category page's bytes
    (no selector, no price of its own) show the cookie's currency's prices. A response that sets the cookie (the
    store's currency switch) is already in its new value, one that expires it in the catalog's currency."""
    shop = page_server({
        **PAGES, "/c/all": Page(ALL),
        "/c/switch": Page(ALL, headers=(("content-type", "text/html"), ("set-cookie", "cart_currency=GBP; Path=/"))),
        "/c/reset": Page(ALL, headers=(("content-type", "text/html"),
                                       ("set-cookie", "cart_currency=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT"))),
    })
    edge, store = _edge(tmp_path, shop, COOKIE_CURRENCY_RULES, asgi_server)
    with httpx.Client(base_url=edge.url, headers={"user-agent": DESKTOP_UA}, timeout=10, trust_env=False) as client:
        _boot_seen_in_both(client, store)
        shown_in = {}
        for cookie in (None, "GBP", "EUR", "GBP"):  # the same page, read once: each view in its own cookie's
            client.cookies.delete("cart_currency")
            if cookie is not None:
                client.cookies.set("cart_currency", cookie)
            shown_in.setdefault(cookie, []).append(shown(client.get("/c/all").text, "card"))
        client.cookies.set("cart_currency", "EUR")
        switched = client.get("/c/switch")  # the store switches to GBP on this very response
        client.cookies.set("cart_currency", "GBP")
        reset = client.get("/c/reset")
    assert shown_in == {None: [{"boot": "€60.00"}], "GBP": [{"boot": "£51.00"}] * 2, "EUR": [{"boot": "€60.00"}]}
    assert shown(switched.text, "card") == {"boot": "£51.00"}
    assert shown(reset.text, "card") == {"boot": "€60.00"}


CART_RULES = """
holdout: 0
catalog:
  product_pages: "/p/{product}"
  currency: EUR
revenue: {currency: EUR, rates: {GBP: 1.2}}
capture:
  datalayer: true
slots:
  - id: waits
    pages: "/p/*"
    selector: "div.waits"
    action: append
    when: visitor.waiting_cart
    variants:
      - id: list
        html: >-
          <u id=value>{{ visitor.cart_value }}</u>{% for i in visitor.waiting_cart %}<b class=line data-id={{ i.product }}
          data-dropped={{ i.price_dropped }}>[{{ i.price | money(i.currency) }}]</b>{% endfor %}
"""


def _event(kind: str, props: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": uuid.uuid4().hex, "type": kind, "props": props}


def test_a_cart_line_keeps_the_currency_its_page_or_push_named(tmp_path: Path, page_server: Any, asgi_server: Any) -> None:
    """A GA4 ``add_to_cart`` in GBP (the push's ``currency``, or the page's the tag read): the line is a GBP
    price, kept as one. The next visit's waiting cart shows each page's currency's price, and ``cart_value``
    adds £80 + £15 at the rules' rate (not as 95 EUR). A line naming a currency nobody can read is refused
    with the reason, its neighbours kept."""
    shop = page_server(PAGES)
    (tmp_path / "rules.yaml").write_text(CART_RULES, encoding="utf-8")
    settings = Settings(upstream=shop.url, rules=str(tmp_path / "rules.yaml"), data=str(tmp_path / "edge"),
                        personalize_budget_ms=5000)
    now = [time.time() - 2 * DAY]
    personalizer = SlotwisePersonalizer(settings, clock=lambda: now[0])
    edge = asgi_server(create_app(settings, personalizer))
    store = personalizer.store
    with httpx.Client(base_url=edge.url, headers={"user-agent": DESKTOP_UA}, timeout=10, trust_env=False) as client:
        for path in ("/p/coat", "/p/coat?currency=GBP", "/p/scarf", "/p/scarf?currency=GBP"):
            client.get(path)
        assert until(lambda: json.dumps(sync(store.get_products(["coat", "scarf"]))).count("GBP") == 2)
        ga4 = {"event": "add_to_cart", "ecommerce": {"currency": "GBP", "items": [{"item_id": "coat", "price": 80}]}}
        bare = {"event": "add_to_cart", "ecommerce": {"items": [{"item_id": "scarf", "price": 15}]}}
        answer = client.post("/_sw/events", json={"events": [
            _event("capture", {"source": "datalayer", "push": ga4}),
            _event("capture", {"source": "datalayer", "push": bare, "currency": "£ GBP"}),  # the page's, as read
            _event("add_to_cart", {"product": "boot", "price": 50, "currency": "pounds"}),
        ]})
        assert answer.status_code == 207, answer.text  # some stored, one refused
        body = answer.json()
        assert body["stored"] == 2 and [(r["index"], r["field"]) for r in body["rejected"]] == [(2, "props.currency")]
        assert "not a currency: 'pounds'" in body["rejected"][0]["reason"]
        now[0] += 2 * DAY
        euros, pounds = client.get("/p/boot"), client.get("/p/boot?currency=GBP")
    visitor = client.cookies["sw_vid"].split(".")[0]
    cart = {line["product"]: (line["price"], line.get("currency")) for line in sync(store.get_profile(visitor)).cart}
    assert cart == {"coat": (80.0, "GBP"), "scarf": (15.0, "GBP")}
    assert shown(euros.text, "line") == {"coat": "€100.00", "scarf": "€20.00"} and "data-dropped=True" not in euros.text
    assert shown(pounds.text, "line") == {"coat": "£85.00", "scarf": "£17.00"} and "data-dropped=True" not in pounds.text
    assert re.search(r"<u id=value[^>]*>114.0</u>", euros.text)  # (80 + 15) × 1.2, not 95 "EUR"


MARKETS_JOURNEY_RULES = """
holdout: 0
catalog:
  product_pages: ["/{locale}/products/{product}", "/products/{product}"]
  currency: EUR
slots:
  - id: waits
    pages: "/**"
    selector: "section.related"
    action: append
    when: visitor.waiting_cart
    variants:
      - id: list
        html: "{% for i in visitor.waiting_cart %}<a class=line data-id={{ i.product }} href='{{ i.url }}'>[{{ i.price | money(i.currency) }}]</a>{% endfor %}"
"""


def test_journey_cards_link_within_the_visitors_locale_as_recommendation_cards_do(
        tmp_path: Path, page_server: Any, asgi_server: Any) -> None:
    """Shopify Markets, as above: a waiting cart's card is built as a recommendation card is, so it links within
    the page's market and shows its currency's price, whichever market's page taught the row its link last."""
    shop = page_server({
        "/products/boot": Page(product_page("boot", "Boot", "60.00", "EUR")),
        "/en-gb/products/boot": Page(product_page("boot", "Boot", "51.00", "GBP")),
        "/products/scarf": Page(product_page("scarf", "Scarf", "20.00", "EUR")),
        "/en-gb/products/scarf": Page(product_page("scarf", "Scarf", "17.00", "GBP")),
    })
    (tmp_path / "rules.yaml").write_text(MARKETS_JOURNEY_RULES, encoding="utf-8")
    settings = Settings(upstream=shop.url, rules=str(tmp_path / "rules.yaml"), data=str(tmp_path / "edge"),
                        personalize_budget_ms=5000)
    now = [time.time() - 2 * DAY]
    personalizer = SlotwisePersonalizer(settings, clock=lambda: now[0])
    edge = asgi_server(create_app(settings, personalizer))
    store = personalizer.store
    with httpx.Client(base_url=edge.url, headers={"user-agent": DESKTOP_UA}, timeout=10, trust_env=False) as client:
        client.get("/products/boot")
        assert until(lambda: (sync(store.get_products(["boot"])).get("boot") or {}).get("price") == 60.0)
        client.get("/en-gb/products/boot")  # the row's link is now the UK market's
        assert until(lambda: (sync(store.get_products(["boot"])).get("boot") or {}).get("url") == "/en-gb/products/boot")
        added = client.post("/_sw/events", json={"events": [_event("add_to_cart", {"product": "boot", "currency": "GBP"})]})
        assert added.status_code == 200, added.text
        now[0] += 2 * DAY
        home, uk = client.get("/products/scarf"), client.get("/en-gb/products/scarf")
    line = r"<a class=line data-id=boot href='([^']*)'[^>]*>\[([^\]]*)\]"
    assert re.findall(line, home.text) == [("/products/boot", "€60.00")]
    assert re.findall(line, uk.text) == [("/en-gb/products/boot", "£51.00")]


def test_a_product_first_seen_in_another_market_takes_the_stores_currency(
        tmp_path: Path, page_server: Any, asgi_server: Any) -> None:
    """The first crawl of the hat happened on the GBP market's page; once a page shows it in the rules'
    ``catalog.currency`` (EUR), the row's own price is the EUR one and the GBP one is kept under its currency."""
    shop = page_server({**PAGES, "/p/hat": Page(product_page("hat", "Hat", "14.00", "EUR"))})
    edge, store = _edge(tmp_path, shop, RULES, asgi_server)

    def hat() -> dict[str, Any]:
        return sync(store.get_products(["hat"])).get("hat") or {}

    with httpx.Client(base_url=edge.url, headers={"user-agent": DESKTOP_UA}, timeout=10, trust_env=False) as client:
        client.get("/p/hat?currency=GBP")
        assert until(lambda: hat().get("price") == 12.0)
        client.get("/p/hat")
        assert until(lambda: "prices" in hat())
    assert (hat()["price"], hat()["currency"], hat()["prices"]) == (14.0, "EUR", {"GBP": 12.0})
