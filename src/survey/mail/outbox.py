"""Mail: invitations, reminders and password-reset links, through an outbox.

Queueing a mail adds an `OutboxMessage` row that holds references, not text. The text, with its personal link
(derived from the secret key, never stored), is rendered from `templates/mail/` when the mail is sent or shown.

Delivery (`deliver_pending`) never sends a person the same mail twice:
- a message is claimed (state `sending`, attempts + 1) and that is committed BEFORE the SMTP server is contacted,
  so two processes cannot both send it;
- a failed send is retried later with growing delays, then given up (`failed`, with the error, for HR);
- a message still `sending` long after its claim belongs to a process that stopped mid-send: it may or may not
  have gone out, so it becomes `uncertain` and is never resent by itself (HR may resend it: `resend`);
- when the connection breaks while the server is taking the mail's content, it becomes `uncertain` too.

Without an SMTP server configured (SURVEY_SMTP_URL empty), due messages become `stored`: HR reads them in the
browser (`render_message`).
"""

from __future__ import annotations

import asyncio
import email.policy
import functools
import logging
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Protocol
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import func, update
from sqlmodel import Session, select

from survey.db.engine import Database
from survey.db.models import (
    Employee,
    Invitation,
    MailKind,
    MailState,
    OutboxMessage,
    PasswordReset,
    Round,
    RoundStatus,
    Schedule,
    Unit,
    User,
    utc_now,
)
from survey.rounds.lifecycle import invitation_link
from survey.settings import Settings, resource_dir
from survey.tokens import derived_token, password_reset_token

log = logging.getLogger(__name__)

# Where a password-reset link leads; the accounts pages serve it.
PASSWORD_RESET_PATH = "/password/reset/{token}"  # the page in auth.py
# Waits after the 1st, 2nd... failed attempt; after the last one the message is given up (`failed`).
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
# A message `sending` for longer than this belongs to a process that stopped mid-send. Far longer than a send
# can take (every SMTP step times out after SMTP_TIMEOUT seconds).
SENDING_TIMEOUT = timedelta(minutes=15)
SMTP_TIMEOUT = 30.0
DEFAULT_PORTS = {"smtp": 587, "smtps": 465, "smtp+plain": 25}
SUBJECTS = {
    MailKind.INVITATION: "Survey {round}: how well are you supported?",
    MailKind.REMINDER: "Reminder: the {round} survey is open until {last_day}",
    MailKind.PASSWORD_RESET: "Set your password for the service survey",
}
_QUEUED = (MailState.PENDING, MailState.RETRY)
_RESENDABLE = (MailState.FAILED, MailState.UNCERTAIN, MailState.STORED)


class MailError(ValueError):
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


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    stored: int = 0
    uncertain: int = 0
    errors: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        counts = [
            f"{n} {what}"
            for n, what in [
                (self.sent, "sent"),
                (self.retrying, "to retry"),
                (self.failed, "failed"),
                (self.uncertain, "uncertain"),
                (self.stored, "stored in the outbox"),
            ]
            if n
        ]
        return ([f"Mail: {', '.join(counts)}."] if counts else []) + self.errors


def retry_delay(attempts: int) -> timedelta | None:
    """How long to wait after the `attempts`-th failed attempt; None when it was the last one."""
    return RETRY_DELAYS[attempts - 1] if 1 <= attempts <= len(RETRY_DELAYS) else None


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
    return Environment(
        loader=FileSystemLoader(resource_dir("templates") / "mail"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def _local(moment: datetime, zone_name: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone_name))


def readable_time(moment: datetime, zone_name: str) -> str:
    """E.g. "Monday 18 January 2027, 09:00 (Europe/Berlin)"."""
    local = _local(moment, zone_name)
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M} ({zone_name})"


def _render(
    session: Session, settings: Settings, message: OutboxMessage, now: datetime
) -> tuple[RenderedMail, str]:
    """The mail, and why it should no longer be sent ("" when it should)."""
    if message.kind == MailKind.PASSWORD_RESET:
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
        subject = SUBJECTS[MailKind.PASSWORD_RESET]
    else:
        invitation = session.get(Invitation, message.invitation_id)
        a_round = session.get(Round, invitation.round_id)
        employee = session.get(Employee, invitation.employee_id)
        team = session.get(Unit, invitation.team_id)
        schedule = session.get(Schedule, a_round.schedule_id) if a_round.schedule_id else None
        zone = schedule.timezone if schedule else "UTC"
        context = {
            "name": employee.name,
            "team": team.name,
            "round": a_round.name,
            "link": invitation_link(settings.base_url, settings.secret_key, invitation),
            "closes": readable_time(a_round.closes_at, zone),
            "min_group_size": settings.min_group_size,
        }
        # The last day one can answer: a round closing at midnight is open until the day before.
        last = _local(a_round.closes_at - timedelta(seconds=1), zone)
        subject = SUBJECTS[MailKind(message.kind)].format(
            round=a_round.name, last_day=f"{last:%A} {last.day} {last:%B}"
        )
        if a_round.status != RoundStatus.OPEN:
            stale = f"round {a_round.name} is {a_round.status}"
        elif invitation.answered:
            stale = "the invitation was answered before the mail went out"
        else:
            stale = ""
    templates = _templates()
    context["subject"] = subject
    kind = MailKind(message.kind).value
    rendered = RenderedMail(
        recipient=message.recipient,
        subject=subject,
        text=templates.get_template(f"{kind}.txt").render(context),
        html=templates.get_template(f"{kind}.html").render(context),
    )
    return rendered, stale


