"""The data behind a round's reports, gathered once for all of them: the round's released results
(`analytics.scores` and `analytics.linkage`), the released scores of up to four earlier rounds for trends, and
response rates hidden as on every other page, and the support functions' promises in force for the round.
Nothing else reaches a report."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, select

from survey.analysis import analytics
from survey.analysis.results import Linkage, Scores
from survey.db.engine import Database
from survey.db.models import Round, Unit
from survey.promises import store as promises_store
from survey.reports.content.common import TREND_ROUNDS, RateRow
from survey.rounds.participation import (
    ParticipationRow,
    group_participation,
    hidden_participation,
    participation_view,
    team_participation,
)
from survey.settings import Settings
from survey.vocabulary import UnitKind


@dataclass(frozen=True)
class RoundData:
    """Everything a round's reports read, gathered once for all of them."""

    round_id: int
    round_name: str
    closes_at: str  # ISO 8601: the reports' creation date
    scores: Scores
    linkage: Linkage
    history: list[Scores]  # released scores of up to four earlier rounds and this one, oldest first
    participation: list[RateRow]  # response rates per team and group, hidden as on every page
    below: dict[int, tuple[frozenset[str], frozenset[str]]]  # group id -> (team codes, group codes) below it
    teams: frozenset[str]
    groups: frozenset[str]
    # each support function's promises in force for the round, as (dimension, English text), by its code
    promises: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)


def round_data(db: Database, round_id: int, settings: Settings) -> RoundData:
    """Gather a closed round's released results. Raises analytics.NotReleased for a round not closed yet."""
    k, comment_k = settings.min_group_size, settings.min_comment_group_size
    scores = analytics.scores(db, round_id, k, comment_k)
    linkage = analytics.linkage(db, round_id, k)
    with db.session() as session:
        a_round = session.get(Round, round_id)
        earlier = session.exec(
            select(Round.id)
            .where(Round.opens_at < a_round.opens_at, Round.status.in_([s.value for s in analytics.RELEASED]))
            .order_by(Round.opens_at.desc())
            .limit(TREND_ROUNDS - 1)
        ).all()
        participation, below, teams, groups = _participation(session, round_id, scores.min_group_size)
        name, closes_at = a_round.name, a_round.closes_at
        promises = _promises(session, a_round)
    history = [analytics.scores(db, r, k, comment_k) for r in reversed(earlier)] + [scores]
    return RoundData(
        round_id,
        name,
        closes_at.isoformat(),
        scores,
        linkage,
        history,
        participation,
        below,
        teams,
        groups,
        promises,
    )


def _promises(session: Session, a_round: Round) -> dict[str, tuple[tuple[str, str], ...]]:
    """Each support function's promises in force for the round, by the function's code."""
    functions = dict(session.exec(select(Unit.id, Unit.code).where(Unit.kind == UnitKind.SUPPORT)).all())
    return {
        functions[function_id]: tuple((p.dimension, p.text) for p in version.promises)
        for function_id, version in promises_store.in_force(session, a_round, functions).items()
    }


def _participation(
    session: Session, round_id: int, k: int
) -> tuple[list[RateRow], dict[int, tuple[frozenset[str], frozenset[str]]], frozenset[str], frozenset[str]]:
    """Response rates per team, group and the whole, hidden as on every page; and which teams and groups lie
    below each group."""
    counts = team_participation(session, round_id)
    hidden = hidden_participation(session, counts, k)
    units = {u.id: u for u in session.exec(select(Unit))}

    def row(code: str | None, kind: str, name: str, shown: ParticipationRow) -> RateRow:
        return RateRow(code, kind, name, shown.invited, shown.answered, shown.rate, shown.low)

    total, team_rows = participation_view(counts, hidden, {})
    rows = [row(None, "total", "All teams", total)]
    rows += [
        row(group.code, "group", group.name, shown)
        for group, shown in group_participation(session, counts, hidden)
    ]
    rows += [row(t.code, "front_line", t.name, shown) for t, shown in zip(counts, team_rows, strict=True)]
    teams_below: dict[int, set[str]] = {}
    for team in counts:
        node = team.parent_id
        while node is not None:
            teams_below.setdefault(node, set()).add(team.code)
            node = units[node].parent_id
    below = {
        group: (frozenset(codes), frozenset(units[g].code for g in teams_below if _is_below(units, g, group)))
        for group, codes in teams_below.items()
    }
    return rows, below, frozenset(t.code for t in counts), frozenset(units[g].code for g in teams_below)


def _is_below(units: dict[int, Unit], unit_id: int, ancestor: int) -> bool:
    node: int | None = unit_id
    while node is not None:
        if node == ancestor:
            return True
        node = units[node].parent_id
    return False
