"""``Link`` headers (RFC 8288) read for the relations a paged feed needs, as APIs write them."""

from __future__ import annotations

import pytest

from slotwise.proxy.personalization.link_header import links


@pytest.mark.parametrize(("values", "expected"), [
    (['<https://s.example/wp-json/wc/store/v1/products?page=1&per_page=4>; rel="prev", '
      '<https://s.example/wp-json/wc/store/v1/products?page=3&per_page=4>; rel="next"'],
     {"prev": "https://s.example/wp-json/wc/store/v1/products?page=1&per_page=4",
      "next": "https://s.example/wp-json/wc/store/v1/products?page=3&per_page=4"}),
    (['<https://s.myshopify.com/admin/api/2024-01/products.json?limit=3&page_info=eyJk>; rel="previous"',
      "<https://s.myshopify.com/admin/api/2024-01/products.json?limit=3&page_info=eyJl>; rel=next"],
     {"previous": "https://s.myshopify.com/admin/api/2024-01/products.json?limit=3&page_info=eyJk",
      "next": "https://s.myshopify.com/admin/api/2024-01/products.json?limit=3&page_info=eyJl"}),
    (['</p?page=4>; title="a, b; c"; REL="Next Last"; rel="first"'], {"next": "/p?page=4", "last": "/p?page=4"}),
    (['<https://s.example/wp-json/>; rel="https://api.w.org/"'], {"https://api.w.org/": "https://s.example/wp-json/"}),
    (['</a>; rel="next", </b>; rel="next"', "</c>; anchor=x", "not a link", ""], {"next": "/a"}),
], ids=["woocommerce", "shopify-two-lines", "params-and-rel-list", "wordpress-root", "first-wins-and-junk"])
def test_links_by_relation(values: list[str], expected: dict[str, str]) -> None:
    assert links(values) == expected
