"""Small inline SVG charts for the admin page (no JavaScript, no external assets).

Values are per time bucket (an hour by default): each is drawn as a step across
its bucket, with a dot at its middle, so one bucket of data is a readable line
across the chart rather than a lone dot. The time axis is labelled in UTC;
events (a learning restart) are dashed vertical lines, labelled and in the legend.
Every chart carries its figures as a table too (``figures_table``), for whoever does
not see the lines: a screen reader, a colour-blind reader, a copy into a spreadsheet.
The SVG scales down to a narrow screen (``viewBox``).
"""

from __future__ import annotations

import time
from html import escape
from typing import Mapping, Sequence

from slotwise.proxy.operations.admin_html import scrolled

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#6b7280")
MARK_COLOR = "#b91c1c"


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def time_label(ts: float, span_s: float, first: bool) -> str:
    """An axis label: hours within a couple of days (with the date on the first), else dates."""
    t = time.gmtime(ts)
    if span_s <= 2 * 86400:
        return time.strftime("%b %d %H:%M" if first else "%H:%M", t)
    return time.strftime("%b %d", t)


def time_ticks(x0: float, x1: float, count: int = 5) -> list[float]:
    """Up to ``count`` round times (whole hours, days...) between x0 and x1."""
    span = max(x1 - x0, 1.0)
    steps = (60, 300, 900, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 30 * 86400)
    step = next((s for s in steps if span / s <= count), steps[-1])
    first = (x0 // step + (1 if x0 % step else 0)) * step
    ticks = []
    t = first
    while t <= x1 and len(ticks) <= count:
        ticks.append(t)
        t += step
    return ticks or [x0]


def line_chart(
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    title: str,
    y_format: str = "{:.0%}",
    width: int = 560,
    height: int = 220,
    y_max: float | None = None,
    marks: Sequence[tuple[float, str]] = (),
    bucket_s: float = 3600.0,
) -> str:
    """One stepped line per series of (bucket start, value), with a legend; empty series are skipped.

    ``marks``: (time, label) events drawn as dashed vertical lines (e.g. a learning restart).
    """
    points = [p for values in series.values() for p in values]
    if not points:
        return f'<figure class="chart"><figcaption>{escape(title)}</figcaption><p class="empty">no data yet</p></figure>'
    pad_l, pad_r, pad_t, pad_b = 52, 14, 18, 30
    xs = [p[0] for p in points]
    x0, x1 = min(xs), max(xs) + bucket_s  # the last bucket is drawn to its end
    top = y_max if y_max is not None else max(max(p[1] for p in points), 1e-9) * 1.1
    w, h = width - pad_l - pad_r, height - pad_t - pad_b

    def sx(x: float) -> float:
        return pad_l + w * (x - x0) / (x1 - x0)

    def sy(y: float) -> float:
        return pad_t + h - h * (y / top if top else 0)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}: the figures are in the table below">',
        f'<line x1="{pad_l}" y1="{pad_t + h}" x2="{pad_l + w}" y2="{pad_t + h}" stroke="#999"/>',
        f'<line x1="{pad_l}" y1="{pad_t}" x2="{pad_l}" y2="{pad_t + h}" stroke="#999"/>',
    ]
    for frac in (0.0, 0.5, 1.0):
        y = top * frac
        parts.append(
            f'<text x="{pad_l - 4}" y="{sy(y) + 4:.1f}" font-size="10" text-anchor="end">{escape(y_format.format(y))}</text>'
        )
    span = x1 - x0
    for i, tick in enumerate(time_ticks(x0, x1)):
        parts.append(f'<line class="tick" x1="{sx(tick):.1f}" y1="{pad_t + h}" x2="{sx(tick):.1f}" y2="{pad_t + h + 4}" '
                     'stroke="#999"/>')
        parts.append(f'<text class="time" x="{sx(tick):.1f}" y="{pad_t + h + 15}" font-size="10" text-anchor="middle">'
                     f'{escape(time_label(tick, span, i == 0))}</text>')
    parts.append(f'<text x="{pad_l + w}" y="{height - 2}" font-size="9" text-anchor="end" fill="#666">UTC</text>')
    drawn_marks: list[str] = []  # each label once, in the legend
    for x, label in marks:
        if x0 <= x <= x1:
            drawn_marks += [label] if label not in drawn_marks else []
            parts.append(f'<line class="mark" x1="{sx(x):.1f}" y1="{pad_t}" x2="{sx(x):.1f}" y2="{pad_t + h}" '
                         f'stroke="{MARK_COLOR}" stroke-dasharray="4 3"><title>{escape(label)}</title></line>')
            parts.append(f'<text class="mark-label" x="{sx(x) + 3:.1f}" y="{pad_t - 5}" font-size="10" '
                         f'fill="{MARK_COLOR}">{escape(label)}</text>')
    legend = []
    for i, (name, values) in enumerate(series.items()):
        if not values:
            continue
        steps: list[str] = []
        previous_end: float | None = None
        for x, y in sorted(values):
            verb = "L" if previous_end is not None and abs(previous_end - x) < 1e-6 else "M"
            steps.append(f"{verb}{sx(x):.1f},{sy(y):.1f} L{sx(x + bucket_s):.1f},{sy(y):.1f}")
            previous_end = x + bucket_s
        parts.append(f'<path d="{" ".join(steps)}" fill="none" stroke="{color(i)}" stroke-width="2"/>')
        for x, y in values:
            when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(x))
            parts.append(f'<circle cx="{sx(x + bucket_s / 2):.1f}" cy="{sy(y):.1f}" r="3" fill="{color(i)}">'
                         f'<title>{escape(name)}, from {when}: {escape(y_format.format(y))}</title></circle>')
        legend.append(f'<span style="color:{color(i)}">&#9632; {escape(name)}</span>')
    legend += [f'<span style="color:{MARK_COLOR}">&#9482; {escape(label)}</span>' for label in drawn_marks]
    parts.append("</svg>")
    return (
        f'<figure class="chart"><figcaption>{escape(title)}</figcaption>{"".join(parts)}'
        f'<div class="legend">{" ".join(legend)}</div>{figures_table(series, y_format, [m for m in marks if x0 <= m[0] <= x1])}</figure>'
    )


def figures_table(series: Mapping[str, Sequence[tuple[float, float]]], y_format: str,
                  marks: Sequence[tuple[float, str]] = ()) -> str:
    """The chart's figures as a table (a row per time bucket, a column per series; '-' where a series
    has none), behind a summary to open, with the marks (a learning restart) listed under it."""
    names = [name for name, values in series.items() if values]
    by_time: dict[float, dict[str, float]] = {}
    for name in names:
        for x, y in series[name]:
            by_time.setdefault(x, {})[name] = y
    head = "".join(f"<th>{escape(name)}</th>" for name in names)
    rows = "".join(
        f"<tr><td>{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(x))}</td>"
        + "".join(f"<td>{escape(y_format.format(row[n])) if n in row else '-'}</td>" for n in names) + "</tr>"
        for x, row in sorted(by_time.items()))
    events = "".join(f"<li>{escape(label)}: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(x))}</li>"
                     for x, label in marks)
    return ("<details><summary>The figures as a table</summary>"
            + scrolled(f"<table><tr><th>from</th>{head}</tr>{rows}</table>")
            + (f"<ul>{events}</ul>" if events else "") + "</details>")
