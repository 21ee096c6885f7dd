"""The demo store's catalog: fixed, in-code data so every run shows the same shop.

The proxy's tests and the example rules refer to these products by id, so the
catalog is deterministic: no randomness, ids derived from the table order
(category number * 100 + position), stock state written out by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache

CURRENCY = "EUR"
CURRENCY_SYMBOL = "€"

APPAREL = ("S", "M", "L", "XL")
DRESS = ("XS", "S", "M", "L")
SHOES = tuple(str(n) for n in range(38, 47))  # EU 38–46
JEANS = ("W28", "W30", "W32", "W34", "W36")
SOCKS = ("35–38", "39–42", "43–46")
ONE_SIZE = ("One size",)
DOG = ("S", "M", "L")
ALL = "*"  # in a sold-out column: every size is sold out


def slugify(name: str) -> str:
    """The contract's slug: lower-case, runs of non-alphanumerics become '-'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def format_price(price: Decimal) -> str:
    """Price as shown on a card: '€12.00'."""
    return f"{CURRENCY_SYMBOL}{price:.2f}"


@dataclass(frozen=True)
class Category:
    """A shop category; ``slug`` is what the markup and rules use."""

    name: str
    blurb: str
    sizes: tuple[str, ...]

    @property
    def slug(self) -> str:
        return slugify(self.name)


@dataclass(frozen=True)
class Product:
    """One product; ``sold_out`` are the sizes that cannot be bought."""

    id: str
    name: str
    brand: str
    category: Category
    price: Decimal
    color: str
    description: str
    sizes: tuple[str, ...]
    sold_out: frozenset[str] = field(default_factory=frozenset)

    @property
    def category_slug(self) -> str:
        return self.category.slug

    @property
    def available_sizes(self) -> tuple[str, ...]:
        return tuple(s for s in self.sizes if s not in self.sold_out)

    @property
    def in_stock(self) -> bool:
        return bool(self.available_sizes)

    @property
    def price_str(self) -> str:
        """Plain decimal price for data attributes and JSON-LD ('89.95')."""
        return f"{self.price:.2f}"

    @property
    def display_price(self) -> str:
        return format_price(self.price)

    @property
    def image_path(self) -> str:
        return f"/static/img/{self.id}.svg"

    @property
    def path(self) -> str:
        return f"/p/{self.id}"


# (name, brand, price, color, tagline, sold-out sizes: tuple of sizes or ALL)
_Row = tuple[str, str, str, str, str, tuple[str, ...] | str]

