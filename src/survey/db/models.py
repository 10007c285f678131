"""Every table of the product, in one place.

Identity (who was invited, whether they answered) lives only in `Invitation`. Response tables hold the round,
the respondent's team and the answers: no person or invitation id, no time, and random primary keys, so
neither a column nor the storage order can tell who answered or when (docs/anonymity.md).
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from survey.vocabulary import Dimension, Metric, UnitKind

# SQLite stores a table's rows in rowid order, and a rowid is sequential unless the table's primary key is
# declared exactly `INTEGER`: then the key *is* the rowid. Random keys there leave no arrival order behind.
RANDOM_ID = BigInteger().with_variant(Integer(), "sqlite")
# SQLite tables keyed by a composite primary key get a hidden sequential rowid unless created WITHOUT ROWID.
WITHOUT_ROWID = {"sqlite_with_rowid": False}
# Item answers: {"<item id>": value}. SQL reads one with `answers[str(item_id)].as_integer()` on both databases.
ANSWERS = JSON().with_variant(JSONB(), "postgresql")


def random_id() -> int:
    """A positive random 63-bit id: unique in practice, and saying nothing about order."""
    return secrets.randbits(63) or 1


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in Python; naive UTC in the database, the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


class SurveyKind(StrEnum):
    INTERNAL = "internal"  # front-line staff rate support functions
    EXTERNAL = "external"  # customers rate a front-line team


class RoundStatus(StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"  # data frozen
    PUBLISHED = "published"  # reports visible to heads


# --- Organisation -------------------------------------------------------------------------------------------


class Unit(SQLModel, table=True):
    id: int = Field(default=None, primary_key=True)  # None until the row is flushed: the database numbers it
    code: str = Field(unique=True, max_length=40)
    name: str = Field(max_length=200)
    kind: UnitKind = Field(sa_type=String(20))
    parent_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    # Front-line teams only: the unguessable part of the team's public customer-survey link.
    public_slug: str | None = Field(default=None, unique=True, max_length=64)
    active: bool = True


class Employee(SQLModel, table=True):
    id: int = Field(default=None, primary_key=True)  # None until the row is flushed: the database numbers it
    email: str = Field(unique=True, max_length=320)
    name: str = Field(max_length=200)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    active: bool = True
    # The language of their invitations, reminders and survey (a catalog's code); None: SURVEY_DEFAULT_LANGUAGE.
    language: str | None = Field(default=None, max_length=8)


# --- Instruments ----------------------------------------------------------------------------------------------


class Instrument(SQLModel, table=True):
    """A versioned questionnaire. Never edited once a round uses it: changes make a new version."""

    __table_args__ = (UniqueConstraint("kind", "version"),)

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed: the database numbers it
    kind: SurveyKind = Field(sa_type=String(20))
    version: int
    title: str = Field(max_length=200)
    introduction: str = ""


class Item(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("instrument_id", "code"),)

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed: the database numbers it
    instrument_id: int = Field(foreign_key="instrument.id", index=True)
    position: int
    code: str = Field(max_length=20)
    dimension: Dimension = Field(sa_type=String(20))
    # Internal items name the rated function as {function}.
    wording: str = Field(max_length=500)
    scale_min: int
    scale_max: int
    low_label: str = Field(max_length=80)
    high_label: str = Field(max_length=80)
    # A reverse-keyed item agrees with bad service; analysis scores it as scale_min + scale_max - value.
    reverse_keyed: bool = False


# Wording in other languages. English, the source, stays in `instrument` and `item`; a translation is complete
# (every text of the version) or absent, and it changes only while no round using the version is open
# (`surveys.wording`, docs/measurement.md).
MAX_INTRODUCTION_LENGTH = 2000


class InstrumentTranslation(SQLModel, table=True):
    """An instrument version's title and introduction in another language."""

    __tablename__ = "instrument_translation"

    instrument_id: int = Field(foreign_key="instrument.id", primary_key=True)
    language: str = Field(
        primary_key=True, max_length=8
    )  # a code of `survey.languages.supported_languages()`
    title: str = Field(max_length=200)
    introduction: str = Field(default="", max_length=MAX_INTRODUCTION_LENGTH)


