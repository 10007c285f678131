"""The JSON API under `/api`, for integrations: an API token (created by HR) in `Authorization: Bearer ...`, with
the scope each route names. Its OpenAPI description is at `/schema/openapi.json`.

Numbers leave here under the same anonymity rules as the pages: response rates only for groups of at least k.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from litestar import Response, Router, get, post
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_409_CONFLICT
from sqlmodel import Session, select

from survey.analysis import analytics
from survey.imports import api as imports_api
from survey.reports import render as reports
from survey.reports import pages as reports_web
from survey.rounds import lifecycle as rounds
from survey.web.auth import api_scope, now
from survey.web.deps import DatabaseDep, ObjectId, SettingsDep
from survey.db.models import Employee, Round, RoundStatus, RoundUnit, Unit
from survey.rounds.scheduler import (
    ScheduleError,
    ScheduleInfo,
    create_schedule,
    get_schedule,
    list_schedules,
    take_step,
    update_schedule,
)


class Conflict(ClientException):
    status_code = HTTP_409_CONFLICT


# --- Shapes -----------------------------------------------------------------------------------------------------


@dataclass
class UnitOut:
    code: str
    name: str
    kind: str
    parent_code: str | None
    active: bool


@dataclass
class EmployeeOut:
    email: str
    name: str
    unit_code: str
    active: bool


@dataclass
class RoundOut:
    id: int
    name: str
    status: str
    opens_at: datetime
    closes_at: datetime
    unit_codes: list[str]
    schedule_id: int | None


@dataclass
class NewRound:
    name: str
    opens_at: datetime
    closes_at: datetime
    unit_codes: list[str] | None = None  # default: every active support function and front-line team


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
    )


def _round(session: Session, round_id: int) -> Round:
    a_round = session.get(Round, round_id)
    if a_round is None:
        raise NotFoundException(f"no round {round_id}")
    return a_round


# --- Roster -----------------------------------------------------------------------------------------------------


@get("/units", opt={"scope": "roster:read"}, sync_to_thread=True)
def list_units(db: DatabaseDep) -> list[UnitOut]:
    """Every unit, active or not, with its parent's code."""
    with db.session() as session:
        units = session.exec(select(Unit).order_by(Unit.code)).all()
    codes = {u.id: u.code for u in units}
    return [UnitOut(u.code, u.name, str(u.kind), codes.get(u.parent_id), u.active) for u in units]


@get("/employees", opt={"scope": "roster:read"}, sync_to_thread=True)
def list_employees(
    db: DatabaseDep,
    limit: int = Parameter(default=500, ge=1, le=5000),
    offset: int = Parameter(default=0, ge=0, le=10_000_000),
) -> list[EmployeeOut]:
    """Employees by e-mail, a page at a time."""
    with db.session() as session:
        rows = session.exec(
            select(Employee, Unit.code)
            .join(Unit, Unit.id == Employee.unit_id)
            .order_by(Employee.email)
            .offset(offset)
            .limit(limit)
        ).all()
    return [EmployeeOut(e.email, e.name, code, e.active) for e, code in rows]


# --- Rounds -----------------------------------------------------------------------------------------------------


@get("/rounds", opt={"scope": "rounds:read"}, sync_to_thread=True)
def list_rounds(db: DatabaseDep) -> list[RoundOut]:
    with db.session() as session:
        return [_round_out(session, r) for r in session.exec(select(Round).order_by(Round.opens_at))]


@get("/rounds/{round_id:int}", opt={"scope": "rounds:read"}, sync_to_thread=True)
def get_round(round_id: ObjectId, db: DatabaseDep) -> RoundOut:
    with db.session() as session:
        return _round_out(session, _round(session, round_id))


@post("/rounds", opt={"scope": "rounds:write"}, sync_to_thread=True)
def create_round(data: JSONBody[NewRound], db: DatabaseDep) -> RoundOut:
    """Schedule a round with the newest instruments."""
    if data.opens_at.tzinfo is None or data.closes_at.tzinfo is None:
        raise ClientException("opens_at and closes_at need a time zone, e.g. 2027-01-04T09:00:00+01:00")
    with db.session() as session:
        try:
            created = rounds.create_round(
                session, data.name, data.opens_at, data.closes_at, data.unit_codes or ()
            )
        except rounds.RoundError as error:
            raise ClientException(str(error)) from None
        return _round_out(session, created)


