"""The pages of action plans and requests: an action's page (with its notes, and a form to add one), planning and
editing an action, a function's actions and the requests made to it, a team head's requests, executives' counts
per function (`/actions`), and HR's list of every action of a round (`/admin/actions`).

Every handler asks `store` with the signed-in reader, so a person reaches only what they may see: anything else
answers 404, as for an id that does not exist; what they may read but not change answers 403.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from sqlmodel import Session

from survey.actions import rules, store
from survey.actions.rules import ActionError, ActionFields
from survey.actions.store import ActionFilter, Reader
from survey.db.models import Role, Round, Unit
from survey.reports.catalogue import readable_rounds
from survey.vocabulary import UnitKind
from survey.web.auth import now, signed_in_user
from survey.web.deps import DatabaseDep, ObjectId, SettingsDep
from survey.web.errors import Conflict
from survey.web.forms import clean_text, text_field
from survey.web.responses import see_other

RoundFilter = Annotated[int | None, QueryParameter(name="round", ge=1, le=2**31 - 1)]
FunctionFilter = Annotated[int | None, QueryParameter(name="function", ge=1, le=2**31 - 1)]
StatusFilter = Annotated[str | None, QueryParameter(name="status", max_length=20)]


@contextmanager
def refusals() -> Iterator[None]:
    """What `store` refuses, as HTTP: 404 for what the reader may not see, 403 for what they only read, 409 for
    a state that refuses the change."""
    try:
        yield
    except store.NotFound:
        raise NotFoundException() from None
    except store.ReadOnly as error:
        raise PermissionDeniedException(str(error)) from None
    except store.StateConflict as error:
        raise Conflict(str(error)) from None


def _reader(session: Session, request: Request) -> Reader:
    return store.reader_for(session, signed_in_user(request))


def _function(session: Session, reader: Reader, unit_id: int) -> Unit:
    """A support function this reader may see; 404 otherwise."""
    unit = session.get(Unit, unit_id)
    if unit is None or unit.kind != UnitKind.SUPPORT or not (reader.sees_all or unit_id in reader.functions):
        raise NotFoundException()
    return unit


def _team(session: Session, reader: Reader, unit_id: int) -> Unit:
    """A front-line team this reader may see; 404 otherwise."""
    unit = session.get(Unit, unit_id)
    if unit is None or unit.kind != UnitKind.FRONT_LINE or not (reader.sees_all or unit_id in reader.teams):
        raise NotFoundException()
    return unit


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit() and len(v) < 10]


def _fields(form: Mapping[str, Any], teams: list[str]) -> ActionFields:
    return ActionFields(
        title=clean_text(form.get("title")),
        description=clean_text(form.get("description")),
        dimension=text_field(form, "dimension"),
        due_on=rules.parse_date(text_field(form, "due_on")),
        team_ids=_ids(teams),
    )


def _owner(form: Mapping[str, Any]) -> int | None:
    value = text_field(form, "owner")
    return int(value) if value.isdigit() and len(value) < 10 else None


# --- An action ----------------------------------------------------------------------------------------------------


def _action_context(session: Session, reader: Reader, action_id: int) -> dict[str, Any]:
    with refusals():
        action = store.get_action(session, reader, action_id, now().date())
    moves = [(s, rules.STATUS_LABELS[s]) for s in rules.STATUSES if s in rules.MOVES[action.status]]
    return {
        "action": action,
        "measured": None,  # whether it worked: read by the action's page (`action_page`), not by a refused note
        "notes": store.action_notes(session, action.id),
        "moves": moves,
        "statuses": rules.STATUS_LABELS,
        "sources": rules.SOURCE_LABELS,
        "errors": {},
    }


def _rounds_since(session: Session, request: Request, round_id: int) -> list[Round]:
    """The released rounds after the one an action answers whose reports this reader may read, oldest first."""
    answered = session.get(Round, round_id)
    assert answered is not None  # an action's round is never deleted
    readable = readable_rounds(session, signed_in_user(request))
    return sorted((r for r in readable if r.opens_at > answered.opens_at), key=lambda r: r.opens_at)


@get("/actions/{action_id:int}", sync_to_thread=True)
def action_page(action_id: ObjectId, request: Request, db: DatabaseDep, settings: SettingsDep) -> Template:
    """An action, its notes and, for each round measured since, whether it worked."""
    with db.session() as session:
        context = _action_context(session, _reader(session, request), action_id)
        rounds = _rounds_since(session, request, context["action"].round_id)
    measured = store.measured_effects(db, rounds, action_id, settings.min_group_size)
    return Template("staff/action.html", context=context | {"measured": measured})


@post("/actions/{action_id:int}/notes")
async def add_note(action_id: ObjectId, request: Request, db: DatabaseDep) -> Template | Redirect:
    """A dated note, optionally moving the status."""
    form = await request.form()
    status = text_field(form, "status") or None
    with db.session() as session:
        reader = _reader(session, request)
        try:
            with refusals():
                store.add_note(session, reader, action_id, clean_text(form.get("text")), status, now())
        except ActionError as error:
            context = _action_context(session, reader, action_id)
            context |= {"errors": error.errors, "note": clean_text(form.get("text"))}
            return Template("staff/action.html", context=context, status_code=400)
    return see_other(f"/actions/{action_id}")


# --- Planning and editing -----------------------------------------------------------------------------------------


def _form_context(session: Session, function: Unit, values: dict[str, Any], errors: dict[str, str]) -> dict:
    return {
        "function": function,
        "values": values,
        "errors": errors,
        "dimensions": rules.DIMENSION_LABELS,
        "sources": rules.SOURCE_LABELS,
        "owners": store.owner_choices(session, function.id),
        "teams": store.team_choices(session),
        "rounds": store.round_choices(session),
    }


@get("/units/{unit_id:int}/actions/new", sync_to_thread=True)
def new_action_page(unit_id: ObjectId, request: Request, db: DatabaseDep) -> Template:
    """The form to plan an action, prefilled from the dashboard's link: the round, what it answers, the
    dimension and the teams."""
    query = request.query_params
    with db.session() as session:
        reader = _reader(session, request)
        function = _function(session, reader, unit_id)
        if not reader.may_plan(function.id):
            raise PermissionDeniedException("only the function's head or HR may plan its actions")
        rounds = store.round_choices(session)
        wanted_round = query.get("round", "")
        values = {
            "source": query.get("source") if query.get("source") in rules.SOURCES else "other",
            "dimension": query.get("dimension") if query.get("dimension") in rules.ACTION_DIMENSIONS else "",
            "teams": set(_ids(query.getall("team", []))),
            "round": int(wanted_round) if wanted_round.isdigit() else (rounds[0].id if rounds else None),
            "owner": reader.user_id,
        }
        context = _form_context(session, function, values, {})
    return Template("staff/action_form.html", context={**context, "action": None})


@post("/units/{unit_id:int}/actions")
async def create_action(unit_id: ObjectId, request: Request, db: DatabaseDep) -> Template | Redirect:
    form = await request.form()
    fields = _fields(form, form.getall("team", []))
    round_text = text_field(form, "round")
    with db.session() as session:
        reader = _reader(session, request)
        function = _function(session, reader, unit_id)
        if not reader.may_plan(function.id):
            raise PermissionDeniedException("only the function's head or HR may plan its actions")
        try:
            with refusals():
                action = store.create_action(
                    session,
                    reader,
                    function_id=function.id,
                    round_id=int(round_text) if round_text.isdigit() and len(round_text) < 10 else 0,
                    source=text_field(form, "source"),
                    fields=fields,
                    owner_id=_owner(form),
                    now=now(),
                )
        except ActionError as error:
            values = {**asdict(fields), "teams": set(fields.team_ids), "source": text_field(form, "source")}
            values |= {"round": int(round_text) if round_text.isdigit() else None, "owner": _owner(form)}
            context = _form_context(session, function, values, error.errors)
            return Template("staff/action_form.html", context={**context, "action": None}, status_code=400)
    return see_other(f"/actions/{action.id}")


@get("/actions/{action_id:int}/edit", sync_to_thread=True)
def edit_action_page(action_id: ObjectId, request: Request, db: DatabaseDep) -> Template:
    with db.session() as session:
        reader = _reader(session, request)
        with refusals():
            action = store.get_action(session, reader, action_id, now().date())
        if not action.editable:
            raise PermissionDeniedException("only the function's head or HR may change this action")
        values = {**asdict(action), "teams": {t.id for t in action.teams}, "owner": action.owner_id}
        context = _form_context(session, _function(session, reader, action.function.id), values, {})
    return Template("staff/action_form.html", context={**context, "action": action})


@post("/actions/{action_id:int}/edit")
async def edit_action(action_id: ObjectId, request: Request, db: DatabaseDep) -> Template | Redirect:
    form = await request.form()
    fields = _fields(form, form.getall("team", []))
    with db.session() as session:
        reader = _reader(session, request)
        try:
            with refusals():
                store.edit_action(session, reader, action_id, fields, _owner(form), now())
        except ActionError as error:
            action = store.get_action(session, reader, action_id, now().date())
            values = {**asdict(fields), "teams": set(fields.team_ids), "owner": _owner(form)}
            function = _function(session, reader, action.function.id)
            context = _form_context(session, function, values, error.errors)
            return Template("staff/action_form.html", context={**context, "action": action}, status_code=400)
    return see_other(f"/actions/{action_id}")


# --- A function's actions and requests ------------------------------------------------------------------------


def _function_context(session: Session, reader: Reader, unit_id: int) -> dict[str, Any]:
    function = _function(session, reader, unit_id)
    actions = store.list_actions(session, reader, now().date(), ActionFilter(function_id=function.id))
    return {
        "function": function,
        "open": [a for a in actions if a.status not in rules.CLOSED],
        "closed": [a for a in actions if a.status in rules.CLOSED],
        "requests": store.list_requests(session, reader, function_id=function.id),
        "may_plan": reader.may_plan(function.id),
        "owners": store.owner_choices(session, function.id),
        "dimensions": rules.DIMENSION_LABELS,
        "errors": {},
        "failed": None,
        "reader_id": reader.user_id,
    }


@get("/units/{unit_id:int}/actions", sync_to_thread=True)
def function_actions(unit_id: ObjectId, request: Request, db: DatabaseDep) -> Template:
    """A function's actions, open ones first (overdue marked), and the requests made to it."""
    with db.session() as session:
        context = _function_context(session, _reader(session, request), unit_id)
    return Template("staff/actions.html", context=context)


