"""Taking in answers: invitation links, the employee survey and the customer survey.

Marking an invitation answered and storing its response happen in one transaction, and the UPDATE that marks it
is also the check: it matches only an unanswered invitation of an open round, so a second submit, a double click
racing the first, or a submit after the round closed stores nothing. Submissions arriving together share a
commit (`Database.write_batched`), each still all-or-nothing.

A customer form carries a key the server signed for its team and round (`tokens.customer_form_key`); a key used
once is recorded (`CustomerFormKey`), so it stores one response. Answers a team receives in one hour beyond the
hourly cap are stored but held as a burst (`CustomerBurst`) out of every result until HR keeps or discards them.
"""

from __future__ import annotations

import functools
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import Enum

import msgspec
from sqlalchemy import bindparam, insert, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import select

from survey.db.counters import add_counts
from survey.db.engine import Database
from survey.db.models import (
    CustomerBurst,
    CustomerFormKey,
    Employee,
    ExternalResponse,
    Instrument,
    InternalResponse,
    InternalReview,
    Invitation,
    Item,
    ItemTranslation,
    Round,
    RoundStatus,
    RoundUnit,
    Unit,
    random_id,
)
from survey.surveys.questionnaire import CustomerAnswers, CustomerForm, FunctionSection, Question, Review
from survey.tokens import new_token, token_hash
from survey.vocabulary import UnitKind
from survey.wording.store import item_translations


class Outcome(Enum):
    """What became of a customer's submission."""

    STORED = "stored"
    HELD = "held"  # stored, but held out of the results as part of a burst for HR to review
    ALREADY_ANSWERED = "already answered"  # the same form came again: a refresh or a double click
    NOT_OPEN = "not open"


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
    language: str | None  # the employee's, from the roster; None: the default language

    @property
    def is_open(self) -> bool:
        return self.round_status == RoundStatus.OPEN


@dataclass(frozen=True)
class ResponseRows:
    response: dict
    reviews: list[dict]


@dataclass(frozen=True)
class TeamSurvey:
    """A front-line team's public survey page: the team, and its open round if there is one."""

    team_id: int
    team_name: str
    round_id: int | None
    external_instrument_id: int | None


# The hot paths' statements, built once: building SQLAlchemy expressions costs more than running them.
_INVITATION = (
    select(
        Invitation.id,
        Invitation.answered,
        Round.id,
        Round.name,
        Round.status,
        Round.opens_at,
        Round.closes_at,
        Unit.name,
        Employee.language,
    )
    .join(Round, Round.id == Invitation.round_id)
    .join(Unit, Unit.id == Invitation.team_id)
    .join(Employee, Employee.id == Invitation.employee_id)
)
_INVITATION_BY_TOKEN = _INVITATION.where(Invitation.token_hash == bindparam("key_hash"))
_INVITATION_BY_SESSION = _INVITATION.where(Invitation.session_hash == bindparam("key_hash"))
_SET_SESSION = (
    update(Invitation)
    .where(Invitation.id == bindparam("invitation_id"))
    .values(session_hash=bindparam("session_hash"))
)
# Matches only unanswered invitations of open rounds: the claim is the check.
_CLAIM_INVITATIONS = (
    update(Invitation)
    .where(
        # The plain IN lets SQLite find each invitation by its unique session hash (the pair IN alone makes it
        # scan the whole round); the pair IN is the check that a form naming another round claims nothing.
        Invitation.session_hash.in_(bindparam("session_hashes", expanding=True)),
        tuple_(Invitation.session_hash, Invitation.round_id).in_(bindparam("keys", expanding=True)),
        Invitation.answered.is_(False),
        Invitation.round_id.in_(select(Round.id).where(Round.status == RoundStatus.OPEN)),
    )
    .values(answered=True)
    .returning(Invitation.session_hash, Invitation.round_id, Invitation.team_id)
)
_OPEN_ROUND_TEAMS = (
    select(Round.id, RoundUnit.unit_id)
    .join(RoundUnit, RoundUnit.round_id == Round.id)
    .where(Round.id.in_(bindparam("round_ids", expanding=True)), Round.status == RoundStatus.OPEN)
)


