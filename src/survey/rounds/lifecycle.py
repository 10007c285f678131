"""Rounds and invitations: create, open and close a round; issue personal links to its front-line staff.

Every round carries its actions (`RoundAction`): open at `opens_at`, remind on its reminder days, close at
`closes_at`. The scheduler (scheduler.py) carries them out when due, and HR's "open now" runs the open action
early (`scheduler.take_step`); `advance_round` marks the matching action done, so nothing happens twice. Each
action is claimed by the transaction that carries it out. Closing goes through `close_round`, never
`advance_round` alone: it also erases the order answers arrived in.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import update
from sqlmodel import Session, select

from survey.db.engine import Database
from survey.db.models import (
    ActionKind,
    Employee,
    Instrument,
    Invitation,
    Round,
    RoundAction,
    RoundStatus,
    RoundUnit,
    SurveyKind,
    Unit,
    utc_now,
)
from survey.errors import Refused
from survey.settings import Settings
from survey.tokens import invitation_token, token_hash
from survey.vocabulary import UnitKind


class RoundError(Refused):
    """A round request that cannot be carried out; the message says why."""


class RoundOpened(RoundError):
    """A change only a round that has not opened yet can take."""


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


def internal_instrument(session: Session, version: int | None) -> Instrument:
    """The employee questionnaire a new round asks: the given version, or the newest (the short one, unless HR
    has made a later version). Refused, naming the versions there are, when there is no such version."""
    if version is None:
        return latest_instrument(session, SurveyKind.INTERNAL)
    instrument = (
        session.exec(
            select(Instrument).where(Instrument.kind == SurveyKind.INTERNAL, Instrument.version == version)
        ).first()
        if 1 <= version < 2**31  # beyond a database integer: no such version, and no query to refuse it
        else None
    )
    if instrument is None:
        versions = session.exec(
            select(Instrument.version)
            .where(Instrument.kind == SurveyKind.INTERNAL)
            .order_by(Instrument.version)
        ).all()
        raise RoundError(
            f"there is no employee questionnaire version {version}; the versions are "
            + ", ".join(str(v) for v in versions)
        )
    return instrument


def find_round(session: Session, reference: str | int) -> Round:
    """A round by id (an int, or digits) or by name."""
    if isinstance(reference, int):
        a_round = session.get(Round, reference)
        if a_round is None:
            raise RoundError(f"no round {reference}")
        return a_round
    query = select(Round).where(Round.name == reference)
    if reference.isascii() and reference.isdigit() and len(reference) <= 9:
        query = select(Round).where((Round.id == int(reference)) | (Round.name == reference))
    a_round = session.exec(query).first()
    if a_round is None:
        raise RoundError(f"no round {reference!r}")
    return a_round


def units_taking_part(session: Session, unit_codes: Iterable[str]) -> list[Unit]:
    """The support functions and front-line teams with these codes, or every active one when none are given.
    Raises RoundError unless every code is known and there is at least one of each kind."""
    codes = list(dict.fromkeys(code.strip() for code in unit_codes if code.strip()))
    if any(not code.isprintable() or len(code) > 40 for code in codes):
        raise RoundError("unit codes are at most 40 printable characters")
    rated_or_invited = Unit.kind.in_([UnitKind.SUPPORT, UnitKind.FRONT_LINE])
    if codes:
        units = session.exec(select(Unit).where(Unit.code.in_(codes), rated_or_invited)).all()
        missing = sorted(set(codes) - {u.code for u in units})
        if missing:
            raise RoundError(f"no support function or front-line team with code {', '.join(missing)}")
        missing_kind = (
            "name at least one support function and one front-line team (or none: every active unit)"
        )
    else:
        units = session.exec(select(Unit).where(Unit.active, rated_or_invited)).all()
        missing_kind = "a round needs at least one support function and one front-line team"
    kinds = {u.kind for u in units}
    if UnitKind.SUPPORT not in kinds or UnitKind.FRONT_LINE not in kinds:
        raise RoundError(missing_kind)
    return list(units)


def refuse_unless_it_can_open(name: str, closes_at: datetime, now: datetime) -> None:
    """A round whose close is due can never open: opening it by hand (`scheduler.open_now`: HR's page, the API,
    `survey round open`) refuses it, and so do creating it and issuing its links, for the same reason."""
    if closes_at <= now:
        closes = closes_at.astimezone(UTC)  # the API takes times in any zone
        raise RoundError(f"round {name!r} was due to close {closes:%Y-%m-%d %H:%M} UTC; it cannot open")


def create_round(
    session: Session,
    name: str,
    opens_at: datetime,
    closes_at: datetime,
    unit_codes: Iterable[str] = (),
    *,
    reminders_at: Iterable[datetime] = (),
    schedule_id: int | None = None,
    period: str | None = None,
    now: datetime | None = None,
    internal_version: int | None = None,
) -> Round:
    """Schedule a round over the given units (default: every active support function and front-line team), with
    its actions: open at `opens_at`, a reminder at each of `reminders_at`, close at `closes_at`.

    A schedule's round names its schedule and period (at most one round per period). A round that could not
    open as of `now` (default: the current time; a simulated history passes its own) is refused as opening it
    would be. `internal_version`: the employee questionnaire's version (default: the newest). Raises RoundError,
    having written nothing."""
    name = name.strip()
    if not name:
        raise RoundError("a round needs a name")
    if len(name) > 80:
        raise RoundError(f"a round name has at most 80 characters ({len(name)} given)")
    if not name.isprintable():
        raise RoundError("a round name may not contain control characters")
    if session.exec(select(Round).where(Round.name == name)).first():
        raise RoundError(f"a round named {name!r} exists already")
    if closes_at <= opens_at:
        raise RoundError(f"the round must close after it opens ({closes_at:%Y-%m-%d} <= {opens_at:%Y-%m-%d})")
    refuse_unless_it_can_open(name, closes_at, now or utc_now())
    reminders = sorted(set(reminders_at))
    if any(not opens_at < reminder < closes_at for reminder in reminders):
        raise RoundError("reminders go out while the round is open, after it opens and before it closes")
    units = units_taking_part(session, unit_codes)
    questionnaire = internal_instrument(session, internal_version)
    a_round = Round(
        name=name,
        schedule_id=schedule_id,
        period=period,
        opens_at=opens_at,
        closes_at=closes_at,
        internal_instrument_id=questionnaire.id,
        external_instrument_id=latest_instrument(session, SurveyKind.EXTERNAL).id,
    )
    session.add(a_round)
    session.flush()
    session.add_all(RoundUnit(round_id=a_round.id, unit_id=u.id) for u in units)
    session.add(RoundAction(round_id=a_round.id, kind=ActionKind.OPEN, due_at=opens_at))
    session.add_all(RoundAction(round_id=a_round.id, kind=ActionKind.REMIND, due_at=r) for r in reminders)
    session.add(RoundAction(round_id=a_round.id, kind=ActionKind.CLOSE, due_at=closes_at))
    session.commit()
    return a_round


def change_questionnaire(session: Session, round_id: int, version: int) -> Instrument:
    """Make a round that has not opened yet ask another version of the employee questionnaire (a scheduled
    round, say, that should ask the full questionnaire this time). Refused once the round has opened: people may
    have answered the version it asks. The check and the change are one statement, so a round opening at the same
    moment either keeps its version or opens with the new one. Raises RoundError (RoundOpened once it has
    opened), having changed nothing."""
    questionnaire = internal_instrument(session, version)
    changed = session.execute(
        update(Round)
        .where(Round.id == round_id, Round.status == RoundStatus.SCHEDULED)
        .values(internal_instrument_id=questionnaire.id)
    )
    if changed.rowcount != 1:
        session.rollback()
        a_round = find_round(session, round_id)
        raise RoundOpened(
            f"round {a_round.name!r} is {a_round.status}: its questionnaire can be changed only before it opens"
        )
    session.commit()
    return questionnaire


_NEXT_STATUS = {
    RoundStatus.SCHEDULED: RoundStatus.OPEN,
    RoundStatus.OPEN: RoundStatus.CLOSED,
    RoundStatus.CLOSED: RoundStatus.PUBLISHED,
}


# What a round's close action records while, and after, the order its answers arrived in is erased. A close
# action still saying ERASING some minutes after it was done belongs to a process that stopped mid-way: the
# scheduler erases again (erasing is idempotent).
ERASING = "; erasing the order answers arrived in"
ERASED = "; the order answers arrived in is erased"
SKIPPED_CLOSED_FIRST = "skipped: the round closed first"


def claim_action(session: Session, action_id: int, now: datetime, outcome: str | None = None) -> bool:
    """Mark a round action done unless it is already; True if this call did.

    Carry the action out in the same transaction. On PostgreSQL a second process claiming the same action waits
    for the first one's transaction and then matches nothing; on SQLite writers take turns."""
    claimed = session.exec(
        update(RoundAction)
        .where(RoundAction.id == action_id, RoundAction.done_at.is_(None))
        .values(done_at=now, outcome=outcome)
        .execution_options(synchronize_session=False)
    )
    return claimed.rowcount == 1


