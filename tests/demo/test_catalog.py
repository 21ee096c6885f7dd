"""The catalog: size, shape, stock states, determinism, and the generated images."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from decimal import Decimal

from slotwise.demo.catalog import load_catalog, slugify
from slotwise.demo.images import product_svg

SHOE_SIZES = [str(n) for n in range(38, 47)]


def test_catalog_size_and_categories() -> None:
    catalog = load_catalog()
    assert len(catalog.categories) >= 6
    assert len(catalog.products) >= 40
    per_category = Counter(p.category_slug for p in catalog.products)
    assert set(per_category) == {c.slug for c in catalog.categories}
    assert min(per_category.values()) >= 4
    assert len({p.id for p in catalog.products}) == len(catalog.products)
    assert len({p.name for p in catalog.products}) == len(catalog.products)


def test_slugify_follows_the_contract() -> None:
    assert slugify("Running Shoes") == "running-shoes"
    assert slugify("T-Shirts") == "t-shirts"
    assert slugify("  Dog & Cat  Toys! ") == "dog-cat-toys"
    assert [c.slug for c in load_catalog().categories][:3] == ["running-shoes", "sneakers", "t-shirts"]


def test_sizes_fit_the_category() -> None:
    catalog = load_catalog()
    for p in catalog.in_category("running-shoes") + catalog.in_category("sneakers"):
        assert list(p.sizes) == SHOE_SIZES
    for slug in ("t-shirts", "jackets"):
        for p in catalog.in_category(slug):
            assert p.sizes == ("S", "M", "L", "XL")
    for p in catalog.in_category("bags"):
        assert p.sizes == ("One size",)


def test_stock_states() -> None:
    catalog = load_catalog()
    out = [p for p in catalog.products if not p.in_stock]
    assert 2 <= len(out) <= 3
    partly = [p for p in catalog.products if p.in_stock and p.sold_out]
    assert len(partly) >= 5
    for p in partly:
        assert set(p.available_sizes) == set(p.sizes) - p.sold_out


def test_prices_and_descriptions_are_realistic() -> None:
    for p in load_catalog().products:
        assert Decimal("5") < p.price < Decimal("300")
        assert p.price == p.price.quantize(Decimal("0.01"))
        assert p.name in p.description and len(p.description) > 40
        assert p.display_price == f"€{p.price:.2f}"


def test_catalog_is_deterministic() -> None:
    load_catalog.cache_clear()
    first = [(p.id, p.name, p.price, tuple(sorted(p.sold_out))) for p in load_catalog().products]
    load_catalog.cache_clear()
    second = [(p.id, p.name, p.price, tuple(sorted(p.sold_out))) for p in load_catalog().products]
    assert first == second
    assert load_catalog().product("101") is not None and load_catalog().product("101").name == "Strider Pace 3"


def test_related_and_featured() -> None:
    catalog = load_catalog()
    product = catalog.products[0]
    related = catalog.related(product)
    assert related and all(r.category_slug == product.category_slug and r.id != product.id for r in related)
    assert all(r.in_stock for r in related)
    featured = catalog.featured()
    assert len({p.category_slug for p in featured}) == len(catalog.categories)


def test_images_are_valid_distinct_svgs_with_the_name() -> None:
    catalog = load_catalog()
    shapes_by_category: dict[str, set[str]] = {}
    for p in catalog.products:
        svg = product_svg(p)
        root = ET.fromstring(svg)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        text = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
        assert p.name.split()[0] in text
        assert len(root.findall(".//{http://www.w3.org/2000/svg}path")) + len(root.findall(".//{http://www.w3.org/2000/svg}rect")) >= 2
        # the silhouette group: same per category, different across categories
        group = root.find("{http://www.w3.org/2000/svg}g")
        assert group is not None
        shapes_by_category.setdefault(p.category_slug, set()).add(
            "".join(ET.tostring(child, encoding="unicode") for child in group)
        )
    silhouettes = [next(iter(s)) for s in shapes_by_category.values()]
    assert all(len(s) == 1 for s in shapes_by_category.values())
    assert len(set(silhouettes)) == len(catalog.categories)
    # product colours differ within a category
    assert len({product_svg(p) for p in catalog.products}) == len(catalog.products)
    assert "SOLD OUT" in product_svg(next(p for p in catalog.products if not p.in_stock))