def _change_round(round_id: int, step: str, db, settings) -> RoundOut:
    with db.session() as session:
        _round(session, round_id)
    try:
        take_step(db, settings, round_id, step, now())
    except rounds.RoundError as error:
        raise Conflict(str(error)) from None
    with db.session() as session:
        return _round_out(session, _round(session, round_id))


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
    """Invited and answered, for the round, per region or division, and per front-line team. A count is null
    where it covers fewer than k people, or where it would let one be worked out from the others."""
    k = settings.min_group_size
    with db.session() as session:
        _round(session, round_id)
        teams = rounds.team_participation(session, round_id)
        hidden = rounds.hidden_participation(session, teams, k)
        groups = rounds.group_participation(session, teams, hidden)
    total, rows = rounds.participation_view(teams, hidden, {})
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


# --- Results ----------------------------------------------------------------------------------------------------


def _results(round_id: int, db, compute) -> dict[str, Any]:
    with db.session() as session:
        _round(session, round_id)
    try:
        return compute()
    except analytics.NotReleased as reason:
        raise Conflict(str(reason)) from None


@get("/rounds/{round_id:int}/scores", opt={"scope": "results:read"}, sync_to_thread=True)
def round_scores(round_id: ObjectId, db: DatabaseDep, settings: SettingsDep) -> dict[str, Any]:
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
) -> dict[str, Any]:
    """Which support functions' shortfalls line up with, and come before, the customer outcome, across front-line
    teams: each function's tests (same round, lagged, reverse, within-team change) with effect sizes, 90%
    intervals, p and q values (Benjamini-Hochberg over every test of the round) and n; key-driver weights; the
    hotspots (function, team) ranked by estimated impact; one plain-language sentence each. Computed from
    released numbers only. An open round answers 409."""
    return _results(round_id, db, lambda: analytics.linkage(db, round_id, settings.min_group_size, outcome))


# --- Reports ----------------------------------------------------------------------------------------------------


@dataclass
class ReportOut:
    kind: str = field(metadata={"description": "function, team or organisation (executive or regional)"})
    title: str
    unit_id: int | None = field(metadata={"description": "null: the whole organisation's executive report"})
    code: str | None
    name: str
    url: str = field(metadata={"description": "where to download the PDF"})


def _published_reports(session: Session, round_id: int) -> tuple[Round, list[reports.ReportRef]]:
    a_round = _round(session, round_id)
    if a_round.status != RoundStatus.PUBLISHED:
        raise Conflict(
            f"round {a_round.name!r} is {a_round.status}: its reports are released when HR publishes it"
        )
    return a_round, reports.round_reports(session, a_round)


@get("/rounds/{round_id:int}/reports", opt={"scope": "reports:read"}, sync_to_thread=True)
def list_reports(round_id: ObjectId, db: DatabaseDep) -> list[ReportOut]:
    """Every report of a published round: the executive report of the whole organisation, one per group, per
    support function and per front-line team. A round not published yet answers 409."""
    with db.session() as session:
        a_round, refs = _published_reports(session, round_id)
    return [
        ReportOut(
            ref.kind,
            ref.kind_title,
            ref.unit_id,
            ref.code,
            ref.name,
            f"/api/rounds/{a_round.id}/reports/{ref.path}",
        )
        for ref in refs
    ]


@get(
    "/rounds/{round_id:int}/reports/{unit:str}",
    opt={"scope": "reports:read"},
    sync_to_thread=True,
    response_description="the report as a PDF",
)
def download_report(
    round_id: ObjectId,
    db: DatabaseDep,
    settings: SettingsDep,
    unit: str = Parameter(
        max_length=20, description="a unit id, or organisation for the whole organisation's report"
    ),
) -> Response[bytes]:
    """One report of a published round as a PDF (A4, tagged, fonts embedded). 404: no such report in the round."""
    with db.session() as session:
        a_round, refs = _published_reports(session, round_id)
    ref = next((r for r in refs if r.path == unit), None)
    if ref is None:
        raise NotFoundException(
            f"round {a_round.name!r} has no report {unit!r}: see /api/rounds/{round_id}/reports"
        )
    return reports_web.pdf_response(reports_web.report_pdf(db, settings, ref), ref, a_round.name)


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


def api_router() -> Router:
    return Router(
        path="/api",
        guards=[api_scope],
        security=[{"bearer": []}],
        route_handlers=[
            list_units,
            list_employees,
            list_rounds,
            get_round,
            create_round,
            open_round,
            close_round,
            publish_round,
            response_rates,
            round_scores,
            round_linkage,
            list_reports,
            download_report,
            list_schedules_api,
            get_schedule_api,
            create_schedule_api,
            update_schedule_api,
            *imports_api.ROUTES,
        ],
    )
