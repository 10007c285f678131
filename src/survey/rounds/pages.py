"""HR's pages for schedules (rounds that open, remind and close by themselves) and the outbox (every mail the
platform sends, with what became of it). HR only: the routes join the admin router."""

from __future__ import annotations

from dataclasses import replace

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from sqlmodel import select

from survey.mail import outbox as mail
from survey.web.auth import now
from survey.web.deps import DatabaseDep, ObjectId, SettingsDep
from survey.db.models import MailState, Unit, UnitKind
from survey.surveys.questionnaire import clean_text
from survey.rounds.rules import DEFAULTS, MONTHS, WEEKDAYS
from survey.rounds.scheduler import ScheduleError, create_schedule, get_schedule, list_schedules, update_schedule
from survey.web.errors import redact

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
    return Redirect("/admin/schedules?created=1", status_code=HTTP_303_SEE_OTHER)


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
    return Redirect(f"/admin/schedules/{schedule_id}?saved=1", status_code=HTTP_303_SEE_OTHER)


# --- Outbox ---------------------------------------------------------------------------------------------------

PROBLEM_STATES = [MailState.FAILED, MailState.UNCERTAIN, MailState.RETRY]
OUTBOX_PAGE = 100


@get("/outbox", sync_to_thread=True)
def outbox_page(request: Request, db: DatabaseDep, settings: SettingsDep) -> Template:
    wanted = request.query_params.get("state", "")
    if wanted == "problems":
        states = [s.value for s in PROBLEM_STATES]
    elif wanted in set(MailState):
        states = [wanted]
    else:
        wanted, states = "", None
    query = clean_text(request.query_params.get("q", ""))[:200]
    try:
        page = min(max(1, int(request.query_params.get("page", "1"))), 100_000)
    except ValueError:
        page = 1
    messages = mail.outbox(
        db, states=states, recipient=query, limit=OUTBOX_PAGE + 1, offset=(page - 1) * OUTBOX_PAGE
    )
    return Template(
        "admin/outbox.html",
        context={
            "messages": messages[:OUTBOX_PAGE],
            "more": len(messages) > OUTBOX_PAGE,
            "page": page,
            "q": query,
            "counts": mail.outbox_counts(db),
            "wanted": wanted,
            "smtp": bool(settings.smtp_url),
        },
    )


def _message(db, settings, message_id: int, error: str | None = None, status: int = 200) -> Template:
    entries = mail.outbox(db, ids=[message_id])
    if not entries:
        raise NotFoundException()
    rendered = mail.render_message(db, settings, message_id)
    if settings.smtp_url:
        # Mail reaches people by itself: HR has no need to see their personal or password links (and must not be
        # able to answer in an employee's name or take over an account).
        rendered = replace(rendered, text=redact(rendered.text), html=redact(rendered.html))
    return Template(
        "admin/message.html",
        context={
            "entry": entries[0],
            "mail": rendered,
            "smtp": bool(settings.smtp_url),
            "error": error,
        },
        status_code=status,
    )


@get("/outbox/{message_id:int}", sync_to_thread=True)
def message_page(message_id: ObjectId, db: DatabaseDep, settings: SettingsDep) -> Template:
    """A mail as its recipient reads it (with its personal link: the reason this page is for HR only)."""
    return _message(db, settings, message_id)


@post("/outbox/{message_id:int}/resend", sync_to_thread=True)
def resend_message(message_id: ObjectId, db: DatabaseDep, settings: SettingsDep) -> Template | Redirect:
    if not mail.outbox(db, ids=[message_id]):
        raise NotFoundException()
    try:
        mail.resend(db, settings, message_id, now())
    except mail.MailError as error:
        return _message(db, settings, message_id, str(error), 409)
    return Redirect(f"/admin/outbox/{message_id}?resent=1", status_code=HTTP_303_SEE_OTHER)


ROUTES = [
    schedules_page,
    create_schedule_page,
    schedule_page,
    update_schedule_page,
    outbox_page,
    message_page,
    resend_message,
]