def _mark_pending(session: Session, round_id: int, kind: ActionKind, now: datetime, outcome: str) -> None:
    session.exec(
        update(RoundAction)
        .where(RoundAction.round_id == round_id, RoundAction.kind == kind, RoundAction.done_at.is_(None))
        .values(done_at=now, outcome=outcome)
        .execution_options(synchronize_session=False)
    )


def advance_round(session: Session, a_round: Round, to: RoundStatus, *, now: datetime | None = None) -> Round:
    """Move a round one step along scheduled -> open -> closed -> published. Raises RoundError otherwise.

    Opening marks the round's pending open action done ("opened by hand": the scheduler will not open it again);
    closing marks its pending close action done and skips reminders not sent yet. The status changes only if it
    is still what it was read as, so two processes cannot both take the same step. Commits the session (inside
    `Database.write_session()` that only flushes into the caller's transaction)."""
    now = now or utc_now()
    current = RoundStatus(a_round.status)
    if _NEXT_STATUS.get(current) != to:
        raise RoundError(f"round {a_round.name!r} is {current}; it cannot become {to}")
    moved = session.exec(
        update(Round).where(Round.id == a_round.id, Round.status == current).values(status=to)
    )
    if moved.rowcount != 1:
        actual = session.exec(select(Round.status).where(Round.id == a_round.id)).one()
        raise RoundError(f"round {a_round.name!r} is {actual}; it cannot become {to}")
    if to == RoundStatus.OPEN:
        _mark_pending(session, a_round.id, ActionKind.OPEN, now, "opened by hand")
    elif to == RoundStatus.CLOSED:
        _mark_pending(session, a_round.id, ActionKind.CLOSE, now, "closed by hand" + ERASING)
        _mark_pending(session, a_round.id, ActionKind.REMIND, now, SKIPPED_CLOSED_FIRST)
    a_round.status = to  # the caller's copy may belong to another session
    session.commit()
    return a_round


