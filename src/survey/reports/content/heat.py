"""Heat maps of released scores: each cell a mean with its n, shaded by how far it lies from the organisation's
figure for the same function and measure (every team together), suppressed cells marked as such: one colour scale
(`charts.shade`, `charts.GRID_FILLS`) for the PDF reports and the pages. `function_team_heat` is the one
function-by-team heat map, drawn by the executive report (PDF), the dashboards and HR's results page (HTML).

Pure: no web, no database.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from statistics import median

from survey.analysis.results import Figure, FunctionScores, ScoreCell, Scores
from survey.numbers import number
from survey.reports import charts
from survey.reports.content.common import favourable_text, outcome_spread
from survey.vocabulary import IMPACT, outcome_decimals


def team_median(function: FunctionScores, measure: str) -> float | None:
    """The median of a function's score across the front-line teams whose score is shown."""
    shown = [figure.mean for c in function.teams if (figure := c.scores.of(measure))]
    return median(shown) if shown else None


def organisation_figure(function: FunctionScores, measure: str) -> float | None:
    """The function's `measure` over every team together, the heat maps' reference; None when it is hidden."""
    shown = function.score(None, measure)
    return shown.mean if shown else None


def scale_note(outcome: str | None = None) -> str:
    """The colour scale's steps in words, for the line above a heat map."""
    step = charts.SHADE_STEP
    customers = ""
    if outcome is not None:
        spread = outcome_spread(outcome)
        customers = f" ({spread:g} and {step * spread:g} points for the customers' figure)"
    return (
        "Each shade compares a figure with the organisation's for the same function and measure (every team "
        f"together): much worse is a point or more worse on the 1 to 7 scale, worse {step:g} to 1 point, about "
        f"the same less than {step:g} either way, better and much better in the same steps{customers}."
    )


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
    if centre is None:
        return charts.HeatCell(shown.mean, shown.n, decimals=decimals, favourable=shown.favourable)
    shade = charts.shade(shown.mean, centre, spread, higher_is_better)
    return charts.HeatCell(
        shown.mean, shown.n, shade, decimals=decimals, gap=shown.mean - centre, favourable=shown.favourable
    )


def team_row(cell: ScoreCell, references: dict[str, float | None], measures: list[str]) -> charts.HeatRow:
    """A team's (or group's) row of a function's heat map: the measures the round asks (overall, the five
    dimensions and harm if asked). When every figure rests on the same respondents, the row's label carries the
    n once."""
    ns = {figure.n for m in measures if (figure := cell.scores.of(m))}
    shared = len(ns) == 1 and not cell.suppressed
    cells = []
    for m in measures:
        heat = heat_cell(
            None if cell.suppressed else cell.scores.of(m), references[m], higher_is_better=m != IMPACT
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
    `measure` score there and the customers' `outcome`, each shaded against the organisation's figure.
    `hotspots` holds (function code, team code) pairs to mark. Nodes nobody answered for are left out."""
    names = {c.code: c.name for f in scores.functions for c in f.cells if c.code}
    names.update({c.code: c.name for c in scores.customers if c.code})
    references = {f.code: organisation_figure(f, measure) for f in scores.functions}
    everyone = scores.customer_score(None, outcome)[0]
    outcome_reference = everyone.mean if everyone else None
    lines = []
    for code in nodes:
        if code is not None and code not in names:
            continue
        cells = [_function_cell(f, code, measure, references[f.code]) for f in scores.functions]
        customer = scores.customer(code)
        cells.append(
            charts.HeatCell(None)
            if customer is None
            else heat_cell(
                customer.scores.of(outcome),
                outcome_reference,
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


# --- Heat maps on the pages --------------------------------------------------------------------------------------

HIDDEN, NOT_RATED = charts.HIDDEN, "no answers"


@dataclass(frozen=True)
class CellWords:
    """A heat map's cell as a page states it in text: its value (or why there is none), its shade's css class and
    mark, how far it lies from the organisation's figure ("0.6 below", "level with"; "" when not shaded), and its
    share favourable ("62% favourable"; "" when it has none)."""

    value: str
    shade: str
    mark: str
    against: str
    favourable: str = ""


def cell_words(cell: charts.HeatCell) -> CellWords:
    """The same cell the PDF draws, in words: nothing on a page is told by colour or by hovering alone."""
    if cell.value is None:
        return CellWords(
            HIDDEN if cell.suppressed else NOT_RATED, "shade-hidden" if cell.suppressed else "", "", ""
        )
    value = number(cell.value, cell.decimals)
    share = "" if cell.favourable is None else favourable_text(cell.favourable)
    if cell.shade is None or cell.gap is None:
        return CellWords(value, "", "", "", share)
    size = number(abs(cell.gap), cell.decimals)
    against = "level with" if float(size) == 0 else f"{size} {'below' if cell.gap < 0 else 'above'}"
    return CellWords(value, f"shade{cell.shade}", charts.SHADE_MARKS[cell.shade], against, share)


def legend_words() -> list[tuple[str, str, str]]:
    """The colour scale's key for a page: (css class, mark, label) of each shade."""
    return [
        (f"shade{level}", charts.SHADE_MARKS[level], label) for level, label in charts.SHADE_LABELS.items()
    ]
