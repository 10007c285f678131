"""HR's results page: its heat map shades each score as its legend says, and as the PDF reports' charts do."""

from __future__ import annotations

import msgspec

from survey.analysis.pages import heat_map
from survey.analysis.results import Scores
from survey.vocabulary import INTERNAL_MEASURES

TEAMS = ["T1", "T2", "T3", "T4", "T5", "T6"]


def scores(measure: str, means: list[float | None], nps: list[float | None]) -> Scores:
    """One support function rated by six front-line teams, and their customers' NPS; None: suppressed."""

    def cell(number: int, code: str, name: str, mean: float | None) -> dict:
        figure = None if mean is None else {"mean": mean, "n": 12, "sd": 1.0}
        unit = {"unit_id": number, "code": code, "name": f"Team {code}", "kind": "front_line"}
        return {**unit, "suppressed": mean is None, "scores": {name: figure}}

    function = {"unit_id": 100, "code": "HR", "name": "HR", "kind": "support", "comments": []}
    staff = [
        {**cell(i, t, measure, m), "usage": None}
        for i, (t, m) in enumerate(zip(TEAMS, means, strict=True), 1)
    ]
    return msgspec.convert(
        {
            "round": {"id": 1, "name": "2026 Q3", "status": "closed"},
            "min_group_size": 5,
            "min_comment_group_size": 10,
            "scale": "1 to 7",
            "functions": [{**function, "cells": staff}],
            "reliability": {},
            "measures": list(INTERNAL_MEASURES),
            "customers": [cell(i, t, "nps", m) for i, (t, m) in enumerate(zip(TEAMS, nps, strict=True), 1)],
        },
        Scores,
    )


def shades(measure: str, means: list[float | None], nps: list[float | None]) -> tuple[list[str], list[str]]:
    rows = heat_map(scores(measure, means, nps), None, measure, "nps")["rows"]
    return [cells[0].shade for _, _, cells, _ in rows], [outcome.shade for *_, outcome in rows]


def test_a_score_is_shaded_by_how_far_it_lies_from_the_functions_median_across_teams():
    # the median is 4.0: a point or more below, 0.4 to 1 below, near it, 0.4 or more above
    functions, outcomes = shades("overall", [3.0, 3.6, 4.0, 4.4, 4.5, None], [-20, -6, 0, 6, 10, None])
    assert functions == ["hm-low2", "hm-low1", "hm-mid", "hm-high1", "hm-high1", "hm-none"]
    # customers' NPS, median 0: 15 points or more below is well below, 6 points below or above count
    assert outcomes == ["hm-low2", "hm-low1", "hm-mid", "hm-high1", "hm-high1", "hm-none"]


def test_impact_is_shaded_the_other_way_round_since_a_higher_impact_is_worse():
    functions, _ = shades("impact", [3.0, 3.6, 4.0, 4.4, 5.0, None], [0] * 6)
    assert functions == ["hm-high1", "hm-high1", "hm-mid", "hm-low1", "hm-low2", "hm-none"]
