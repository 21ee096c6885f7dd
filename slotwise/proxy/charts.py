"""Small inline SVG charts for the admin page (no JavaScript, no external assets)."""

from __future__ import annotations

from html import escape
from typing import Mapping, Sequence

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#6b7280")


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def line_chart(
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    title: str,
    y_format: str = "{:.0%}",
    width: int = 560,
    height: int = 200,
    y_max: float | None = None,
    marks: Sequence[tuple[float, str]] = (),
) -> str:
    """One line per series of (x, y) points, with a legend; empty series are skipped.

    ``marks``: (x, label) events drawn as dashed vertical lines (e.g. a learning restart).
    """
    points = [p for values in series.values() for p in values]
    if not points:
        return f'<figure class="chart"><figcaption>{escape(title)}</figcaption><p class="empty">no data yet</p></figure>'
    pad_l, pad_r, pad_t, pad_b = 48, 12, 10, 24
    xs = [p[0] for p in points]
    x0, x1 = min(xs), max(xs)
    top = y_max if y_max is not None else max(max(p[1] for p in points), 1e-9) * 1.1
    w, h = width - pad_l - pad_r, height - pad_t - pad_b

    def sx(x: float) -> float:
        return pad_l + (w * (x - x0) / (x1 - x0) if x1 > x0 else w / 2)

    def sy(y: float) -> float:
        return pad_t + h - h * (y / top if top else 0)

    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f'<line x1="{pad_l}" y1="{pad_t + h}" x2="{pad_l + w}" y2="{pad_t + h}" stroke="#999"/>',
        f'<line x1="{pad_l}" y1="{pad_t}" x2="{pad_l}" y2="{pad_t + h}" stroke="#999"/>',
    ]
    for frac in (0.0, 0.5, 1.0):
        y = top * frac
        parts.append(
            f'<text x="{pad_l - 4}" y="{sy(y) + 4:.1f}" font-size="10" text-anchor="end">{escape(y_format.format(y))}</text>'
        )
    for x, label in marks:
        if x0 <= x <= x1:
            parts.append(f'<line class="mark" x1="{sx(x):.1f}" y1="{pad_t}" x2="{sx(x):.1f}" y2="{pad_t + h}" '
                         f'stroke="#c00" stroke-dasharray="4 3"><title>{escape(label)}</title></line>')
    legend = []
    for i, (name, values) in enumerate(series.items()):
        if not values:
            continue
        path = " ".join(f"{'M' if j == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}" for j, (x, y) in enumerate(values))
        parts.append(f'<path d="{path}" fill="none" stroke="{color(i)}" stroke-width="2"/>')
        for x, y in values:
            parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{color(i)}"/>')
        legend.append(f'<span style="color:{color(i)}">&#9632; {escape(name)}</span>')
    parts.append("</svg>")
    return (
        f'<figure class="chart"><figcaption>{escape(title)}</figcaption>{"".join(parts)}'
        f'<div class="legend">{" ".join(legend)}</div></figure>'
    )
