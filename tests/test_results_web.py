"""The heat maps' one colour scale: each score shaded by how far it lies from the organisation's figure for the
same function, on HR's results page, the dashboards and in the PDF alike, and every shade stated in words."""

from __future__ import annotations

import msgspec

from survey.analysis.pages import heat_map
from survey.analysis.results import Scores
from survey.reports.content.heat import function_team_heat
from survey.vocabulary import INTERNAL_MEASURES

TEAMS = ["T1", "T2", "T3", "T4", "T5", "T6"]


def scores(
    measure: str,
    means: list[float | None],
    nps: list[float | None],
    overall: float | None = 4.0,
    overall_nps: float | None = 0.0,
    second: list[float | None] | None = None,
) -> Scores:
    """One support function (two with `second`) rated by six front-line teams, and their customers' NPS; None:
    suppressed. `overall` and `overall_nps` are the organisation's figures (every team together)."""

    def cell(number: int, code: str, name: str, mean: float | None) -> dict:
        figure = None if mean is None else {"mean": mean, "n": 12, "sd": 1.0}
        unit = {"unit_id": number, "code": code, "name": f"Team {code}", "kind": "front_line"}
        return {**unit, "suppressed": mean is None, "scores": {name: figure}}

    def total(name: str, mean: float | None) -> dict:
        figure = None if mean is None else {"mean": mean, "n": 72, "sd": 1.0}
        unit = {"unit_id": None, "code": None, "name": "All teams", "kind": "total"}
        return {**unit, "suppressed": mean is None, "scores": {name: figure}}

    def function(number: int, code: str, team_means: list[float | None]) -> dict:
        staff = [
            {**cell(i, t, measure, m), "usage": None}
            for i, (t, m) in enumerate(zip(TEAMS, team_means, strict=True), 1)
        ]
        everyone = {**total(measure, overall), "usage": None}
        return {
            "unit_id": number,
            "code": code,
            "name": code,
            "kind": "support",
            "comments": [],
            "cells": [everyone, *staff],
        }

    functions = [function(100, "HR", means)] + ([function(101, "IT", second)] if second else [])
    return msgspec.convert(
        {
            "round": {"id": 1, "name": "2026 Q3", "status": "closed"},
            "min_group_size": 5,
            "min_comment_group_size": 10,
            "scale": "1 to 7",
            "functions": functions,
            "reliability": {},
            "measures": list(INTERNAL_MEASURES),
            "customers": [total("nps", overall_nps)]
            + [cell(i, t, "nps", m) for i, (t, m) in enumerate(zip(TEAMS, nps, strict=True), 1)],
        },
        Scores,
    )


def shades(measure: str, means: list[float | None], nps: list[float | None]) -> tuple[list[str], list[str]]:
    rows = heat_map(scores(measure, means, nps), None, measure, "nps")["rows"]
    return [cells[0][0].shade for _, _, cells, _ in rows], [outcome.shade for *_, outcome in rows]


def test_a_score_is_shaded_by_how_far_it_lies_from_the_organisations_figure():
    # the organisation's figure is 4.0: a point or more worse, 0.4 to 1 worse, about the same, better, much better
    functions, outcomes = shades("overall", [3.0, 3.6, 4.0, 4.4, 5.0, None], [-20, -6, 0, 6, 15, None])
    assert functions == ["shade-2", "shade-1", "shade0", "shade1", "shade2", "shade-hidden"]
    # customers' NPS, 0 for the organisation: 15 points or more is much worse or better, 6 points counts
    assert outcomes == ["shade-2", "shade-1", "shade0", "shade1", "shade2", "shade-hidden"]


def test_impact_is_shaded_the_other_way_round_since_a_higher_impact_is_worse():
    functions, _ = shades("impact", [3.0, 3.6, 4.0, 4.4, 5.0, None], [0] * 6)
    assert functions == ["shade2", "shade1", "shade0", "shade-1", "shade-2", "shade-hidden"]


def test_the_same_score_gets_the_same_shade_in_every_column_whatever_the_other_teams_gave():
    # HR's teams mostly rate it low (median 3.0), IT's mostly high (median 5.0); both stand at 4.0 for the
    # organisation. Team T6 gives both 4.1: about the same as the organisation in both columns. Shaded against
    # each column's median, as before, the same 4.1 read "well above" in one and "below" in the other.
    hr = [3.0, 3.0, 3.0, 3.0, 3.0, 4.1]
    it = [5.0, 5.0, 5.0, 5.0, 5.0, 4.1]
    both = scores("overall", hr, [0] * 6, second=it)
    (line,) = function_team_heat(both, "overall", "nps", ["T6"])  # the PDF's heat map
    assert [cell.shade for cell in line.cells[:2]] == [0, 0]
    rows = heat_map(both, None, "overall", "nps")["rows"]  # the pages'
    (t6,) = [cells for code, _, cells, _ in rows if code == "T6"]
    assert [words.shade for words, _ in t6] == ["shade0", "shade0"]
    assert [words.against for words, _ in t6] == ["0.1 above", "0.1 above"]


def test_every_cell_states_its_value_and_its_difference_from_the_organisation_in_words():
    rows = heat_map(scores("overall", [3.4, 4.0, 4.6, 4.0, 4.0, None], [0] * 6), None, "overall", "nps")[
        "rows"
    ]
    words = [cells[0][0] for _, _, cells, _ in rows]
    assert [(w.value, w.mark, w.against) for w in words] == [
        ("3.4", "▼", "0.6 below"),
        ("4.0", "", "level with"),
        ("4.6", "▲", "0.6 above"),
        ("4.0", "", "level with"),
        ("4.0", "", "level with"),
        ("hidden", "", ""),  # a hidden cell says so in text, not in a hover-only title
    ]


def test_without_the_organisations_figure_nothing_is_shaded_and_nothing_is_claimed():
    rows = heat_map(scores("overall", [3.0, 5.0] + [4.0] * 4, [0] * 6, overall=None), None, "overall", "nps")
    assert {(cells[0][0].shade, cells[0][0].against) for _, _, cells, _ in rows["rows"]} == {("", "")}
