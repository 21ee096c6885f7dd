"""Product pictures drawn as SVG, so the demo has real, distinct images without binary assets.

Each category has its own silhouette and background; the product's colour
fills the silhouette and its name is written underneath. The output depends
only on the catalog, so files written once keep their mtime and ETag.
"""

from __future__ import annotations

import os
from pathlib import Path
from xml.sax.saxutils import escape

from .catalog import Catalog, Product

# Silhouettes in a 400x300 drawing area (the image is 400x400; text below).
_SHAPES: dict[str, str] = {
    "running-shoes": (
        '<path d="M70 215 Q80 160 130 155 L185 120 Q215 150 255 165 Q320 175 330 210 '
        'L330 228 L70 228 Z"/>'
        '<rect x="70" y="228" width="260" height="14" rx="7" fill="#fff" opacity=".85"/>'
        '<path d="M150 150 L235 175 M165 140 L245 168" stroke="#fff" stroke-width="6" opacity=".7"/>'
    ),
    "sneakers": (
        '<path d="M70 200 L80 140 Q150 150 190 120 L230 150 Q300 160 330 190 L330 225 L70 225 Z"/>'
        '<rect x="66" y="225" width="268" height="20" rx="4" fill="#f6f1e7"/>'
        '<path d="M180 135 L205 160 M195 128 L220 152 M210 121 L235 146" stroke="#fff" stroke-width="5"/>'
    ),
    "t-shirts": (
        '<path d="M130 70 L170 55 Q200 85 230 55 L270 70 L330 120 L295 155 L270 135 '
        'L270 265 L130 265 L130 135 L105 155 L70 120 Z"/>'
    ),
    "jackets": (
        '<path d="M135 60 L175 50 L200 75 L225 50 L265 60 L300 90 L325 265 L285 265 L275 140 '
        'L275 270 L125 270 L125 140 L115 265 L75 265 L100 90 Z"/>'
        '<path d="M200 75 L200 270" stroke="#fff" stroke-width="4" opacity=".8"/>'
    ),
    "jeans": (
        '<path d="M135 50 L265 50 L280 275 L218 275 L200 120 L182 275 L120 275 Z"/>'
        '<path d="M135 68 L265 68" stroke="#fff" stroke-width="3" stroke-dasharray="6 5" opacity=".8"/>'
    ),
    "dresses": (
        '<path d="M172 45 L185 45 L190 70 L210 70 L215 45 L228 45 L232 105 L290 275 '
        'L110 275 L168 105 Z"/>'
        '<rect x="165" y="105" width="70" height="10" fill="#fff" opacity=".7"/>'
    ),
    "bags": (
        '<path d="M150 120 Q150 55 200 55 Q250 55 250 120" fill="none" stroke="currentColor" stroke-width="14"/>'
        '<rect x="100" y="115" width="200" height="160" rx="18"/>'
        '<rect x="100" y="150" width="200" height="10" fill="#fff" opacity=".6"/>'
    ),
    "socks": (
        '<path d="M165 45 L235 45 L235 190 Q235 265 175 265 L115 265 Q85 265 85 235 '
        'Q85 205 115 205 L165 205 Z"/>'
        '<rect x="165" y="45" width="70" height="30" fill="#fff" opacity=".7"/>'
    ),
    "dog-toys": (
        '<circle cx="115" cy="130" r="38"/><circle cx="115" cy="200" r="38"/>'
        '<circle cx="285" cy="130" r="38"/><circle cx="285" cy="200" r="38"/>'
        '<rect x="110" y="135" width="180" height="60" rx="10"/>'
    ),
}

_BACKGROUNDS: dict[str, tuple[str, str]] = {
    "running-shoes": ("#fff1e6", "#ffd8bf"),
    "sneakers": ("#eef2ff", "#cfd8ff"),
    "t-shirts": ("#f0fff4", "#c9f2d7"),
    "jackets": ("#f3f4f6", "#d5d9e0"),
    "jeans": ("#e8f1fb", "#bcd3ef"),
    "dresses": ("#fdf0f5", "#f6cadb"),
    "bags": ("#fbf6ea", "#eedfb8"),
    "socks": ("#f5f0ff", "#dccff8"),
    "dog-toys": ("#eefbf9", "#c3ece4"),
}

