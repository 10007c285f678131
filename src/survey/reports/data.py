"""The data behind a round's reports, gathered once for all of them: the round's released results
(`analytics.scores` and `analytics.linkage`), the released scores of up to four earlier rounds for trends, and
response rates hidden as on every other page, the support functions' promises in force for the round, and their
actions answering the round or an earlier one (not dropped), as they stand when the report is rendered. Nothing
else reaches a report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, select

from survey.actions import rules as action_rules
from survey.analysis import analytics
from survey.analysis.results import Linkage, Scores
from survey.db.engine import Database
from survey.db.models import ActionPlan, ActionPlanTeam, ActionStatus, Round, Unit, User, utc_now
from survey.promises import store as promises_store
from survey.reports.content.common import TREND_ROUNDS, RateRow
from survey.reports.content.function import ReportAction
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
    # each support function's actions answering the round or an earlier one, not dropped, by its code
    actions: dict[str, tuple[ReportAction, ...]] = field(default_factory=dict)


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
        actions = _actions(session, a_round, utc_now().date())
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
        actions,
    )


def _promises(session: Session, a_round: Round) -> dict[str, tuple[tuple[str, str], ...]]:
    """Each support function's promises in force for the round, by the function's code."""
    functions = dict(session.exec(select(Unit.id, Unit.code).where(Unit.kind == UnitKind.SUPPORT)).all())
    return {
        functions[function_id]: tuple((p.dimension, p.text) for p in version.promises)
        for function_id, version in promises_store.in_force(session, a_round, functions).items()
    }


def _actions(session: Session, a_round: Round, today: date) -> dict[str, tuple[ReportAction, ...]]:
    """Each support function's actions answering this round or an earlier one, not dropped, as they stand
    `today`: open ones first (overdue, then by due date), then the done ones; by the function's code."""
    rounds = dict(session.exec(select(Round.id, Round.name).where(Round.opens_at <= a_round.opens_at)).all())
    plans = session.exec(
        select(ActionPlan).where(
            ActionPlan.round_id.in_(list(rounds)), ActionPlan.status != ActionStatus.DROPPED.value
        )
    ).all()
    if not plans:
        return {}
    ids = [plan.id for plan in plans]
    teams: dict[int, int] = {}
    for action_id in session.exec(select(ActionPlanTeam.action_id).where(ActionPlanTeam.action_id.in_(ids))):
        teams[action_id] = teams.get(action_id, 0) + 1
    codes = dict(
        session.exec(select(Unit.id, Unit.code).where(Unit.id.in_({p.function_id for p in plans}))).all()
    )
    owners = dict(
        session.exec(select(User.id, User.name).where(User.id.in_({p.owner_id for p in plans}))).all()
    )
    order = sorted(plans, key=lambda p: (*action_rules.open_first(p.status, p.due_on, today), p.id))
    found: dict[str, list[ReportAction]] = {}
    for plan in order:
        status = str(plan.status)
        found.setdefault(codes[plan.function_id], []).append(
            ReportAction(
                id=plan.id,
                title=plan.title,
                dimension=action_rules.DIMENSION_LABELS.get(str(plan.dimension), str(plan.dimension)),
                teams=teams.get(plan.id, 0),
                owner=owners.get(plan.owner_id, ""),
                due_on=plan.due_on.strftime("%-d %B %Y"),
                status=action_rules.STATUS_LABELS.get(status, status),
                overdue=action_rules.is_overdue(status, plan.due_on, today),
                done=status == action_rules.DONE,
                answers=rounds[plan.round_id],
            )
        )
    return {code: tuple(actions) for code, actions in found.items()}


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
