"""Actions and requests in the database, each read and written with its reader's rights.

Who sees what (a reader that may not see an action or a request finds nothing, as for an id that does not exist):
- HR and executives see every action and request; HR may change them, executives only read. An API token acts
  as HR: HR created it, with the scopes it carries.
- A function head (a head whose units include a support function) sees that function's actions and the requests
  made to it; plans, edits and progresses them; accepts or answers the requests.
- A team or region head (a head whose units include front-line teams) reads the actions that target one of
  their teams, the other targeted teams shown only as a count, and the requests about their teams.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from survey.accounts.users import visible_unit_ids
from survey.actions import rules
from survey.actions.rules import ActionError, ActionFields
from survey.analysis import analytics
from survey.analysis.results import ActionEffect
from survey.db.engine import Database
from survey.db.models import (
    ActionPlan,
    ActionPlanNote,
    ActionPlanTeam,
    ActionRequest,
    ActionSource,
    ActionStatus,
    RequestState,
    Role,
    Round,
    RoundStatus,
    Unit,
    User,
)
from survey.errors import Refused
from survey.reports.content.function import VERDICTS, effect_test_text, verdict_words
from survey.vocabulary import Dimension, UnitKind, outcome_decimals


class NotFound(Refused):
    """No such action, request or unit for this reader (whether it does not exist or is not theirs)."""


class StateConflict(Refused):
    """The object's state refuses the change: a request answered already, say."""


# --- Readers --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reader:
    """Who asks, and what that lets them see and change."""

    user_id: int | None  # None: an API token
    name: str
    sees_all: bool  # HR, executives, API tokens
    edits_all: bool  # HR, API tokens
    functions: frozenset[int] = frozenset()  # the support functions a head sees
    teams: frozenset[int] = frozenset()  # the front-line teams a head sees

    def may_plan(self, function_id: int) -> bool:
        return self.edits_all or function_id in self.functions

    def may_read(self, function_id: int, team_ids: Iterable[int]) -> bool:
        return self.sees_all or function_id in self.functions or bool(self.teams.intersection(team_ids))

    def sees_every_team(self, function_id: int) -> bool:
        return self.sees_all or function_id in self.functions


def reader_for(session: Session, user: User) -> Reader:
    if user.role != Role.HEAD:
        return Reader(user.id, user.name, sees_all=True, edits_all=user.role == Role.HR)
    visible = visible_unit_ids(session, user) or set()
    kinds = dict(session.exec(select(Unit.id, Unit.kind).where(col(Unit.id).in_(visible))).all())
    return Reader(
        user.id,
        user.name,
        sees_all=False,
        edits_all=False,
        functions=frozenset(u for u, k in kinds.items() if k == UnitKind.SUPPORT),
        teams=frozenset(u for u, k in kinds.items() if k == UnitKind.FRONT_LINE),
    )


def api_reader(token_name: str) -> Reader:
    return Reader(None, f"api token {token_name}", sees_all=True, edits_all=True)


# --- Views --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamRef:
    id: int
    name: str


@dataclass
class ActionView:
    """An action as one reader sees it."""

    id: int
    function: TeamRef
    round_id: int
    round_name: str
    source: str
    dimension: str
    title: str
    description: str
    owner_id: int
    owner_name: str
    due_on: date
    status: str
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    overdue: bool
    teams: list[TeamRef]  # the targeted teams this reader may see
    other_teams: int  # ...and how many more are targeted
    editable: bool

    @property
    def dimension_label(self) -> str:
        return rules.DIMENSION_LABELS.get(self.dimension, self.dimension)

    @property
    def status_label(self) -> str:
        return rules.STATUS_LABELS.get(self.status, self.status)


@dataclass(frozen=True)
class NoteView:
    at: datetime
    author: str
    status: str | None
    text: str


@dataclass
class RequestView:
    id: int
    team: TeamRef
    function: TeamRef
    round_id: int | None
    dimension: str | None
    text: str
    raised_by: str
    raised_at: datetime
    state: str
    answer: str | None
    answered_at: datetime | None
    action_id: int | None
    actionable: bool  # this reader may accept or answer it