@post("/requests/{request_id:int}/{decision:str}")
async def decide_request(
    request_id: ObjectId, decision: FromPath[str], request: Request, db: DatabaseDep
) -> Template | Redirect:
    """Accept a request into a new action (`accept`), or answer it without one (`answer`)."""
    if decision not in ("accept", "answer"):
        raise NotFoundException()
    form = await request.form()
    found: store.RequestView | None = None
    with db.session() as session:
        reader = _reader(session, request)
        try:
            with refusals():
                found = next((r for r in store.list_requests(session, reader) if r.id == request_id), None)
                if found is None:
                    raise store.NotFound(f"there is no request {request_id}")
                if decision == "accept":
                    action = store.accept_request(
                        session,
                        reader,
                        request_id,
                        title=clean_text(form.get("title")),
                        description=clean_text(form.get("description")),
                        owner_id=_owner(form),
                        due_on=rules.parse_date(text_field(form, "due_on")),
                        now=now(),
                    )
                    return see_other(f"/actions/{action.id}")
                store.answer_request(session, reader, request_id, clean_text(form.get("answer")), now())
        except ActionError as error:
            session.rollback()
            assert found is not None  # looked up before anything could be refused
            context = _function_context(session, reader, found.function.id)
            context |= {"errors": error.errors, "failed": request_id, "form": dict(form)}
            return Template("staff/actions.html", context=context, status_code=400)
    assert found is not None
    return see_other(f"/units/{found.function.id}/actions")


