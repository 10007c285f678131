"""Taking in answers: invitation links, the employee survey and the customer survey.

Marking an invitation answered and storing its response happen in one transaction, and the UPDATE that marks it
is also the check: it matches only an unanswered invitation of an open round, so a second submit, a double click
racing the first, or a submit after the round closed stores nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlalchemy import exc, insert, update
from sqlmodel import select

from survey.db import Database
from survey.models import (
    CustomerFormKey,
    ExternalAnswer,
    ExternalResponse,
    Instrument,
    InternalAnswer,
    InternalResponse,
    InternalReview,
    Invitation,
    Item,
    Round,
    RoundStatus,
    RoundUnit,
    Unit,
    UnitKind,
    random_id,
)
from survey.questionnaire import CustomerAnswers, CustomerForm, FunctionSection, Question, Review
from survey.tokens import new_token, token_hash


class Outcome(Enum):
    STORED = "stored"
    ALREADY_ANSWERED = "already answered"
    NOT_OPEN = "not open"
    NO_SESSION = "no session"


@dataclass(frozen=True)
class InvitationView:
    """What an invitation link or survey cookie leads to."""

    invitation_id: int
    answered: bool
    round_id: int
    round_name: str
    round_status: RoundStatus
    opens_at: datetime
    closes_at: datetime
    team_name: str

    @property
    def is_open(self) -> bool:
        return self.round_status == RoundStatus.OPEN


@dataclass(frozen=True)
class ResponseRows:
    response: dict
    reviews: list[dict]
    answers: list[dict]


@dataclass(frozen=True)
class TeamSurvey:
    """A front-line team's public survey page: the team, and its open round if there is one."""

    team_id: int
    team_name: str
    round_id: int | None
    external_instrument_id: int | None


def _questions(items, **names: str) -> tuple[Question, ...]:
    def text(wording: str) -> str:
        for key, value in names.items():
            wording = wording.replace("{" + key + "}", value)
        return wording

    return tuple(
        Question(
            i.id, i.code, i.dimension, text(i.wording), i.scale_min, i.scale_max, i.low_label, i.high_label
        )
        for i in items
    )


