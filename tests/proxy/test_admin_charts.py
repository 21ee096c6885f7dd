"""The admin page's charts: a labelled UTC time axis, one bucket drawn as a line, restarts marked."""

from __future__ import annotations

import calendar
import re
import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from slotwise.proxy.operations.charts import line_chart, time_ticks

SVG = "{http://www.w3.org/2000/svg}"
T0 = calendar.timegm((2026, 12, 1, 10, 0, 0))


def svg_of(chart: str) -> ET.Element:
    return ET.fromstring(re.search(r"<svg.*</svg>", chart, re.S).group(0))


def segments(path_d: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r"[ML]([\d.]+),([\d.]+)", path_d)]


def test_a_single_decision_draws_a_line_across_the_chart_not_a_dot() -> None:
    svg = svg_of(line_chart({"a": [(T0, 1.0)]}, title="Share", y_max=1.0))
    (path,) = svg.iter(f"{SVG}path")
    points = segments(path.get("d"))
    xs = [x for x, _ in points]
    assert len(points) == 2 and points[0][1] == points[1][1]  # one horizontal step
    assert max(xs) - min(xs) > 400  # across the plot (560 px wide, less the margins)


def test_the_time_axis_is_labelled_in_utc() -> None:
    series = {"a": [(T0 + h * 3600, 0.5) for h in range(6)], "b": [(T0 + h * 3600, 0.5) for h in range(6)]}
    svg = svg_of(line_chart(series, title="Share", y_max=1.0))
    labels = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "time"]
    assert labels[0] == "Dec 01 10:00" and labels[1:] == ["12:00", "14:00", "16:00"]
    assert any(t.text == "UTC" for t in svg.iter(f"{SVG}text"))
    week = svg_of(line_chart({"a": [(T0 + d * 86400, 0.5) for d in range(8)]}, title="Share"))
    days = [t.text for t in week.iter(f"{SVG}text") if t.get("class") == "time"]
    assert len(days) >= 3 and all(re.fullmatch(r"Dec 0\d", d) for d in days)  # a week: dates, no hours


def test_contiguous_buckets_make_one_connected_line_and_a_gap_starts_a_new_one() -> None:
    series = {"a": [(T0, 0.2), (T0 + 3600, 0.8), (T0 + 5 * 3600, 0.4)]}
    (path,) = svg_of(line_chart(series, title="Share", y_max=1.0)).iter(f"{SVG}path")
    assert [verb for verb in re.findall(r"[ML]", path.get("d"))] == ["M", "L", "L", "L", "M", "L"]


def test_a_restart_is_a_labelled_dashed_line_and_in_the_legend() -> None:
    chart = line_chart({"a": [(T0, 0.2), (T0 + 7200, 0.6)]}, title="Reward", marks=[(T0 + 3600, "learning restarted")])
    svg = svg_of(chart)
    marks = [ln for ln in svg.iter(f"{SVG}line") if ln.get("class") == "mark"]
    assert len(marks) == 1 and marks[0].get("stroke-dasharray")
    assert [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "mark-label"] == ["learning restarted"]
    assert "learning restarted</span>" in chart.split("</svg>")[1]
    two = line_chart({"a": [(T0, 0.2), (T0 + 7200, 0.6)]}, title="Reward",
                     marks=[(T0 + 600, "learning restarted"), (T0 + 3600, "learning of b restarted"),
                            (T0 + 4000, "learning restarted")])
    assert two.split("</svg>")[1].count("&#9482;") == 2  # each label once in the legend
    assert "learning of b restarted</span>" in two and "learning restarted</span>" in two
    outside = line_chart({"a": [(T0, 0.2)]}, title="Reward", marks=[(T0 - 86400, "learning restarted")])
    assert 'class="mark"' not in outside and "learning restarted" not in outside


@given(st.floats(0, 4e9), st.floats(1, 90 * 86400))
def test_ticks_are_inside_the_range_and_few(x0: float, span: float) -> None:
    ticks = time_ticks(x0, x0 + span)
    assert 1 <= len(ticks) <= 6
    assert all(x0 <= t <= x0 + span for t in ticks) or ticks == [x0]