class ItemTranslation(SQLModel, table=True):
    """An item's wording and scale labels in another language; the wording keeps the English placeholders."""

    __tablename__ = "item_translation"

    item_id: int = Field(foreign_key="item.id", primary_key=True)
    language: str = Field(primary_key=True, max_length=8)
    wording: str = Field(max_length=500)
    low_label: str = Field(max_length=80)
    high_label: str = Field(max_length=80)


# --- Rounds and invitations (identity lives here and only here) ---------------------------------------------


class Round(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("schedule_id", "period"),)

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed: the database numbers it
    name: str = Field(unique=True, max_length=80)
    # Rounds a schedule creates: which schedule, and which of its periods (e.g. "2027-01"), made at most once.
    schedule_id: int | None = Field(default=None, foreign_key="schedule.id", index=True)
    period: str | None = Field(default=None, max_length=20)
    opens_at: datetime = Field(sa_type=UTCDateTime)
    closes_at: datetime = Field(sa_type=UTCDateTime)
    status: RoundStatus = Field(default=RoundStatus.SCHEDULED, sa_type=String(20))
    internal_instrument_id: int = Field(foreign_key="instrument.id")
    external_instrument_id: int = Field(foreign_key="instrument.id")
    # The group sizes the round's numbers are released under, fixed when it closes (None until then): a setting
    # changed later applies to later rounds only, so no second suppression pattern of this round is ever made.
    min_group_size: int | None = None
    min_comment_group_size: int | None = None

    def group_size(self, setting: int) -> int:
        """k this round's numbers are shown under: the one fixed when it closed; `setting` (today's) while it is
        open, and for a round closed before sizes were kept until its results are next computed."""
        return setting if self.min_group_size is None else self.min_group_size


class ParticipationSnapshot(SQLModel, table=True):
    """An open round's invited and answered per front-line team, counted once a day (the first time it is asked
    for that day: the scheduler's pass, or a head's page). Heads see an open round's participation only from it,
    in bands (`rounds.participation`), so neither an exact count nor a change within the day shows."""

    __tablename__ = "participation_snapshot"

    round_id: int = Field(foreign_key="round.id", primary_key=True)
    counted_on: date  # the day (UTC) it was counted
    counted_at: datetime = Field(sa_type=UTCDateTime)
    counts: list[list[int]] = Field(sa_type=ANSWERS)  # [team id, invited, answered] per front-line team


