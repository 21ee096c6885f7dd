"""A generated ~120 KB storefront page: header, category nav and tiles, product grid, related block.

``pages`` gives the origin's whole site: the home page and ``PRODUCTS``
product pages, each with its own JSON-LD (so the catalog learns every
product and the recommendation slot has cards to rank); ``history`` is what
a prepared visitor of the benches viewed before the measured requests.
"""

from __future__ import annotations

CATEGORIES = ["Running Shoes", "Trail", "Jackets", "Bags", "Socks", "Watches", "Kids", "Sale"]


def slug(name: str) -> str:
    return name.lower().replace(" ", "-")


def card(i: int) -> str:
    cat = slug(CATEGORIES[i % len(CATEGORIES)])
    return (
        f'<article class="product-card" data-product-id="p{i}" data-category="{cat}"><a href="/p/p{i}">'
        f'<img src="/static/img/p{i}.svg" alt="Product {i}" loading="lazy" width="240" height="240">'
        f'<h3>Product {i} &mdash; a comfortable everyday item</h3><span class="price">&euro;{10 + i % 90}.00</span>'
        f'<p class="blurb">Made from recycled materials, ships in 2&ndash;3 days. Free returns within 30 days.</p></a></article>\n'
    )


PRODUCTS = 12
"""Product pages ``/p/p0`` … ``/p/p11``; the benches measure ``/p/p7``."""


def product_category(product: int) -> str:
    """p7 is in Socks (the prepared visitors bought socks: the size slot applies there); the rest by turn."""
    return "Socks" if product == 7 else CATEGORIES[product % len(CATEGORIES)]


def storefront(target_kb: int = 120, product: int = 7, named: bool = True) -> bytes:
    """The page of ``product`` (its JSON-LD names its category unless ``named`` is False: a Shopify
    theme's page, whose category only the catalog knows)."""
    nav = "".join(f'<li data-category="{slug(c)}"><a href="/c/{slug(c)}">{c}</a></li>' for c in CATEGORIES)
    tiles = "".join(f'<a class="tile" data-category="{slug(c)}" href="/c/{slug(c)}"><span>{c}</span></a>' for c in CATEGORIES)
    head = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Demo Store</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="stylesheet" href="/static/site.css"><script defer src="/static/site.js"></script></head>'
        '<body data-page="home"><header><a class="logo" href="/">Demo Store</a>'
        '<a class="cart-link" href="/cart">Cart (<span class="cart-count">0</span>)</a></header>'
        f'<nav class="category-nav"><ul>{nav}</ul></nav><main class="home">'
        f'<section class="category-tiles">{tiles}</section><section class="featured"><h2>Featured</h2><div class="product-grid">\n'
    )
    category = product_category(product)
    named_category, marked = (f'"category":"{category}",', f' data-category="{slug(category)}"') if named else ("", "")
    tail = (
        '</div></section>'
        # a product block, so the size-prefill slot has its selector and the page its JSON-LD
        f'<section class="product" data-product-id="p{product}"{marked}>'
        f'<script type="application/ld+json">{{"@context":"https://schema.org","@type":"Product","sku":"p{product}",'
        f'"name":"Product {product}",{named_category}"url":"/p/p{product}","image":"/static/img/p{product}.svg",'
        f'"offers":{{"@type":"Offer","price":"{10 + product % 90}.00","priceCurrency":"EUR",'
        '"availability":"https://schema.org/InStock"}}'
        '</script><form class="add-to-cart" method="post" action="/cart/add"><select name="size" id="size">'
        '<option value="">Choose a size</option><option value="S">S</option><option value="M">M</option>'
        '<option value="L">L</option></select><button>Add to cart</button></form></section>'
        '<section class="related"><h2>You may also like</h2></section></main>'
        '<footer><p>&copy; Demo Store</p></footer></body></html>\n'
    )
    cards = []
    size = len(head) + len(tail)
    i = 0
    while size < target_kb * 1024:
        cards.append(card(i))
        size += len(cards[-1])
        i += 1
    return (head + "".join(cards) + tail).encode()


def pages(target_kb: int = 120, named: bool = True) -> dict[str, bytes]:
    """Path → page: ``/`` (any other path answers it too) and every product page (naming no category
    unless ``named``: then ``catalog_rows`` are the catalog that knows them)."""
    site = {"/": storefront(target_kb)}
    site.update({f"/p/p{i}": storefront(target_kb, i, named) for i in range(PRODUCTS)})
    return site


def catalog_rows() -> list[dict[str, str]]:
    """Every product with its category, as a feed gives them (Shopify's ``product_type``)."""
    return [{"id": f"p{i}", "name": f"Product {i}", "category": slug(product_category(i)),
             "category_name": product_category(i)} for i in range(PRODUCTS)]


def history(visitor: int) -> list[str]:
    """The pages prepared visitor ``visitor`` viewed: two categories, two other products, then p7.

    The other products differ between visitors, so p7 has co-viewed products
    and the categories have popular ones: the recommendation slot shows cards.
    """
    others = [i for i in range(PRODUCTS) if i != 7]
    first, second = others[visitor % len(others)], others[(visitor * 5 + 3) % len(others)]
    return ["/c/socks", f"/c/bags?v={visitor}", f"/p/p{first}", f"/p/p{second}", "/p/p7"]
