"""The report charts: every number printed with its n, suppressed figures hatched and never printed, user text
escaped, the same bytes for the same input, and a document that parses whatever the labels hold."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey.charts import (
    Bar,
    Dot,
    HeatCell,
    HeatRow,
    Series,
    bars,
    data_uri,
    dot_plot,
    heat_map,
    shade,
    trend_lines,
)

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<img src="file:///etc/passwd">&'


def texts(svg: str) -> list[str]:
    return [element.text or "" for element in ET.fromstring(svg).iter(f"{SVG}text")]


def elements(svg: str, tag: str, **attrs: str) -> list[ET.Element]:
    found = ET.fromstring(svg).iter(f"{SVG}{tag}")
    return [e for e in found if all(e.get(k.replace("_", "-")) == v for k, v in attrs.items())]


def a_heat_map(**kwargs) -> str:
    rows = [
        HeatRow("Sales", [HeatCell(4.3, n=18, shade=0), HeatCell(2.9, n=23, shade=-2)]),
        HeatRow("Care", [HeatCell(None, n=3, suppressed=True), HeatCell(None)]),
        HeatRow("All teams", [HeatCell(4.1, n=41), HeatCell(5.25, n=57, shade=1, decimals=2)], emphasis=True),
    ]
    return heat_map(["Human Resources", "Facilities & Workplace"], rows, **kwargs)


def a_dot_plot(**kwargs) -> str:
    rows = [
        Dot("Reliability", 4.2, 3.8, 4.6, n=18, compare=4.4),
        Dot("Empathy", None, suppressed=True, n=4),
        Dot("Overall", 4.6, 4.3, 4.9, n=23, emphasis=True),
    ]
    labels = {"reference_label": "midpoint", "compare_label": "organisation"}
    return dot_plot(rows, scale=(1, 7), reference=4, **labels, **kwargs)


def a_trend(**kwargs) -> str:
    series = [
        Series("HR", [4.3, 4.5, None, 4.0, 5.3], [18, 20, None, 12, 16], [False, False, True, False, False]),
        Series("IT", [3.9, None, 4.1, 4.4, 4.6], [30, None, 25, 28, 31], emphasis=True),
    ]
    return trend_lines(["Q1", "Q2", "Q3", "Q4", "Q5"], series, scale=(1, 7), **kwargs)


def a_bar_chart(**kwargs) -> str:
    rows = [Bar("Team A", 72, n=36), Bar("Team B", 55, n=20, note="below 60%: interpret with care")]
    rows += [Bar("Team C", None, n=2, suppressed=True), Bar("Team D", None)]
    return bars(rows, scale=(0, 100), unit="%", markers=[(60, "60% warning"), (75, "75% healthy")], **kwargs)


CHARTS = [a_heat_map, a_dot_plot, a_trend, a_bar_chart]


def test_the_heat_map_prints_every_value_with_its_n_in_small_figures_beside_it():
    printed = texts(a_heat_map())
    for value, n in [("4.3", "18"), ("2.9", "23"), ("4.1", "41"), ("5.25", "57")]:
        assert printed[printed.index(value) + 1] == n


def test_a_suppressed_cell_is_hatched_and_says_so_without_its_value_or_n():
    svg = heat_map(["HR"], [HeatRow("Care", [HeatCell(None, n=3, suppressed=True)])], width=320)
    assert 'fill="url(#hatch)"' in svg and "<pattern" in svg
    assert {"suppressed", "supp."} & set(texts(svg))
    assert "3" not in texts(svg)


def test_a_cell_without_data_is_a_dash_and_not_hatched():
    svg = heat_map(["HR"], [HeatRow("Care", [HeatCell(None)])])
    assert "–" in texts(svg) and "url(#hatch)" not in svg and "suppressed" not in svg


def test_a_suppressed_figure_that_carries_a_value_is_refused():
    with pytest.raises(ValueError):
        HeatCell(4.2, suppressed=True)
    with pytest.raises(ValueError):
        Dot("x", None, low=3.0, high=4.0, suppressed=True)
    with pytest.raises(ValueError):
        Series("x", [4.0], [10], [True])
    with pytest.raises(ValueError):
        Bar("x", float("nan"))


def test_the_heat_maps_legend_explains_the_shades_and_the_hatch():
    printed = texts(a_heat_map(suppressed_note="suppressed: fewer than 5 respondents"))
    for label in ["well below the column's median", "below", "around", "above", "no data"]:
        assert label in printed
    assert "suppressed: fewer than 5 respondents" in printed


def test_the_dot_plot_writes_value_interval_n_and_comparison():
    printed = texts(a_dot_plot())
    assert "4.2 [3.8, 4.6] n 18 ◇ 4.4" in printed
    assert "4.6 [4.3, 4.9] n 23" in printed
    assert "suppressed" in printed and not any("n 4" in text for text in printed)
    assert "organisation" in printed and "midpoint" in printed


def test_trend_lines_break_where_a_value_is_missing_or_suppressed():
    lines = [line.get("points").split() for line in elements(a_trend(), "polyline")]
    assert sorted(len(points) for points in lines) == [2, 2, 3]  # HR: Q1-Q2, Q4-Q5; IT: Q3-Q5 (Q1 alone)


def test_the_trend_table_gives_every_value_with_its_n_and_no_number_for_a_suppressed_one():
    printed = texts(a_trend())
    for cell in [
        "4.3 (18)",
        "4.5 (20)",
        "4.0 (12)",
        "5.3 (16)",
        "3.9 (30)",
        "4.1 (25)",
        "4.4 (28)",
        "4.6 (31)",
    ]:
        assert cell in printed
    assert printed.count("suppressed") == 1 and printed.count("–") == 1


def test_bars_print_value_n_and_note_and_mark_the_thresholds():
    printed = texts(a_bar_chart())
    assert {
        "72% (n 36)",
        "55% (n 20)",
        "below 60%: interpret with care",
        "60% warning",
        "75% healthy",
    } <= set(printed)
    assert "suppressed" in printed and "–" in printed and not any("n 2)" in text for text in printed)


def test_negative_bars_grow_left_from_zero():
    svg = bars([Bar("a", -50, n=10), Bar("b", 50, n=10)], scale=(-100, 100))
    left, right = (
        {k: float(bar.get(k)) for k in ("x", "width")} for bar in elements(svg, "rect", fill="#c4c4c4")
    )
    assert left["x"] + left["width"] == pytest.approx(right["x"])
    assert left["width"] == pytest.approx(right["width"]) and left["width"] > 50
    assert "−50 (n 10)" in texts(svg)


@pytest.mark.parametrize("chart", CHARTS)
def test_a_chart_is_a_standalone_svg_that_scales(chart):
    root = ET.fromstring(chart(title="Scores"))
    assert root.tag == f"{SVG}svg"
    width, height = int(root.get("width")), int(root.get("height"))
    assert width == 640 and root.get("viewBox") == f"0 0 {width} {height}"
    assert root.find(f"{SVG}title").text == "Scores"


@pytest.mark.parametrize("chart", CHARTS)
def test_the_same_input_gives_the_same_bytes(chart):
    assert chart() == chart()


def test_text_from_users_is_escaped():
    rows = [HeatRow(HOSTILE, [HeatCell(4.0, n=10)])]
    charts = [
        heat_map([HOSTILE], rows, title=HOSTILE),
        dot_plot([Dot(HOSTILE, 4.0, n=10)], scale=(1, 7), reference=4, reference_label=HOSTILE),
        trend_lines(["Q1", HOSTILE], [Series(HOSTILE, [4.0, 4.1], [10, 11])], scale=(1, 7), title=HOSTILE),
        bars([Bar(HOSTILE, 50, n=10, note=HOSTILE)], scale=(0, 100), markers=[(50, HOSTILE)], unit=HOSTILE),
    ]
    for svg in charts:
        assert "<img" not in svg and "&lt;img" in svg
        assert any(text.startswith('<img src="file:') for text in texts(svg))


def test_long_labels_are_cut_short_with_an_ellipsis():
    label = "Customer Care, Southern Region and the Islands, Night Shift " * 3
    svg = bars([Bar(label, 50, n=10)], scale=(0, 100))
    (shown,) = [text for text in texts(svg) if text.startswith("Customer Care")]
    assert shown.endswith("…") and len(shown) < 40


def test_forty_rows_by_ten_columns_fit_an_a4_page():
    columns = [f"Support function {j}" for j in range(10)]
    rows = [HeatRow(f"Team {i}", [HeatCell(4.5, n=20, shade=0)] * 10) for i in range(40)]
    root = ET.fromstring(heat_map(columns, rows))
    # printed 170 mm wide, an A4 page holds about 260 mm of it
    assert int(root.get("height")) * 170 / 640 < 260


def test_shade_counts_the_gap_to_the_median_in_spreads():
    assert [shade(v, 4.0, 1.0) for v in (2.9, 3.0, 3.5, 3.6, 3.7, 4.3, 4.4, 6.0)] == [
        -2,
        -2,
        -1,
        -1,
        0,
        0,
        1,
        1,
    ]
    assert shade(3.0, 4.0, 1.0, higher_is_better=False) == 1
    assert shade(5.0, 4.0, 1.0, higher_is_better=False) == -2
    assert shade(-20, 0, 15) == -2 and shade(-6, 0, 15) == -1
    with pytest.raises(ValueError):
        shade(4.0, 4.0, 0)


def test_a_data_uri_holds_the_chart():
    svg = a_bar_chart()
    prefix = "data:image/svg+xml;base64,"
    uri = data_uri(svg)
    assert uri.startswith(prefix) and base64.b64decode(uri[len(prefix) :]).decode() == svg


labels = st.text(max_size=60)
values = st.none() | st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(labels=st.lists(labels, min_size=1, max_size=4), numbers=st.lists(values, min_size=4, max_size=4))
def test_any_labels_and_values_give_a_document_that_parses(labels, numbers):
    periods = [f"{label} {i}" for i, label in enumerate(labels)]
    series = [
        Series(label, [numbers[i % 4] for i in range(len(labels))], [7] * len(labels)) for label in labels
    ]
    heat_rows = [HeatRow(label, [HeatCell(v, n=5) for v in numbers]) for label in labels]
    for svg in [
        heat_map(labels[:1] * 4, heat_rows, title=labels[0]),
        dot_plot([Dot(label, v, n=3, compare=v) for label, v in zip(labels, numbers)], scale=(-1, 1)),
        trend_lines(periods, series, scale=(0, 10), title=labels[-1]),
        bars([Bar(label, v, n=9, note=label) for label, v in zip(labels, numbers)], scale=(-100, 100)),
    ]:
        ET.fromstring(svg)