_TABLE: list[tuple[Category, list[_Row]]] = [
    (
        Category("Running Shoes", "Cushioned, light and made for mileage.", SHOES),
        [
            ("Strider Pace 3", "Strider", "129.95", "coral", "a daily trainer with a springy foam midsole", ("38", "46")),
            ("Strider Tempo Racer", "Strider", "159.00", "lime", "a carbon-plated racer for race day", ("44",)),
            ("Northpeak Trail Grip", "Northpeak", "139.50", "olive", "lugged outsole for muddy trails", ()),
            ("Aerolite Glide", "Aerolite", "99.95", "sky blue", "a breathable mesh upper for warm days", ("39", "40")),
            ("Aerolite Cloudstep", "Aerolite", "119.00", "white", "max cushioning for long, slow runs", ()),
            ("Northpeak Summit XT", "Northpeak", "149.95", "charcoal", "a waterproof trail shoe with a rock plate", ALL),
        ],
    ),
    (
        Category("Sneakers", "Everyday classics and fresh drops.", SHOES),
        [
            ("Canvas Low Classic", "Canvas Co.", "59.95", "off-white", "the vulcanised canvas low-top that goes with everything", ()),
            ("Canvas High Top", "Canvas Co.", "69.95", "black", "a high-top with a padded collar", ("45", "46")),
            ("Retro Court 84", "Courtline", "89.00", "green", "an 80s court shoe in soft leather", ("41",)),
            ("Street Runner Suede", "Courtline", "94.95", "tan", "a suede runner with a gum sole", ()),
            ("Platform Leather", "Loom & Lane", "109.00", "cream", "a chunky platform sneaker in full-grain leather", ("38", "39")),
            ("Skate Slip-On", "Canvas Co.", "54.95", "checker", "an easy slip-on with a grippy waffle sole", ()),
        ],
    ),
    (
        Category("T-Shirts", "Soft cotton basics and graphic tees.", APPAREL),
        [
            ("Essential Crew Tee", "Loom & Lane", "19.95", "white", "a heavyweight organic-cotton crew neck", ()),
            ("Essential V-Neck Tee", "Loom & Lane", "19.95", "navy", "a relaxed V-neck in organic cotton", ("XL",)),
            ("Mountain Sunrise Graphic Tee", "Northpeak", "29.95", "orange", "a screen-printed mountain sunrise", ()),
            ("Merino Run Tee", "Strider", "49.00", "teal", "a merino-blend tee that stays fresh for days", ("S",)),
            ("Striped Breton Tee", "Harbor", "34.95", "navy stripe", "the classic boat-neck breton stripe", ()),
            ("Pocket Tee Washed", "Canvas Co.", "24.95", "sage", "a garment-dyed tee with a chest pocket", ("M", "L")),
        ],
    ),
    (
        Category("Jackets", "Shells, puffers and everything in between.", APPAREL),
        [
            ("Northpeak Storm Shell", "Northpeak", "219.00", "red", "a 3-layer waterproof, breathable shell", ("XL",)),
            ("Featherlight Down Puffer", "Northpeak", "189.95", "black", "a packable 700-fill down puffer", ()),
            ("Harbor Rain Mac", "Harbor", "149.00", "yellow", "a bonded rain mac with taped seams", ()),
            ("Denim Trucker Jacket", "Harbor Denim", "99.95", "indigo", "a rigid-denim trucker that breaks in with you", ("S",)),
            ("Fleece Zip Jacket", "Loom & Lane", "79.95", "forest", "a recycled-fleece full-zip", ()),
            ("Windrunner Packable", "Strider", "69.00", "blue", "a windproof running jacket that packs into its pocket", ALL),
        ],
    ),
    (
        Category("Jeans", "Denim cut from selvedge and stretch.", JEANS),
        [
            ("Slim Selvedge", "Harbor Denim", "119.00", "raw indigo", "slim-fit 13.5 oz Japanese selvedge", ("W28",)),
            ("Straight Classic", "Harbor Denim", "89.95", "mid blue", "a straight leg in comfort-stretch denim", ()),
            ("Relaxed Carpenter", "Harbor Denim", "94.95", "ecru", "a relaxed carpenter with a hammer loop", ()),
            ("Skinny Black Stretch", "Loom & Lane", "79.95", "black", "a high-stretch skinny that keeps its colour", ("W36",)),
            ("Wide Leg High Rise", "Loom & Lane", "99.00", "light wash", "a high-rise wide leg with a long inseam", ()),
            ("Tapered Workwear", "Canvas Co.", "84.95", "dark wash", "a tapered fit in heavyweight twill denim", ("W30", "W32")),
        ],
    ),
    (
        Category("Dresses", "Day, evening and somewhere between.", DRESS),
        [
            ("Linen Wrap Dress", "Loom & Lane", "89.95", "terracotta", "a breezy wrap dress in washed linen", ()),
            ("Midi Slip Dress", "Loom & Lane", "79.00", "champagne", "a bias-cut satin midi", ("XS",)),
            ("Floral Tea Dress", "Harbor", "69.95", "floral blue", "a puff-sleeve tea dress in a ditsy print", ()),
            ("Knit Sweater Dress", "Northpeak", "99.95", "oatmeal", "a ribbed merino-blend sweater dress", ("L",)),
            ("Shirt Dress Poplin", "Canvas Co.", "74.95", "white", "a crisp cotton-poplin shirt dress with a belt", ()),
            ("Little Black Dress", "Loom & Lane", "119.00", "black", "a tailored sheath that works from desk to dinner", ALL),
        ],
    ),
    (
        Category("Bags", "Totes, packs and crossbodies.", ONE_SIZE),
        [
            ("Canvas Tote", "Canvas Co.", "29.95", "natural", "a heavy canvas tote with an inside pocket", ()),
            ("Commuter Backpack 22L", "Northpeak", "119.00", "grey", "a 22-litre pack with a padded laptop sleeve", ()),
            ("Leather Crossbody", "Loom & Lane", "139.00", "cognac", "a vegetable-tanned leather crossbody", ()),
            ("Weekender Duffel", "Harbor", "159.95", "navy", "a waxed-canvas duffel for two nights away", ()),
            ("Running Belt", "Strider", "24.95", "black", "a bounce-free belt for phone and keys", ()),
            ("Roll-Top Dry Bag", "Northpeak", "49.00", "orange", "a fully waterproof 15-litre roll-top", ()),
        ],
    ),
    (
        Category("Socks", "Because feet matter.", SOCKS),
        [
            ("Merino Hiking Socks", "Northpeak", "19.95", "grey", "cushioned merino for long days on the trail", ()),
            ("Run Ankle Socks 3-Pack", "Strider", "17.95", "white", "no-show running socks with a blister tab", ("43–46",)),
            ("Striped Cotton Socks", "Loom & Lane", "9.95", "multi", "playful stripes in combed cotton", ()),
            ("Compression Run Socks", "Strider", "29.95", "black", "graduated compression for recovery", ()),
            ("Wool Boot Socks", "Harbor", "16.95", "oatmeal", "thick wool socks for boots and cold floors", ("35–38",)),
            ("Everyday Crew 5-Pack", "Canvas Co.", "24.95", "assorted", "five pairs of reinforced everyday crew socks", ()),
        ],
    ),
    (
        Category("Dog Toys", "Tough toys for good dogs.", DOG),
        [
            ("Rope Tug Toy", "Pawsome", "12.95", "blue", "a braided cotton rope for tug of war", ()),
            ("Squeaky Plush Fox", "Pawsome", "14.95", "orange", "a plush fox with three squeakers", ("L",)),
            ("Rubber Chew Bone", "Pawsome", "11.95", "green", "a natural-rubber bone for power chewers", ()),
            ("Treat Puzzle Ball", "Pawsome", "17.95", "purple", "a treat-dispensing ball that keeps them busy", ()),
            ("Fetch Tennis Balls 3-Pack", "Pawsome", "8.95", "yellow", "extra-bouncy felt balls", ()),
            ("Floating Frisbee", "Pawsome", "13.95", "red", "a soft frisbee that floats for beach days", ()),
        ],
    ),
]


