"""The report charts: every number printed with its n, suppressed figures hatched and never printed, user text
escaped, the same bytes for the same input, and a document that parses whatever the labels hold. The heat map
and the trend chart's figures are lines of monospaced text (the templates set and escape them): their columns
must line up, and the heat map's picture of shaded cells must sit under its figures."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey.reports.charts import (
    GRID_FILLS,
    GRID_HEADER_LINES,
    GRID_SIZES,
    Bar,
    Dot,
    Grid,
    HeatCell,
    HeatRow,
    Series,
    bars,
    data_uri,
    dot_grid,
    heat_grid,
    shade,
    trend_lines,
    trend_table,
)

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<img src="file:///etc/passwd">&'
MONO = 0.6021  # DejaVu Sans Mono's advance in ems (1233/2048), the same for every character
LEADING = 1.6  # report.css sets a grid of 7 pt in lines 11.2 pt apart, of 6 pt 9.6 pt, of 5 pt 8 pt


def texts(svg: str) -> list[str]:
    return [element.text or "" for element in ET.fromstring(svg).iter(f"{SVG}text")]


def elements(svg: str, tag: str, **attrs: str) -> list[ET.Element]:
    found = ET.fromstring(svg).iter(f"{SVG}{tag}")
    return [e for e in found if all(e.get(k.replace("_", "-")) == v for k, v in attrs.items())]


GRID_TEXTS = [["4.3 (18)", "2.9 (23)▼▼"], ["hidden", "–"], ["4.1 (41)", "5.25 (57)▲"]]


def a_grid(**kwargs) -> Grid:
    rows = [
        HeatRow("Sales", [HeatCell(4.3, n=18, shade=0), HeatCell(2.9, n=23, shade=-2)]),
        HeatRow("Care", [HeatCell(None, n=3, suppressed=True), HeatCell(None)]),
        HeatRow("All teams", [HeatCell(4.1, n=41), HeatCell(5.25, n=57, shade=1, decimals=2)], emphasis=True),
    ]
    return heat_grid(["Human Resources", "Facilities & Workplace"], rows, **kwargs)


def lines(grid: Grid) -> list[str]:
    """Every line the grid prints: a row whose label wraps takes more than one."""
    return [line for row, _ in grid.rows for line in row.split("\n")]


def boxes(grid: Grid) -> list[dict]:
    """The boxes drawn in the shades picture (not the hatch pattern's own tile), in pt."""
    found = ET.fromstring(grid.shades).findall(f"{SVG}rect")
    return [
        {k: float(box.get(k)) for k in ("x", "y", "width", "height")}
        | {k: box.get(k) for k in ("fill", "stroke")}
        for box in found
    ]


def box_under(grid: Grid, row: int, span: tuple[int, int]) -> dict | None:
    """The box under the characters `span` of the `row`-th line, if a box covers all of them."""
    cw, tolerance = grid.font_pt * MONO, 0.1  # the picture's coordinates are rounded to 0.1
    middle = (row + 0.5) * grid.line_pt
    for box in boxes(grid):
        if (
            box["y"] < middle < box["y"] + box["height"]
            and box["x"] <= span[0] * cw + tolerance
            and box["x"] + box["width"] >= span[1] * cw - tolerance
        ):
            return box
    return None


def spans(line: str, cells: list[str]) -> list[tuple[int, int]]:
    """Where each of `cells` stands in `line`, searched left to right, each after a space."""
    found, at = [], 0
    for text in cells:
        at = line.index(f" {text}", at) + 1
        found.append((at, at + len(text)))
        at += len(text)
    return found


def grey(fill: str) -> int:
    """The grey level of a "#rgb" or "#rrggbb" fill, 0 black to 255 white."""
    digits = fill[1:] if len(fill) == 7 else "".join(2 * c for c in fill[1:])
    assert fill.startswith("#") and len(digits) == 6, f"{fill} is not a colour"
    assert digits[0:2] == digits[2:4] == digits[4:6], f"{fill} is not a grey"
    return int(digits[0:2], 16)


def a_dot_grid(**kwargs):
    rows = [
        Dot("Reliability", 4.2, 3.8, 4.6, n=18, compare=4.4),
        Dot("Empathy", None, suppressed=True, n=4),
        Dot("Overall", 4.6, 4.3, 4.9, n=23, emphasis=True),
    ]
    labels = {"reference_label": "midpoint", "compare_label": "organisation"}
    return dot_grid(rows, scale=(1, 7), reference=4, **labels, **kwargs)


PERIODS = ["Q1", "Q2", "Q3", "Q4", "Q5"]


def trend_series() -> list[Series]:
    return [  # HR's Q3 is suppressed: its n (4) must never be shown
        Series("HR", [4.3, 4.5, None, 4.0, 5.3], [18, 20, 4, 12, 16], [False, False, True, False, False]),
        Series("IT", [3.9, None, 4.1, 4.4, 4.6], [30, None, 25, 28, 31], emphasis=True),
    ]


def a_trend(**kwargs) -> str:
    return trend_lines(PERIODS, trend_series(), scale=(1, 7), **kwargs)


def a_trend_table() -> list[str]:
    return trend_table(PERIODS, trend_series())


def a_bar_chart(**kwargs) -> str:
    rows = [Bar("Team A", 72, n=36), Bar("Team B", 55, n=20, note="below 60%: interpret with care")]
    rows += [Bar("Team C", None, n=2, suppressed=True), Bar("Team D", None)]
    return bars(rows, scale=(0, 100), unit="%", markers=[(60, "60% warning"), (75, "75% healthy")], **kwargs)


CHARTS = [a_trend, a_bar_chart]


def test_the_heat_grid_prints_every_value_with_its_n_in_its_row():
    grid = a_grid()
    assert [line.split()[0] for line in lines(grid)] == ["Sales", "Care", "All"]
    for line, cells in zip(lines(grid), GRID_TEXTS, strict=True):
        for cell in cells:
            assert f" {cell}" in line
    assert [emphasis for _, emphasis in grid.rows] == [False, False, True]


def test_a_suppressed_cell_is_hatched_and_says_so_without_its_value_or_n():
    grid = heat_grid(["HR"], [HeatRow("Care", [HeatCell(None, n=3, suppressed=True)])])
    (line,) = lines(grid)
    assert line.split() == ["Care", "hidden"]
    assert "3" not in line + "".join(grid.header)
    (span,) = spans(line, ["hidden"])
    assert box_under(grid, 0, span)["fill"] == "url(#hatch)" and "<pattern" in grid.shades


def test_a_cell_without_data_is_a_dash_with_no_box_and_no_hatch():
    grid = heat_grid(["HR"], [HeatRow("Care", [HeatCell(None, n=3)])])
    (line,) = lines(grid)
    assert line.split() == ["Care", "–"]
    assert boxes(grid) == [] and "url(#hatch)" not in grid.shades and "<pattern" not in grid.shades
    assert grid.legend == [("none", "–: no data")]


def test_a_suppressed_figure_that_carries_a_value_is_refused():
    with pytest.raises(ValueError):
        HeatCell(4.2, suppressed=True)
    with pytest.raises(ValueError):
        Dot("x", None, low=3.0, high=4.0, suppressed=True)
    with pytest.raises(ValueError):
        Series("x", [4.0], [10], [True])
    with pytest.raises(ValueError):
        Bar("x", float("nan"))


def test_a_grid_refuses_shades_it_cannot_draw_and_rows_that_do_not_match_its_columns():
    with pytest.raises(ValueError):
        HeatCell(4.2, shade=3)
    with pytest.raises(ValueError):
        HeatCell(float("inf"), shade=0)
    with pytest.raises(ValueError):
        heat_grid(["HR", "IT"], [HeatRow("Sales", [HeatCell(4.0, n=10)])])


def test_the_heat_grids_legend_names_the_shades_the_hatch_and_the_dash():
    grid = a_grid(suppressed_note="suppressed: fewer than 5 respondents")
    assert grid.legend == [
        ("shade-2", "▼▼ much worse than the organisation"),
        ("shade-1", "▼ worse"),
        ("shade0", "about the same"),
        ("shade1", "▲ better"),
        ("shade2", "▲▲ much better"),
        ("suppressed", "suppressed: fewer than 5 respondents"),
        ("none", "–: no data"),
    ]
    # and nothing that the grid does not show
    assert heat_grid(["HR"], [HeatRow("Sales", [HeatCell(4.0, n=10)])]).legend == []


def test_the_grids_columns_line_up_under_their_headings():
    grid = a_grid()
    header, rows = grid.header, lines(grid)
    assert len({len(line) for line in header + rows}) == 1
    # headings stand right-aligned over their column, as the figures do
    ends = [header[-1].index(word) + len(word) for word in ("Resources", "& Workplace")]
    assert header[0][: ends[0]].endswith(" Human") and header[0][: ends[1]].endswith(" Facilities")
    for line, cells in zip(rows, GRID_TEXTS, strict=True):
        assert [span[1] for span in spans(line, cells)] == ends


def relative_luminance(fill: str) -> float:
    """WCAG's relative luminance of a "#rrggbb" colour."""
    channels = [int(fill[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_the_shaded_boxes_sit_under_their_figures_in_the_scales_colours():
    grid = a_grid()
    fills = [
        [(box_under(grid, i, span) or {}).get("fill") for span in spans(line, cells)]
        for i, (line, cells) in enumerate(zip(lines(grid), GRID_TEXTS, strict=True))
    ]
    (sales_about, sales_much_worse), care, (all_unshaded, all_better) = fills
    assert care == ["url(#hatch)", None] and all_unshaded is None
    assert [sales_about, sales_much_worse, all_better] == [GRID_FILLS[0], GRID_FILLS[-2], GRID_FILLS[1]]
    assert [box["fill"] for box in boxes(grid)].count("url(#hatch)") == 1


def test_every_shade_carries_black_figures_and_is_told_apart_in_greyscale_by_its_mark():
    columns = ["a", "b", "c", "d", "e"]
    grid = heat_grid(columns, [HeatRow("Sales", [HeatCell(4.0, n=10, shade=s) for s in (-2, -1, 0, 1, 2)])])
    (line,) = lines(grid)
    texts = ["4.0 (10)▼▼", "4.0 (10)▼", "4.0 (10)", "4.0 (10)▲", "4.0 (10)▲▲"]
    under = [box_under(grid, 0, span) for span in spans(line, texts)]
    for box in under:  # WCAG AA contrast of the figures' ink (#222) on every shade
        assert (relative_luminance(box["fill"]) + 0.05) / (relative_luminance("#222222") + 0.05) >= 4.5
    # worse is orange, better blue: red above blue for worse, blue above red for better
    for level in (-2, -1):
        assert int(GRID_FILLS[level][1:3], 16) > int(GRID_FILLS[level][5:7], 16)
        assert int(GRID_FILLS[-level][5:7], 16) > int(GRID_FILLS[-level][1:3], 16)
    # the near-white middle shade is outlined, so that it still shows on white paper
    assert under[2]["stroke"] is not None


def test_neighbouring_cells_of_the_same_look_are_one_box_split_by_column_rules():
    looks = [0, 0, -1, -1, -1, None, "suppressed", "suppressed"]
    cells = [
        HeatCell(None, n=2, suppressed=True) if look == "suppressed" else HeatCell(4.0, n=10, shade=look)
        for look in looks
    ]
    columns = [f"c{j}" for j in range(len(looks))]
    grid = heat_grid(columns, [HeatRow("Sales", cells)])
    (line,) = lines(grid)
    shown = ["hidden" if look == "suppressed" else "4.0 (10)" for look in looks]
    under = [box_under(grid, 0, span) for span in spans(line, shown)]
    assert len(boxes(grid)) == 3
    assert under[5] is None and None not in under[:5] + under[6:]
    assert under[0] == under[1] and under[2] == under[3] == under[4] and under[6] == under[7]
    assert under[6]["fill"] == "url(#hatch)" and len({tuple(box.items()) for box in under if box}) == 3
    # white rules between all the columns keep the merged cells apart on the page
    cw = grid.font_pt * MONO
    ends = [grid.header[-1].index(column) + len(column) for column in columns]
    edges = [ends[0] - (ends[1] - ends[0]), *ends]
    rules = [float(rule.get("x1")) for rule in elements(grid.shades, "line", stroke="#fff")]
    assert sorted(rules) == pytest.approx([edge * cw for edge in edges], abs=0.1)
    # and each box runs from one column's edge to another's: c0-c1, c2-c4, c6-c7
    spans_of_boxes = [(box["x"], box["x"] + box["width"]) for box in boxes(grid)]
    expected = [(edges[0], edges[2]), (edges[2], edges[5]), (edges[6], edges[8])]
    assert sorted(spans_of_boxes) == [pytest.approx((a * cw, b * cw), abs=0.15) for a, b in expected]


def test_a_total_row_is_bold_with_a_rule_above_it():
    grid = a_grid()
    (rule,) = elements(grid.shades, "line", stroke="#222")
    assert float(rule.get("y1")) == pytest.approx(2 * grid.line_pt, abs=0.5)
    assert float(rule.get("x2")) - float(rule.get("x1")) == pytest.approx(grid.width_pt, abs=0.1)
    assert grid.rows[2] == (lines(grid)[2], True)


def test_the_shades_picture_is_the_size_of_the_rows_and_holds_no_text():
    grid = a_grid()
    root = ET.fromstring(grid.shades)
    assert root.tag == f"{SVG}svg" and list(root.iter(f"{SVG}text")) == []
    width, height = (float(root.get(k).removesuffix("pt")) for k in ("width", "height"))
    assert root.get("width").endswith("pt") and root.get("height").endswith("pt")
    assert [float(v) for v in root.get("viewBox").split()] == [0, 0, width, height]
    assert grid.line_pt == pytest.approx(grid.font_pt * LEADING)
    assert height == pytest.approx(len(grid.rows) * grid.line_pt, abs=0.1)
    for line in lines(grid) + grid.header:
        assert width == pytest.approx(len(line) * grid.font_pt * MONO, abs=0.1)
    assert grid.width_pt == pytest.approx(width, abs=0.1)


def test_long_labels_wrap_onto_more_lines_and_are_never_cut():
    """A team's name is how its head finds it: a long one wraps, in a bar chart, a heat map and a trend's
    table alike, and every word of it is printed."""
    label = "Customer Care, Southern Region and the Islands, Night Shift " * 3
    svg = bars([Bar(label, 50, n=10), Bar("Sales", 40, n=9)], scale=(0, 100))
    assert label.strip() in " ".join(texts(svg)) and not any("…" in text for text in texts(svg))

    cells = [HeatCell(4.0, n=10, shade=0)], [HeatCell(3.0, n=9, shade=0)]
    grid = heat_grid(["HR"], [HeatRow(label, cells[0]), HeatRow("Sales", cells[1])])
    table = trend_table(["Q1"], [Series(label, [4.0], [10]), Series("Sales", [3.0], [9])])
    for printed in (lines(grid), table[1:]):
        assert printed[0].startswith("Customer Care") and printed[0].endswith(" 4.0 (10)")
        assert " ".join(line.split("  ")[0].strip() for line in printed[:-1]) == label.strip()
        assert printed[-1].startswith("Sales") and printed[-1].endswith(" 3.0 (9)")
        assert not any("…" in line for line in printed)
    assert max(len(line) for line in lines(grid)) == len(lines(grid)[-1])  # the grid's width is unchanged
    # the picture behind the grid: the wrapped row's box is as tall as its lines
    first, second = boxes(grid)
    assert first["height"] == pytest.approx((len(lines(grid)) - 1) * grid.line_pt - 0.8)
    assert second["y"] == pytest.approx((len(lines(grid)) - 1) * grid.line_pt + 0.4)


def test_column_headings_wrap_onto_five_lines_at_most():
    heading = "Communications and Stakeholder Engagement Directorate Office"
    rows = [HeatRow("Sales", [HeatCell(4.0, n=10), HeatCell(3.0, n=9)])]
    grid = heat_grid([heading, "HR"], rows)
    end, end_hr = (span[1] for span in spans(lines(grid)[0], ["4.0 (10)", "3.0 (9)"]))
    column = end_hr - end
    pieces = [line[end - column : end].strip() for line in grid.header]
    assert len(pieces) == 5 and " ".join(pieces) == heading  # the whole name, in five lines
    assert all(line[end - column] == " " for line in grid.header)  # a space between the columns' headings
    assert [line[end:end_hr].strip() for line in grid.header] == ["", "", "", "", "HR"]  # short ones low
    longer = heat_grid([heading + " of the Northern and Southern Regions", "HR"], rows)
    assert len(longer.header) == 5 and "…" in longer.header[-1]  # a longer one is cut on its fifth line
    assert len(heat_grid(["HR", "IT"], rows).header) == 1


def test_a_heading_word_too_long_for_its_column_is_hyphenated():
    word = "Telecommunicationsinfrastructuremaintenance"
    grid = heat_grid([word], [HeatRow("Sales", [HeatCell(4.0, n=10)])])
    (end,) = (span[1] for span in spans(lines(grid)[0], ["4.0 (10)"]))
    pieces = [line[:end].split()[-1] for line in grid.header]
    assert 1 < len(pieces) <= 3 and pieces[0].endswith("-")
    assert word.startswith("".join(piece.removesuffix("-") for piece in pieces).removesuffix("…"))
    assert len({len(line) for line in grid.header + lines(grid)}) == 1


def test_forty_rows_by_ten_columns_fit_the_width_of_an_a4_page():
    columns = [f"Support function {j}" for j in range(10)]
    looks = [-2, -2, -1, -1, 0, 0, 1, 1, None, "suppressed"]
    rows = [
        HeatRow(
            f"Team {i}, Southern Region Night Shift",
            [
                HeatCell(None, n=3, suppressed=True)
                if look == "suppressed"
                else HeatCell(4.5, n=120, shade=look)
                for look in looks
            ],
            emphasis=i % 10 == 9,
        )
        for i in range(40)
    ]
    grid = heat_grid(columns, rows)
    assert grid.font_pt in GRID_SIZES and len(grid.rows) == 40
    for line in grid.header + lines(grid):
        assert grid.font_pt * MONO * len(line) <= 480
    assert grid.width_pt <= 480
    firsts = [row.split("\n")[0] for row, _ in grid.rows]  # each row's figures are on its first line
    assert all(line.count("4.5 (120)") == 9 and line.count("hidden") == 1 for line in firsts)
    # 40 rows and the headings in about 250 mm of height
    assert (len(grid.header) + len(grid.rows)) * grid.line_pt * 25.4 / 72 < 250
    # a box per run of cells that look the same: five a row, not nine
    assert len(boxes(grid)) == 5 * 40 < 400


def test_a_small_grid_is_set_in_the_largest_size_and_a_narrow_one_smaller_to_fit():
    assert a_grid().font_pt == max(GRID_SIZES)
    narrow = a_grid(width_pt=110)
    assert narrow.font_pt in GRID_SIZES and narrow.font_pt < max(GRID_SIZES)
    assert all(narrow.font_pt * MONO * len(line) <= 110 for line in narrow.header + lines(narrow))


def test_the_dot_plot_writes_value_interval_n_and_comparison_as_text_beside_its_picture():
    grid = a_dot_grid()
    rows = [line for line, _ in grid.rows]
    assert rows[0].startswith("Reliability") and rows[0].endswith("4.2 [3.8, 4.6] n 18 ◇ 4.4")
    assert rows[2].endswith("4.6 [4.3, 4.9] n 23") and grid.rows[2][1]  # the emphasised row
    assert "hidden" in rows[1] and "n 4" not in rows[1]
    assert [label for _, label in grid.legend if "organisation" in label or "midpoint" in label]
    assert rows[0].index("4.2 [") == rows[1].index("hidden") == rows[2].index("4.6 [")  # one column
    axis = rows[3]
    assert axis.split() == ["1", "2", "3", "4", "5", "6", "7"]
    root = ET.fromstring(grid.shades)
    assert list(root.iter(f"{SVG}text")) == [] and len(list(root.iter(f"{SVG}circle"))) == 2
    assert "url(#hatch)" in grid.shades  # the suppressed row is hatched across the scale


def test_a_dot_lies_under_the_axis_number_of_its_value():
    grid = dot_grid([Dot("A", 3.0), Dot("B", 5.0)], scale=(1, 7))
    axis, cw = grid.rows[-1][0], grid.font_pt * MONO
    root = ET.fromstring(grid.shades)
    for circle, value in zip(root.iter(f"{SVG}circle"), ("3", "5"), strict=True):
        column = axis.index(value)
        assert column * cw <= float(circle.get("cx")) <= (column + 1) * cw


def test_trend_lines_break_where_a_value_is_missing_or_suppressed():
    lines = [line.get("points").split() for line in elements(a_trend(), "polyline")]
    assert sorted(len(points) for points in lines) == [2, 2, 3]  # HR: Q1-Q2, Q4-Q5; IT: Q3-Q5 (Q1 alone)


def test_the_trend_chart_has_no_table_of_figures_any_more_only_values_at_its_points():
    printed = texts(a_trend())
    assert not any("(" in text or "hidden" in text or "–" in text for text in printed)
    assert {"3.9", "4.1", "4.4", "4.6", "4.3", "4.5", "4.0", "5.3"} <= set(printed)
    assert not {"18", "20", "12", "16", "30", "25", "28", "31"} & set(printed)


def test_the_trend_table_gives_every_value_with_its_n_and_no_number_for_a_suppressed_one():
    header, hr, it = a_trend_table()
    assert header.split() == PERIODS and hr.split()[0] == "HR" and it.split()[0] == "IT"
    hr_cells = ["4.3 (18)", "4.5 (20)", "hidden", "4.0 (12)", "5.3 (16)"]
    it_cells = ["3.9 (30)", "–", "4.1 (25)", "4.4 (28)", "4.6 (31)"]
    # each figure right-aligned under its period, like the periods themselves
    ends = [header.index(period) + len(period) for period in PERIODS]
    assert [span[1] for span in spans(hr, hr_cells)] == ends
    assert [span[1] for span in spans(it, it_cells)] == ends
    assert len({len(header), len(hr), len(it)}) == 1
    assert "(4)" not in hr and "–" not in hr and "hidden" not in it


def test_a_trend_table_value_without_an_n_is_printed_alone():
    _, row = trend_table(["Q1", "Q2"], [Series("HR", [4.25, -0.01], [None, 7])], decimals=2)
    assert row.split() == ["HR", "4.25", "−0.01", "(7)"]


def test_bars_print_value_n_and_note_and_mark_the_thresholds():
    printed = texts(a_bar_chart())
    assert {
        "72% (n 36)",
        "55% (n 20)",
        "below 60%: interpret with care",
        "60% warning",
        "75% healthy",
    } <= set(printed)
    assert "hidden" in printed and "–" in printed and not any("n 2)" in text for text in printed)


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


@pytest.mark.parametrize("chart", [*CHARTS, a_grid, a_trend_table])
def test_the_same_input_gives_the_same_output(chart):
    assert chart() == chart()


def test_text_from_users_is_escaped():
    charts = [
        trend_lines(["Q1", HOSTILE], [Series(HOSTILE, [4.0, 4.1], [10, 11])], scale=(1, 7), title=HOSTILE),
        bars([Bar(HOSTILE, 50, n=10, note=HOSTILE)], scale=(0, 100), markers=[(50, HOSTILE)], unit=HOSTILE),
    ]
    for svg in charts:
        assert "<img" not in svg and "&lt;img" in svg
        assert any(text.startswith('<img src="file:') for text in texts(svg))


def test_text_from_users_stays_literal_in_text_lines_and_out_of_the_shades():
    rows = [HeatRow(HOSTILE, [HeatCell(4.0, n=10), HeatCell(None, n=2, suppressed=True)])]
    grid = heat_grid([HOSTILE, HOSTILE], rows, suppressed_note=HOSTILE)
    # literal: the templates escape it, once
    assert lines(grid)[1].startswith('src="file:') and grid.header[0].split()[0] == "<img"
    assert ("suppressed", HOSTILE) in grid.legend
    table = trend_table(["Q1", HOSTILE], [Series(HOSTILE, [4.0, 4.1], [10, 11])])
    assert table[0].split()[1] == "<img" and table[2].startswith('src="file:')  # a period is cut to 12
    assert not any("&lt;" in line or "&amp;" in line for line in grid.header + lines(grid) + table)
    # the picture holds no user text at all
    ET.fromstring(grid.shades)
    assert "img" not in grid.shades and "passwd" not in grid.shades


def test_shade_counts_the_gap_to_the_organisation_in_spreads():
    values = (2.9, 3.0, 3.5, 3.6, 3.7, 4.3, 4.4, 4.9, 5.0, 6.0)
    assert [shade(v, 4.0, 1.0) for v in values] == [-2, -2, -1, -1, 0, 0, 1, 1, 2, 2]
    assert shade(3.0, 4.0, 1.0, higher_is_better=False) == 2
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
    heat_rows = [
        HeatRow(
            label,
            [
                HeatCell(v, n=5, shade=j - 2) if v is not None else HeatCell(None, n=5, suppressed=j % 2 == 0)
                for j, v in enumerate(numbers)
            ],
        )
        for label in labels
    ]
    dots = dot_grid(
        [Dot(label, v, n=3, compare=v) for label, v in zip(labels, numbers, strict=False)], scale=(-1, 1)
    )
    assert list(ET.fromstring(dots.shades).iter(f"{SVG}text")) == []
    for svg in [
        trend_lines(periods, series, scale=(0, 10), title=labels[-1]),
        bars(
            [Bar(label, v, n=9, note=label) for label, v in zip(labels, numbers, strict=False)],
            scale=(-100, 100),
        ),
    ]:
        ET.fromstring(svg)
    grid = heat_grid(labels[:1] * 4, heat_rows, suppressed_note=labels[0])
    root = ET.fromstring(grid.shades)
    assert list(root.iter(f"{SVG}text")) == []
    firsts = [
        row.split("\n")[0] for row, _ in grid.rows
    ]  # a row's figures on its first line, its label wraps
    assert len({len(line) for line in grid.header + firsts}) == 1
    assert max(len(line) for line in lines(grid)) == len(firsts[0])
    assert len(grid.header) <= GRID_HEADER_LINES and grid.font_pt in GRID_SIZES
    shown = sum(v is not None for v in numbers)
    assert all(line.count(" (5)") >= shown for line in firsts)
    table = trend_table(periods, series)
    assert len(table) >= len(series) + 1 and max(len(line) for line in table) == len(table[0])
