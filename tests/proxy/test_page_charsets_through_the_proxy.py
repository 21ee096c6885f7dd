"""Through the proxy: a windows-1252 store (its charset in the Content-Type) and a Shift_JIS one (its charset
in ``<meta charset>`` only) are read in their own charset.

A real store (``page_server`` on 127.0.0.1) serves two product pages whose name and category come from
JSON-LD and from the rules' selectors (an element's text, a ``data-category`` attribute). The visitor's
profile and the catalog get the names and category keys the pages show ("Café Crème", "küche",
"抹茶セット", "台所用品"), not U+FFFD or "k-che"; the names go back into each page, in a template and in a
recommendation card, written in that page's own charset.
"""

from __future__ import annotations

import html as html_lib
import json
import time
from pathlib import Path
from typing import Any

import httpx
from page_server import Page

from agents import DESKTOP_UA
from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.tag.testing import sync

RULES = """
holdout: 0
catalog:
  product_pages: "/p/{product}"
  selectors:
    name: "main h1"
    category: "main @data-category"
slots:
  - id: named
    pages: "/p/*"
    selector: "div.named"
    action: replace
    variants:
      - id: named
        html: "<div class=named>NAME[{{ page.product.name }}] CATEGORY[{{ page.category }}]</div>"
  - id: recent
    pages: "/p/*"
    selector: "section.related"
    action: append
    variants:
      - id: recent
        recommend: {strategy: recently_viewed, limit: 4}
        html: "{% for p in recommendations %}<h3 class=card>{{ p.name }}</h3>{% endfor %}"
"""


def product_page(label: str, ld: dict[str, Any], main: str) -> str:
    node = {"@context": "https://schema.org", "@type": "Product",
            "offers": {"@type": "Offer", "price": "4.50", "priceCurrency": "EUR"}, **ld}
    return (f'<!doctype html><html><head><meta charset="{label}"><title>shop</title>'
            f'<script type="application/ld+json">{json.dumps(node, ensure_ascii=False)}</script></head>'
            f'<body>{main}<div class="named"></div><section class="related"></section></body></html>')


# windows-1252: the name from JSON-LD, the category from a data attribute (Lexbor)
CAFE = product_page("windows-1252", {"name": "Café Crème", "sku": "cafe"},
                    '<main data-category="küche"><h1>Café Crème</h1></main>')
# Shift_JIS: the category from JSON-LD, the name from the selector's element (Lexbor)
MATCHA = product_page("shift_jis", {"sku": "matcha", "category": "台所用品"},
                      "<main><h1>抹茶セット</h1></main>")


def test_pages_in_windows_1252_and_shift_jis_are_read_and_written_in_their_charsets(
    tmp_path: Path, page_server: Any, asgi_server: Any
) -> None:
    shop = page_server({
        "/p/cafe": Page(CAFE.encode("cp1252"), 200, (("content-type", "text/html; charset=windows-1252"),)),
        "/p/matcha": Page(MATCHA.encode("shift_jis"), 200, (("content-type", "text/html"),)),  # <meta charset> only
    })
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    settings = Settings(upstream=shop.url, rules=str(tmp_path / "rules.yaml"), data=str(tmp_path / "edge"),
                        personalize_budget_ms=5000)
    personalizer = SlotwisePersonalizer(settings)
    edge = asgi_server(create_app(settings, personalizer))
    with httpx.Client(base_url=edge.url, headers={"user-agent": DESKTOP_UA}, timeout=10, trust_env=False) as client:
        matcha = client.get("/p/matcha")
        visitor = client.cookies["sw_vid"].split(".")[0]
        known(personalizer, ["matcha"])  # the view is written soon after the page: the next one recommends it
        cafe = client.get("/p/cafe")
        known(personalizer, ["matcha", "cafe"])
        matcha_again = client.get("/p/matcha")
    assert personalizer.readings.misses == 2  # each page read (and transcoded) once, then kept

    text = matcha.content.decode("shift_jis")  # strict: the page is still Shift_JIS
    assert "NAME[抹茶セット] CATEGORY[台所用品]" in text
    text = cafe.content.decode("cp1252")
    assert "NAME[Café Crème] CATEGORY[küche]" in text
    assert "&#25273;&#33590;" in text and 'data-sw-slot="recent">抹茶セット</h3>' in html_lib.unescape(text)  # what windows-1252 lacks: character references  # what windows-1252 lacks: character references
    assert 'data-sw-slot="recent">Café Crème</h3>' in html_lib.unescape(matcha_again.content.decode("shift_jis"))

    products = sync(personalizer.store.get_products(["cafe", "matcha"]))
    assert (products["cafe"]["name"], products["cafe"]["category"]) == ("Café Crème", "küche")
    assert (products["matcha"]["name"], products["matcha"]["category"]) == ("抹茶セット", "台所用品")
    profile = sync(personalizer.store.get_profile(visitor))
    assert profile is not None and set(profile.categories) == {"küche", "台所用品"}
    assert {pid: p["category"] for pid, p in profile.products.items()} == {"cafe": "küche", "matcha": "台所用品"}


def known(personalizer: SlotwisePersonalizer, ids: list[str]) -> None:
    """Waits (up to 3 s) until the catalog has these products: the store's writer records a view soon after."""
    deadline = time.monotonic() + 3.0
    while set(sync(personalizer.store.get_products(ids))) != set(ids) and time.monotonic() < deadline:
        time.sleep(0.05)


CONFIRM_RULES = """
catalog: {product_pages: "/p/{product}"}
capture:
  events:
    - id: newsletter
      event: newsletter
      request: {method: GET, path: "/subscribe"}
      fields: {email: query.email}
      success: response.status == 303
      confirm: {present: 'p.flash[data-message="Danke schön"]'}
slots: []
"""


def test_a_confirmation_is_found_on_a_windows_1252_page(tmp_path: Path, page_server: Any, asgi_server: Any) -> None:
    """The next page's confirming element, named by its text in the page's charset: the held event counts."""
    done = '<html><body><p class="flash" data-message="Danke schön">Danke schön!</p></body></html>'.encode("cp1252")
    shop = page_server({
        "/subscribe?email=ada%40example.com": Page(b"", 303, (("location", "/done"),)),
        "/done": Page(done, 200, (("content-type", "text/html; charset=iso-8859-1"),)),
    })
    (tmp_path / "rules.yaml").write_text(CONFIRM_RULES, encoding="utf-8")
    settings = Settings(upstream=shop.url, rules=str(tmp_path / "rules.yaml"), data=str(tmp_path / "edge"),
                        personalize_budget_ms=5000)
    personalizer = SlotwisePersonalizer(settings)
    edge = asgi_server(create_app(settings, personalizer))
    with httpx.Client(base_url=edge.url, headers={"user-agent": DESKTOP_UA}, timeout=10, trust_env=False) as client:
        assert client.get("/done").status_code == 200  # the visitor's id
        assert client.get("/subscribe", params={"email": "ada@example.com"}).status_code == 303
        assert client.get("/done").status_code == 200
        visitor = client.cookies["sw_vid"].split(".")[0]
    deadline = time.monotonic() + 3.0
    while True:
        events = [r for r in sync(personalizer.store.read_log(0, 1000))
                  if r.kind == "event" and r.visitor == visitor and r.key.startswith("req:newsletter:")]
        if events or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(events) == 1 and sync(personalizer.store.get_profile(visitor)).subscribed
