"""Rounds and schedules on the JSON API: list, create, open, close and publish rounds; response rates (under the
same anonymity rules as the pages: only for groups of at least k); schedules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from litestar import get, post
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import JSONBody
from sqlmodel import Session, select

from survey.db.models import Instrument, Round, RoundUnit, Unit
from survey.reports import work as report_work
from survey.rounds import lifecycle
from survey.rounds.participation import (
    group_participation,
    hidden_participation,
    participation_view,
    team_participation,
)
from survey.rounds.scheduler import (
    ScheduleError,
    ScheduleInfo,
    create_schedule,
    get_schedule,
    list_schedules,
    take_step,
    update_schedule,
)
from survey.web.auth import now
from survey.web.deps import DatabaseDep, ObjectId, SettingsDep
from survey.web.errors import Conflict
from survey.web.responses import get_or_404

# --- Shapes -------------------------------------------------------------------------------------------------------


@dataclass
class RoundOut:
    id: int
    name: str
    status: str
    opens_at: datetime
    closes_at: datetime
    unit_codes: list[str]
    schedule_id: int | None
    internal_instrument_version: int  # the employee questionnaire's version
    reports_ready: int | None = None  # a published round's reports rendered so far (null: none queued)
    reports_total: int | None = None  # ...of this many


@dataclass
class NewRound:
    name: str
    opens_at: datetime
    closes_at: datetime
    unit_codes: list[str] | None = None  # default: every active support function and front-line team
    internal_instrument_version: int | None = None  # the employee questionnaire; default: the newest version


@dataclass
class QuestionnaireChoice:
    internal_instrument_version: int  # the employee questionnaire's version the round is to ask


@dataclass
class TeamRate:
    team_code: str
    team_name: str
    invited: int
    answered: int | None  # null: hidden, the group is too small to show (anonymity)
    rate: float | None
    low_participation: bool


@dataclass
class GroupRate:
    group_code: str
    group_name: str
    invited: int
    answered: int | None  # null: hidden (anonymity)
    rate: float | None
    low_participation: bool


@dataclass
class ResponseRates:
    round_id: int
    minimum_group_size: int
    invited: int
    answered: int | None
    rate: float | None
    low_participation: bool
    groups: list[GroupRate]  # regions and divisions above the teams
    teams: list[TeamRate]


def _round_out(session: Session, a_round: Round) -> RoundOut:
    codes = session.exec(
        select(Unit.code)
        .join(RoundUnit, RoundUnit.unit_id == Unit.id)
        .where(RoundUnit.round_id == a_round.id)
    ).all()
    return RoundOut(
        a_round.id,
        a_round.name,
        str(a_round.status),
        a_round.opens_at,
        a_round.closes_at,
        sorted(codes),
        a_round.schedule_id,
        session.exec(select(Instrument.version).where(Instrument.id == a_round.internal_instrument_id)).one(),
        *report_work.progress_counts(session, [a_round.id]).get(a_round.id, (None, None)),
    )


# --- Rounds -----------------------------------------------------------------------------------------------------


@get("/rounds", opt={"scope": "rounds:read"}, sync_to_thread=True)
def list_rounds(db: DatabaseDep) -> list[RoundOut]:
    with db.session() as session:
        return [_round_out(session, r) for r in session.exec(select(Round).order_by(Round.opens_at))]


@get("/rounds/{round_id:int}", opt={"scope": "rounds:read"}, sync_to_thread=True)
def get_round(round_id: ObjectId, db: DatabaseDep) -> RoundOut:
    with db.session() as session:
        return _round_out(session, get_or_404(session, Round, round_id))


@post("/rounds", opt={"scope": "rounds:write"}, sync_to_thread=True)
def create_round(data: JSONBody[NewRound], db: DatabaseDep) -> RoundOut:
    """Schedule a round with the newest instruments, or the employee questionnaire version given."""
    if data.opens_at.tzinfo is None or data.closes_at.tzinfo is None:
        raise ClientException("opens_at and closes_at need a time zone, e.g. 2027-01-04T09:00:00+01:00")
    with db.session() as session:
        try:
            created = lifecycle.create_round(
                session,
                data.name,
                data.opens_at,
                data.closes_at,
                data.unit_codes or (),
                internal_version=data.internal_instrument_version,
            )
        except lifecycle.RoundError as error:
            raise ClientException(str(error)) from None
        return _round_out(session, created)


def _change_round(round_id: int, step: str, db, settings) -> RoundOut:
    with db.session() as session:
        get_or_404(session, Round, round_id)
    try:
        take_step(db, settings, round_id, step, now())
    except lifecycle.RoundError as error:
        raise Conflict(str(error)) from None
    with db.session() as session:
        return _round_out(session, get_or_404(session, Round, round_id))


@post(
    "/rounds/{round_id:int}/questionnaire",
    opt={"scope": "rounds:write"},
    sync_to_thread=True,
    status_code=200,
)
def change_questionnaire(
    round_id: ObjectId, data: JSONBody[QuestionnaireChoice], db: DatabaseDep
) -> RoundOut:
    """Make a round that has not opened ask another version of the employee questionnaire. 409 once it has
    opened; 400 for a version that does not exist (the message names those that do)."""
    with db.session() as session:
        get_or_404(session, Round, round_id)
        try:
            lifecycle.change_questionnaire(session, round_id, data.internal_instrument_version)
        except lifecycle.RoundOpened as error:
            raise Conflict(str(error)) from None
        except lifecycle.RoundError as error:
            raise ClientException(str(error)) from None
        return _round_out(session, get_or_404(session, Round, round_id))


@post("/rounds/{round_id:int}/open", opt={"scope": "rounds:write"}, sync_to_thread=True, status_code=200)
def open_round(round_id: ObjectId, db: DatabaseDep, settings: SettingsDep) -> RoundOut:
    """Open a scheduled round now, inviting its staff."""
    return _change_round(round_id, "open", db, settings)


@post("/rounds/{round_id:int}/close", opt={"scope": "rounds:write"}, sync_to_thread=True, status_code=200)
def close_round(round_id: ObjectId, db: DatabaseDep, settings: SettingsDep) -> RoundOut:
    """Close an open round now: no more answers; the order answers arrived in is erased from storage."""
    return _change_round(round_id, "close", db, settings)


@post("/rounds/{round_id:int}/publish", opt={"scope": "rounds:write"}, sync_to_thread=True, status_code=200)
def publish_round(round_id: ObjectId, db: DatabaseDep, settings: SettingsDep) -> RoundOut:
    """Publish a closed round: its reports become visible to heads."""
    return _change_round(round_id, "publish", db, settings)


@get("/rounds/{round_id:int}/response-rates", opt={"scope": "rounds:read"}, sync_to_thread=True)
def response_rates(round_id: ObjectId, db: DatabaseDep, settings: SettingsDep) -> ResponseRates:
    """Invited and answered, for the round, per region or division, and per front-line team: exact and live while
    the round is open, as on HR's pages (API tokens are HR's). A count is null where it covers fewer than k
    people (the round's own k once it closed), or where it would let one be worked out from the others."""
    with db.session() as session:
        k = get_or_404(session, Round, round_id).group_size(settings.min_group_size)
        teams = team_participation(session, round_id)
        hidden = hidden_participation(session, teams, k)
        groups = group_participation(session, teams, hidden)
    total, rows = participation_view(teams, hidden, {})
    return ResponseRates(
        round_id,
        k,
        total.invited,
        total.answered,
        total.rate,
        total.low,
        [GroupRate(g.code, g.name, row.invited, row.answered, row.rate, row.low) for g, row in groups],
        [
            TeamRate(team.code, team.name, row.invited, row.answered, row.rate, row.low)
            for team, row in zip(teams, rows, strict=True)
        ],
    )


# --- Schedules --------------------------------------------------------------------------------------------------


@dataclass
class ScheduleFields:
    """A schedule's rules. Omitted fields keep their value (or the quarterly default for a new schedule)."""

    name: str | None = None
    active: bool | None = None
    months: str | None = None  # e.g. "1,4,7,10" or "jan,apr,jul,oct"
    week: int | None = None  # 1..4, or -1 for the last
    weekday: int | None = None  # 0 = Monday ... 6 = Sunday
    open_time: str | None = None  # local HH:MM
    days_open: int | None = None
    reminder_days: str | None = None  # e.g. "5,10"; "" for none
    timezone: str | None = None  # IANA, e.g. "Europe/Berlin"
    lead_days: int | None = None
    unit_codes: list[str] | None = None  # none given: every active unit


def _schedule_problem(error: ScheduleError) -> ClientException:
    reasons = "; ".join(f"{field}: {message}" for field, message in error.errors.items())
    return ClientException(f"the schedule was not saved ({reasons})", extra=error.errors)


def _rules(data: ScheduleFields) -> dict:
    names = ("months", "week", "weekday", "open_time", "days_open", "reminder_days", "timezone", "lead_days")
    return {f: getattr(data, f) for f in names if getattr(data, f) is not None}


@get("/schedules", opt={"scope": "schedules:read"}, sync_to_thread=True)
def list_schedules_api(db: DatabaseDep) -> list[ScheduleInfo]:
    with db.session() as session:
        return list_schedules(session)


@get("/schedules/{schedule_id:int}", opt={"scope": "schedules:read"}, sync_to_thread=True)
def get_schedule_api(schedule_id: ObjectId, db: DatabaseDep) -> ScheduleInfo:
    with db.session() as session:
        try:
            return get_schedule(session, schedule_id)
        except ScheduleError:
            raise NotFoundException(f"no schedule {schedule_id}") from None


@post("/schedules", opt={"scope": "schedules:write"}, sync_to_thread=True)
def create_schedule_api(data: JSONBody[ScheduleFields], db: DatabaseDep) -> ScheduleInfo:
    """A new schedule; its rounds are created ahead and open, remind and close by themselves."""
    with db.session() as session:
        try:
            info = create_schedule(
                session,
                data.name or "",
                units=data.unit_codes or (),
                active=data.active if data.active is not None else True,
                **_rules(data),
            )
        except ScheduleError as error:
            raise _schedule_problem(error) from None
        return info


@post("/schedules/{schedule_id:int}", opt={"scope": "schedules:write"}, sync_to_thread=True, status_code=200)
def update_schedule_api(
    schedule_id: ObjectId, data: JSONBody[ScheduleFields], db: DatabaseDep
) -> ScheduleInfo:
    """Change a schedule: only the fields given. Its rounds that have not opened yet are planned again."""
    with db.session() as session:
        try:
            get_schedule(session, schedule_id)
        except ScheduleError:
            raise NotFoundException(f"no schedule {schedule_id}") from None
        try:
            info = update_schedule(
                session,
                schedule_id,
                name=data.name,
                active=data.active,
                units=data.unit_codes,
                **_rules(data),
            )
        except ScheduleError as error:
            raise _schedule_problem(error) from None
        return info


ROUTES = [
    list_rounds,
    get_round,
    create_round,
    change_questionnaire,
    open_round,
    close_round,
    publish_round,
    response_rates,
    list_schedules_api,
    get_schedule_api,
    create_schedule_api,
    update_schedule_api,
]
