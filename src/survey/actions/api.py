"""Action plans on the JSON API: list (by round, function, status, overdue), read, create and change actions, add
a note; list the teams' requests. Functions and teams are named by their codes, owners by their e-mail address.
A token acts as HR: it sees every action. Scopes `actions:read` and `actions:write`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated

from litestar import Request, get, patch, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.openapi import ResponseSpec
from litestar.params import FromQuery, JSONBody, QueryParameter
from msgspec import Meta, Struct
from sqlmodel import Session, col, select

from survey.accounts import users
from survey.actions import rules, store
from survey.actions.rules import ActionError, ActionFields
from survey.actions.store import ActionFilter, ActionView
from survey.db.models import Unit, User
from survey.vocabulary import UnitKind
from survey.web.auth import ApiClient, now
from survey.web.deps import DatabaseDep, ObjectId
from survey.web.errors import Conflict

Title = Annotated[str, Meta(min_length=rules.TITLE_LENGTH[0], max_length=rules.TITLE_LENGTH[1])]
Text = Annotated[str, Meta(max_length=rules.DESCRIPTION_LENGTH)]
Code = Annotated[str, Meta(min_length=1, max_length=40)]
Email = Annotated[str, Meta(max_length=320, description="the owner's e-mail: the function's head or HR")]


# --- Shapes -------------------------------------------------------------------------------------------------------


class NoteOut(Struct):
    at: datetime
    author: str
    status: Annotated[str | None, Meta(description="the status the note moved the action to, if it did")]
    text: str


class ActionOut(Struct):
    id: int
    function_code: str
    function_name: str
    round_id: int
    round_name: str
    source: Annotated[str, Meta(description="finding, hotspot, dimension, request or other")]
    dimension: Annotated[str, Meta(description="a SERVQUAL dimension, or overall")]
    title: str
    description: str
    owner_email: str
    due_on: date
    status: Annotated[str, Meta(description="planned, under_way, done or dropped")]
    overdue: Annotated[bool, Meta(description="past its due date and neither done nor dropped")]
    team_codes: list[str]
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    notes: Annotated[list[NoteOut] | None, Meta(description="newest first; only when one action is read")] = (
        None
    )


class NewAction(Struct, forbid_unknown_fields=True):
    function: Annotated[Code, Meta(description="the support function's code")]
    round_id: Annotated[int, Meta(ge=1, le=2**31 - 1, description="the round whose results it answers")]
    title: Title
    dimension: Annotated[
        str, Meta(description="reliability, responsiveness, assurance, empathy, tangibles or overall")
    ]
    owner: Email
    due_on: date
    teams: Annotated[list[Code], Meta(min_length=1, max_length=10_000, description="front-line teams' codes")]
    description: Text = ""
    source: Annotated[str, Meta(description="finding, hotspot, dimension, request or other")] = "other"


class ActionChange(Struct, forbid_unknown_fields=True):
    """Only the fields given change."""

    title: Title | None = None
    description: Text | None = None
    dimension: str | None = None
    owner: Email | None = None
    due_on: date | None = None
    teams: Annotated[list[Code], Meta(max_length=10_000)] | None = None


class NewNote(Struct, forbid_unknown_fields=True):
    text: Annotated[str, Meta(max_length=rules.NOTE_LENGTH)] = ""
    status: Annotated[str | None, Meta(description="move the action to this status")] = None


class RequestOut(Struct):
    id: int
    team_code: str
    function_code: str
    round_id: int | None
    dimension: str | None
    text: str
    raised_at: datetime
    state: Annotated[str, Meta(description="open, accepted or answered")]
    answer: str | None
    answered_at: datetime | None
    action_id: int | None


class Problems(Struct):
    status_code: int
    detail: Annotated[str, Meta(description="each wrong field and what it accepts")]


_REFUSED = ResponseSpec(
    data_container=Problems, description="Nothing was saved; `detail` names each wrong field."
)


# --- Helpers ----------------------------------------------------------------------------------------------------


@contextmanager
def refusals() -> Iterator[None]:
    try:
        yield
    except ActionError as error:
        raise HTTPException(
            status_code=422,
            detail="the action was not saved",
            extra=[{"key": field, "message": message} for field, message in error.errors.items()],
        ) from None
    except store.NotFound as error:
        raise NotFoundException(str(error)) from None
    except store.StateConflict as error:
        raise Conflict(str(error)) from None


def _reader(request: Request) -> store.Reader:
    client: ApiClient = request.user  # the router's guard let only API tokens through
    return store.api_reader(client.name)


def _codes(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.exec(select(Unit.id, Unit.code).where(col(Unit.id).in_(ids))).all())


def _out(session: Session, views: list[ActionView]) -> list[ActionOut]:
    codes = _codes(session, {v.function.id for v in views} | {t.id for v in views for t in v.teams})
    owners = {v.owner_id for v in views}
    emails = (
        dict(session.exec(select(User.id, User.email).where(col(User.id).in_(owners))).all())
        if owners
        else {}
    )
    return [
        ActionOut(
            v.id,
            codes[v.function.id],
            v.function.name,
            v.round_id,
            v.round_name,
            v.source,
            v.dimension,
            v.title,
            v.description,
            emails.get(v.owner_id, ""),
            v.due_on,
            v.status,
            v.overdue,
            sorted(codes[t.id] for t in v.teams),
            v.created_at,
            v.updated_at,
            v.completed_at,
        )
        for v in views
    ]


class _Lookups:
    """Codes and e-mails looked up, each problem kept under its field, so a body is refused with all of them."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.problems: dict[str, str] = {}

    def units(self, codes: list[str], kind: UnitKind, field: str) -> list[int]:
        try:
            return _unit_ids(self.session, codes, kind, field)
        except ActionError as error:
            self.problems.update(error.errors)
            return []

    def owner(self, email: str) -> int | None:
        try:
            return _owner_id(self.session, email)
        except ActionError as error:
            self.problems.update(error.errors)
            return None

    def check(self, fields: ActionFields, today: date) -> None:
        """Raise ActionError with the lookups' problems and the fields' own, if there are any."""
        if self.problems:
            raise ActionError({**rules.action_problems(fields, today), **self.problems})