class RoundUnit(SQLModel, table=True):
    """A unit taking part in a round: its front-line staff are invited, or its support function is rated."""

    round_id: int = Field(foreign_key="round.id", primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", primary_key=True)


class Invitation(SQLModel, table=True):
    """Who was invited to a round and whether they answered. Nothing here points at a response."""

    __table_args__ = (UniqueConstraint("round_id", "employee_id"),)

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed: the database numbers it
    round_id: int = Field(foreign_key="round.id", index=True)
    employee_id: int = Field(foreign_key="employee.id", index=True)
    # The employee's team when invited: their answers count for it.
    team_id: int = Field(foreign_key="unit.id")
    # SHA-256 of the link token. The token is never stored: it is derived from the secret key, the invitation id
    # and this version (see tokens.py), so mails can carry it; a reissued link bumps the version.
    token_hash: str = Field(unique=True, max_length=64)
    link_version: int = 1
    # SHA-256 of the survey cookie the link was exchanged for.
    session_hash: str | None = Field(default=None, unique=True, max_length=64)
    answered: bool = False


# --- Responses (no identity, no time, no order) ---------------------------------------------------------------


class InternalResponse(SQLModel, table=True):
    """One employee's answers in a round, for their team."""

    __tablename__ = "internal_response"

    id: int = Field(default_factory=random_id, primary_key=True, sa_type=RANDOM_ID)
    round_id: int = Field(foreign_key="round.id", index=True)
    team_id: int = Field(foreign_key="unit.id")


class InternalReview(SQLModel, table=True):
    """One response's verdict on one support function: used or not, the item answers, an optional comment."""

    __tablename__ = "internal_review"
    # Keyed by its response: a response's reviews are stored together, so writing one touches one page.
    __table_args__ = WITHOUT_ROWID

    response_id: int = Field(foreign_key="internal_response.id", primary_key=True, sa_type=RANDOM_ID)
    function_id: int = Field(foreign_key="unit.id", primary_key=True)
    used: bool
    # Empty when not used: "did not use" is an answer, not missing ratings.
    answers: dict[str, int] = Field(default_factory=dict, sa_type=ANSWERS)
    comment: str | None = Field(default=None, max_length=2000)


class ExternalResponse(SQLModel, table=True):
    """One customer's answers about a front-line team in a round: dimension items, CSAT, NPS and CES."""

    __tablename__ = "external_response"

    id: int = Field(default_factory=random_id, primary_key=True, sa_type=RANDOM_ID)
    round_id: int = Field(foreign_key="round.id", index=True)
    team_id: int = Field(foreign_key="unit.id")
    answers: dict[str, int] = Field(default_factory=dict, sa_type=ANSWERS)
    comment: str | None = Field(default=None, max_length=2000)
    # Set while the answer is held out of every result as part of a burst HR has not decided on (`CustomerBurst`);
    # cleared when HR keeps the burst, so a kept answer is like any other.
    burst_id: int | None = Field(default=None, foreign_key="customer_burst.id", index=True)


class BurstState(StrEnum):
    PENDING = "pending"  # held: HR has not decided
    KEPT = "kept"  # the answers count
    DISCARDED = "discarded"  # the answers were deleted


class CustomerBurst(SQLModel, table=True):
    """Customer answers a team received in one hour of a round beyond the hourly cap: stored, held out of every
    result until HR keeps them (they count) or discards them (deleted). The row stays as the record of what HR
    decided, by whom and when. One pending burst per team, round and hour."""

    __tablename__ = "customer_burst"
    __table_args__ = (
        Index(
            "ix_customer_burst_pending",
            "round_id",
            "team_id",
            "hour",
            unique=True,
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed: the database numbers it
    round_id: int = Field(foreign_key="round.id", index=True)
    team_id: int = Field(foreign_key="unit.id")
    hour: datetime = Field(sa_type=UTCDateTime)  # the hour the answers came in (its start, UTC)
    held: int = 0  # answers held; after a decision, how many were kept or discarded
    state: BurstState = Field(default=BurstState.PENDING, sa_type=String(20))
    decided_by: str | None = Field(default=None, max_length=320)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RequestCount(SQLModel, table=True):
    """Requests counted per key (a client's hashed address, a team in a round) and time window, shared by every
    server process. Windows are deleted once past (`web.limits`)."""

    __tablename__ = "request_count"
    __table_args__ = WITHOUT_ROWID

    key: str = Field(primary_key=True, max_length=100)
    window: int = Field(primary_key=True, sa_type=BigInteger)  # the window's start, Unix seconds
    count: int = 0
    expires: int = Field(sa_type=BigInteger, index=True)  # Unix seconds after which the row is deleted


class CustomerFormKey(SQLModel, table=True):
    """Keys of customer forms already submitted, so a refresh or double click stores one response."""

    __tablename__ = "customer_form_key"
    __table_args__ = WITHOUT_ROWID

    key_hash: str = Field(primary_key=True, max_length=64)
    round_id: int = Field(foreign_key="round.id", index=True)


# --- Accounts (administration: HR, department heads, executives) --------------------------------------------


def utc_now() -> datetime:
    return datetime.now(UTC)


class Role(StrEnum):
    HR = "hr"  # survey administrator: organisation, rounds, imports, mail, accounts
    HEAD = "head"  # a department head: their own units only
    EXECUTIVE = "executive"  # sees everything reported


class User(SQLModel, table=True):
    __tablename__ = "user_account"

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed: the database numbers it
    email: str = Field(unique=True, max_length=320)  # stored lower-case
    name: str = Field(max_length=200)
    role: Role = Field(sa_type=String(20))
    # argon2id; None until the person sets a password through an e-mailed link.
    password_hash: str | None = Field(default=None, max_length=200)
    active: bool = True
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class UserUnit(SQLModel, table=True):
    """A head's scope: the units (and everything below them) whose pages and reports they may see."""

    __tablename__ = "user_unit"

    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", primary_key=True)


class AuthSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its hash is kept. Deleted at logout."""

    __tablename__ = "auth_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)  # absolute limit, whatever the activity
    # A session begun at the identity provider: its ID token, sent back as a hint when signing out there.
    provider_id_token: str | None = Field(default=None, sa_type=Text)


class ProviderSignIn(SQLModel, table=True):
    """A sign-in begun at the identity provider and not yet back: what its answer must match. Single use: the
    row is deleted when the answer comes, whatever it says. Only hashes of the state and of the browser's
    cookie are kept, so a copy of the table finishes no sign-in."""

    __tablename__ = "provider_sign_in"

    state_hash: str = Field(primary_key=True, max_length=64)
    browser_hash: str = Field(max_length=64)  # the cookie that binds the answer to the browser that asked
    nonce: str = Field(max_length=100)
    code_verifier: str = Field(max_length=128)  # PKCE
    next_path: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)


class LoginFailure(SQLModel, table=True):
    """Failed logins, counted per account and per client to throttle guessing (shared by every process)."""

    __tablename__ = "login_failure"

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed: the database numbers it
    account: str = Field(max_length=320, index=True)
    client: str = Field(max_length=64, index=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)


class PasswordReset(SQLModel, table=True):
    """A single-use link to set a password. The token is derived like invitation tokens; its hash is kept.

    `started_by_id` is the HR account that sent it (a new account, "send password link"); None when the
    account's owner asked for it or the operator did on the command line. Without a mail server, the HR
    account that started a link may show it once (`revealed_by_id`, `revealed_at`)."""

    __tablename__ = "password_reset"

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed: the database numbers it
    user_id: int = Field(foreign_key="user_account.id", index=True)
    token_hash: str | None = Field(default=None, unique=True, max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    started_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    revealed_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    revealed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PasswordRequest(SQLModel, table=True):
    """Someone asked for a password link ("Forgot your password?"), for whatever address they typed. Recorded
    the same way whether an account has the address or not; the scheduler's pass turns it into a mail, or
    into nothing, later (`sign_in.prepare_requested_links`)."""

    __tablename__ = "password_request"

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed: the database numbers it
    email: str = Field(max_length=320)
    requested_at: datetime = Field(sa_type=UTCDateTime)


class ApiToken(SQLModel, table=True):
    """A credential for integrations, created by HR: shown once, stored hashed, scoped and revocable."""

    __tablename__ = "api_token"

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed: the database numbers it
    name: str = Field(max_length=100)
    token_hash: str = Field(unique=True, max_length=64)
    scopes: str = Field(max_length=500)  # space-separated, e.g. "roster:read rounds:write"
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# --- Schedules, round actions and mail ------------------------------------------------------------------------


class Schedule(SQLModel, table=True):
    """A recurring plan of rounds, e.g. quarterly: opens the first Monday of Jan, Apr, Jul and Oct at 09:00 in the
    organisation's time zone, stays open 14 days, reminds on days 5 and 10."""

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed: the database numbers it
    name: str = Field(unique=True, max_length=80)
    active: bool = True
    months: str = Field(default="1,4,7,10", max_length=40)  # months that open a round
    week: int = 1  # which week of the month: 1..4, or -1 for the last
    weekday: int = 0  # 0 = Monday ... 6 = Sunday
    open_time: str = Field(default="09:00", max_length=5)  # local time, HH:MM
    days_open: int = 14
    reminder_days: str = Field(default="5,10", max_length=40)  # days after opening
    timezone: str = Field(default="UTC", max_length=64)  # IANA name, e.g. Europe/Berlin
    lead_days: int = 28  # rounds are created this many days before they open
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class ScheduleUnit(SQLModel, table=True):
    """Units taking part in a schedule's rounds; none listed means every active unit."""

    __tablename__ = "schedule_unit"

    schedule_id: int = Field(foreign_key="schedule.id", primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", primary_key=True)


class ActionKind(StrEnum):
    OPEN = "open"
    REMIND = "remind"
    CLOSE = "close"


class RoundAction(SQLModel, table=True):
    """Something a round must do at a time: open, remind or close. Done exactly once: the row is claimed by the
    same transaction that carries the action out."""

    __tablename__ = "round_action"
    __table_args__ = (UniqueConstraint("round_id", "kind", "due_at"),)

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed: the database numbers it
    round_id: int = Field(foreign_key="round.id", index=True)
    kind: ActionKind = Field(sa_type=String(20))
    due_at: datetime = Field(sa_type=UTCDateTime, index=True)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = Field(default=None, max_length=500)


class MailKind(StrEnum):
    INVITATION = "invitation"
    REMINDER = "reminder"
    PASSWORD_RESET = "password_reset"
    RESULTS_READY = "results_ready"  # to a head or executive: a published round's results for them
    RESULTS_SUMMARY = "results_summary"  # to HR: a published round in figures
    ACTION_DUE = "action_due"  # to an action's owner: its due date is near
    ACTION_OVERDUE = "action_overdue"  # to an action's owner: its due date has passed and it is not done


class MailState(StrEnum):
    PENDING = "pending"  # waiting to be sent
    SENDING = "sending"  # handed to the SMTP server right now
    SENT = "sent"
    RETRY = "retry"  # a send failed; tried again at next_attempt_at
    FAILED = "failed"  # gave up after the last retry; HR sees it
    UNCERTAIN = "uncertain"  # a process stopped mid-send: never resent automatically, HR decides
    STORED = "stored"  # no SMTP server configured: kept in the outbox for HR to read


class OutboxMessage(SQLModel, table=True):
    """A mail to send. It holds references, not the text: the text (with its personal link, derived from the
    secret key) is rendered when sent or viewed, so no link is stored."""

    __tablename__ = "outbox"
    # One mail per person per round action, and one "results are ready" mail per account and round: a race or a
    # crash cannot queue a second.
    __table_args__ = (
        UniqueConstraint("invitation_id", "action_id"),
        UniqueConstraint("kind", "round_id", "user_id"),
    )

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed: the database numbers it
    kind: MailKind = Field(sa_type=String(20))
    recipient: str = Field(max_length=320)
    invitation_id: int | None = Field(default=None, foreign_key="invitation.id", index=True)
    action_id: int | None = Field(default=None, foreign_key="round_action.id")
    password_reset_id: int | None = Field(default=None, foreign_key="password_reset.id")
    round_id: int | None = Field(default=None, foreign_key="round.id")  # a published round's results mails
    user_id: int | None = Field(default=None, foreign_key="user_account.id")  # ...to this account
    action_plan_id: int | None = Field(default=None, foreign_key="action_plan.id")  # an action's reminder
    state: MailState = Field(default=MailState.PENDING, sa_type=String(20), index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# --- Service promises and action plans -----------------------------------------------------------------------


class PromiseSet(SQLModel, table=True):
    """One version of a support function's service promises. Editing them writes a new version (1, 2, ...), so a
    round keeps showing the promises it opened with: a round reads the newest version created before it opened
    (a round not yet open, the newest). A version may be empty: the function withdrew its promises."""

    __tablename__ = "promise_set"
    __table_args__ = (UniqueConstraint("function_id", "version"),)

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed: the database numbers it
    function_id: int = Field(foreign_key="unit.id", index=True)
    version: int
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")


class ServicePromise(SQLModel, table=True):
    """A service standard the front line can expect of a function ("a broken till is replaced within one working
    day"), and the dimension it concerns, so reports set the dimension's score beside it."""

    __tablename__ = "service_promise"
    __table_args__ = (UniqueConstraint("set_id", "position"),)

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed: the database numbers it
    set_id: int = Field(foreign_key="promise_set.id", index=True)
    position: int
    dimension: Dimension = Field(sa_type=String(20))
    text: str = Field(max_length=300)


class ServicePromiseTranslation(SQLModel, table=True):
    """A promise in another language than English, for the employees who answer in it."""

    __tablename__ = "service_promise_translation"

    promise_id: int = Field(foreign_key="service_promise.id", primary_key=True)
    language: str = Field(primary_key=True, max_length=8)
    text: str = Field(max_length=300)


class ActionStatus(StrEnum):
    PLANNED = "planned"
    UNDER_WAY = "under_way"
    DONE = "done"
    DROPPED = "dropped"


class ActionSource(StrEnum):
    """What an action answers."""

    FINDING = "finding"  # a finding: a function's shortfalls line up with, or come before, customers'
    HOTSPOT = "hotspot"  # a team that carries a finding
    DIMENSION = "dimension"  # a low dimension of a function
    REQUEST = "request"  # a team head's request, accepted
    OTHER = "other"


class ActionPlan(SQLModel, table=True):
    """What a support function will change, for which teams, on which dimension, by when and who owns it. Its
    effect is measured in the rounds after `round_id` (the round whose results it answers): the targeted teams'
    rating of the function on the dimension, and their customers', against their own level before and against
    the other teams."""

    __tablename__ = "action_plan"

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed: the database numbers it
    function_id: int = Field(foreign_key="unit.id", index=True)
    round_id: int = Field(foreign_key="round.id", index=True)
    source: ActionSource = Field(sa_type=String(20))
    dimension: Dimension = Field(sa_type=String(20))  # a SERVQUAL dimension, or overall
    title: str = Field(max_length=200)  # employees read it in "you said, we did"
    description: str = Field(default="", max_length=2000)
    owner_id: int = Field(foreign_key="user_account.id", index=True)
    due_on: date
    status: ActionStatus = Field(default=ActionStatus.PLANNED, sa_type=String(20))
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # when it was marked done
    # The due date each reminder was queued for, so each is queued once per due date (claimed by an UPDATE).
    due_reminder_for: date | None = None
    overdue_reminder_for: date | None = None


class ActionPlanTeam(SQLModel, table=True):
    """A front-line team an action targets."""

    __tablename__ = "action_plan_team"

    action_id: int = Field(foreign_key="action_plan.id", primary_key=True)
    team_id: int = Field(foreign_key="unit.id", primary_key=True)


class ActionPlanNote(SQLModel, table=True):
    """A dated note on an action's progress; `status` is the status it moved the action to, if it did."""

    __tablename__ = "action_plan_note"

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed: the database numbers it
    action_id: int = Field(foreign_key="action_plan.id", index=True)
    at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    author_id: int | None = Field(default=None, foreign_key="user_account.id")
    status: ActionStatus | None = Field(default=None, sa_type=String(20))
    text: str = Field(default="", max_length=2000)


class RequestState(StrEnum):
    OPEN = "open"  # waiting for the function's head
    ACCEPTED = "accepted"  # taken into an action (`action_id`)
    ANSWERED = "answered"  # answered without an action


class ActionRequest(SQLModel, table=True):
    """A team head's request to a support function, raised from the team's dashboard: the function's head
    accepts it into an action or answers it."""

    __tablename__ = "action_request"

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed: the database numbers it
    team_id: int = Field(foreign_key="unit.id", index=True)
    function_id: int = Field(foreign_key="unit.id", index=True)
    round_id: int | None = Field(default=None, foreign_key="round.id")  # the round whose results it is about
    dimension: Dimension | None = Field(default=None, sa_type=String(20))
    text: str = Field(max_length=2000)
    raised_by_id: int = Field(foreign_key="user_account.id")
    raised_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    state: RequestState = Field(default=RequestState.OPEN, sa_type=String(20))
    answer: str | None = Field(default=None, max_length=2000)
    answered_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    action_id: int | None = Field(default=None, foreign_key="action_plan.id")


# --- Imports ----------------------------------------------------------------------------------------------------


class ExternalFigure(SQLModel, table=True):
    """A customer figure from another tool, for a front-line team and a round's period: a mean and n, a score (CSAT%
    or NPS) and n, or the distribution of answers (counts per scale point)."""

    __tablename__ = "external_figure"
    __table_args__ = (UniqueConstraint("round_id", "team_id", "metric"),)

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed: the database numbers it
    round_id: int = Field(foreign_key="round.id", index=True)
    team_id: int = Field(foreign_key="unit.id")
    metric: Metric = Field(sa_type=String(10))
    n: int
    mean: float | None = None
    score: float | None = None  # CSAT% (0..100) or NPS (-100..100)
    distribution: dict[str, int] | None = Field(default=None, sa_type=ANSWERS)  # {"<scale point>": count}
    source: str = Field(max_length=200)
    imported_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class ImportRun(SQLModel, table=True):
    """A record of every import applied: what, from where, by whom, and what it changed."""

    __tablename__ = "import_run"

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed: the database numbers it
    kind: str = Field(max_length=20)  # roster | external
    source: str = Field(max_length=200)
    actor: str = Field(max_length=320)  # a user's e-mail, "api token <name>" or "command line"
    at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    summary: str = Field(max_length=1000)
    details: dict[str, Any] | None = Field(default=None, sa_type=ANSWERS)


# --- Analytics ----------------------------------------------------------------------------------------------------


class RoundResult(SQLModel, table=True):
    """A closed round's released results (staff's and customers' scores, the linkage against each customer outcome),
    computed by the results work (`ResultWork`) and kept: only numbers that passed the release gate are in it.
    `key` names the settings they were released under (group sizes, the version of the computation): results of
    other settings are never shown. `data_key` names what they read that can change after the close (customer
    figures imported, the rounds the linkage reads); when it no longer matches, the results are recomputed and
    shown meanwhile as being updated (`analysis.analytics`)."""

    __tablename__ = "round_result"

    round_id: int = Field(foreign_key="round.id", primary_key=True)
    kind: str = Field(
        primary_key=True, max_length=20
    )  # tree | staff | customers | linkage | linkage:<outcome>
    key: str = Field(primary_key=True, max_length=100)
    data_key: str = Field(default="", max_length=100)
    payload: dict[str, Any] = Field(sa_type=ANSWERS)
    computed_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class ResultWork(SQLModel, table=True):
    """Computing a closed round's results for one state of what they read (`key`: settings and data), as work that
    one process does: the first to set `claimed_at` (`rounds.results_work`). A claim not done after a while
    belongs to a process that stopped, and is taken over. `outcome` says what was done, or why not."""

    __tablename__ = "result_work"
    __table_args__ = (UniqueConstraint("round_id", "key"),)

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed: the database numbers it
    round_id: int = Field(foreign_key="round.id", index=True)
    key: str = Field(max_length=100)
    reason: str = Field(max_length=200)  # why they needed computing: none stored yet, figures imported...
    due_at: datetime = Field(sa_type=UTCDateTime)  # when that was found
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # renewed while the work goes on
    claimed_by: str | None = Field(default=None, max_length=100)  # which process: host, pid and a random tag
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = Field(default=None, max_length=500)


class ReportWork(SQLModel, table=True):
    """Rendering one report of a published round, as work that one process does: the first to set `claimed_at`
    (`reports.work`), report by report, so several processes share a round. A claim not done after a while belongs
    to a process that stopped, and is taken over. `data_key` is the fingerprint of what the PDF shows; the PDF
    itself is kept here (`pdf`) when no reports folder is set, else in the folder."""

    __tablename__ = "report_work"
    __table_args__ = (UniqueConstraint("round_id", "report"),)

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed: the database numbers it
    round_id: int = Field(foreign_key="round.id", index=True)
    report: str = Field(max_length=20)  # as in the report's address: "organisation" or the unit's id
    due_at: datetime = Field(sa_type=UTCDateTime)  # when the round was published
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=100)  # which process: host, pid and a random tag
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = Field(default=None, max_length=500)
    data_key: str | None = Field(default=None, max_length=64)
    pdf: bytes | None = Field(default=None, sa_type=LargeBinary)
