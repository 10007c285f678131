"""HR's pages for rounds and schedules: every round with its response rates as they come in, its timeline of
actions, opening, closing and publishing by hand, links exported once and a lost link replaced; and the schedules
whose rounds open, remind and close by themselves. The timeline also shows the work that computed a closed round's
results, and why. HR only: the pages join the /admin router."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from litestar import Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlmodel import Session, select

from survey.accounts import users
from survey.db.models import (
    CustomerBurst,
    Instrument,
    ResultWork,
    Round,
    RoundAction,
    RoundStatus,
    SurveyKind,
    Unit,
)
from survey.imports.tabular import write_csv
from survey.reports import work as report_work
from survey.reports.catalogue import round_reports
from survey.rounds import lifecycle
from survey.rounds.participation import (
    group_participation,
    hidden_participation,
    participation_total,
    participation_view,
    team_participation,
)
from survey.rounds.rules import DEFAULTS, MONTHS, WEEKDAYS
from survey.rounds.scheduler import (
    ROUND_STEPS,
    ScheduleError,
    create_schedule,
    get_schedule,
    list_schedules,
    take_step,
    update_schedule,
)
from survey.surveys.bursts import BurstError, decide_burst, round_bursts
from survey.vocabulary import UnitKind
from survey.web.auth import now, signed_in_user
from survey.web.deps import DatabaseDep, ObjectId, SettingsDep
from survey.web.forms import clean_text, text_field
from survey.web.responses import get_or_404, see_other

# --- Rounds -----------------------------------------------------------------------------------------------------


def _rounds_context(session: Session, min_group_size: int) -> dict:
    """The rounds with their participation, and the employee questionnaires a new round can ask (newest first)."""
    return {
        "rounds": [
            (r, participation_total(session, r, min_group_size))
            for r in session.exec(select(Round).order_by(Round.opens_at.desc()))
        ],
        "questionnaires": _questionnaires(session),
    }


def _questionnaires(session: Session) -> list[Instrument]:
    """The employee questionnaires a round can ask, newest first."""
    return list(
        session.exec(
            select(Instrument)
            .where(Instrument.kind == SurveyKind.INTERNAL)
            .order_by(Instrument.version.desc())
        ).all()
    )


@get("/rounds", sync_to_thread=True)
def rounds_page(db: DatabaseDep, settings: SettingsDep) -> Template:
    with db.session() as session:
        context = _rounds_context(session, settings.min_group_size)
    return Template("admin/rounds.html", context={**context, "form": {}, "error": None})


@post("/rounds")
async def create_round_page(request: Request, db: DatabaseDep, settings: SettingsDep) -> Template | Redirect:
    form = await request.form()
    name, opens, days = clean_text(form.get("name")), text_field(form, "opens"), text_field(form, "days")
    version = text_field(form, "questionnaire")
    error = None
    try:
        opens_on = datetime.strptime(opens, "%Y-%m-%d").date()
        days_open = int(days)
        if not 1 <= days_open <= 366:
            raise ValueError
    except ValueError:
        error = "Give the first day as a date and the days open as a number from 1 to 366."
    if error is None and version and not version.isdigit():
        error = "Choose the employee questionnaire from the list."
    if error is None:
        opens_at = datetime.combine(opens_on, time(0, 0), UTC)
        with db.session() as session:
            try:
                created = lifecycle.create_round(
                    session,
                    name,
                    opens_at,
                    opens_at + timedelta(days=days_open),
                    internal_version=int(version) if version else None,
                )
                return see_other(f"/admin/rounds/{created.id}")
            except lifecycle.RoundError as failure:
                error = str(failure)[0].upper() + str(failure)[1:] + "."
    with db.session() as session:
        context = _rounds_context(session, settings.min_group_size)
    form_values = {"name": name, "opens": opens, "days": days, "questionnaire": version}
    return Template(
        "admin/rounds.html", context={**context, "form": form_values, "error": error}, status_code=400
    )


@dataclass(frozen=True)
class TimelineEntry:
    due_at: datetime
    kind: str
    done_at: datetime | None
    outcome: str


def _timeline(session: Session, round_id: int) -> list[TimelineEntry]:
    """The round's actions and the work that computed its results, in order."""
    actions = session.exec(select(RoundAction).where(RoundAction.round_id == round_id)).all()
    work = session.exec(select(ResultWork).where(ResultWork.round_id == round_id)).all()
    entries = [TimelineEntry(a.due_at, a.kind, a.done_at, a.outcome or "") for a in actions]
    entries += [
        TimelineEntry(
            w.due_at, "results", w.done_at, f"{w.reason}: {w.outcome or 'waiting for the scheduler'}"
        )
        for w in work
    ]
    return sorted(entries, key=lambda entry: entry.due_at)


