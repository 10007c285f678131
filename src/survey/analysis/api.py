"""A closed round's results on the JSON API (scope results:read): its scores and its linkage, released through the
release gate and read as stored when the round closed; an open round answers 409, and so does a closed round whose
results are still being computed. Header `Survey-Results` says whether they are current or being updated."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import format_datetime
from typing import Literal, TypeVar

from litestar import Response, get
from litestar.datastructures import ResponseHeader
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

RESULTS_HEADER = "Survey-Results"
RESULTS_HEADERS = [
    ResponseHeader(
        name=RESULTS_HEADER,
        description="current: computed from what the results read now; updating: what they read has changed "
        "since (customer figures were imported, say) and newer results are being computed, which replace these "
        "within minutes",
        documentation_only=True,
    ),
    ResponseHeader(
        name="Last-Modified", description="when these results were computed", documentation_only=True
    ),
]


def _results(round_id: int, db: Database, read: Callable[[], analytics.Stored[T]]) -> Response[T]:
    with db.session() as session:
        get_or_404(session, Round, round_id)
    try:
        stored = read()
    except analytics.NotReleased as reason:  # not closed, or its results not computed yet
        raise Conflict(str(reason)) from None
    return Response(
        stored.result,
        headers={
            RESULTS_HEADER: "updating" if stored.updating else "current",
            "Last-Modified": format_datetime(stored.computed_at, usegmt=True),
        },
    )


@get(
    "/rounds/{round_id:int}/scores",
    opt={"scope": "results:read"},
    sync_to_thread=True,
    response_headers=RESULTS_HEADERS,
)
def round_scores(round_id: ObjectId, db: DatabaseDep, settings: SettingsDep) -> Response[Scores]:
    """A closed round's scores: per support function, its mean, spread and n per dimension, overall and for the
    impact item, for every front-line team, region and the whole, with usage (answered, used); customers' scores
    per team and region (CSAT%, NPS, CES, mean satisfaction, dimension means); Cronbach's alpha per dimension.
    A null number is suppressed: it covers fewer than k respondents, or would let one be worked out from the
    others. An open round answers 409: its numbers are released when it closes; so does a closed round until its
    results are computed (a minute or so after the close)."""
    return _results(
        round_id,
        db,
        lambda: analytics.read_scores(db, round_id, settings.min_group_size, settings.min_comment_group_size),
    )


@get(
    "/rounds/{round_id:int}/linkage",
    opt={"scope": "results:read"},
    sync_to_thread=True,
    response_headers=RESULTS_HEADERS,
)
def round_linkage(
    round_id: ObjectId,
    db: DatabaseDep,
    settings: SettingsDep,
    outcome: Literal["csat_pct", "nps", "ces", "csat"] | None = Parameter(
        default=None,
        description="the customer outcome: CSAT%, NPS, CES or mean satisfaction (csat). Default: CSAT% if at "
        "least 8 teams have it shown, else the first of NPS, CES and mean satisfaction that does",
    ),
) -> Response[Linkage]:
    """Which support functions' shortfalls line up with, and come before, the customer outcome, across front-line
    teams: each function's tests (same round, lagged, reverse, within-team shift) with effect sizes, 90%
    intervals, p and q values (Benjamini-Hochberg over every test of the round) and n; key-driver weights; the
    findings (since when, at which teams, how far below their own level, ongoing or ended); the hotspots
    (function, team) ranked by both falls; one plain-language sentence each; whether the actions answering
    earlier rounds worked (`actions`: the targeted teams' change against the other teams', with 90% intervals,
    one-sided p and q, a verdict and a sentence). Computed from released numbers only, when the round closed, and
    again when an action it reads is recorded, edited or dropped. An open round answers 409, and so does a closed
    round until its results are computed."""
    return _results(
        round_id, db, lambda: analytics.read_linkage(db, round_id, settings.min_group_size, outcome)
    )


ROUTES = [round_scores, round_linkage]
