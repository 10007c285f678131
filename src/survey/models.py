"""Every table of the product, in one place.

Identity (who was invited, whether they answered) lives only in `Invitation`. Response tables hold the round,
the respondent's team and the answers: no person or invitation id, no time, and random primary keys, so
neither a column nor the storage order can tell who answered or when (see docs in domain.md: Anonymity).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, DateTime, Integer, String, TypeDecorator, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

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
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


class UnitKind(StrEnum):
    GROUP = "group"  # a region or division, for roll-ups
    SUPPORT = "support"  # an internal support function: IT, HR, logistics...
    FRONT_LINE = "front_line"  # a customer-facing team; the join key between the two surveys


class SurveyKind(StrEnum):
    INTERNAL = "internal"  # front-line staff rate support functions
    EXTERNAL = "external"  # customers rate a front-line team


class Dimension(StrEnum):
    """What an item measures: a SERVQUAL dimension, the internal impact item or a customer outcome."""

    RELIABILITY = "reliability"
    RESPONSIVENESS = "responsiveness"
    ASSURANCE = "assurance"
    EMPATHY = "empathy"
    TANGIBLES = "tangibles"
    IMPACT = "impact"  # "problems with this function made it harder for me to serve customers"
    CSAT = "csat"  # 1..5; CSAT% is the share of 4 and 5
    NPS = "nps"  # 0..10; NPS is % of 9-10 minus % of 0-6
    CES = "ces"  # 1..7; "it was easy to get what I needed"


SERVQUAL = (
    Dimension.RELIABILITY,
    Dimension.RESPONSIVENESS,
    Dimension.ASSURANCE,
    Dimension.EMPATHY,
    Dimension.TANGIBLES,
)


class RoundStatus(StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"  # data frozen
    PUBLISHED = "published"  # reports visible to heads


# --- Organisation -------------------------------------------------------------------------------------------


class Unit(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=40)
    name: str = Field(max_length=200)
    kind: UnitKind = Field(sa_type=String(20))
    parent_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    # Front-line teams only: the unguessable part of the team's public customer-survey link.
    public_slug: str | None = Field(default=None, unique=True, max_length=64)
    active: bool = True


class Employee(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, max_length=320)
    name: str = Field(max_length=200)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    active: bool = True


# --- Instruments ----------------------------------------------------------------------------------------------


class Instrument(SQLModel, table=True):
    """A versioned questionnaire. Never edited once a round uses it: changes make a new version."""

    __table_args__ = (UniqueConstraint("kind", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: SurveyKind = Field(sa_type=String(20))
    version: int
    title: str = Field(max_length=200)
    introduction: str = ""


class Item(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("instrument_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
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


# --- Rounds and invitations (identity lives here and only here) ---------------------------------------------


class Round(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=80)
    opens_at: datetime = Field(sa_type=UTCDateTime)
    closes_at: datetime = Field(sa_type=UTCDateTime)
    status: RoundStatus = Field(default=RoundStatus.SCHEDULED, sa_type=String(20))
    internal_instrument_id: int = Field(foreign_key="instrument.id")
    external_instrument_id: int = Field(foreign_key="instrument.id")


class RoundUnit(SQLModel, table=True):
    """A unit taking part in a round: its front-line staff are invited, or its support function is rated."""

    round_id: int = Field(foreign_key="round.id", primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", primary_key=True)


class Invitation(SQLModel, table=True):
    """Who was invited to a round and whether they answered. Nothing here points at a response."""

    __table_args__ = (UniqueConstraint("round_id", "employee_id"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id", index=True)
    employee_id: int = Field(foreign_key="employee.id", index=True)
    # The employee's team when invited: their answers count for it.
    team_id: int = Field(foreign_key="unit.id")
    # SHA-256 of the link token; the token itself is shown once and never stored.
    token_hash: str = Field(unique=True, max_length=64)
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


class CustomerFormKey(SQLModel, table=True):
    """Keys of customer forms already submitted, so a refresh or double click stores one response."""

    __tablename__ = "customer_form_key"
    __table_args__ = WITHOUT_ROWID

    key_hash: str = Field(primary_key=True, max_length=64)
    round_id: int = Field(foreign_key="round.id", index=True)