def _round_context(session: Session, round_id: int, setting: int) -> dict:
    """HR's page of a round: its counts exact and live while it is open (HR sends the reminders; it sees counts,
    never who), hidden under the round's group size (today's setting while it is open)."""
    a_round = get_or_404(session, Round, round_id)
    k = a_round.group_size(setting)
    names = {u.id: u.name for u in session.exec(select(Unit).where(Unit.kind == UnitKind.GROUP))}
    participation = team_participation(session, a_round.id)
    hidden = hidden_participation(session, participation, k)
    total, teams = participation_view(participation, hidden, names)
    groups = group_participation(session, participation, hidden)
    actions = _timeline(session, a_round.id)
    released = a_round.status in (RoundStatus.CLOSED, RoundStatus.PUBLISHED)
    return {
        "round": a_round,
        "total": total,
        "groups": groups,
        "teams": teams,
        "actions": actions,
        "k": k,
        "reports": round_reports(session, a_round) if released else [],
        "report_progress": report_work.round_progress(session, a_round),
        "bursts": round_bursts(session, a_round.id),
        "questionnaire": session.get(Instrument, a_round.internal_instrument_id),
        "questionnaires": _questionnaires(session),
    }


@get("/rounds/{round_id:int}", sync_to_thread=True)
def round_page(round_id: ObjectId, db: DatabaseDep, settings: SettingsDep) -> Template:
    with db.session() as session:
        return Template(
            "admin/round.html", context=_round_context(session, round_id, settings.min_group_size)
        )


@post("/rounds/{round_id:int}/{step:str}", sync_to_thread=True)
def change_round(
    round_id: ObjectId, step: FromPath[str], db: DatabaseDep, settings: SettingsDep
) -> Template | Redirect:
    """Open, close or publish a round now, whatever its schedule says."""
    if step not in ROUND_STEPS:
        raise NotFoundException()
    try:
        with db.session() as session:
            get_or_404(session, Round, round_id)
        take_step(db, settings, round_id, step, now())
    except lifecycle.RoundError as error:
        with db.session() as session:
            context = _round_context(session, round_id, settings.min_group_size)
        return Template("admin/round.html", context={**context, "error": str(error)}, status_code=409)
    return see_other(f"/admin/rounds/{round_id}")


@post("/rounds/{round_id:int}/questionnaire")
async def change_questionnaire_page(
    round_id: ObjectId, request: Request, db: DatabaseDep, settings: SettingsDep
) -> Template | Redirect:
    """Choose another employee questionnaire for a round that has not opened yet."""
    version = text_field(await request.form(), "questionnaire")
    return await sync_to_thread(_change_questionnaire, db, settings, round_id, version)


def _change_questionnaire(db, settings, round_id: int, version: str) -> Template | Redirect:
    with db.session() as session:
        get_or_404(session, Round, round_id)
        try:
            if not (version.isascii() and version.isdigit() and len(version) <= 9):
                raise lifecycle.RoundError("choose the employee questionnaire from the list")
            lifecycle.change_questionnaire(session, round_id, int(version))
        except lifecycle.RoundError as failure:
            context = _round_context(session, round_id, settings.min_group_size)
            status = 409 if isinstance(failure, lifecycle.RoundOpened) else 400
            error = str(failure)[0].upper() + str(failure)[1:] + "."
            return Template("admin/round.html", context={**context, "error": error}, status_code=status)
    return see_other(f"/admin/rounds/{round_id}")


@post("/rounds/{round_id:int}/links", sync_to_thread=True)
def export_links(round_id: ObjectId, db: DatabaseDep, settings: SettingsDep) -> Response:
    """Personal links for everyone in the round not invited yet, as CSV, for channels other than e-mail. Shown
    this once: asking again gives only people invited since."""
    try:
        with db.session() as session:
            issued = lifecycle.issue_invitations(
                session, get_or_404(session, Round, round_id), settings.base_url, settings.secret_key
            )
    except lifecycle.RoundError as error:
        with db.session() as session:
            context = _round_context(session, round_id, settings.min_group_size)
        return Template("admin/round.html", context={**context, "error": str(error)}, status_code=409)
    out = io.StringIO()
    write_csv(out, [("email", "link"), *((i.email, i.link) for i in issued)])
    return Response(
        out.getvalue(),
        media_type="text/csv",  # Litestar adds the charset (utf-8) to text types
        headers={"content-disposition": f'attachment; filename="round-{round_id}-links.csv"'},
    )


@post("/rounds/{round_id:int}/reissue")
async def reissue_link(
    round_id: ObjectId, request: Request, db: DatabaseDep, settings: SettingsDep
) -> Template:
    """A new personal link for one employee who lost theirs; the old link stops working."""
    email = users.normalise_email(text_field(await request.form(), "email"))[:320]
    with db.session() as session:
        context = _round_context(session, round_id, settings.min_group_size)
        try:
            link = lifecycle.reissue_link(session, context["round"], email, settings)
        except lifecycle.RoundError as error:
            return Template("admin/round.html", context={**context, "error": str(error)}, status_code=400)
    return Template("admin/round.html", context={**context, "reissued": (email, link)})