# --- A team's requests --------------------------------------------------------------------------------------------


def _team_context(session: Session, reader: Reader, unit_id: int) -> dict[str, Any]:
    team = _team(session, reader, unit_id)
    functions = list(session.exec(store.support_functions()).all())
    return {
        "team": team,
        "functions": functions,
        "dimensions": rules.DIMENSION_LABELS,
        "requests": store.list_requests(session, reader, team_id=team.id),
        "actions": [
            a
            for a in store.list_actions(session, reader, now().date(), ActionFilter())
            if any(t.id == team.id for t in a.teams)
        ],
        "errors": {},
        "values": {},
        "statuses": rules.STATUS_LABELS,
    }


@get("/units/{unit_id:int}/requests", sync_to_thread=True)
def team_requests(unit_id: ObjectId, request: Request, db: DatabaseDep) -> Template:
    """A team's requests to the support functions, with their state and answer, and the form to raise one."""
    with db.session() as session:
        context = _team_context(session, _reader(session, request), unit_id)
    return Template("staff/requests.html", context=context)


@post("/units/{unit_id:int}/requests")
async def raise_request(unit_id: ObjectId, request: Request, db: DatabaseDep) -> Template | Redirect:
    form = await request.form()
    function = text_field(form, "function")
    dimension = text_field(form, "dimension") or None
    with db.session() as session:
        reader = _reader(session, request)
        _team(session, reader, unit_id)
        try:
            with refusals():
                store.raise_request(
                    session,
                    reader,
                    team_id=unit_id,
                    function_id=int(function) if function.isdigit() and len(function) < 10 else 0,
                    dimension=dimension,
                    text=clean_text(form.get("text")),
                    now=now(),
                )
        except ActionError as error:
            context = _team_context(session, reader, unit_id)
            context |= {"errors": error.errors, "values": dict(form)}
            return Template("staff/requests.html", context=context, status_code=400)
    return see_other(f"/units/{unit_id}/requests")


