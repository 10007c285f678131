"""Rounds and invitations: create, open and close a round; issue personal links to its front-line staff."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from survey.anonymity import participation_warning, suppressed_groups
from survey.db import Database
from survey.models import (
    Employee,
    Instrument,
    Invitation,
    Round,
    RoundStatus,
    RoundUnit,
    SurveyKind,
    Unit,
    UnitKind,
)
from survey.tokens import invitation_token, token_hash


class RoundError(ValueError):
    """A round request that cannot be carried out; the message says why."""


def new_public_slug() -> str:
    """The unguessable part of a front-line team's public customer link (128 bits)."""
    return secrets.token_urlsafe(16)


def latest_instrument(session: Session, kind: SurveyKind) -> Instrument:
    instrument = session.exec(
        select(Instrument).where(Instrument.kind == kind).order_by(Instrument.version.desc())
    ).first()
    if instrument is None:
        raise RoundError(f"no {kind} instrument installed; run: survey db upgrade")
    return instrument


def find_round(session: Session, reference: str) -> Round:
    """A round by id or by name."""
    query = select(Round).where(Round.name == reference)
    if reference.isascii() and reference.isdigit() and len(reference) <= 9:
        query = select(Round).where((Round.id == int(reference)) | (Round.name == reference))
    a_round = session.exec(query).first()
    if a_round is None:
        raise RoundError(f"no round {reference!r}")
    return a_round


def create_round(
    session: Session,
    name: str,
    opens_at: datetime,
    closes_at: datetime,
    unit_codes: Iterable[str] = (),
) -> Round:
    """Schedule a round over the given units (default: every active support function and front-line team)."""
    name = name.strip()
    if not name:
        raise RoundError("a round needs a name")
    if len(name) > 80:
        raise RoundError(f"a round name has at most 80 characters ({len(name)} given)")
    if session.exec(select(Round).where(Round.name == name)).first():
        raise RoundError(f"a round named {name!r} exists already")
    if closes_at <= opens_at:
        raise RoundError(f"the round must close after it opens ({closes_at:%Y-%m-%d} <= {opens_at:%Y-%m-%d})")
    codes = list(dict.fromkeys(unit_codes))
    rated_or_invited = Unit.kind.in_([UnitKind.SUPPORT, UnitKind.FRONT_LINE])
    if codes:
        units = session.exec(select(Unit).where(Unit.code.in_(codes), rated_or_invited)).all()
        missing = sorted(set(codes) - {u.code for u in units})
        if missing:
            raise RoundError(f"no support function or front-line team with code {', '.join(missing)}")
    else:
        units = session.exec(select(Unit).where(Unit.active, rated_or_invited)).all()
    kinds = {u.kind for u in units}
    if UnitKind.SUPPORT not in kinds or UnitKind.FRONT_LINE not in kinds:
        raise RoundError("a round needs at least one support function and one front-line team")
    a_round = Round(
        name=name,
        opens_at=opens_at,
        closes_at=closes_at,
        internal_instrument_id=latest_instrument(session, SurveyKind.INTERNAL).id,
        external_instrument_id=latest_instrument(session, SurveyKind.EXTERNAL).id,
    )
    session.add(a_round)
    session.flush()
    session.add_all(RoundUnit(round_id=a_round.id, unit_id=u.id) for u in units)
    session.commit()
    return a_round


_NEXT_STATUS = {
    RoundStatus.SCHEDULED: RoundStatus.OPEN,
    RoundStatus.OPEN: RoundStatus.CLOSED,
    RoundStatus.CLOSED: RoundStatus.PUBLISHED,
}


def advance_round(session: Session, a_round: Round, to: RoundStatus) -> Round:
    """Move a round one step along scheduled -> open -> closed -> published."""
    if _NEXT_STATUS.get(RoundStatus(a_round.status)) != to:
        raise RoundError(f"round {a_round.name!r} is {a_round.status}; it cannot become {to}")
    a_round.status = to
    session.add(a_round)
    session.commit()
    return a_round


def close_round(db: Database, reference: str) -> Round:
    """Close a round (no more answers; its data is frozen) and erase from storage the order its answers
    arrived in. Every way of closing a round goes through here."""
    with db.session() as session:
        a_round = advance_round(session, find_round(session, reference), RoundStatus.CLOSED)
    db.erase_arrival_order(a_round.id)
    return a_round


@dataclass(frozen=True)
class IssuedLink:
    invitation_id: int
    email: str
    link: str


def invitation_link(base_url: str, secret_key: str, invitation: Invitation) -> str:
    """An invitation's personal link. Derived, never stored: only its hash is (see tokens.py)."""
    token = invitation_token(secret_key, invitation.id, invitation.link_version)
    return f"{base_url.rstrip('/')}/i/{token}"


