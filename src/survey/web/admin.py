"""HR's pages: the organisation, employees, instruments, rounds with live response rates, accounts and API
tokens. Server-rendered, no JavaScript needed. Every route here is for HR only (the router's guard)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time, timedelta

from litestar import Request, Response, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from sqlalchemy import func
from sqlmodel import Session, select

from survey.accounts import users as accounts
from survey.imports import pages as imports_web
from survey.reports import render as reports
from survey.analysis import pages as results_web
from survey.rounds import lifecycle as rounds
from survey.rounds import pages as schedules_web
from survey.web.auth import hr_only, now, signed_in_user
from survey.web.deps import DatabaseDep, ObjectId, SettingsDep
from survey.surveys.instruments import InstrumentError, new_instrument_version
from survey.db.models import (
    ApiToken,
    Employee,
    Instrument,
    Item,
    OutboxMessage,
    Role,
    Round,
    RoundAction,
    RoundStatus,
    Unit,
    UnitKind,
    User,
    UserUnit,
)
from survey.surveys.questionnaire import clean_text, text_field
from survey.rounds.scheduler import ROUND_STEPS, take_step

PAGE_SIZE = 50


def _get(session: Session, model, object_id: int):
    """The object with this id, or 404."""
    found = session.get(model, object_id)
    if found is None:
        raise NotFoundException()
    return found


def _see_other(path: str) -> Redirect:
    return Redirect(path, status_code=HTTP_303_SEE_OTHER)


# --- Overview ---------------------------------------------------------------------------------------------------


@get("/", sync_to_thread=True)
def overview(db: DatabaseDep, settings: SettingsDep) -> Template:
    with db.session() as session:
        counts = {
            "units": session.exec(select(func.count()).select_from(Unit).where(Unit.active)).one(),
            "employees": session.exec(
                select(func.count()).select_from(Employee).where(Employee.active)
            ).one(),
            "accounts": session.exec(select(func.count()).select_from(User).where(User.active)).one(),
        }
        open_rounds = [
            (r, rounds.participation_total(session, r.id, settings.min_group_size))
            for r in session.exec(
                select(Round).where(Round.status == RoundStatus.OPEN).order_by(Round.opens_at)
            )
        ]
        upcoming = session.exec(
            select(RoundAction, Round)
            .join(Round, Round.id == RoundAction.round_id)
            .where(RoundAction.done_at.is_(None))
            .order_by(RoundAction.due_at)
            .limit(5)
        ).all()
        mail_problems = session.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.state.in_(["failed", "uncertain"]))
        ).one()
    return Template(
        "admin/overview.html",
        context={
            "counts": counts,
            "open_rounds": open_rounds,
            "upcoming": upcoming,
            "mail_problems": mail_problems,
            "k": settings.min_group_size,
        },
    )


# --- Organisation and employees ---------------------------------------------------------------------------------


def _unit_tree(session: Session) -> list[tuple[int, Unit]]:
    """Every unit, depth first under its parent, with its depth."""
    units = session.exec(select(Unit).order_by(Unit.code)).all()
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    ordered: list[tuple[int, Unit]] = []

    def visit(parent: int | None, depth: int) -> None:
        for unit in children.get(parent, []):
            ordered.append((depth, unit))
            visit(unit.id, depth + 1)

    visit(None, 0)
    return ordered


@get("/units", sync_to_thread=True)
def units_page(db: DatabaseDep) -> Template:
    with db.session() as session:
        tree = _unit_tree(session)
        heads: dict[int, list[str]] = {}
        for unit_id, name in session.exec(
            select(UserUnit.unit_id, User.name).join(User, User.id == UserUnit.user_id).where(User.active)
        ):
            heads.setdefault(unit_id, []).append(name)
        staff = dict(
            session.exec(
                select(Employee.unit_id, func.count()).where(Employee.active).group_by(Employee.unit_id)
            ).all()
        )
    return Template("admin/units.html", context={"tree": tree, "heads": heads, "staff": staff})


@get("/employees", sync_to_thread=True)
def employees_page(request: Request, db: DatabaseDep) -> Template:
    query = request.query_params.get("q", "").strip()[:200]
    try:
        page = min(max(1, int(request.query_params.get("page", "1"))), 1_000_000)
    except ValueError:
        page = 1
    show_inactive = request.query_params.get("inactive") == "1"
    with db.session() as session:
        statement = select(Employee, Unit).join(Unit, Unit.id == Employee.unit_id)
        if query:
            pattern = f"%{query.lower()}%"
            statement = statement.where(
                func.lower(Employee.email).like(pattern)
                | func.lower(Employee.name).like(pattern)
                | func.lower(Unit.code).like(pattern)
            )
        if not show_inactive:
            statement = statement.where(Employee.active)
        total = session.exec(select(func.count()).select_from(statement.subquery())).one()
        rows = session.exec(
            statement.order_by(Employee.email).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
        ).all()
    return Template(
        "admin/employees.html",
        context={
            "rows": rows,
            "q": query,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "total": total,
            "show_inactive": show_inactive,
        },
    )


# --- Instruments ------------------------------------------------------------------------------------------------


@get("/instruments", sync_to_thread=True)
def instruments_page(db: DatabaseDep) -> Template:
    with db.session() as session:
        instruments = session.exec(
            select(Instrument).order_by(Instrument.kind, Instrument.version.desc())
        ).all()
        used = set(
            session.exec(select(Round.internal_instrument_id)).all()
            + session.exec(select(Round.external_instrument_id)).all()
        )
    return Template("admin/instruments.html", context={"instruments": instruments, "used": used})


def _instrument_context(session: Session, instrument_id: int) -> dict:
    instrument = _get(session, Instrument, instrument_id)
    items = session.exec(
        select(Item).where(Item.instrument_id == instrument.id).order_by(Item.position)
    ).all()
    newest = session.exec(
        select(func.max(Instrument.version)).where(Instrument.kind == instrument.kind)
    ).one()
    return {"instrument": instrument, "items": items, "is_newest": instrument.version == newest}


@get("/instruments/{instrument_id:int}", sync_to_thread=True)
def instrument_page(instrument_id: ObjectId, db: DatabaseDep) -> Template:
    with db.session() as session:
        return Template("admin/instrument.html", context=_instrument_context(session, instrument_id))


@post("/instruments/{instrument_id:int}/new-version")
async def start_new_version(
    instrument_id: ObjectId, request: Request, db: DatabaseDep
) -> Template | Redirect:
    """A new version from this one, with the wording HR edited. Rounds already created keep their version."""
    form = await request.form()
    with db.session() as session:
        context = _instrument_context(session, instrument_id)
        wording = {item.id: clean_text(form.get(f"wording-{item.id}")) for item in context["items"]}
        title = clean_text(form.get("title"))
        try:
            if not context["is_newest"]:
                raise InstrumentError("a newer version exists; start new versions from the newest")
            created = new_instrument_version(session, context["instrument"], title, wording)
        except InstrumentError as error:
            return Template(
                "admin/instrument.html",
                context={**context, "error": str(error), "typed": wording},
                status_code=400,
            )
    return _see_other(f"/admin/instruments/{created.id}")


# --- Rounds -----------------------------------------------------------------------------------------------------


@get("/rounds", sync_to_thread=True)
def rounds_page(db: DatabaseDep, settings: SettingsDep) -> Template:
    with db.session() as session:
        listed = [
            (r, rounds.participation_total(session, r.id, settings.min_group_size))
            for r in session.exec(select(Round).order_by(Round.opens_at.desc()))
        ]
    return Template("admin/rounds.html", context={"rounds": listed, "form": {}, "error": None})


@post("/rounds")
async def create_round_page(request: Request, db: DatabaseDep, settings: SettingsDep) -> Template | Redirect:
    form = await request.form()
    name, opens, days = clean_text(form.get("name")), text_field(form, "opens"), text_field(form, "days")
    error = None
    try:
        opens_on = datetime.strptime(opens, "%Y-%m-%d").date()
        days_open = int(days)
        if not 1 <= days_open <= 366:
            raise ValueError
    except ValueError:
        error = "Give the first day as a date and the days open as a number from 1 to 366."
    if error is None:
        opens_at = datetime.combine(opens_on, time(0, 0), UTC)
        with db.session() as session:
            try:
                created = rounds.create_round(session, name, opens_at, opens_at + timedelta(days=days_open))
                return _see_other(f"/admin/rounds/{created.id}")
            except rounds.RoundError as failure:
                error = str(failure)[0].upper() + str(failure)[1:] + "."
    with db.session() as session:
        listed = [
            (r, rounds.participation_total(session, r.id, settings.min_group_size))
            for r in session.exec(select(Round).order_by(Round.opens_at.desc()))
        ]
    return Template(
        "admin/rounds.html",
        context={"rounds": listed, "form": {"name": name, "opens": opens, "days": days}, "error": error},
        status_code=400,
    )


def _round_context(session: Session, round_id: int, k: int) -> dict:
    a_round = _get(session, Round, round_id)
    names = {u.id: u.name for u in session.exec(select(Unit).where(Unit.kind == UnitKind.GROUP))}
    participation = rounds.team_participation(session, a_round.id)
    hidden = rounds.hidden_participation(session, participation, k)
    total, teams = rounds.participation_view(participation, hidden, names)
    groups = rounds.group_participation(session, participation, hidden)
    actions = session.exec(
        select(RoundAction).where(RoundAction.round_id == a_round.id).order_by(RoundAction.due_at)
    ).all()
    released = a_round.status in (RoundStatus.CLOSED, RoundStatus.PUBLISHED)
    return {
        "round": a_round,
        "total": total,
        "groups": groups,
        "teams": teams,
        "actions": actions,
        "k": k,
        "reports": reports.round_reports(session, a_round) if released else [],
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
            _get(session, Round, round_id)
        take_step(db, settings, round_id, step, now())
    except rounds.RoundError as error:
        with db.session() as session:
            context = _round_context(session, round_id, settings.min_group_size)
        return Template("admin/round.html", context={**context, "error": str(error)}, status_code=409)
    return _see_other(f"/admin/rounds/{round_id}")


@post("/rounds/{round_id:int}/links", sync_to_thread=True)
def export_links(round_id: ObjectId, db: DatabaseDep, settings: SettingsDep) -> Response:
    """Personal links for everyone in the round not invited yet, as CSV, for channels other than e-mail. Shown
    this once: asking again gives only people invited since."""
    try:
        with db.session() as session:
            issued = rounds.issue_invitations(
                session, _get(session, Round, round_id), settings.base_url, settings.secret_key
            )
    except rounds.RoundError as error:
        with db.session() as session:
            context = _round_context(session, round_id, settings.min_group_size)
        return Template("admin/round.html", context={**context, "error": str(error)}, status_code=409)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["email", "link"])
    writer.writerows((i.email, i.link) for i in issued)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="round-{round_id}-links.csv"'},
    )


@post("/rounds/{round_id:int}/reissue")
async def reissue_link(
    round_id: ObjectId, request: Request, db: DatabaseDep, settings: SettingsDep
) -> Template:
    """A new personal link for one employee who lost theirs; the old link stops working."""
    email = accounts.normalise_email(text_field(await request.form(), "email"))[:320]
    with db.session() as session:
        context = _round_context(session, round_id, settings.min_group_size)
        try:
            link = rounds.reissue_link(session, context["round"], email, settings)
        except rounds.RoundError as error:
            return Template("admin/round.html", context={**context, "error": str(error)}, status_code=400)
    return Template("admin/round.html", context={**context, "reissued": (email, link)})


# --- Accounts ---------------------------------------------------------------------------------------------------


def _users_context(session: Session) -> dict:
    users = session.exec(select(User).order_by(User.active.desc(), User.email)).all()
    scopes: dict[int, list[str]] = {}
    for user_id, code in session.exec(
        select(UserUnit.user_id, Unit.code).join(Unit, Unit.id == UserUnit.unit_id).order_by(Unit.code)
    ):
        scopes.setdefault(user_id, []).append(code)
    return {"users": users, "scopes": scopes, "roles": list(Role), "form": {}}


@get("/users", sync_to_thread=True)
def users_page(db: DatabaseDep) -> Template:
    with db.session() as session:
        return Template("admin/users.html", context=_users_context(session))


@post("/users")
async def create_user_page(request: Request, db: DatabaseDep, settings: SettingsDep) -> Template | Redirect:
    """A new account; the person gets a mail with a link to set their password."""
    form = await request.form()
    typed = {name: clean_text(form.get(name)) for name in ("email", "name", "role", "units")}
    with db.session() as session:
        try:
            if typed["role"] not in set(Role):
                raise accounts.AccountError("choose a role")
            user = accounts.create_user(
                session,
                typed["email"],
                typed["name"],
                Role(typed["role"]),
                typed["units"].replace(",", " ").split(),
            )
            accounts.start_password_reset(session, user.email, settings, now())
        except accounts.AccountError as error:
            context = _users_context(session)
            return Template(
                "admin/users.html", context={**context, "form": typed, "error": str(error)}, status_code=400
            )
    return _see_other("/admin/users?created=1")


@post("/users/{user_id:int}/units")
async def change_head_units(user_id: ObjectId, request: Request, db: DatabaseDep) -> Redirect | Template:
    """Which units a department head sees."""
    codes = clean_text((await request.form()).get("units")).replace(",", " ").split()
    with db.session() as session:
        user = _get(session, User, user_id)
        try:
            accounts.set_head_units(session, user, codes)
        except accounts.AccountError as error:
            return Template(
                "admin/users.html", context={**_users_context(session), "error": str(error)}, status_code=400
            )
    return _see_other("/admin/users")


@post("/users/{user_id:int}/{step:str}", sync_to_thread=True)
def change_user(
    user_id: ObjectId, step: FromPath[str], request: Request, db: DatabaseDep, settings: SettingsDep
) -> Redirect | Template:
    """Deactivate or reactivate an account, or send it a new link to set its password."""
    with db.session() as session:
        user = _get(session, User, user_id)
        if step == "deactivate":
            if user.id == signed_in_user(request).id:
                context = _users_context(session)
                return Template(
                    "admin/users.html",
                    context={**context, "error": "You cannot deactivate your own account."},
                    status_code=409,
                )
            accounts.deactivate_user(session, user)
        elif step == "reactivate":
            user.active = True
            session.add(user)
            session.commit()
        elif step == "reset":
            accounts.start_password_reset(session, user.email, settings, now())
        else:
            raise NotFoundException()
    return _see_other("/admin/users")


# --- API tokens ---------------------------------------------------------------------------------------------------


def _tokens_context(session: Session) -> dict:
    tokens = session.exec(
        select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc())
    ).all()
    return {"tokens": tokens, "scopes": accounts.API_SCOPES}


@get("/tokens", sync_to_thread=True)
def tokens_page(db: DatabaseDep) -> Template:
    with db.session() as session:
        return Template("admin/tokens.html", context=_tokens_context(session))


@post("/tokens")
async def create_token_page(request: Request, db: DatabaseDep) -> Template:
    form = await request.form()
    name = clean_text(form.get("name"))
    scopes = [s for s in form.getall("scope", []) if isinstance(s, str)] if hasattr(form, "getall") else []
    with db.session() as session:
        try:
            row, token = accounts.create_api_token(session, name, scopes, signed_in_user(request), now())
        except accounts.AccountError as error:
            return Template(
                "admin/tokens.html",
                context={**_tokens_context(session), "error": str(error), "name": name},
                status_code=400,
            )
        return Template("admin/tokens.html", context={**_tokens_context(session), "created": (row, token)})


@post("/tokens/{token_id:int}/revoke", sync_to_thread=True)
def revoke_token(token_id: ObjectId, db: DatabaseDep) -> Redirect:
    with db.session() as session:
        try:
            accounts.revoke_api_token(session, token_id, now())
        except accounts.AccountError:
            raise NotFoundException() from None
    return _see_other("/admin/tokens")


def admin_router() -> Router:
    return Router(
        path="/admin",
        guards=[hr_only],
        include_in_schema=False,
        route_handlers=[
            overview,
            units_page,
            employees_page,
            instruments_page,
            instrument_page,
            start_new_version,
            rounds_page,
            create_round_page,
            round_page,
            change_round,
            export_links,
            reissue_link,
            users_page,
            create_user_page,
            change_head_units,
            change_user,
            tokens_page,
            create_token_page,
            revoke_token,
            *results_web.ROUTES,
            *schedules_web.ROUTES,
            *imports_web.ROUTES,
        ],
    )