def _names(session: Session, ids: Iterable[int], model: type[Unit] | type[User]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    return dict(session.exec(select(model.id, model.name).where(col(model.id).in_(wanted))).all())


def _views(session: Session, reader: Reader, actions: list[ActionPlan], today: date) -> list[ActionView]:
    """The actions this reader may see, as they see them."""
    ids = [a.id for a in actions]
    targeted: dict[int, list[int]] = {}
    if ids:
        for action_id, team_id in session.exec(
            select(ActionPlanTeam.action_id, ActionPlanTeam.team_id).where(
                col(ActionPlanTeam.action_id).in_(ids)
            )
        ):
            targeted.setdefault(action_id, []).append(team_id)
    units = _names(
        session, [a.function_id for a in actions] + [t for ts in targeted.values() for t in ts], Unit
    )
    owners = _names(session, [a.owner_id for a in actions], User)
    rounds = _names_of_rounds(session, {a.round_id for a in actions})
    views = []
    for action in actions:
        teams = targeted.get(action.id, [])
        if not reader.may_read(action.function_id, teams):
            continue
        shown = (
            teams if reader.sees_every_team(action.function_id) else [t for t in teams if t in reader.teams]
        )
        views.append(
            ActionView(
                id=action.id,
                function=TeamRef(action.function_id, units.get(action.function_id, "")),
                round_id=action.round_id,
                round_name=rounds.get(action.round_id, ""),
                source=str(action.source),
                dimension=str(action.dimension),
                title=action.title,
                description=action.description,
                owner_id=action.owner_id,
                owner_name=owners.get(action.owner_id, ""),
                due_on=action.due_on,
                status=str(action.status),
                created_at=action.created_at,
                updated_at=action.updated_at,
                completed_at=action.completed_at,
                overdue=rules.is_overdue(action.status, action.due_on, today),
                teams=sorted((TeamRef(t, units.get(t, "")) for t in shown), key=lambda t: t.name),
                other_teams=len(teams) - len(shown),
                editable=reader.may_plan(action.function_id),
            )
        )
    views.sort(key=lambda v: (*rules.open_first(v.status, v.due_on, today), v.id))
    return views


def _names_of_rounds(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.exec(select(Round.id, Round.name).where(col(Round.id).in_(ids))).all())


@dataclass(frozen=True)
class ActionFilter:
    round_id: int | None = None
    function_id: int | None = None
    status: str | None = None
    overdue: bool | None = None


def list_actions(
    session: Session, reader: Reader, today: date, wanted: ActionFilter = ActionFilter()
) -> list[ActionView]:
    """The actions this reader may see, overdue ones first, then the open ones by due date, then the closed."""
    statement = select(ActionPlan)
    if wanted.round_id is not None:
        statement = statement.where(ActionPlan.round_id == wanted.round_id)
    if wanted.function_id is not None:
        statement = statement.where(ActionPlan.function_id == wanted.function_id)
    if wanted.status is not None:
        if wanted.status not in rules.STATUSES:
            raise ActionError({"status": f"one of {', '.join(rules.STATUSES)}"})
        statement = statement.where(ActionPlan.status == wanted.status)
    if not reader.sees_all:
        targeting = select(ActionPlanTeam.action_id).where(col(ActionPlanTeam.team_id).in_(reader.teams))
        statement = statement.where(
            col(ActionPlan.function_id).in_(reader.functions) | col(ActionPlan.id).in_(targeting)
        )
    views = _views(session, reader, list(session.exec(statement).all()), today)
    if wanted.overdue is not None:
        views = [v for v in views if v.overdue == wanted.overdue]
    return views


def get_action(session: Session, reader: Reader, action_id: int, today: date) -> ActionView:
    """The action, as this reader sees it. Raises NotFound if there is none they may see."""
    action = session.get(ActionPlan, action_id)
    views = _views(session, reader, [action], today) if action else []
    if not views:
        raise NotFound(f"there is no action {action_id}")
    return views[0]


def action_notes(session: Session, action_id: int) -> list[NoteView]:
    """An action's notes, newest first."""
    rows = session.exec(
        select(ActionPlanNote, User.name)
        .join(User, col(User.id) == col(ActionPlanNote.author_id), isouter=True)
        .where(ActionPlanNote.action_id == action_id)
        .order_by(col(ActionPlanNote.at).desc(), col(ActionPlanNote.id).desc())
    ).all()
    return [NoteView(note.at, name or "an integration", note.status, note.text) for note, name in rows]


# --- Writing actions ----------------------------------------------------------------------------------------------


def _support_function(session: Session, function_id: int) -> Unit:
    unit = session.get(Unit, function_id)
    if unit is None or unit.kind != UnitKind.SUPPORT:
        raise NotFound(f"there is no support function {function_id}")
    return unit


def check_teams(session: Session, team_ids: Iterable[int]) -> list[int]:
    """The ids, each a front-line team. Raises ActionError naming the others."""
    wanted = sorted(set(team_ids))
    found = set(
        session.exec(select(Unit.id).where(col(Unit.id).in_(wanted), Unit.kind == UnitKind.FRONT_LINE)).all()
    )
    missing = [str(t) for t in wanted if t not in found]
    if missing:
        raise ActionError({"teams": f"no front-line team with id {', '.join(missing)}"})
    return wanted


def check_owner(session: Session, owner_id: int | None, function_id: int) -> User:
    """The account to own an action of this function: active, and HR or a head who sees the function."""
    owner = session.get(User, owner_id) if owner_id else None
    if owner is None:
        raise ActionError({"owner": f"no account with id {owner_id}"})
    if not owner.active:
        raise ActionError({"owner": f"{owner.email} is deactivated; choose an active account"})
    visible = visible_unit_ids(session, owner)
    if owner.role == Role.EXECUTIVE or (visible is not None and function_id not in visible):
        raise ActionError(
            {"owner": f"{owner.email} cannot see this function: choose its head or an HR administrator"}
        )
    return owner


def owner_choices(session: Session, function_id: int) -> list[User]:
    """The accounts that may own an action of this function: its heads, then HR."""
    chosen = []
    for user in session.exec(select(User).where(User.active).order_by(User.role, User.name)):
        try:
            check_owner(session, user.id, function_id)
        except ActionError:
            continue
        chosen.append(user)
    return chosen


def team_choices(session: Session) -> list[Unit]:
    return list(
        session.exec(
            select(Unit).where(Unit.active, Unit.kind == UnitKind.FRONT_LINE).order_by(Unit.name)
        ).all()
    )


def create_action(
    session: Session,
    reader: Reader,
    *,
    function_id: int,
    round_id: int,
    source: str,
    fields: ActionFields,
    owner_id: int | None,
    now: datetime,
) -> ActionPlan:
    """Record an action of a function. Raises NotFound for a function the reader may not plan for, ActionError
    naming each wrong field; writes nothing then. Commits."""
    if not reader.may_plan(function_id):
        raise NotFound(f"there is no support function {function_id}")
    _support_function(session, function_id)
    problems = rules.action_problems(fields, now.date())
    if source not in rules.SOURCES:
        problems["source"] = f"one of {', '.join(rules.SOURCES)}"
    if session.get(Round, round_id) is None:
        problems["round"] = f"there is no round {round_id}"
    for name, check in (
        ("teams", lambda: check_teams(session, fields.team_ids)),
        ("owner", lambda: check_owner(session, owner_id, function_id)),
    ):
        if name not in problems:
            try:
                check()
            except ActionError as error:
                problems.update(error.errors)
    if problems:
        raise ActionError(problems)
    assert fields.due_on is not None and owner_id is not None
    action = ActionPlan(
        function_id=function_id,
        round_id=round_id,
        source=ActionSource(source),
        dimension=Dimension(fields.dimension),
        title=fields.title,
        description=fields.description,
        owner_id=owner_id,
        due_on=fields.due_on,
        created_by_id=reader.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(action)
    session.flush()
    session.add_all(ActionPlanTeam(action_id=action.id, team_id=t) for t in sorted(set(fields.team_ids)))
    session.commit()
    return action


def _editable(session: Session, reader: Reader, action_id: int) -> ActionPlan:
    """The action, for a reader who may change it. NotFound if they may not see it; refused if they only read."""
    action = session.get(ActionPlan, action_id)
    if action is None:
        raise NotFound(f"there is no action {action_id}")
    if not reader.may_plan(action.function_id):
        teams = session.exec(
            select(ActionPlanTeam.team_id).where(ActionPlanTeam.action_id == action_id)
        ).all()
        if reader.may_read(action.function_id, teams):
            raise ReadOnly("only the function's head or HR may change this action")
        raise NotFound(f"there is no action {action_id}")
    return action


class ReadOnly(Refused):
    """A reader who may see an object but not change it."""


def edit_action(
    session: Session,
    reader: Reader,
    action_id: int,
    fields: ActionFields,
    owner_id: int | None,
    now: datetime,
) -> ActionPlan:
    """Change what an action says, its teams, owner and due date. Commits; writes nothing when refused."""
    action = _editable(session, reader, action_id)
    problems = rules.action_problems(fields, action.created_at.date())
    for check in (
        lambda: check_teams(session, fields.team_ids),
        lambda: check_owner(session, owner_id, action.function_id),
    ):
        try:
            check()
        except ActionError as error:
            problems = {**error.errors, **problems}
    if problems:
        raise ActionError(problems)
    assert fields.due_on is not None and owner_id is not None
    action.title, action.description = fields.title, fields.description
    action.dimension = Dimension(fields.dimension)
    action.owner_id, action.due_on, action.updated_at = owner_id, fields.due_on, now
    session.add(action)
    current = set(
        session.exec(select(ActionPlanTeam.team_id).where(ActionPlanTeam.action_id == action.id)).all()
    )
    wanted = set(fields.team_ids)
    for team_id in current - wanted:
        session.delete(session.get(ActionPlanTeam, (action.id, team_id)))
    session.add_all(ActionPlanTeam(action_id=action.id, team_id=t) for t in sorted(wanted - current))
    session.commit()
    return action


def add_note(
    session: Session, reader: Reader, action_id: int, text: str, status: str | None, now: datetime
) -> ActionPlanNote:
    """A dated note on the action, optionally moving its status (done sets `completed_at`; reopening clears it).
    A note needs text or a status. Commits."""
    action = _editable(session, reader, action_id)
    text = rules.clean(text)
    if status == action.status:
        status = None
    if status is not None:
        rules.check_move(action.status, status)
    if len(text) > rules.NOTE_LENGTH:
        raise ActionError({"text": f"at most {rules.NOTE_LENGTH} characters (it has {len(text)})"})
    if not text and status is None:
        raise ActionError({"text": "write a note or choose a new status"})
    if status is not None:
        action.status = ActionStatus(status)
        action.completed_at = now if status == rules.DONE else None
    action.updated_at = now
    session.add(action)
    note = ActionPlanNote(
        action_id=action.id,
        at=now,
        author_id=reader.user_id,
        status=ActionStatus(status) if status else None,
        text=text,
    )
    session.add(note)
    session.commit()
    return note


# --- Requests -----------------------------------------------------------------------------------------------------


def latest_round_id(session: Session) -> int | None:
    """The round whose results a request is about: the newest closed or published one, else the newest."""
    for statuses in ((RoundStatus.PUBLISHED, RoundStatus.CLOSED), tuple(RoundStatus)):
        found = session.exec(
            select(Round.id).where(col(Round.status).in_(statuses)).order_by(col(Round.opens_at).desc())
        ).first()
        if found is not None:
            return found
    return None


def raise_request(
    session: Session,
    reader: Reader,
    *,
    team_id: int,
    function_id: int,
    dimension: str | None,
    text: str,
    now: datetime,
) -> ActionRequest:
    """A team head's request to a support function, for one of their teams. Commits."""
    team = session.get(Unit, team_id)
    if team is None or team.kind != UnitKind.FRONT_LINE or not (reader.sees_all or team_id in reader.teams):
        raise NotFound(f"there is no team {team_id}")
    if reader.user_id is None or not (reader.edits_all or team_id in reader.teams):
        raise ReadOnly("only the team's head or HR may raise its requests")
    problems: dict[str, str] = {}
    text = rules.clean(text)
    function = session.get(Unit, function_id)
    if function is None or function.kind != UnitKind.SUPPORT or not function.active:
        problems["function"] = "choose a support function from the list"
    if dimension is not None and dimension not in rules.ACTION_DIMENSIONS:
        problems["dimension"] = f"one of {', '.join(rules.ACTION_DIMENSIONS)}, or none"
    low, high = rules.REQUEST_LENGTH
    if not low <= len(text) <= high:
        problems["text"] = f"say what you ask for in {low} to {high} characters (it has {len(text)})"
    if problems:
        raise ActionError(problems)
    request = ActionRequest(
        team_id=team_id,
        function_id=function_id,
        round_id=latest_round_id(session),
        dimension=Dimension(dimension) if dimension else None,
        text=text,
        raised_by_id=reader.user_id,
        raised_at=now,
    )
    session.add(request)
    session.commit()
    return request


def list_requests(
    session: Session, reader: Reader, *, function_id: int | None = None, team_id: int | None = None
) -> list[RequestView]:
    """The requests this reader may see: those made to their functions and those about their teams (all of
    them for HR and executives), open ones first, newest first."""
    statement = select(ActionRequest)
    if function_id is not None:
        statement = statement.where(ActionRequest.function_id == function_id)
    if team_id is not None:
        statement = statement.where(ActionRequest.team_id == team_id)
    if not reader.sees_all:
        statement = statement.where(
            col(ActionRequest.function_id).in_(reader.functions)
            | col(ActionRequest.team_id).in_(reader.teams)
        )
    requests = session.exec(statement.order_by(col(ActionRequest.raised_at).desc())).all()
    units = _names(session, [r.team_id for r in requests] + [r.function_id for r in requests], Unit)
    people = _names(session, [r.raised_by_id for r in requests], User)
    views = [
        RequestView(
            id=r.id,
            team=TeamRef(r.team_id, units.get(r.team_id, "")),
            function=TeamRef(r.function_id, units.get(r.function_id, "")),
            round_id=r.round_id,
            dimension=r.dimension,
            text=r.text,
            raised_by=people.get(r.raised_by_id, ""),
            raised_at=r.raised_at,
            state=str(r.state),
            answer=r.answer,
            answered_at=r.answered_at,
            action_id=r.action_id,
            actionable=r.state == RequestState.OPEN and reader.may_plan(r.function_id),
        )
        for r in requests
    ]
    views.sort(key=lambda v: v.state != RequestState.OPEN)  # stable: newest first within each
    return views


def _open_request(session: Session, reader: Reader, request_id: int) -> ActionRequest:
    request = session.get(ActionRequest, request_id)
    if request is None or not reader.may_plan(request.function_id):
        if request is not None and reader.may_read(request.function_id, [request.team_id]):
            raise ReadOnly("only the function's head or HR may accept or answer this request")
        raise NotFound(f"there is no request {request_id}")
    if request.state != RequestState.OPEN:
        raise StateConflict(f"this request was {request.state} already")
    return request


def accept_request(
    session: Session,
    reader: Reader,
    request_id: int,
    *,
    title: str,
    description: str,
    owner_id: int | None,
    due_on: date | None,
    now: datetime,
) -> ActionPlan:
    """Take a request into a new action of its function, for its team. One transaction: the action and the
    request's new state are written together or not at all."""
    request = _open_request(session, reader, request_id)
    round_id = request.round_id or latest_round_id(session)
    if round_id is None:
        raise StateConflict("there is no round yet for an action to answer")
    fields = ActionFields(
        title, description, request.dimension or rules.ACTION_DIMENSIONS[-1], due_on, [request.team_id]
    )
    request.state, request.answered_by_id, request.answered_at = RequestState.ACCEPTED, reader.user_id, now
    request.answer = description or None
    session.add(request)
    action = create_action(
        session,
        reader,
        function_id=request.function_id,
        round_id=round_id,
        source=ActionSource.REQUEST,
        fields=fields,
        owner_id=owner_id,
        now=now,
    )
    request.action_id = action.id
    session.add(request)
    session.commit()
    return action


def answer_request(
    session: Session, reader: Reader, request_id: int, answer: str, now: datetime
) -> ActionRequest:
    """Answer a request without an action. Commits."""
    request = _open_request(session, reader, request_id)
    answer = rules.clean(answer)
    rules.check_text("answer", answer, rules.ANSWER_LENGTH)
    request.state, request.answer = RequestState.ANSWERED, answer
    request.answered_by_id, request.answered_at = reader.user_id, now
    session.add(request)
    session.commit()
    return request


# --- Summaries ----------------------------------------------------------------------------------------------------


@dataclass
class FunctionCounts:
    function: TeamRef
    by_status: Counter[str] = field(default_factory=Counter)
    overdue: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def counts_by_function(views: list[ActionView]) -> list[FunctionCounts]:
    """Per function, its actions by status and how many are overdue; by the function's name."""
    found: dict[int, FunctionCounts] = {}
    for view in views:
        counts = found.setdefault(view.function.id, FunctionCounts(view.function))
        counts.by_status[view.status] += 1
        counts.overdue += view.overdue
    return sorted(found.values(), key=lambda c: c.function.name)


def round_choices(session: Session) -> list[Round]:
    """Rounds an action can answer: the newest first."""
    return list(session.exec(select(Round).order_by(col(Round.opens_at).desc())).all())


def support_functions() -> Any:
    """The active support functions, by name (a statement)."""
    return select(Unit).where(Unit.active, Unit.kind == UnitKind.SUPPORT).order_by(Unit.name)


def rounds_with_actions(session: Session) -> set[int]:
    """The rounds some action answers."""
    return set(session.exec(select(ActionPlan.round_id).distinct()).all())


# --- Did it work? -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasuredEffect:
    """An action's verdict in one round measured since it: the words first, then the numbers behind them."""

    round_name: str
    verdict: str  # "Working; customers better"
    sentence: str
    pooled_with: list[str]  # other small actions counted together with it
    ratings: str  # effect [90% interval] p q, in points of the 1 to 7 scale
    customers: str  # the same for the customers' outcome
    outcome: str  # the outcome's plain name
    teams: str  # "5 of 24": targeted teams compared, of all compared


def measured_effects(db: Database, rounds: Iterable[Round], action_id: int, k: int) -> list[MeasuredEffect]:
    """The action's verdict in each of `rounds` (released rounds after the one it answers, oldest first), as
    that round's stored results found it; a round whose results are not stored yet, or that measured nothing
    of it, is left out."""
    found = []
    for a_round in rounds:
        try:
            linkage = analytics.read_linkage(db, a_round.id, k).result
        except analytics.NotReleased:
            continue
        effect = next((e for e in linkage.actions if action_id in e.actions), None)
        if effect is None:
            continue
        found.append(
            MeasuredEffect(
                round_name=a_round.name,
                verdict=verdict_words(effect),
                sentence=effect.sentence,
                pooled_with=[
                    t for i, t in zip(effect.actions, effect.titles, strict=False) if i != action_id
                ],
                ratings=effect_test_text(effect.ratings, 1),
                customers=effect_test_text(effect.customers, outcome_decimals(linkage.outcome.measure)),
                outcome=linkage.outcome.label,
                teams="–"
                if effect.ratings is None
                else f"{effect.ratings.targeted} of {effect.ratings.compared}",
            )
        )
    return found


@dataclass(frozen=True)
class TeamAction:
    """An action targeting a team, as its dashboard lists it: done ones with the round's verdict."""

    action: ActionView
    verdict: str | None  # None while it is open


def team_actions(
    session: Session, reader: Reader, team_id: int, effects: Iterable[ActionEffect], today: date
) -> list[TeamAction]:
    """The actions this reader may see that target the team (not dropped), open ones first; each done one with
    its verdict in `effects` (a round's), "too early to tell" when that round did not measure it."""
    targeting = select(ActionPlanTeam.action_id).where(ActionPlanTeam.team_id == team_id)
    plans = session.exec(
        select(ActionPlan).where(col(ActionPlan.id).in_(targeting), ActionPlan.status != ActionStatus.DROPPED)
    ).all()
    verdicts = {action_id: verdict_words(e) for e in effects for action_id in e.actions}
    return [
        TeamAction(view, verdicts.get(view.id, VERDICTS["too early"]) if view.status == rules.DONE else None)
        for view in _views(session, reader, list(plans), today)
    ]


@dataclass
class FunctionSummary:
    """A function's actions in a line of the executives' dashboard: open, overdue, done, and of the actions a
    round measured, how many worked."""

    function: TeamRef
    open: int = 0
    overdue: int = 0
    done: int = 0
    measured: int = 0
    worked: int = 0


MEASURED = frozenset({"working", "no clear change", "worse"})  # verdicts that rest on numbers


def function_summaries(views: list[ActionView], effects: Iterable[ActionEffect]) -> list[FunctionSummary]:
    """Per function (by name), its actions (`views`, dropped ones left out) and a round's `effects`."""
    found: dict[int, FunctionSummary] = {}
    for view in views:
        if view.status == rules.DROPPED:
            continue
        line = found.setdefault(view.function.id, FunctionSummary(view.function))
        line.done += view.status == rules.DONE
        line.open += view.status != rules.DONE
        line.overdue += view.overdue
    for effect in effects:
        if effect.verdict in MEASURED and effect.function.id in found:
            line = found[effect.function.id]
            line.measured += len(effect.actions)
            line.worked += len(effect.actions) if effect.verdict == "working" else 0
    return sorted(found.values(), key=lambda line: line.function.name)
