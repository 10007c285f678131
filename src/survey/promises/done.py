""" "You said, we did": the actions each support function completed since the last round, as employees read them
on the survey's first page and its thanks page.

Only what an employee may read: an action's title and its status. Never the teams it targeted (a small team could
be recognised), its owner or its description. "Since the last round" is since the previous round of the same
series closed (the same schedule; rounds made by hand, with no schedule, are a series of their own); a round with
no previous one looks back 120 days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from survey.db.models import ActionPlan, ActionStatus, Round, RoundStatus

LOOK_BACK = timedelta(days=120)  # without a previous round
SHOWN_PER_FUNCTION = 3  # a phone's screen: the rest are counted ("and 2 more")


@dataclass(frozen=True)
class DoneActions:
    """A function's completed actions as employees see them: the newest few titles, and how many more there are."""

    function_id: int
    titles: tuple[str, ...]
    more: int


def since(session: Session, a_round: Round, now: datetime) -> datetime:
    """When "since the last round" starts for `a_round`: the previous round of its series' close, else 120 days
    before `now`."""
    previous = session.exec(
        select(Round.closes_at)
        .where(
            col(Round.schedule_id).is_(None)
            if a_round.schedule_id is None
            else Round.schedule_id == a_round.schedule_id,
            Round.opens_at < a_round.opens_at,
            col(Round.status).in_([RoundStatus.CLOSED, RoundStatus.PUBLISHED]),
        )
        .order_by(col(Round.opens_at).desc())
        .limit(1)
    ).first()
    return previous if previous is not None else now - LOOK_BACK


def completed_actions(
    session: Session, a_round: Round, function_ids: Iterable[int], now: datetime
) -> dict[int, DoneActions]:
    """Per function (of `function_ids`, in that order), the actions marked done since the last round, the most
    recently completed first; a function with none is left out."""
    ids = list(function_ids)
    if not ids:
        return {}
    rows = session.exec(
        select(ActionPlan.function_id, ActionPlan.title)
        .where(
            col(ActionPlan.function_id).in_(ids),
            ActionPlan.status == ActionStatus.DONE,
            col(ActionPlan.completed_at) > since(session, a_round, now),
            col(ActionPlan.completed_at) <= now,
        )
        .order_by(col(ActionPlan.completed_at).desc(), col(ActionPlan.id).desc())
    ).all()
    titles: dict[int, list[str]] = {}
    for function_id, title in rows:
        titles.setdefault(function_id, []).append(title)
    return {
        f: DoneActions(f, tuple(titles[f][:SHOWN_PER_FUNCTION]), max(0, len(titles[f]) - SHOWN_PER_FUNCTION))
        for f in ids
        if f in titles
    }