def _questions(items: tuple[Item, ...], translations: Mapping[int, ItemTranslation]) -> tuple[Question, ...]:
    """An instrument's questions in the language of `translations` (English, the item's own wording, for an item
    without one), their placeholders not yet filled in."""
    questions = []
    for i in items:
        worded: Item | ItemTranslation = translations.get(i.id, i)
        questions.append(
            Question(
                i.id,
                i.code,
                i.dimension,
                worded.wording,
                i.scale_min,
                i.scale_max,
                worded.low_label,
                worded.high_label,
            )
        )
    return tuple(questions)


def _named(questions: tuple[Question, ...], **names: str) -> tuple[Question, ...]:
    """The questions with each {placeholder} replaced by its name: {function} or {team}."""

    def text(wording: str) -> str:
        for key, value in names.items():
            wording = wording.replace("{" + key + "}", value)
        return wording

    return tuple(replace(q, text=text(q.text)) for q in questions)


class Intake:
    """Both surveys' reads and writes. Questionnaires of open rounds are cached: they are frozen once open."""

    def __init__(self, db: Database):
        self.db = db
        # Keyed by round and language. A round's wording cannot change while it is open (wording.store).
        self._sections: dict[tuple[int, str], tuple[FunctionSection, ...]] = {}
        self._customer_questions: dict[tuple[int, str], tuple[Question, ...]] = {}
        self._items: dict[int, tuple[Item, ...]] = {}
        self._cache_lock = threading.Lock()

    # --- employee survey -------------------------------------------------------------------------------------

    def _invitation(self, statement, key_hash: str) -> InvitationView | None:
        with self.db.engine.connect() as connection:
            row = connection.execute(statement, {"key_hash": key_hash}).first()
        if row is None:
            return None
        invitation_id, answered, round_id, round_name, status, opens_at, closes_at, team_name, language = row
        return InvitationView(
            invitation_id,
            answered,
            round_id,
            round_name,
            RoundStatus(status),
            opens_at,
            closes_at,
            team_name,
            language,
        )

    def invitation_for_token(self, token: str) -> InvitationView | None:
        return self._invitation(_INVITATION_BY_TOKEN, token_hash(token))

    def invitation_for_session(self, secret: str | None) -> InvitationView | None:
        if not secret:
            return None
        return self._invitation(_INVITATION_BY_SESSION, token_hash(secret))

    def start_session(self, invitation_id: int) -> str:
        """Exchange an invitation link for a survey cookie: returns the cookie's secret; a new one each time,
        so the link opened on another device takes the survey over from the first."""
        secret = new_token()
        with self.db.write() as connection:
            connection.execute(
                _SET_SESSION, {"invitation_id": invitation_id, "session_hash": token_hash(secret)}
            )
        return secret

    def cached_sections(self, round_id: int, language: str) -> tuple[FunctionSection, ...] | None:
        """The sections of an open round in `language` if this process has them already (no database access)."""
        return self._sections.get((round_id, language))

    def sections(self, round_id: int, language: str) -> tuple[FunctionSection, ...]:
        """The internal questionnaire of a round in `language` (English where the version has no wording in it):
        one section per support function taking part, by name. Empty for an unknown round."""
        if cached := self._sections.get((round_id, language)):
            return cached
        with self.db.session() as session:
            a_round = session.get(Round, round_id)
            if a_round is None:
                return ()
            functions = session.exec(
                select(Unit)
                .join(RoundUnit, RoundUnit.unit_id == Unit.id)
                .where(RoundUnit.round_id == round_id, Unit.kind == UnitKind.SUPPORT)
                .order_by(Unit.name)
            ).all()
        questions = self._worded(a_round.internal_instrument_id, language)
        sections = tuple(FunctionSection(f.id, f.name, _named(questions, function=f.name)) for f in functions)
        if a_round.status != RoundStatus.SCHEDULED:  # participants are frozen once a round opens
            with self._cache_lock:
                self._sections[round_id, language] = sections
        return sections

    async def submit_internal(self, secret: str | None, round_id: int, reviews: list[Review]) -> bool:
        """Store an employee's reviews for `round_id` and mark their invitation answered, both or neither.

        False when nothing was stored: no such session, already answered, or the round is not (or no longer)
        open; `invitation_for_session` tells which.
        """
        if not secret:
            return False
        return await self.db.write_batched(_claim_and_store, (token_hash(secret), round_id, reviews))

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

    def customer_form(self, survey: TeamSurvey, language: str) -> CustomerForm:
        """The customer questionnaire of the team's open round in `language` (English where the version has no
        wording in it)."""
        assert survey.round_id is not None and survey.external_instrument_id is not None, "no open round"
        key = (survey.round_id, language)
        questions = self._customer_questions.get(key)
        if questions is None:
            questions = self._worded(survey.external_instrument_id, language)
            with self._cache_lock:
                self._customer_questions[key] = questions
        return CustomerForm(_named(questions, team=survey.team_name))

    async def submit_customer(
        self, survey: TeamSurvey, form_key: str, answers: CustomerAnswers, hourly_cap: int
    ) -> Outcome:
        """Store a customer's answers once per form key (checked by the caller: `tokens.check_customer_form_key`):
        a refresh or a double click stores nothing more. Past `hourly_cap` answers for the team in this hour, the
        answers are held for HR (HELD)."""
        key_hash = token_hash(form_key)
        return await self.db.write_batched(
            _check_and_store_customer, (survey.round_id, survey.team_id, key_hash, answers, hourly_cap)
        )

    # --- shared ----------------------------------------------------------------------------------------------

    def _worded(self, instrument_id: int, language: str) -> tuple[Question, ...]:
        """An instrument's questions in `language`, placeholders not filled in. Read afresh: the callers cache
        them by round, whose wording is frozen while it is open."""
        items = self._instrument_items(instrument_id)
        with self.db.session() as session:
            translations = item_translations(session, instrument_id, language)
        return _questions(items, translations)

    def _instrument_items(self, instrument_id: int) -> tuple[Item, ...]:
        """An instrument's items in order. Their English never changes once made (new wording is a new version)."""
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