class Intake:
    """Both surveys' reads and writes. Questionnaires of open rounds are cached: they are frozen once open."""

    def __init__(self, db: Database):
        self.db = db
        self._sections: dict[int, tuple[FunctionSection, ...]] = {}
        self._items: dict[int, tuple[Item, ...]] = {}
        self._cache_lock = threading.Lock()

    # --- employee survey -------------------------------------------------------------------------------------

    def _invitation(self, condition) -> InvitationView | None:
        query = (
            select(
                Invitation.id,
                Invitation.answered,
                Round.id,
                Round.name,
                Round.status,
                Round.opens_at,
                Round.closes_at,
                Unit.name,
            )
            .join(Round, Round.id == Invitation.round_id)
            .join(Unit, Unit.id == Invitation.team_id)
            .where(condition)
        )
        with self.db.session() as session:
            row = session.exec(query).first()
        return None if row is None else InvitationView(*row[:4], RoundStatus(row[4]), *row[5:])

    def invitation_for_token(self, token: str) -> InvitationView | None:
        return self._invitation(Invitation.token_hash == token_hash(token))

    def invitation_for_session(self, secret: str | None) -> InvitationView | None:
        if not secret:
            return None
        return self._invitation(Invitation.session_hash == token_hash(secret))

    def start_session(self, invitation_id: int) -> str:
        """Exchange an invitation link for a survey cookie: returns the cookie's secret; a new one each time,
        so the link opened on another device takes the survey over from the first."""
        secret = new_token()
        with self.db.write() as connection:
            connection.execute(
                update(Invitation)
                .where(Invitation.id == invitation_id)
                .values(session_hash=token_hash(secret))
            )
        return secret

    def sections(self, round_id: int) -> tuple[FunctionSection, ...]:
        """The internal questionnaire of a round: one section per support function taking part, by name."""
        if cached := self._sections.get(round_id):
            return cached
        with self.db.session() as session:
            a_round = session.get(Round, round_id)
            functions = session.exec(
                select(Unit)
                .join(RoundUnit, RoundUnit.unit_id == Unit.id)
                .where(RoundUnit.round_id == round_id, Unit.kind == UnitKind.SUPPORT)
                .order_by(Unit.name)
            ).all()
        items = self._instrument_items(a_round.internal_instrument_id)
        sections = tuple(FunctionSection(f.id, f.name, _questions(items, function=f.name)) for f in functions)
        if a_round.status != RoundStatus.SCHEDULED:  # participants are frozen once a round opens
            with self._cache_lock:
                self._sections[round_id] = sections
        return sections

    def submit_internal(self, secret: str | None, reviews: list[Review]) -> Outcome:
        """Store an employee's reviews and mark their invitation answered, both or neither."""
        if not secret:
            return Outcome.NO_SESSION
        open_rounds = select(Round.id).where(Round.status == RoundStatus.OPEN)
        try:
            with self.db.write() as connection:
                claimed = connection.execute(
                    update(Invitation)
                    .where(
                        Invitation.session_hash == token_hash(secret),
                        Invitation.answered.is_(False),
                        Invitation.round_id.in_(open_rounds),
                    )
                    .values(answered=True)
                    .returning(Invitation.round_id, Invitation.team_id)
                ).first()
                if claimed is None:
                    raise _NothingClaimed
                store_internal(connection, [internal_rows(claimed.round_id, claimed.team_id, reviews)])
        except _NothingClaimed:
            invitation = self.invitation_for_session(secret)
            if invitation is None:
                return Outcome.NO_SESSION
            return Outcome.ALREADY_ANSWERED if invitation.answered else Outcome.NOT_OPEN
        return Outcome.STORED

    # --- customer survey -------------------------------------------------------------------------------------

    def team_survey(self, slug: str) -> TeamSurvey | None:
        """The team behind a public link, with its open round; None for an unknown or inactive team."""
        with self.db.session() as session:
            team = session.exec(
                select(Unit).where(Unit.public_slug == slug, Unit.kind == UnitKind.FRONT_LINE, Unit.active)
            ).first()
            if team is None:
                return None
            a_round = session.exec(
                select(Round)
                .join(RoundUnit, RoundUnit.round_id == Round.id)
                .where(RoundUnit.unit_id == team.id, Round.status == RoundStatus.OPEN)
                .order_by(Round.opens_at.desc())
            ).first()
        if a_round is None:
            return TeamSurvey(team.id, team.name, None, None)
        return TeamSurvey(team.id, team.name, a_round.id, a_round.external_instrument_id)

    def customer_form(self, survey: TeamSurvey) -> CustomerForm:
        items = self._instrument_items(survey.external_instrument_id)
        return CustomerForm(_questions(items, team=survey.team_name))

    def submit_customer(self, survey: TeamSurvey, form_key: str, answers: CustomerAnswers) -> Outcome:
        """Store a customer's answers once per form key: a refresh or a double click stores nothing more."""
        still_open = (
            select(Round.id)
            .join(RoundUnit, RoundUnit.round_id == Round.id)
            .where(
                Round.id == survey.round_id,
                Round.status == RoundStatus.OPEN,
                RoundUnit.unit_id == survey.team_id,
            )
        )
        try:
            with self.db.write() as connection:
                connection.execute(
                    insert(CustomerFormKey.__table__),
                    [dict(key_hash=token_hash(form_key), round_id=survey.round_id)],
                )
                if connection.execute(still_open).first() is None:
                    raise _NothingClaimed
                store_external(connection, [external_rows(survey.round_id, survey.team_id, answers)])
        except exc.IntegrityError:
            return Outcome.ALREADY_ANSWERED
        except _NothingClaimed:
            return Outcome.NOT_OPEN
        return Outcome.STORED

    # --- shared ----------------------------------------------------------------------------------------------

    def _instrument_items(self, instrument_id: int) -> tuple[Item, ...]:
        """An instrument's items in order. Instruments never change once made (new wording is a new version)."""
        if cached := self._items.get(instrument_id):
            return cached
        with self.db.session() as session:
            if session.get(Instrument, instrument_id) is None:
                raise LookupError(f"no instrument {instrument_id}")
            items = tuple(
                session.exec(
                    select(Item).where(Item.instrument_id == instrument_id).order_by(Item.position)
                ).all()
            )
        with self._cache_lock:
            self._items[instrument_id] = items
        return items


def internal_rows(round_id: int, team_id: int, reviews: list[Review]) -> ResponseRows:
    """The rows of one employee's response: random ids, no identity, no time."""
    response_id = random_id()
    review_rows, answer_rows = [], []
    for review in reviews:
        review_id = random_id()
        review_rows.append(
            dict(
                id=review_id,
                response_id=response_id,
                function_id=review.function_id,
                used=review.used,
                comment=review.comment,
            )
        )
        answer_rows += [dict(review_id=review_id, item_id=i, value=v) for i, v in review.answers.items()]
    return ResponseRows(dict(id=response_id, round_id=round_id, team_id=team_id), review_rows, answer_rows)


def external_rows(round_id: int, team_id: int, answers: CustomerAnswers) -> ResponseRows:
    response_id = random_id()
    response = dict(id=response_id, round_id=round_id, team_id=team_id, comment=answers.comment)
    return ResponseRows(
        response, [], [dict(response_id=response_id, item_id=i, value=v) for i, v in answers.answers.items()]
    )


def store_internal(connection, responses: list[ResponseRows]) -> None:
    """Insert employees' responses (inside the caller's transaction), a few statements for any number."""
    _insert(connection, InternalResponse, [r.response for r in responses])
    _insert(connection, InternalReview, [row for r in responses for row in r.reviews])
    _insert(connection, InternalAnswer, [row for r in responses for row in r.answers])


def store_external(connection, responses: list[ResponseRows]) -> None:
    _insert(connection, ExternalResponse, [r.response for r in responses])
    _insert(connection, ExternalAnswer, [row for r in responses for row in r.answers])


def _insert(connection, model, rows: list[dict]) -> None:
    if rows:
        connection.execute(insert(model.__table__), rows)


class _NothingClaimed(Exception):
    """Raised inside a write to roll it back when the submission has nothing to attach to."""
