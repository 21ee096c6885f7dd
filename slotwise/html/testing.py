"""Factories for tests and benchmarks: a realistic storefront page.

Shipped with the code (as mitmproxy ships ``tflow``) so that the bench, the
proxy's tests and ours exercise the same kind of markup: entities, inline
SVG with self-closing children, JSON-LD, comments, optional end tags.
"""

from __future__ import annotations

import random

CATEGORIES = (
    "running-shoes", "trail", "jackets", "socks", "bags",
    "watches", "hats", "gloves", "kids", "sale",
)


def _card(rng: random.Random, i: int) -> str:
    cat = rng.choice(CATEGORIES)
    price = rng.randint(500, 25000) / 100
    return (
        f'<article class="product-card" data-product-id="p{i}" data-category="{cat}">'
        f'<a href="/p/p{i}?ref=home&amp;pos={i}"><img src="/static/img/p{i}.svg" alt="Shoe &quot;{i}&quot;" loading=lazy>'
        f"<h3>Product {i} &ndash; {cat.title()}</h3>"
        f'<span class="price">&euro;{price:.2f}</span></a>'
        f'<svg class="icon" viewBox="0 0 16 16"><use href="#heart"/></svg>'
        f"<!-- card {i} <div class=fake> -->"
        f"</article>\n"
    )


def make_storefront_page(size_kb: int = 120, seed: int = 7) -> bytes:
    """A ~``size_kb`` KB home page following docs/conventions-demo-markup.md."""
    rng = random.Random(seed)
    nav = "".join(
        f'<li data-category="{c}"><a href="/c/{c}">{c.replace("-", " ").title()}</a>\n'
        for c in CATEGORIES
    )
    tiles = "".join(
        f'  <a class="tile" data-category="{c}" href="/c/{c}"><span>{c}</span></a>\n'
        for c in CATEGORIES
    )
    head = (
        "<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n"
        "<title>Demo store &mdash; <home></title>\n"
        '<link rel="stylesheet" href="/static/site.css">\n'
        "<style>.tile > span { color: red } /* <div> */</style>\n"
        '<script>window.dataLayer=[];if (a<b && "</div>") {}</script>\n'
        "</head>\n"
        '<body data-page="home">\n'
        '<header><a class="cart-link" href="/cart">Cart (<span class="cart-count">0</span>)</a>\n'
        '<svg style="display:none"><symbol id="heart"><path d="M1 1L2 2"/></symbol></svg>\n'
        f'<nav class="category-nav"><ul>\n{nav}</ul></nav></header>\n'
        f'<main>\n<section class="category-tiles">\n{tiles}</section>\n'
        '<section class="featured"><h2>Featured</h2><div class="product-grid">\n'
    )
    tail = (
        "</div></section>\n"
        '<section class="related"><h2>You may also like</h2><p>Nothing yet<p>Really</section>\n'
        "</main>\n"
        '<footer><form class="newsletter" method="post" action="/newsletter">'
        '<input name="email" type="email" placeholder="you@example.com"><button>Sign up</button></form>\n'
        '<form class="add-to-cart"><select name="size" id="size"><option value="">Choose a size'
        '<option value="40">40<option value="41" disabled>41 (sold out)<option value="42">42</select>'
        '<input name="qty" type="number" value="1"><textarea name="note">\nhello &amp; bye</textarea></form>\n'
        '<script type="application/ld+json">{"@type": "Product", "name": "<b>x</b>"}</script>\n'
        "</footer>\n</body>\n</html>\n"
    )
    cards: list[str] = []
    size = len(head) + len(tail)
    i = 0
    while size < size_kb * 1024:
        card = _card(rng, i)
        cards.append(card)
        size += len(card)
        i += 1
    return (head + "".join(cards) + tail).encode("utf-8")
