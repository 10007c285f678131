"""Mail delivery: the outbox's due messages over SMTP, each at most once.

- A message is claimed (state `sending`, attempts + 1) and that is committed BEFORE the SMTP server is contacted,
  so two processes cannot both send it.
- A failed send is retried later with growing delays (`RETRY_DELAYS`), then given up (`failed`, with the error,
  for HR).
- A message still `sending` long after its claim belongs to a process that stopped mid-send: it may or may not
  have gone out, so it becomes `uncertain` and is never resent by itself (HR may resend it: `outbox.resend`);
  when the connection breaks while the server is taking the mail's content, it becomes `uncertain` too.
- Without an SMTP server configured (SURVEY_SMTP_URL empty), due messages become `stored`: HR reads them in the
  browser.
"""

from __future__ import annotations

import asyncio
import email.policy
import logging
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib
from sqlalchemy import update
from sqlmodel import select

from survey.db.engine import Database
from survey.db.models import MailState, OutboxMessage, utc_now
from survey.mail.outbox import MailError, RenderedMail, render_mail
from survey.settings import Settings
from survey.tokens import derived_token

log = logging.getLogger(__name__)

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
_QUEUED = (MailState.PENDING, MailState.RETRY)


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
        mail, stale = render_mail(db, session, settings, session.get(OutboxMessage, message_id), now)
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
            if not await _send_claimed(db, settings, transport, message_id, now, report):
                break  # the server is unavailable: the rest would fail the same way, and wait for the next pass
    finally:
        await transport.close()
    return report


async def _send_claimed(
    db: Database,
    settings: Settings,
    transport: Transport,
    message_id: int,
    now: datetime,
    report: DeliveryReport,
) -> bool:
    """Send one claimed message and record what became of it; False when the server could not be reached."""
    try:
        prepared = await asyncio.to_thread(_prepare, db, settings, message_id, now)
        if isinstance(prepared, str):
            report.failed += 1
            return True
        await transport.send(prepared)
    except DeliveryUnknown as error:
        await asyncio.to_thread(_finish, db, message_id, MailState.UNCERTAIN, now, str(error))
        report.uncertain += 1
        report.errors.append(f"Mail {message_id}: {error}")
    except Exception as error:  # any failure to send is retried, and shown to HR
        reason = str(error) if isinstance(error, SendFailed) else _describe(error)
        permanent = isinstance(error, SendFailed) and error.permanent
        state = await asyncio.to_thread(_retry_later, db, message_id, now, reason, permanent)
        report.retrying += state == MailState.RETRY
        report.failed += state == MailState.FAILED
        report.errors.append(f"Mail {message_id}: {reason}")
        return not isinstance(error, ServerUnavailable)
    else:
        await asyncio.to_thread(_finish, db, message_id, MailState.SENT, now)
        report.sent += 1
    return True