@post("/bursts/{burst_id:int}/{decision:str}", sync_to_thread=True)
def decide_burst_page(
    burst_id: ObjectId, decision: FromPath[str], request: Request, db: DatabaseDep, settings: SettingsDep
) -> Template | Redirect:
    """Keep a burst of customer answers held past a team's hourly cap (they count), or discard it (deleted)."""
    if decision not in ("keep", "discard"):
        raise NotFoundException()
    try:
        burst = decide_burst(db, burst_id, decision == "keep", signed_in_user(request).email, now())
    except LookupError:
        raise NotFoundException() from None
    except BurstError as error:
        with db.session() as session:
            round_id = session.exec(select(CustomerBurst.round_id).where(CustomerBurst.id == burst_id)).one()
            context = _round_context(session, round_id, settings.min_group_size)
        return Template("admin/round.html", context={**context, "error": str(error)}, status_code=409)
    return see_other(f"/admin/rounds/{burst.round_id}#bursts")


# --- Schedules ------------------------------------------------------------------------------------------------

SCHEDULE_FIELDS = (
    "months",
    "week",
    "weekday",
    "open_time",
    "days_open",
    "reminder_days",
    "timezone",
    "lead_days",
)
# A new schedule's form starts from the quarterly default, as text.
FORM_DEFAULTS = {**{field: str(value) for field, value in DEFAULTS.items()}, "units": ""}


def _typed(form) -> dict[str, str]:
    return {name: clean_text(form.get(name))[:200] for name in ("name", "units", *SCHEDULE_FIELDS)}


def _choices() -> dict:
    return {
        "weekdays": list(enumerate(WEEKDAYS)),
        "weeks": [("1", "first"), ("2", "second"), ("3", "third"), ("4", "fourth"), ("-1", "last")],
        "month_names": MONTHS,
    }


def _page(db, context: dict, status: int = 200) -> Template:
    with db.session() as session:
        schedules = list_schedules(session)
        codes = session.exec(
            select(Unit.code).where(Unit.active, Unit.kind != UnitKind.GROUP).order_by(Unit.code)
        ).all()
    return Template(
        "admin/schedules.html",
        context={"schedules": schedules, "unit_codes": codes, **_choices(), **context},
        status_code=status,
    )


@get("/schedules", sync_to_thread=True)
def schedules_page(db: DatabaseDep) -> Template:
    return _page(db, {"form": FORM_DEFAULTS, "errors": {}})


@post("/schedules")
async def create_schedule_page(request: Request, db: DatabaseDep) -> Template | Redirect:
    typed = _typed(await request.form())
    fields = {f: typed[f] for f in SCHEDULE_FIELDS}
    try:
        with db.session() as session:
            create_schedule(session, typed["name"], units=typed["units"].replace(",", " ").split(), **fields)
    except ScheduleError as error:
        return _page(db, {"form": typed, "errors": error.errors}, status=400)
    return see_other("/admin/schedules?created=1")


def _edit_page(db, schedule_id: int, context: dict, status: int = 200) -> Template:
    with db.session() as session:
        try:
            info = get_schedule(session, schedule_id)
        except ScheduleError:
            raise NotFoundException() from None
    form = context.pop("form", None) or {
        "name": info.name,
        "units": " ".join(info.unit_codes),
        **{f: str(getattr(info, f)) for f in SCHEDULE_FIELDS},
    }
    return Template(
        "admin/schedule.html",
        context={"schedule": info, "form": form, "errors": {}, **_choices(), **context},
        status_code=status,
    )


@get("/schedules/{schedule_id:int}", sync_to_thread=True)
def schedule_page(schedule_id: ObjectId, db: DatabaseDep) -> Template:
    return _edit_page(db, schedule_id, {})


@post("/schedules/{schedule_id:int}")
async def update_schedule_page(
    schedule_id: ObjectId, request: Request, db: DatabaseDep
) -> Template | Redirect:
    """Change a schedule, or pause or resume it. Rounds it made that have not opened yet are planned again."""
    form = await request.form()
    typed = _typed(form)
    active = {"pause": False, "resume": True}.get(clean_text(form.get("action")))
    changes = {} if active is not None else {f: typed[f] for f in SCHEDULE_FIELDS}
    try:
        with db.session() as session:
            get_schedule(session, schedule_id)
            update_schedule(
                session,
                schedule_id,
                name=None if active is not None else typed["name"],
                active=active,
                units=None if active is not None else typed["units"].replace(",", " ").split(),
                **changes,
            )
    except ScheduleError as error:
        if "schedule" in error.errors:
            raise NotFoundException() from None
        return _edit_page(db, schedule_id, {"form": typed, "errors": error.errors}, status=400)
    return see_other(f"/admin/schedules/{schedule_id}?saved=1")


# --- Outbox ---------------------------------------------------------------------------------------------------

HR_PAGES = [
    rounds_page,
    create_round_page,
    round_page,
    change_round,
    change_questionnaire_page,
    export_links,
    reissue_link,
    decide_burst_page,
    schedules_page,
    create_schedule_page,
    schedule_page,
    update_schedule_page,
]