def render_message(db: Database, settings: Settings, message_id: int) -> RenderedMail:
    """A message's subject, text and HTML, for HR to read in the browser. Raises MailError if there is none."""
    with db.session() as session:
        message = session.get(OutboxMessage, message_id)
        if message is None:
            raise MailError(f"no message {message_id} in the outbox")
        return _render(session, settings, message, utc_now())[0]


def message_id_header(settings: Settings, outbox_id: int) -> str:
    """A Message-ID that is the same every time this outbox row is sent, and unguessable across installations."""
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "localhost"
    return f"<outbox.{outbox_id}.{derived_token(settings.secret_key, 'message id', outbox_id)[:16]}@{domain}>"


def build_email(settings: Settings, outbox_id: int, mail: RenderedMail, now: datetime) -> EmailMessage:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = settings.mail_from
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id_header(settings, outbox_id)
    message["Auto-Submitted"] = "auto-generated"  # no out-of-office replies, please
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


# --- transport ----------------------------------------------------------------------------------------------------


class SendFailed(Exception):
    """The mail was not accepted. `permanent`: the server refused it for good (a 5xx answer)."""

    def __init__(self, reason: str, permanent: bool = False):
        super().__init__(reason)
        self.permanent = permanent


class ServerUnavailable(SendFailed):
    """The server could not be reached, or refused the connection, TLS or the login: try later, and stop this
    pass (the other messages would fail the same way)."""


class DeliveryUnknown(Exception):
    """The connection broke while the server was taking the mail: it may have been delivered."""


class Transport(Protocol):
    async def send(self, message: EmailMessage) -> None: ...

    async def close(self) -> None: ...


class SmtpTransport:
    """Sends through the SMTP server of a SURVEY_SMTP_URL: smtps:// (TLS from the start, port 465), smtp://
    (STARTTLS required, port 587) or smtp+plain:// (no encryption, port 25, for a relay on the same machine);
    logs in when the URL has user:password. One connection is kept for a delivery pass."""

    def __init__(self, url: str, *, tls_context: ssl.SSLContext | None = None, timeout: float = SMTP_TIMEOUT):
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise MailError(f"SURVEY_SMTP_URL: expected smtp://, smtps:// or smtp+plain://host, got {url!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or DEFAULT_PORTS[parts.scheme]
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.tls_context = tls_context
        self.timeout = timeout
        self._client: aiosmtplib.SMTP | None = None

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            use_tls=self.scheme == "smtps",
            start_tls=self.scheme == "smtp",
            tls_context=self.tls_context,
            username=self.username,
            password=self.password,
            timeout=self.timeout,
        )
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            client.close()
            raise ServerUnavailable(f"mail server {self.host}:{self.port}: {_describe(error)}") from None
        self._client = client
        return client

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def send(self, message: EmailMessage) -> None:
        client = await self._connected()
        sender = parseaddr(message["From"])[1]
        recipient = parseaddr(message["To"])[1]
        try:
            await client.mail(sender)
            await client.rcpt(recipient)
        except aiosmtplib.SMTPResponseException as error:
            self._drop()
            raise SendFailed(_describe(error), permanent=error.code >= 500) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            self._drop()
            raise SendFailed(_describe(error)) from None
        try:
            await client.data(message.as_bytes(policy=email.policy.SMTP))
        except aiosmtplib.SMTPResponseException as error:  # the server answered: it did not take the mail
            self._drop()
            raise SendFailed(_describe(error), permanent=error.code >= 500) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            self._drop()
            raise DeliveryUnknown(
                f"the connection broke while the server took the mail: {_describe(error)}"
            ) from None

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()


def _describe(error: Exception) -> str:
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return f"{error.code} {error.message}"
    return f"{error.__class__.__name__}: {error}" if str(error) else error.__class__.__name__


# --- delivery -----------------------------------------------------------------------------------------------------


def _give_up_on_stalled(db: Database, now: datetime) -> int:
    """Messages claimed longer ago than SENDING_TIMEOUT and never finished: a process stopped mid-send."""
    with db.write() as connection:
        return connection.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.state == MailState.SENDING,
                OutboxMessage.next_attempt_at <= now - SENDING_TIMEOUT,
            )
            .values(
                state=MailState.UNCERTAIN,
                last_error="sending was interrupted (the process stopped): it may or may not have arrived",
            )
        ).rowcount


