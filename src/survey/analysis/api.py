"""A closed round's results on the JSON API (scope results:read): its scores and its linkage, released through the
release gate; an open round answers 409."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeVar

from litestar import get
from litestar.params import Parameter

from survey.analysis import analytics
from survey.analysis.results import Linkage, Scores
from survey.db.engine import Database
from survey.db.models import Round
from survey.web.deps import DatabaseDep, ObjectId, SettingsDep
from survey.web.errors import Conflict
from survey.web.responses import get_or_404

T = TypeVar("T")

# --- Results ----------------------------------------------------------------------------------------------------


def _results(round_id: int, db: Database, compute: Callable[[], T]) -> T:
    with db.session() as session:
        get_or_404(session, Round, round_id)
    try:
        return compute()
    except analytics.NotReleased as reason:
        raise Conflict(str(reason)) from None


@get("/rounds/{round_id:int}/scores", opt={"scope": "results:read"}, sync_to_thread=True)
def round_scores(round_id: ObjectId, db: DatabaseDep, settings: SettingsDep) -> Scores:
    """A closed round's scores: per support function, its mean, spread and n per dimension, overall and for the
    impact item, for every front-line team, region and the whole, with usage (answered, used); customers' scores
    per team and region (CSAT%, NPS, CES, mean satisfaction, dimension means); Cronbach's alpha per dimension.
    A null number is suppressed: it covers fewer than k respondents, or would let one be worked out from the
    others. An open round answers 409: its numbers are released when it closes."""
    return _results(
        round_id,
        db,
        lambda: analytics.scores(db, round_id, settings.min_group_size, settings.min_comment_group_size),
    )


@get("/rounds/{round_id:int}/linkage", opt={"scope": "results:read"}, sync_to_thread=True)
def round_linkage(
    round_id: ObjectId,
    db: DatabaseDep,
    settings: SettingsDep,
    outcome: Literal["csat_pct", "nps", "ces", "csat"] | None = Parameter(
        default=None,
        description="the customer outcome: CSAT%, NPS, CES or mean satisfaction (csat). Default: CSAT% if at "
        "least 8 teams have it shown, else the first of NPS, CES and mean satisfaction that does",
    ),
) -> Linkage:
    """Which support functions' shortfalls line up with, and come before, the customer outcome, across front-line
    teams: each function's tests (same round, lagged, reverse, within-team shift) with effect sizes, 90%
    intervals, p and q values (Benjamini-Hochberg over every test of the round) and n; key-driver weights; the
    findings (since when, at which teams, how far below their own level, ongoing or ended); the hotspots
    (function, team) ranked by both falls; one plain-language sentence each. Computed from released numbers
    only. An open round answers 409."""
    return _results(round_id, db, lambda: analytics.linkage(db, round_id, settings.min_group_size, outcome))


ROUTES = [round_scores, round_linkage]
