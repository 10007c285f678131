"""Mail: invitations, reminders, password-reset links and a published round's results mails
(`results_mail`), through an outbox.

Queueing a mail adds an `OutboxMessage` row that holds references, not text. The text, with its personal link
(derived from the secret key, never stored), is rendered from `templates/mail/` when the mail is sent or shown.

Delivery over SMTP (`delivery.deliver_pending`) sends each message at most once; without an SMTP server
configured, due messages are kept here (`stored`) for HR to read in the browser (`render_message`). HR lists
messages (`outbox`), reads one as its recipient would and sends a failed, uncertain or stored one again (`resend`).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import func, update
from sqlmodel import Session, select

from survey.actions.reminders import action_mail
from survey.db.engine import Database
from survey.db.models import (
    Employee,
    Invitation,
    MailKind,
    MailState,
    OutboxMessage,
    PasswordReset,
    Role,
    Round,
    RoundStatus,
    Schedule,
    Unit,
    User,
    utc_now,
)
from survey.errors import Refused
from survey.languages import (
    SOURCE_LANGUAGE,
    Message,
    chosen_language,
    install_translations,
    long_time,
    weekday_and_date,
)
from survey.mail.results_mail import results_mail
from survey.rounds.lifecycle import invitation_link
from survey.settings import Settings, resource_dir
from survey.tokens import password_reset_token

log = logging.getLogger(__name__)

# Where a password-reset link leads; the accounts pages serve it.
PASSWORD_RESET_PATH = "/password/reset/{token}"  # the page in auth.py
PASSWORD_RESET_SUBJECT = "Set your password for the service survey"  # staff mail: English
_RESENDABLE = (MailState.FAILED, MailState.UNCERTAIN, MailState.STORED)


class MailError(Refused):
    """A mail request that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class RenderedMail:
    recipient: str
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class OutboxEntry:
    """One outbox message as HR sees it in a list."""

    id: int
    kind: str
    recipient: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    round_name: str | None


# --- queueing -----------------------------------------------------------------------------------------------------


def _queue_unanswered(
    session: Session, kind: MailKind, round_id: int, action_id: int, now: datetime, *conditions
) -> int:
    """Queue a `kind` mail for each unanswered invitation of the round to an active employee (and meeting
    `conditions`), for the round action `action_id`, in its transaction. Returns how many were queued."""
    recipients = session.exec(
        select(Invitation.id, Employee.email)
        .join(Employee, Employee.id == Invitation.employee_id)
        .where(Invitation.round_id == round_id, Invitation.answered.is_(False), Employee.active, *conditions)
        .order_by(Invitation.id)
    ).all()
    session.add_all(
        OutboxMessage(
            kind=kind,
            recipient=email,
            invitation_id=invitation_id,
            action_id=action_id,
            state=MailState.PENDING,
            next_attempt_at=now,
            created_at=now,
        )
        for invitation_id, email in recipients
    )
    session.flush()
    return len(recipients)


def queue_invitations(session: Session, round_id: int, action_id: int, now: datetime) -> int:
    """Queue an invitation mail for each unanswered invitation of the round that has none yet. Run by the round's
    open action (`action_id`)."""
    mailed = select(OutboxMessage.invitation_id).where(
        OutboxMessage.kind == MailKind.INVITATION, OutboxMessage.invitation_id.is_not(None)
    )
    return _queue_unanswered(
        session, MailKind.INVITATION, round_id, action_id, now, Invitation.id.not_in(mailed)
    )


def queue_reminders(session: Session, round_id: int, action_id: int, now: datetime) -> int:
    """Queue a reminder for each invitation of the round not answered yet (the invitation knows; responses do
    not know their invitation). Run by a remind action (`action_id`)."""
    return _queue_unanswered(session, MailKind.REMINDER, round_id, action_id, now)


def password_reset_link(settings: Settings, reset_id: int) -> str:
    """The single-use link to set a password, derived from the secret key like invitation links."""
    token = password_reset_token(settings.secret_key, reset_id)
    return settings.base_url.rstrip("/") + PASSWORD_RESET_PATH.format(token=token)


def queue_password_reset(session: Session, reset: PasswordReset) -> OutboxMessage:
    """Queue the mail carrying a password-reset link (the reset must have an id: flush it first). Committed with
    the caller's transaction."""
    if reset.id is None:
        raise MailError("flush the password reset first: its link is derived from its id")
    user = session.get(User, reset.user_id)
    message = OutboxMessage(
        kind=MailKind.PASSWORD_RESET,
        recipient=user.email,
        password_reset_id=reset.id,
        state=MailState.PENDING,
        next_attempt_at=reset.created_at,
        created_at=reset.created_at,
    )
    session.add(message)
    session.flush()
    return message


# --- rendering ----------------------------------------------------------------------------------------------------


