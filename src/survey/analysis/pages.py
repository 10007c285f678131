"""HR's page of a round's results: a heat map of every support function's score by front-line team beside the
customers' outcome, the drivers with their evidence, the hotspots, and the reliability of the scales. It shows
what `analytics` released and stored when the round closed, and nothing else: it computes nothing."""

from __future__ import annotations

from typing import Any, Literal

from litestar import get
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery
from litestar.response import Template

from survey.analysis import analytics
from survey.analysis.results import Linkage, Scores
from survey.db.models import Round
from survey.reports.content.heat import cell_words, function_team_heat, legend_words, scale_note
from survey.vocabulary import (
    INTERNAL_MEASURES,
    MEASURE_LABELS,
    ONE_SCALE,
    OUTCOME_LABELS,
    OVERALL,
    SCALE_LABELS,
)
from survey.web.deps import DatabaseDep, ObjectId, SettingsDep

Outcome = Literal["csat_pct", "nps", "ces", "csat"]
Measure = Literal["overall", "reliability", "responsiveness", "assurance", "empathy", "tangibles", "impact"]


def heat_map(scores: Scores, linkage: Linkage | None, measure: str, outcome: str) -> dict[str, Any]:
    """Rows per front-line team, columns per support function, and the team's customer outcome last: the
    executive report's heat map (`content.heat.function_team_heat`), each cell in words (`cell_words`)."""
    teams = sorted(
        {c.code for f in scores.functions for c in f.teams if c.code}
        | {c.code for c in scores.customers if c.kind == "front_line" and c.code}
    )
    hotspots = [(h.function.code, h.team.code) for h in linkage.hotspots] if linkage else []
    lines = function_team_heat(scores, measure, outcome, teams, hotspots=hotspots)
    codes = [f.code for f in scores.functions]
    rows = [
        (
            line.code,
            line.name,
            [
                (cell_words(cell), code in line.hotspots)
                for cell, code in zip(line.cells, codes, strict=False)
            ],
            cell_words(line.cells[-1]),
        )
        for line in lines
    ]
    return {"columns": [(f.code, f.name) for f in scores.functions], "rows": rows}


@get("/rounds/{round_id:int}/results", sync_to_thread=True)
def results_page(
    round_id: ObjectId,
    db: DatabaseDep,
    settings: SettingsDep,
    outcome: FromQuery[Outcome | None] = None,
    measure: FromQuery[Measure] = "overall",
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
        "measure_labels": MEASURE_LABELS,
        "k": a_round.group_size(settings.min_group_size),  # the round's own, fixed when it closed
    }
    try:
        stored = analytics.read_scores(db, round_id, settings.min_group_size, settings.min_comment_group_size)
        stored_linkage = analytics.read_linkage(db, round_id, settings.min_group_size, outcome)
    except analytics.NotReleased as reason:  # not closed, or its results not computed yet
        return Template("admin/results.html", context={**context, "not_released": str(reason)})
    scores, linkage = stored.result, stored_linkage.result
    chosen = linkage.outcome.measure  # the one asked for, or the one the linkage chose
    return Template(
        "admin/results.html",
        context={
            **context,
            "updating": stored.updating or stored_linkage.updating,
            "computed_at": min(stored.computed_at, stored_linkage.computed_at),
            "outcome": chosen,
            "scores": scores,
            "measures": scores.measures,
            "linkage": linkage,
            "heat": heat_map(scores, linkage, measure, chosen),
            "legend_items": legend_words(),
            "scale_note": scale_note(chosen),
            "outcome_label": OUTCOME_LABELS[chosen][0],
            "overall": OVERALL,
            "scale_labels": SCALE_LABELS,
            "one_scale": ONE_SCALE,
        },
    )


HR_PAGES = [results_page]