def _product(category: Category, cat_no: int, pos: int, row: _Row) -> Product:
    name, brand, price, color, tagline, sold = row
    sold_out = frozenset(category.sizes) if sold == ALL else frozenset(sold)
    assert sold_out <= set(category.sizes), (name, sold_out)
    description = (
        f"The {name} by {brand}: {tagline}. In {color}. "
        f"Free returns within 30 days."
    )
    return Product(
        id=str(cat_no * 100 + pos),
        name=name,
        brand=brand,
        category=category,
        price=Decimal(price),
        color=color,
        description=description,
        sizes=category.sizes,
        sold_out=sold_out,
    )


@dataclass(frozen=True)
class Catalog:
    """The whole shop: categories in nav order and products in listing order."""

    categories: tuple[Category, ...]
    products: tuple[Product, ...]
    _by_id: dict[str, Product] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {p.id: p for p in self.products})

    def category(self, slug: str) -> Category | None:
        return next((c for c in self.categories if c.slug == slug), None)

    def product(self, product_id: str) -> Product | None:
        return self._by_id.get(product_id)

    def in_category(self, slug: str) -> list[Product]:
        return [p for p in self.products if p.category_slug == slug]

    def featured(self) -> list[Product]:
        """The first in-stock product of each category: one card per category."""
        seen: dict[str, Product] = {}
        for p in self.products:
            if p.in_stock and p.category_slug not in seen:
                seen[p.category_slug] = p
        return list(seen.values())

    def related(self, product: Product, limit: int = 4) -> list[Product]:
        """Same-category, in-stock neighbours: the store's own unpersonalized picks."""
        same = [p for p in self.in_category(product.category_slug) if p.id != product.id and p.in_stock]
        return same[:limit]


@cache
def load_catalog() -> Catalog:
    """The demo catalog (built once; immutable)."""
    categories = tuple(c for c, _ in _TABLE)
    products = tuple(
        _product(cat, cat_no, pos, row)
        for cat_no, (cat, rows) in enumerate(_TABLE, start=1)
        for pos, row in enumerate(rows, start=1)
    )
    return Catalog(categories, products)