@functools.cache
def _templates() -> Environment:
    """The mails' templates; each rendering names its `language` in its context."""
    environment = Environment(
        loader=FileSystemLoader(resource_dir("templates") / "mail"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    environment.policies["ext.i18n.trimmed"] = True
    install_translations(environment)
    return environment


def _local(moment: datetime, zone_name: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone_name))


def readable_time(moment: datetime, zone_name: str, language: str = SOURCE_LANGUAGE) -> str:
    """E.g. "Monday 18 January 2027, 09:00 (Europe/Berlin)", "Montag, 18. Januar 2027, 09:00 (Europe/Berlin)"."""
    return f"{long_time(_local(moment, zone_name), language)} ({zone_name})"


def render_mail(
    db: Database, session: Session, settings: Settings, message: OutboxMessage, now: datetime
) -> tuple[RenderedMail, str]:
    """The mail, and why it should no longer be sent ("" when it should)."""
    if message.kind in (MailKind.RESULTS_READY, MailKind.RESULTS_SUMMARY):
        subject, context, stale = results_mail(db, session, settings, message)
        language = SOURCE_LANGUAGE  # staff mails are in English, as staff pages are
    elif message.kind in (MailKind.ACTION_DUE, MailKind.ACTION_OVERDUE):
        subject, context, stale = action_mail(session, settings, message)
        language = SOURCE_LANGUAGE
    elif message.kind == MailKind.PASSWORD_RESET:
        reset = session.get(PasswordReset, message.password_reset_id)
        user = session.get(User, reset.user_id)
        context = {
            "name": user.name,
            "link": password_reset_link(settings, reset.id),
            "expires": readable_time(reset.expires_at, "UTC"),
        }
        stale = (
            "the link was used" if reset.used_at else "the link expired" if reset.expires_at <= now else ""
        )
        subject = PASSWORD_RESET_SUBJECT
        language = SOURCE_LANGUAGE
    else:
        invitation = session.get(Invitation, message.invitation_id)
        a_round = session.get(Round, invitation.round_id)
        employee = session.get(Employee, invitation.employee_id)
        team = session.get(Unit, invitation.team_id)
        schedule = session.get(Schedule, a_round.schedule_id) if a_round.schedule_id else None
        zone = schedule.timezone if schedule else "UTC"
        language = chosen_language(employee.language, fallback=settings.default_language)
        context = {
            "name": employee.name,
            "team": team.name,
            "round": a_round.name,
            "link": invitation_link(settings.base_url, settings.secret_key, invitation),
            "closes": readable_time(a_round.closes_at, zone, language),
            "min_group_size": settings.min_group_size,
        }
        # The last day one can answer: a round closing at midnight is open until the day before.
        last = _local(a_round.closes_at - timedelta(seconds=1), zone)
        subject = _subject(MailKind(message.kind), a_round.name, weekday_and_date(last, language), language)
        if a_round.status != RoundStatus.OPEN:
            stale = f"round {a_round.name} is {a_round.status}"
        elif invitation.answered:
            stale = "the invitation was answered before the mail went out"
        else:
            stale = ""
    templates = _templates()
    context["subject"] = subject
    context["language"] = language
    kind = MailKind(message.kind).value
    rendered = RenderedMail(
        recipient=message.recipient,
        subject=subject,
        text=templates.get_template(f"{kind}.txt").render(context),
        html=templates.get_template(f"{kind}.html").render(context),
    )
    return rendered, stale


def _subject(kind: MailKind, round_name: str, last_day: str, language: str) -> str:
    """An invitation's or reminder's subject, in the employee's language."""
    if kind == MailKind.INVITATION:
        subject = Message("Survey %(round)s: how well are you supported?", round=round_name)
    else:
        subject = Message(
            "Reminder: the %(round)s survey is open until %(last_day)s", round=round_name, last_day=last_day
        )
    return subject.in_language(language)


def render_message(db: Database, settings: Settings, message_id: int) -> RenderedMail:
    """A message's subject, text and HTML, for HR to read in the browser. Raises MailError if there is none."""
    with db.session() as session:
        message = session.get(OutboxMessage, message_id)
        if message is None:
            raise MailError(f"no message {message_id} in the outbox")
        return render_mail(db, session, settings, message, utc_now())[0]


# --- Password links: never shown, except once to the HR account that started one ----------------------------


@dataclass(frozen=True)
class LinkReveal:
    """Whether HR may have a password mail's link shown, or the reason why not."""

    allowed: bool
    reason: str


def password_link_reveal(
    session: Session, settings: Settings, message: OutboxMessage, hr_user_id: int, now: datetime
) -> LinkReveal:
    """Whether the HR account `hr_user_id` may be shown the link of this password mail, once. Only without a mail
    server; only for a link that HR account started (a new account, "send password link"), never one the
    account's owner asked for; only to a department head's account (an HR or executive account sees every
    unit: taking one over is worth more than any head's, so its link goes by mail or through the operator's
    `survey mail show`); and only once, while the link still works."""
    if message.kind != MailKind.PASSWORD_RESET:
        return LinkReveal(False, "this mail holds no password link")
    if settings.smtp_url:
        return LinkReveal(False, "a mail server is configured: the link reaches its owner by mail")
    reset = session.get(PasswordReset, message.password_reset_id)
    owner = session.get(User, reset.user_id)
    if reset.started_by_id is None:
        return LinkReveal(
            False, "the account's owner asked for this link (or the operator did): it is never shown here"
        )
    if reset.started_by_id != hr_user_id:
        return LinkReveal(False, "only the HR account that sent this link may show it")
    if owner.role != Role.HEAD:
        return LinkReveal(
            False,
            f"links to {owner.role} accounts are never shown in the browser: configure a mail server, or ask"
            " the operator (survey mail show)",
        )
    if reset.revealed_at is not None:
        revealer = session.get(User, reset.revealed_by_id)
        return LinkReveal(
            False,
            f"this link was shown already, to {revealer.email if revealer else 'an HR account'} on"
            f" {reset.revealed_at:%Y-%m-%d %H:%M} UTC: a link is shown once; send a new password link instead",
        )
    if reset.used_at is not None or reset.expires_at <= now:
        return LinkReveal(False, "this link was used or has expired: send a new password link instead")
    return LinkReveal(True, "")


def reveal_password_link(
    db: Database, settings: Settings, message_id: int, hr_user_id: int, now: datetime
) -> str:
    """Show a password mail's link this once to the HR account that started it, recording who and when on the
    reset. Raises MailError with the reason when it may not be shown (see `password_link_reveal`), a second
    time included."""
    with db.write_session() as session:
        message = session.get(OutboxMessage, message_id)
        if message is None:
            raise MailError(f"no message {message_id} in the outbox")
        verdict = password_link_reveal(session, settings, message, hr_user_id, now)
        if not verdict.allowed:
            raise MailError(verdict.reason)
        claimed = session.exec(
            update(PasswordReset)
            .where(PasswordReset.id == message.password_reset_id, PasswordReset.revealed_at.is_(None))
            .values(revealed_at=now, revealed_by_id=hr_user_id)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:  # a second tab showed it a moment ago
            raise MailError(
                "this link was shown already: a link is shown once; send a new password link instead"
            )
        return password_reset_link(settings, message.password_reset_id)


def revealed_links(session: Session) -> dict[int, tuple[str, datetime]]:
    """For each account, the latest time one of its password links was shown to HR, and to whom."""
    shown: dict[int, tuple[str, datetime]] = {}
    query = (
        select(PasswordReset.user_id, User.email, PasswordReset.revealed_at)
        .join(User, User.id == PasswordReset.revealed_by_id)
        .where(PasswordReset.revealed_at.is_not(None))
        .order_by(PasswordReset.revealed_at)
    )
    for user_id, email, at in session.exec(query):
        if at is not None:  # always, by the query: for the type checker
            shown[user_id] = (email, at)
    return shown


# --- HR -----------------------------------------------------------------------------------------------------------


def resend(db: Database, settings: Settings, message_id: int, now: datetime | None = None) -> OutboxEntry:
    """Send a failed, uncertain or stored message again, at the next delivery pass, with a fresh set of retries.
    HR's decision: an uncertain message may have arrived already. Raises MailError."""
    now = now or utc_now()
    with db.write_session() as session:
        message = session.get(OutboxMessage, message_id)
        if message is None:
            raise MailError(f"no message {message_id} in the outbox")
        if message.state not in _RESENDABLE:
            raise MailError(
                f"message {message_id} is {message.state}: only failed, uncertain or stored messages are sent again"
            )
        if message.state == MailState.STORED and not settings.smtp_url:
            raise MailError(
                "no mail server is configured (SURVEY_SMTP_URL), so the message stays in the outbox"
            )
        changed = session.exec(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.state == message.state)
            .values(state=MailState.PENDING, attempts=0, next_attempt_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not changed:
            raise MailError(f"message {message_id} changed meanwhile; look again")
    return outbox(db, ids=[message_id])[0]


def outbox(
    db: Database,
    *,
    states: list[str] | None = None,
    ids: list[int] | None = None,
    recipient: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[OutboxEntry]:
    """Outbox messages, newest first, optionally of some states (e.g. failed and uncertain for HR's attention) or
    to addresses containing `recipient`."""
    query = (
        select(OutboxMessage, Round.name)
        .join(Invitation, Invitation.id == OutboxMessage.invitation_id, isouter=True)
        .join(Round, Round.id == func.coalesce(Invitation.round_id, OutboxMessage.round_id), isouter=True)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .offset(offset)
        .limit(limit)
    )
    if recipient:
        query = query.where(OutboxMessage.recipient.contains(recipient.lower(), autoescape=True))
    if states:
        query = query.where(OutboxMessage.state.in_(states))
    if ids:
        query = query.where(OutboxMessage.id.in_(ids))
    with db.session() as session:
        return [
            OutboxEntry(
                id=m.id,
                kind=m.kind,
                recipient=m.recipient,
                state=m.state,
                attempts=m.attempts,
                next_attempt_at=m.next_attempt_at,
                last_error=m.last_error,
                created_at=m.created_at,
                sent_at=m.sent_at,
                round_name=round_name,
            )
            for m, round_name in session.exec(query)
        ]


def outbox_counts(db: Database) -> dict[str, int]:
    """How many messages are in each state."""
    with db.session() as session:
        counts = dict(
            session.exec(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all()
        )
    return {state.value: counts.get(state.value, 0) for state in MailState}