def store_due(db: Database, now: datetime) -> int:
    """Keep the due messages in the outbox for HR to read (`stored`): there is no mail server to send them."""
    with db.write() as connection:
        return connection.execute(
            update(OutboxMessage)
            .where(OutboxMessage.state.in_(_QUEUED), OutboxMessage.next_attempt_at <= now)
            .values(state=MailState.STORED)
        ).rowcount


def _due(db: Database, now: datetime, limit: int) -> list[int]:
    with db.session() as session:
        return list(
            session.exec(
                select(OutboxMessage.id)
                .where(OutboxMessage.state.in_(_QUEUED), OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
            )
        )


def _claim(db: Database, message_id: int, now: datetime) -> bool:
    """Claim a due message for sending, committed before the server is contacted; False if another process took it."""
    with db.write() as connection:
        return (
            connection.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message_id,
                    OutboxMessage.state.in_(_QUEUED),
                    OutboxMessage.next_attempt_at <= now,
                )
                .values(state=MailState.SENDING, attempts=OutboxMessage.attempts + 1, next_attempt_at=now)
            ).rowcount
            == 1
        )


def _prepare(db: Database, settings: Settings, message_id: int, now: datetime) -> EmailMessage | str:
    """The claimed message as a mail; or, when it should no longer be sent, the reason (it is then `failed`)."""
    with db.session() as session:
        mail, stale = _render(session, settings, session.get(OutboxMessage, message_id), now)
    if stale:
        _finish(db, message_id, MailState.FAILED, now, error=f"not sent: {stale}")
        return stale
    return build_email(settings, message_id, mail, now)


def _finish(db: Database, message_id: int, state: MailState, now: datetime, error: str | None = None) -> None:
    values: dict = {"state": state, "last_error": error[:500] if error else None}
    if state == MailState.SENT:
        values["sent_at"] = now
    # A message found `uncertain` meanwhile (a very slow send) is still ours to settle.
    with db.write() as connection:
        connection.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.state.in_((MailState.SENDING, MailState.UNCERTAIN)),
            )
            .values(**values)
        )


def _retry_later(db: Database, message_id: int, now: datetime, error: str, permanent: bool) -> MailState:
    with db.session() as session:
        attempts = session.exec(select(OutboxMessage.attempts).where(OutboxMessage.id == message_id)).one()
    delay = None if permanent else retry_delay(attempts)
    if delay is None:
        _finish(db, message_id, MailState.FAILED, now, error)
        return MailState.FAILED
    with db.write() as connection:
        connection.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.state == MailState.SENDING)
            .values(state=MailState.RETRY, next_attempt_at=now + delay, last_error=error[:500])
        )
    return MailState.RETRY


async def deliver_pending(
    db: Database,
    settings: Settings,
    now: datetime | None = None,
    transport: Transport | None = None,
    *,
    limit: int = 1000,
) -> DeliveryReport:
    """Send the messages that are due (pending, or to retry and their time has come), each at most once.

    `transport` defaults to SMTP through settings.smtp_url; without one, due messages become `stored` for HR.
    Database work runs in threads, so this can run on the server's event loop.
    """
    now = now or utc_now()
    report = DeliveryReport()
    report.uncertain = await asyncio.to_thread(_give_up_on_stalled, db, now)
    if report.uncertain:
        report.errors.append(
            f"{report.uncertain} mails were interrupted mid-send: marked uncertain, not resent."
        )
    if transport is None and not settings.smtp_url:
        report.stored = await asyncio.to_thread(store_due, db, now)
        return report
    if transport is None:
        try:
            transport = SmtpTransport(settings.smtp_url)
        except MailError as error:
            report.errors.append(str(error))
            return report
    try:
        for message_id in await asyncio.to_thread(_due, db, now, limit):
            if not await asyncio.to_thread(_claim, db, message_id, now):
                continue  # another process is sending it
            try:
                prepared = await asyncio.to_thread(_prepare, db, settings, message_id, now)
                if isinstance(prepared, str):
                    report.failed += 1
                    continue
                await transport.send(prepared)
            except DeliveryUnknown as error:
                await asyncio.to_thread(_finish, db, message_id, MailState.UNCERTAIN, now, str(error))
                report.uncertain += 1
                report.errors.append(f"Mail {message_id}: {error}")
            except Exception as error:  # noqa: BLE001 - any failure to send is retried, and shown to HR
                reason = str(error) if isinstance(error, SendFailed) else _describe(error)
                permanent = isinstance(error, SendFailed) and error.permanent
                state = await asyncio.to_thread(_retry_later, db, message_id, now, reason, permanent)
                report.retrying += state == MailState.RETRY
                report.failed += state == MailState.FAILED
                report.errors.append(f"Mail {message_id}: {reason}")
                if isinstance(error, ServerUnavailable):
                    break  # the rest would fail the same way: they wait for the next pass
            else:
                await asyncio.to_thread(_finish, db, message_id, MailState.SENT, now)
                report.sent += 1
    finally:
        await transport.close()
    return report


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
        .join(Round, Round.id == Invitation.round_id, isouter=True)
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