def lock_round(session: Session, round_id: int) -> Round:
    """Read a round and, on PostgreSQL, lock its row until the transaction ends. Whatever changes a round's status
    and its actions locks the round first, so two processes doing so wait for each other instead of deadlocking."""
    return session.exec(
        select(Round).where(Round.id == round_id).with_for_update().execution_options(populate_existing=True)
    ).one()


def keep_group_sizes(session: Session, settings: Settings, round_ids: Iterable[int] | None = None) -> int:
    """Fix today's group sizes (`SURVEY_MIN_GROUP_SIZE`, `SURVEY_MIN_COMMENT_GROUP_SIZE`) on closed rounds that
    have none yet (those named, or all), once: the first transaction to do it wins and later settings change
    nothing. Every release of a round (its results, reports, participation) uses them ever after, so a changed
    setting never gives a second suppression pattern to compare with the first. Returns how many were fixed."""
    fixed = 0
    for column, size in (
        (Round.min_group_size, settings.min_group_size),
        (Round.min_comment_group_size, settings.min_comment_group_size),
    ):
        statement = update(Round).where(
            Round.status.in_([RoundStatus.CLOSED, RoundStatus.PUBLISHED]), column.is_(None)
        )
        if round_ids is not None:
            statement = statement.where(Round.id.in_(list(round_ids)))
        fixed += session.exec(
            statement.values({column: size}).execution_options(synchronize_session=False)
        ).rowcount
    return fixed


