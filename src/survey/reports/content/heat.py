"""Heat maps of released scores: each cell a mean with its n, shaded by its distance from the median across
front-line teams, suppressed cells marked as such. `function_team_heat` is the one function-by-team heat map,
drawn by the executive report (PDF) and by HR's results page (HTML).

Pure: no web, no database.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from statistics import median

from survey.analysis.results import Figure, FunctionScores, ScoreCell, Scores
from survey.reports import charts
from survey.reports.content.common import outcome_spread
from survey.vocabulary import IMPACT, outcome_decimals


def team_median(function: FunctionScores, measure: str) -> float | None:
    """The median of a function's score across the front-line teams whose score is shown."""
    shown = [figure.mean for c in function.teams if (figure := c.scores.of(measure))]
    return median(shown) if shown else None


def heat_cell(
    shown: Figure | None,
    centre: float | None,
    higher_is_better: bool = True,
    decimals: int = 1,
    spread: float = 1.0,
) -> charts.HeatCell:
    """A released figure as a cell, shaded against `centre`; a figure not shown as a suppressed cell."""
    if not shown:
        return charts.HeatCell(None, suppressed=True)
    shade = None if centre is None else charts.shade(shown.mean, centre, spread, higher_is_better)
    return charts.HeatCell(shown.mean, shown.n, shade, decimals=decimals, favourable=shown.favourable)


def team_row(cell: ScoreCell, medians: dict[str, float | None], measures: list[str]) -> charts.HeatRow:
    """A team's (or group's) row of a function's heat map: the measures the round asks (overall, the five
    dimensions and harm if asked). When every figure rests on the same respondents, the row's label carries the
    n once."""
    ns = {figure.n for m in measures if (figure := cell.scores.of(m))}
    shared = len(ns) == 1 and not cell.suppressed
    cells = []
    for m in measures:
        heat = heat_cell(
            None if cell.suppressed else cell.scores.of(m), medians[m], higher_is_better=m != IMPACT
        )
        cells.append(replace(heat, n=None) if shared else heat)
    label = cell.name + (f" (n {ns.pop()})" if shared else "")
    return charts.HeatRow(label, cells, emphasis=cell.kind != "front_line")


@dataclass(frozen=True)
class HeatLine:
    """A team's (or group's, or every team's: code None) line of the function-by-team heat map: one cell per
    support function, then its customers' outcome. A cell with no value and not suppressed: nobody rated."""

    code: str | None
    name: str
    emphasis: bool  # every team, or a group
    cells: list[charts.HeatCell]
    hotspots: frozenset[str]  # codes of the functions for which this team is a hotspot


def function_team_heat(
    scores: Scores,
    measure: str,
    outcome: str,
    nodes: Sequence[str | None],
    groups: Collection[str] = (),
    hotspots: Collection[tuple[str, str]] = (),
) -> list[HeatLine]:
    """Each node of `nodes` (team or group codes, None for every team) with a line: every support function's
    `measure` score there and the customers' `outcome`, each shaded against its median across front-line teams.
    `hotspots` holds (function code, team code) pairs to mark. Nodes nobody answered for are left out."""
    names = {c.code: c.name for f in scores.functions for c in f.cells if c.code}
    names.update({c.code: c.name for c in scores.customers if c.code})
    medians = {f.code: team_median(f, measure) for f in scores.functions}
    outcomes = [
        figure.mean for c in scores.customers if c.kind == "front_line" and (figure := c.scores.of(outcome))
    ]
    outcome_median = median(outcomes) if outcomes else None
    lines = []
    for code in nodes:
        if code is not None and code not in names:
            continue
        cells = [_function_cell(f, code, measure, medians[f.code]) for f in scores.functions]
        customer = scores.customer(code)
        cells.append(
            charts.HeatCell(None)
            if customer is None
            else heat_cell(
                customer.scores.of(outcome),
                outcome_median,
                decimals=outcome_decimals(outcome),
                spread=outcome_spread(outcome),
            )
        )
        marked = frozenset(function for function, team in hotspots if team == code)
        name = "All teams" if code is None else names[code]
        lines.append(HeatLine(code, name, code is None or code in groups, cells, marked))
    return lines


def _function_cell(
    function: FunctionScores, code: str | None, measure: str, centre: float | None
) -> charts.HeatCell:
    cell = function.cell(code)
    if cell is None:
        return charts.HeatCell(None)
    return heat_cell(cell.scores.of(measure), centre, higher_is_better=measure != IMPACT)