def _unit_ids(session: Session, codes: list[str], kind: UnitKind, field: str) -> list[int]:
    storable = [c for c in codes if "\x00" not in c]  # no code holds NUL (PostgreSQL text cannot)
    found = dict(
        session.exec(select(Unit.code, Unit.id).where(col(Unit.code).in_(storable), Unit.kind == kind)).all()
    )
    missing = [c for c in codes if c not in found]
    if missing:
        what = "support function" if kind == UnitKind.SUPPORT else "front-line team"
        raise ActionError({field: f"no {what} with code {', '.join(missing)}"})
    return [found[c] for c in codes]


def _owner_id(session: Session, email: str) -> int:
    found = session.exec(select(User.id).where(User.email == users.normalise_email(email))).first()
    if found is None:
        raise ActionError({"owner": f"no account {email.strip()!r}"})
    return found


# --- Routes -------------------------------------------------------------------------------------------------------


@get("/actions", opt={"scope": "actions:read"}, sync_to_thread=True)
def list_actions(
    request: Request,
    db: DatabaseDep,
    round_id: Annotated[int | None, QueryParameter(name="round", ge=1, le=2**31 - 1)] = None,
    function: Annotated[str | None, QueryParameter(max_length=40, description="a function's code")] = None,
    status: Annotated[str | None, QueryParameter(max_length=20)] = None,
    overdue: FromQuery[bool | None] = None,
) -> list[ActionOut]:
    """Every action, overdue ones first, then open ones by due date, then done and dropped ones."""
    with db.session() as session, refusals():
        function_id = _unit_ids(session, [function], UnitKind.SUPPORT, "function")[0] if function else None
        wanted = ActionFilter(round_id, function_id, status, overdue)
        return _out(session, store.list_actions(session, _reader(request), now().date(), wanted))