def issue_invitations(session: Session, a_round: Round, base_url: str, secret_key: str) -> list[IssuedLink]:
    """Invite every active employee of the round's front-line teams not invited yet, and return their links.

    The database keeps only the links' hashes. Mails render the link again from the secret key; anything else
    that shows links (an export) shows each one once.
    """
    if not secret_key:
        raise RoundError("SURVEY_SECRET_KEY is not set: personal links are derived from it")
    if a_round.status not in (RoundStatus.SCHEDULED, RoundStatus.OPEN):
        raise RoundError(f"round {a_round.name!r} is {a_round.status}; invitations go out before it closes")
    already = select(Invitation.employee_id).where(Invitation.round_id == a_round.id)
    employees = session.exec(
        select(Employee)
        .join(Unit, Unit.id == Employee.unit_id)
        .join(RoundUnit, (RoundUnit.unit_id == Unit.id) & (RoundUnit.round_id == a_round.id))
        .where(Employee.active, Unit.kind == UnitKind.FRONT_LINE, Employee.id.not_in(already))
        .order_by(Employee.email)
    ).all()
    invitations = [
        Invitation(
            round_id=a_round.id,
            employee_id=employee.id,
            team_id=employee.unit_id,
            token_hash=secrets.token_hex(32),  # a placeholder until the id, which the token needs, is known
        )
        for employee in employees
    ]
    session.add_all(invitations)
    session.flush()
    links = []
    for invitation, employee in zip(invitations, employees):
        link = invitation_link(base_url, secret_key, invitation)
        invitation.token_hash = token_hash(link.rsplit("/", 1)[1])
        links.append(IssuedLink(invitation.id, employee.email, link))
    session.commit()
    return links


def response_rate(session: Session, a_round: Round) -> tuple[int, int]:
    """(answered, invited) for the whole round."""
    invited, answered = session.exec(
        select(func.count(), func.count().filter(Invitation.answered)).where(
            Invitation.round_id == a_round.id
        )
    ).one()
    return answered, invited


@dataclass(frozen=True)
class TeamParticipation:
    unit_id: int
    code: str
    name: str
    parent_id: int | None
    invited: int
    answered: int


def team_participation(session: Session, round_id: int) -> list[TeamParticipation]:
    """Invited and answered per front-line team of a round, counted in the database. Raw counts: pass them through
    `participation_view` before showing them to anyone."""
    rows = session.exec(
        select(
            Unit.id,
            Unit.code,
            Unit.name,
            Unit.parent_id,
            func.count(Invitation.id),
            func.count(Invitation.id).filter(Invitation.answered),
        )
        .join(Invitation, Invitation.team_id == Unit.id)
        .where(Invitation.round_id == round_id)
        .group_by(Unit.id, Unit.code, Unit.name, Unit.parent_id)
        .order_by(Unit.code)
    ).all()
    return [TeamParticipation(*row) for row in rows]


@dataclass(frozen=True)
class ParticipationRow:
    label: str
    invited: int
    answered: int | None  # None: hidden (fewer than k invited, or hidden so a hidden team cannot be derived)
    low: bool  # below the healthy share: the group's results deserve a warning

    @property
    def rate(self) -> float | None:
        return None if self.answered is None or not self.invited else self.answered / self.invited


def participation_view(
    teams: list[TeamParticipation], k: int, unit_names: dict[int, str]
) -> tuple[ParticipationRow, list[ParticipationRow]]:
    """The round's total and one row per team, ready to show: a team's rate only when it has at least k invitees,
    with complementary suppression so a hidden team cannot be found from the total and the others."""
    hidden = suppressed_groups({t.unit_id: t.invited for t in teams}, k)
    invited = sum(t.invited for t in teams)
    answered = sum(t.answered for t in teams)
    total = ParticipationRow(
        "All teams", invited, answered if invited >= k else None, participation_warning(answered, invited)
    )
    rows = [
        ParticipationRow(
            f"{t.name} ({t.code})" + (f", {unit_names[t.parent_id]}" if t.parent_id in unit_names else ""),
            t.invited,
            None if t.unit_id in hidden else t.answered,
            t.unit_id not in hidden and participation_warning(t.answered, t.invited),
        )
        for t in teams
    ]
    return total, rows


def open_round_now(session: Session, a_round: Round, settings, now: datetime) -> Round:
    """Open a scheduled round ahead of its time (HR's "Open now")."""
    return advance_round(session, a_round, RoundStatus.OPEN)


def reissue_link(session: Session, a_round: Round, email: str, settings) -> str:
    """A new personal link for someone who lost theirs. The old link and any survey opened with it stop working.
    Returns the new link, to be handed over this once."""
    if a_round.status not in (RoundStatus.SCHEDULED, RoundStatus.OPEN):
        raise RoundError(
            f"round {a_round.name!r} is {a_round.status}; links can only be replaced before it closes"
        )
    invitation = session.exec(
        select(Invitation)
        .join(Employee, Employee.id == Invitation.employee_id)
        .where(Invitation.round_id == a_round.id, Employee.email == email)
    ).first()
    if invitation is None:
        raise RoundError(f"{email or 'that address'} was not invited to round {a_round.name!r}")
    if invitation.answered:
        raise RoundError(f"{email} has answered already; a new link would not work")
    invitation.link_version += 1
    invitation.session_hash = None
    link = invitation_link(settings.base_url, settings.secret_key, invitation)
    invitation.token_hash = token_hash(link.rsplit("/", 1)[1])
    session.add(invitation)
    session.commit()
    return link