_COLORS: dict[str, str] = {
    "assorted": "#6b7280", "black": "#1f2937", "blue": "#2563eb", "champagne": "#d4b483",
    "charcoal": "#374151", "checker": "#111827", "cognac": "#9a4a1a", "coral": "#f26b5b",
    "cream": "#e8dcc0", "dark wash": "#1e3a5f", "ecru": "#cdbf9f", "floral blue": "#5b7fd6",
    "forest": "#166534", "green": "#16a34a", "grey": "#6b7280", "indigo": "#3730a3",
    "light wash": "#8fb3de", "lime": "#84cc16", "mid blue": "#3b6fb6", "multi": "#e11d48",
    "natural": "#c8b68e", "navy": "#1e3a8a", "navy stripe": "#1e40af", "oatmeal": "#c9b99a",
    "off-white": "#d8d2c4", "olive": "#65733a", "orange": "#f97316", "purple": "#7c3aed",
    "raw indigo": "#27285c", "red": "#dc2626", "sage": "#84a98c", "sky blue": "#38bdf8",
    "tan": "#b08150", "teal": "#0d9488", "terracotta": "#c2562f", "white": "#cbd5e1",
    "yellow": "#eab308",
}


def _wrap(text: str, width: int = 24) -> list[str]:
    """Split a product name into at most two lines that fit under the picture."""
    words, lines, line = text.split(), [], ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if len(candidate) > width and line:
            lines.append(line)
            line = word
        else:
            line = candidate
    lines.append(line)
    return lines[:2]


def product_svg(product: Product) -> str:
    """The SVG document for one product."""
    slug = product.category_slug
    bg_top, bg_bottom = _BACKGROUNDS.get(slug, ("#f3f4f6", "#e5e7eb"))
    fill = _COLORS.get(product.color, "#6b7280")
    shape = _SHAPES.get(slug, '<rect x="120" y="70" width="160" height="190" rx="20"/>')
    lines = _wrap(product.name)
    texts = "".join(
        f'<text x="200" y="{322 + i * 30}" font-size="24" font-weight="600" text-anchor="middle">'
        f"{escape(line)}</text>"
        for i, line in enumerate(lines)
    )
    stamp = ""
    if not product.in_stock:
        stamp = (
            '<g transform="rotate(-12 200 150)"><rect x="105" y="125" width="190" height="46" rx="6" '
            'fill="#fff" stroke="#b91c1c" stroke-width="4"/><text x="200" y="158" font-size="24" '
            'font-weight="700" fill="#b91c1c" text-anchor="middle">SOLD OUT</text></g>'
        )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400" viewBox="0 0 400 400" '
        f'role="img" aria-label="{escape(product.name)}" font-family="Helvetica, Arial, sans-serif">'
        f'<defs><linearGradient id="bg{product.id}" x1="0" y1="0" x2="0" y2="1">'
        f'<stop offset="0" stop-color="{bg_top}"/><stop offset="1" stop-color="{bg_bottom}"/>'
        f"</linearGradient></defs>"
        f'<rect width="400" height="400" fill="url(#bg{product.id})"/>'
        f'<g fill="{fill}" color="{fill}" stroke-linejoin="round">{shape}</g>'
        f'<text x="20" y="32" font-size="14" fill="#6b7280">'
        f"{escape(product.brand.upper())}</text>"
        f'<g fill="#111827">{texts}</g>'
        f"{stamp}</svg>\n"
    )


def write_images(catalog: Catalog, directory: Path) -> None:
    """Write every product's SVG into ``directory``, touching only files that changed.

    Unchanged files keep their mtime, so StaticFiles' ETag/Last-Modified stay
    stable across restarts; the replace is atomic, so a second process
    starting on the same data dir never serves half a file.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for product in catalog.products:
        target = directory / f"{product.id}.svg"
        data = product_svg(product).encode("utf-8")
        try:
            if target.read_bytes() == data:
                continue
        except FileNotFoundError:
            pass
        tmp = directory / f".{product.id}.{os.getpid()}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, target)