# --- Executives and HR --------------------------------------------------------------------------------------------


@get("/actions", sync_to_thread=True)
def actions_overview(request: Request, db: DatabaseDep, round_id: RoundFilter = None) -> Template:
    """Executives' (and HR's) view: per function, its actions by status and how many are overdue."""
    user = signed_in_user(request)
    if user.role == Role.HEAD:
        raise PermissionDeniedException("this page is for executives and HR; your actions are on your units")
    with db.session() as session:
        reader = store.reader_for(session, user)
        views = store.list_actions(session, reader, now().date(), ActionFilter(round_id=round_id))
        rounds = store.round_choices(session)
    return Template(
        "staff/actions_overview.html",
        context={
            "counts": store.counts_by_function(views),
            "statuses": rules.STATUS_LABELS,
            "rounds": rounds,
            "round_id": round_id,
        },
    )


@get("/actions", sync_to_thread=True, name="hr_actions")
def hr_actions(
    request: Request,
    db: DatabaseDep,
    round_id: RoundFilter = None,
    function_id: FunctionFilter = None,
    status: StatusFilter = None,
) -> Template:
    """HR: every action of a round (the newest that has actions unless chosen), filtered by function and status,
    overdue first."""
    with db.session() as session:
        reader = store.reader_for(session, signed_in_user(request))
        rounds = store.round_choices(session)
        with_actions = store.rounds_with_actions(session)
        chosen = round_id or next(
            (r.id for r in rounds if r.id in with_actions), rounds[0].id if rounds else None
        )
        wanted = ActionFilter(chosen, function_id, status if status in rules.STATUSES else None)
        views = store.list_actions(session, reader, now().date(), wanted)
        functions = list(session.exec(store.support_functions()).all())
    return Template(
        "admin/actions.html",
        context={
            "actions": views,
            "counts": store.counts_by_function(views),
            "overdue": sum(v.overdue for v in views),
            "rounds": rounds,
            "functions": functions,
            "statuses": rules.STATUS_LABELS,
            "chosen": {"round": chosen, "function": function_id, "status": wanted.status},
        },
    )


PAGES = [
    action_page,
    add_note,
    new_action_page,
    create_action,
    edit_action_page,
    edit_action,
    function_actions,
    decide_request,
    team_requests,
    raise_request,
    actions_overview,
]
HR_PAGES = [hr_actions]