@get("/actions/{action_id:int}", opt={"scope": "actions:read"}, sync_to_thread=True)
def get_action(action_id: ObjectId, request: Request, db: DatabaseDep) -> ActionOut:
    """An action with its notes, newest first."""
    with db.session() as session, refusals():
        out = _out(session, [store.get_action(session, _reader(request), action_id, now().date())])[0]
        out.notes = [
            NoteOut(n.at, n.author, n.status, n.text) for n in store.action_notes(session, action_id)
        ]
        return out


@post("/actions", opt={"scope": "actions:write"}, sync_to_thread=True, responses={422: _REFUSED})
def create_action(data: JSONBody[NewAction], request: Request, db: DatabaseDep) -> ActionOut:
    """Record an action. Every wrong field is named (422); nothing is saved then."""
    with db.session() as session, refusals():
        found = _Lookups(session)
        function_ids = found.units([data.function], UnitKind.SUPPORT, "function")
        fields = ActionFields(
            data.title.strip(),
            data.description.strip(),
            data.dimension,
            data.due_on,
            found.units(data.teams, UnitKind.FRONT_LINE, "teams"),
        )
        owner_id = found.owner(data.owner)
        found.check(fields, now().date())
        action = store.create_action(
            session,
            _reader(request),
            function_id=function_ids[0],
            round_id=data.round_id,
            source=data.source,
            fields=fields,
            owner_id=owner_id,
            now=now(),
        )
        return _out(session, [store.get_action(session, _reader(request), action.id, now().date())])[0]


@patch(
    "/actions/{action_id:int}", opt={"scope": "actions:write"}, sync_to_thread=True, responses={422: _REFUSED}
)
def change_action(
    action_id: ObjectId, data: JSONBody[ActionChange], request: Request, db: DatabaseDep
) -> ActionOut:
    """Change an action's title, description, dimension, owner, due date or teams: only the fields given."""
    reader = _reader(request)
    with db.session() as session, refusals():
        current = store.get_action(session, reader, action_id, now().date())
        found = _Lookups(session)
        teams = (
            found.units(data.teams, UnitKind.FRONT_LINE, "teams")
            if data.teams is not None
            else [t.id for t in current.teams]
        )
        fields = ActionFields(
            current.title if data.title is None else data.title.strip(),
            current.description if data.description is None else data.description.strip(),
            current.dimension if data.dimension is None else data.dimension,
            current.due_on if data.due_on is None else data.due_on,
            teams,
        )
        owner = current.owner_id if data.owner is None else found.owner(data.owner)
        found.check(fields, current.created_at.date())
        store.edit_action(session, reader, action_id, fields, owner, now())
        return _out(session, [store.get_action(session, reader, action_id, now().date())])[0]


@post(
    "/actions/{action_id:int}/notes",
    opt={"scope": "actions:write"},
    sync_to_thread=True,
    responses={422: _REFUSED},
)
def add_note(action_id: ObjectId, data: JSONBody[NewNote], request: Request, db: DatabaseDep) -> NoteOut:
    """A dated note, optionally moving the action's status (planned -> under_way -> done; any -> dropped;
    done or dropped -> under_way)."""
    with db.session() as session, refusals():
        note = store.add_note(session, _reader(request), action_id, data.text, data.status, now())
        return NoteOut(note.at, _reader(request).name, note.status, note.text)


@get("/requests", opt={"scope": "actions:read"}, sync_to_thread=True)
def list_requests(
    request: Request,
    db: DatabaseDep,
    function: Annotated[str | None, QueryParameter(max_length=40, description="a function's code")] = None,
) -> list[RequestOut]:
    """The teams' requests to the support functions, open ones first, newest first."""
    with db.session() as session, refusals():
        function_id = _unit_ids(session, [function], UnitKind.SUPPORT, "function")[0] if function else None
        views = store.list_requests(session, _reader(request), function_id=function_id)
        codes = _codes(session, {v.team.id for v in views} | {v.function.id for v in views})
        return [
            RequestOut(
                v.id,
                codes[v.team.id],
                codes[v.function.id],
                v.round_id,
                v.dimension,
                v.text,
                v.raised_at,
                v.state,
                v.answer,
                v.answered_at,
                v.action_id,
            )
            for v in views
        ]


ROUTES = [list_actions, get_action, create_action, change_action, add_note, list_requests]