# --- batch writers (run by Database.write_batched, many submissions in one transaction) -------------------------


def _claim_and_store(connection, items: list[tuple[str, int, list[Review]]]) -> list[bool]:
    """Claim every invitation in one statement, then store the responses of those claimed. A session that
    appears twice in one batch (a double click) is stored once; one whose form names another round, never."""
    keys = list({(session_hash, round_id) for session_hash, round_id, _ in items})
    claimed = {
        (row.session_hash, row.round_id): row
        for row in connection.execute(
            _CLAIM_INVITATIONS, {"keys": keys, "session_hashes": [h for h, _ in keys]}
        )
    }
    stored, responses = [], []
    for session_hash, round_id, reviews in items:
        invitation = claimed.pop((session_hash, round_id), None)
        stored.append(invitation is not None)
        if invitation is not None:
            responses.append(internal_rows(invitation.round_id, invitation.team_id, reviews))
    _shuffle(responses)  # rows of one batch go in in no particular order, not in order of arrival
    store_internal(connection, responses)
    return stored


def _check_and_store_customer(
    connection, items: list[tuple[int, int, str, CustomerAnswers, int]]
) -> list[Outcome]:
    open_pairs = set(connection.execute(_OPEN_ROUND_TEAMS, {"round_ids": list({i[0] for i in items})}).all())
    fresh_keys: dict[str, int] = {}  # key hash -> round id, for the items whose round is open
    for round_id, team_id, key_hash, _, _ in items:
        if (round_id, team_id) in open_pairs:
            fresh_keys.setdefault(key_hash, round_id)
    if fresh_keys:
        insert_keys = (sqlite_insert if connection.dialect.name == "sqlite" else postgresql_insert)(
            CustomerFormKey.__table__
        )
        new = set(
            connection.execute(
                insert_keys.values([{"key_hash": k, "round_id": r} for k, r in fresh_keys.items()])
                .on_conflict_do_nothing()
                .returning(CustomerFormKey.key_hash)
            ).scalars()
        )
    else:
        new = set()
    outcomes: list[Outcome] = []
    accepted = []
    for round_id, team_id, key_hash, answers, cap in items:
        if (round_id, team_id) not in open_pairs:
            outcomes.append(Outcome.NOT_OPEN)
        elif key_hash in new:
            new.discard(key_hash)
            outcomes.append(Outcome.STORED)
            accepted.append((len(outcomes) - 1, round_id, team_id, answers, cap))
        else:
            outcomes.append(Outcome.ALREADY_ANSWERED)
    responses = _hold_past_the_cap(connection, accepted, outcomes)
    _shuffle(responses)
    store_external(connection, responses)
    return outcomes


