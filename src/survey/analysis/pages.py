"""HR's page of a round's results: a heat map of every support function's score by front-line team beside the
customers' outcome, the drivers with their evidence, the hotspots, and the reliability of the scales. It shows
what `analytics` released and nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median
from typing import Literal

from litestar import get
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from litestar.response import Template

from survey.analysis import analytics
from survey.reports import charts
from survey.reports import content as report_content
from survey.analysis.aggregation import INTERNAL_MEASURES, OVERALL
from survey.web.deps import DatabaseDep, ObjectId, SettingsDep
from survey.analysis.linkage import OUTCOME_LABELS
from survey.db.models import Round

Outcome = Literal["csat_pct", "nps", "ces", "csat"]
Measure = Literal["overall", "reliability", "responsiveness", "assurance", "empathy", "tangibles", "impact"]


@dataclass(frozen=True)
class HeatCell:
    text: str  # the mean, or "–" when suppressed or not rated
    shade: str  # css class: how far below or above the function's median across teams
    title: str  # the cell's n, or why it is empty
    hotspot: bool = False


# The css class of each of `charts.shade`'s shades: the page and the PDF reports shade alike.
_SHADE_CLASS = {-2: "hm-low2", -1: "hm-low1", 0: "hm-mid", 1: "hm-high1"}


def heat_map(scores: dict, linkage: dict | None, measure: str, outcome: str) -> dict:
    """Rows per front-line team, columns per support function, and the team's customer outcome last."""
    functions = scores["functions"]
    teams: dict[str, str] = {}
    for function in functions:
        for cell in function["cells"]:
            if cell["kind"] == "front_line":
                teams[cell["code"]] = cell["name"]
    for cell in scores["customers"]:
        if cell["kind"] == "front_line":
            teams[cell["code"]] = cell["name"]
    hotspots = {(h["function"]["code"], h["team"]["code"]) for h in (linkage or {}).get("hotspots", [])}
    higher_is_better = measure != "impact"
    columns, medians = [], {}
    for function in functions:
        by_team = {c["code"]: c for c in function["cells"] if c["kind"] == "front_line"}
        shown = [c["scores"][measure]["mean"] for c in by_team.values() if c["scores"][measure]]
        medians[function["code"]] = median(shown) if shown else None
        columns.append((function["code"], function["name"], by_team))
    customer = {c["code"]: c for c in scores["customers"] if c["kind"] == "front_line"}
    outcome_values = [c["scores"][outcome]["mean"] for c in customer.values() if c["scores"].get(outcome)]
    outcome_median = median(outcome_values) if outcome_values else None
    rows = []
    for code in sorted(teams):
        cells = []
        for function_code, _, by_team in columns:
            cell = by_team.get(code)
            number = cell and cell["scores"][measure]
            if number:
                level = charts.shade(number["mean"], medians[function_code], 1.0, higher_is_better)
                cells.append(
                    HeatCell(
                        f"{number['mean']:.1f}",
                        _SHADE_CLASS[level],
                        f"n = {number['n']}",
                        (function_code, code) in hotspots,
                    )
                )
            else:
                why = "suppressed: fewer than k respondents, or derivable" if cell else "no answers"
                cells.append(HeatCell("–", "hm-none", why))
        number = customer.get(code) and customer[code]["scores"].get(outcome)
        spread = report_content.outcome_spread(outcome)
        if number:
            outcome_cell = HeatCell(
                f"{number['mean']:.1f}" if outcome not in ("csat_pct", "nps") else f"{number['mean']:.0f}",
                _SHADE_CLASS[charts.shade(number["mean"], outcome_median, spread)],
                f"n = {number['n']}",
            )
        else:
            outcome_cell = HeatCell("–", "hm-none", "suppressed or no customer answers")
        rows.append((code, teams[code], cells, outcome_cell))
    return {"columns": [(code, name) for code, name, _ in columns], "rows": rows, "medians": medians}


@get("/rounds/{round_id:int}/results", sync_to_thread=True)
def results_page(
    round_id: ObjectId,
    db: DatabaseDep,
    settings: SettingsDep,
    outcome: Outcome | None = Parameter(default=None),
    measure: Measure = Parameter(default="overall"),
) -> Template:
    with db.session() as session:
        a_round = session.get(Round, round_id)
        if a_round is None:
            raise NotFoundException()
    context = {
        "round": a_round,
        "outcome": outcome,
        "measure": measure,
        "outcomes": [(key, label) for key, (label, _) in OUTCOME_LABELS.items()],
        "measures": INTERNAL_MEASURES,
        "k": settings.min_group_size,
    }
    try:
        scores = analytics.scores(db, round_id, settings.min_group_size, settings.min_comment_group_size)
        linkage = analytics.linkage(db, round_id, settings.min_group_size, outcome)
    except analytics.NotReleased as reason:
        return Template("admin/results.html", context={**context, "not_released": str(reason)})
    outcome = context["outcome"] = linkage["outcome"]["measure"]
    return Template(
        "admin/results.html",
        context={
            **context,
            "scores": scores,
            "linkage": linkage,
            "heat": heat_map(scores, linkage, measure, outcome),
            "outcome_label": OUTCOME_LABELS[outcome][0],
            "overall": OVERALL,
        },
    )


ROUTES = [results_page]
