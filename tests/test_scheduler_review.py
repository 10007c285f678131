"""Found in review: a schedule's units gone inactive, a schedule changed while a pass plans, opening too late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from survey.db.models import Round, Schedule, Unit
from survey.rounds.lifecycle import RoundError, create_round
from survey.rounds.rules import windows_between
from survey.rounds.scheduler import (
    _create_scheduled_round,
    create_schedule,
    open_now,
    plan_rounds,
    spec_of,
    update_schedule,
)


def test_a_schedule_whose_units_are_all_inactive_creates_no_round_over_other_units(db, org):
    now = datetime(2027, 1, 1, tzinfo=UTC)
    with db.session() as session:
        create_schedule(
            session, "Some units", units=["SF1", "FL1"], lead_days=28, now=now - timedelta(days=1)
        )
        for unit in session.exec(select(Unit).where(Unit.code.in_(["SF1", "FL1"]))):
            unit.active = False
            session.add(unit)
        session.commit()
    created, problems = plan_rounds(db, now)
    assert created == [] and problems and "none of the units the schedule names is active" in problems[0]
    with db.session() as session:
        assert session.exec(select(Round)).all() == []


def test_a_schedule_paused_while_a_pass_plans_gets_no_round_from_that_pass(db, org):
    """The pass read the schedule before HR paused it; creating the round reads it again under the lock."""
    now = datetime(2027, 1, 1, tzinfo=UTC)
    with db.session() as session:
        create_schedule(session, "Quarterly", now=now - timedelta(days=1))
        stale = session.exec(select(Schedule)).one()
        session.expunge(stale)
    window = next(iter(windows_between(spec_of(stale), now, now + timedelta(days=28))))
    with db.session() as session:
        update_schedule(session, "Quarterly", active=False, now=now)
    assert _create_scheduled_round(db, stale, window, now) is None
    with db.session() as session:
        assert session.exec(select(Round)).all() == []


def test_opening_a_round_after_its_closing_time_is_refused(db, settings, org):
    past = datetime.now(UTC) - timedelta(days=30)
    with db.session() as session:
        late = create_round(session, "Missed", past, past + timedelta(days=14), now=past)  # before a downtime
    with pytest.raises(RoundError, match="cannot open"):
        open_now(db, settings, late.id)