def _hold_past_the_cap(connection, accepted: list, outcomes: list[Outcome]) -> list[dict]:
    """The rows of the accepted answers; those past their team's hourly cap marked as held by the team's pending
    burst of this hour (made or added to here), and their outcomes set to HELD."""
    now = time.time()
    hour = int(now // 3600 * 3600)
    reached = add_counts(
        connection,
        [(f"answers {round_id} {team_id}", hour, hour + 7200) for _, round_id, team_id, _, _ in accepted],
    )
    held: dict[tuple[int, int], int] = {}
    for (position, round_id, team_id, _, cap), count in zip(accepted, reached, strict=True):
        if count > cap:
            outcomes[position] = Outcome.HELD
            held[round_id, team_id] = held.get((round_id, team_id), 0) + 1
    bursts = _add_to_bursts(connection, held, datetime.fromtimestamp(hour, UTC))
    return [
        external_rows(
            round_id,
            team_id,
            answers,
            bursts.get((round_id, team_id)) if outcomes[p] is Outcome.HELD else None,
        )
        for p, round_id, team_id, answers, _ in accepted
    ]


def _add_to_bursts(
    connection, held: dict[tuple[int, int], int], hour: datetime
) -> dict[tuple[int, int], int]:
    """Add held answers to each team's pending burst of this hour, making it if there is none; the bursts' ids."""
    if not held:
        return {}
    table = CustomerBurst.__table__
    insert_bursts = (sqlite_insert if connection.dialect.name == "sqlite" else postgresql_insert)(table)
    rows = [
        {"round_id": r, "team_id": t, "hour": hour, "held": n, "state": "pending"}
        for (r, t), n in held.items()
    ]
    statement = insert_bursts.values(rows).on_conflict_do_update(
        index_elements=[table.c.round_id, table.c.team_id, table.c.hour],
        index_where=table.c.state == "pending",
        set_={"held": table.c.held + insert_bursts.excluded.held},
    )
    returned = connection.execute(statement.returning(table.c.id, table.c.round_id, table.c.team_id))
    return {(round_id, team_id): burst_id for burst_id, round_id, team_id in returned}


_shuffle = random.SystemRandom().shuffle


def internal_rows(round_id: int, team_id: int, reviews: list[Review]) -> ResponseRows:
    """The rows of one employee's response: random ids, no identity, no time."""
    response_id = random_id()
    return ResponseRows(
        {"id": response_id, "round_id": round_id, "team_id": team_id},
        [
            {
                "response_id": response_id,
                "function_id": review.function_id,
                "used": review.used,
                "answers": answers_json(review.answers),
                "comment": review.comment,
            }
            for review in reviews
        ],
    )


def external_rows(round_id: int, team_id: int, answers: CustomerAnswers, burst_id: int | None = None) -> dict:
    """The row of one customer's response; `burst_id` names the burst holding it out of the results, if any."""
    return {
        "id": random_id(),
        "round_id": round_id,
        "team_id": team_id,
        "answers": answers_json(answers.answers),
        "comment": answers.comment,
        "burst_id": burst_id,
    }


def store_internal(connection, responses: list[ResponseRows]) -> None:
    """Insert employees' responses inside the caller's transaction: two statements for any number."""
    _insert(connection, InternalResponse, [r.response for r in responses])
    _insert(connection, InternalReview, [row for r in responses for row in r.reviews])


def store_external(connection, responses: list[dict]) -> None:
    _insert(connection, ExternalResponse, responses)


def answers_json(answers: Mapping[int, int | None]) -> str:
    """Item answers as the `answers` column holds them: {"<item id>": value}."""
    return msgspec.json.encode(answers).decode()  # msgspec writes int keys as JSON strings


def _insert(connection, model, rows: list[dict]) -> None:
    """Many rows in one executemany, handed straight to the driver: for these hot, fixed inserts SQLAlchemy's
    per-row parameter handling costs more than the database's work (bench/README.md). JSON comes encoded."""
    if not rows:
        return
    sql, columns = _insert_sql(connection.dialect, model)
    if columns is None:  # the driver takes named parameters
        connection.exec_driver_sql(sql, rows)
    else:
        connection.exec_driver_sql(sql, [tuple(row[column] for column in columns) for row in rows])


@functools.cache
def _insert_sql(dialect, model) -> tuple[str, tuple[str, ...] | None]:
    compiled = insert(model.__table__).compile(dialect=dialect)
    return str(compiled), tuple(compiled.positiontup) if compiled.positional else None