def close_round(
    db: Database,
    reference: str | int,
    *,
    settings: Settings | None,
    now: datetime | None = None,
    action_id: int | None = None,
) -> Round | None:
    """Close a round (no more answers; its data is frozen), fix the group sizes its numbers are released under
    (`settings`' sizes: `keep_group_sizes`; None, for a simulated history, leaves it to the next results pass),
    and erase from storage the order its answers arrived in. Every way of closing a round goes through here.

    By hand (no `action_id`): raises RoundError unless the round is open; its close action is marked done.
    The scheduler passes the close action it carries out: the action is claimed in the same transaction as the
    status change. Returns None if another process claimed it first; if the round is not open, it is left as
    it is and the action records why.
    """
    now = now or utc_now()
    with db.write_session() as session:
        a_round = lock_round(session, find_round(session, reference).id)
        if action_id is not None and not claim_action(session, action_id, now, "closed" + ERASING):
            return None
        if action_id is not None and a_round.status != RoundStatus.OPEN:
            session.exec(
                update(RoundAction)
                .where(RoundAction.id == action_id)
                .values(outcome=f"skipped: the round is {a_round.status}")
                .execution_options(synchronize_session=False)
            )
            return a_round
        advance_round(session, a_round, RoundStatus.CLOSED, now=now)
        if settings is not None:
            keep_group_sizes(session, settings, [a_round.id])
        session.commit()
        session.refresh(a_round)
    erase_after_close(db, a_round.id)
    return a_round


def erase_after_close(db: Database, round_id: int) -> None:
    """Erase a closed round's arrival order from storage, then record it on the round's close action."""
    db.erase_arrival_order(round_id)
    with db.write_session() as session:
        for action in session.exec(
            select(RoundAction).where(
                RoundAction.round_id == round_id,
                RoundAction.kind == ActionKind.CLOSE,
                RoundAction.outcome.contains(ERASING),
            )
        ):
            action.outcome = action.outcome.replace(ERASING, ERASED)
            session.add(action)


@dataclass(frozen=True)
class IssuedLink:
    invitation_id: int
    email: str
    link: str


def invitation_link(base_url: str, secret_key: str, invitation: Invitation) -> str:
    """An invitation's personal link. Derived, never stored: only its hash is (see tokens.py)."""
    token = invitation_token(secret_key, invitation.id, invitation.link_version)
    return f"{base_url.rstrip('/')}/i/{token}"


def issue_invitations(
    session: Session, a_round: Round, base_url: str, secret_key: str, *, now: datetime | None = None
) -> list[IssuedLink]:
    """Invite every active employee of the round's front-line teams not invited yet, and return their links.

    The database keeps only the links' hashes. Mails render the link again from the secret key; anything else
    that shows links (an export) shows each one once. A scheduled round that can no longer open (its close is
    due as of `now`) gets no links.
    """
    if not secret_key:
        raise RoundError("SURVEY_SECRET_KEY is not set: personal links are derived from it")
    if a_round.status not in (RoundStatus.SCHEDULED, RoundStatus.OPEN):
        raise RoundError(f"round {a_round.name!r} is {a_round.status}; invitations go out before it closes")
    if a_round.status == RoundStatus.SCHEDULED:
        refuse_unless_it_can_open(a_round.name, a_round.closes_at, now or utc_now())
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
    for invitation, employee in zip(invitations, employees, strict=True):
        link = invitation_link(base_url, secret_key, invitation)
        invitation.token_hash = token_hash(link.rsplit("/", 1)[1])
        links.append(IssuedLink(invitation.id, employee.email, link))
    session.commit()
    return links


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
    # Made whether or not the person has answered (their new link then says so), so that this form cannot be used
    # to find out who has answered.
    invitation.link_version += 1
    invitation.session_hash = None
    link = invitation_link(settings.base_url, settings.secret_key, invitation)
    invitation.token_hash = token_hash(link.rsplit("/", 1)[1])
    session.add(invitation)
    session.commit()
    return link
