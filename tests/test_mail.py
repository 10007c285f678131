"""Invitations and reminders reach people through a real SMTP server: once each, also when the server fails for a
while, a process dies mid-send, or no server is configured at all."""

from __future__ import annotations

import asyncio
import ssl
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import trustme
from sqlalchemy import update
from sqlmodel import select

from conftest import TEST_SECRET
from helpers import employee_answers, free_port, open_survey, submit_survey
from smtp_server import Mailbox, Server, password_checker, serving
from survey.db.models import (
    Employee,
    Invitation,
    MailState,
    OutboxMessage,
    PasswordReset,
    Role,
    Round,
    Schedule,
    User,
)
from survey.mail.delivery import SmtpTransport, deliver_pending, message_id_header
from survey.mail.outbox import (
    PASSWORD_RESET_PATH,
    MailError,
    outbox,
    queue_password_reset,
    render_message,
    resend,
)
from survey.rounds.lifecycle import create_round
from survey.rounds.scheduler import tick
from survey.tokens import password_reset_token, token_hash

UTC = UTC
NOW = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)


@pytest.fixture
def smtp(settings):
    with serving(settings) as running:
        yield running


def invite_everyone(db, settings, now=NOW) -> int:
    """A round that opens now: the scheduler opens it and queues one invitation per employee (18)."""
    with db.session() as session:
        round_id = create_round(
            session,
            "2027 Q1",
            now - timedelta(minutes=1),
            now + timedelta(days=14),
            reminders_at=[now + timedelta(days=5)],
            now=now,
        ).id
    report = tick(db, settings, now)
    assert [a.outcome for a in report.actions] == ["opened; 18 invitations queued"]
    return round_id


def deliver(db, settings, now, transport=None):
    return asyncio.run(deliver_pending(db, settings, now, transport))


def states(db) -> dict[str, int]:
    with db.session() as session:
        found: dict[str, int] = {}
        for message in session.exec(select(OutboxMessage)):
            found[message.state] = found.get(message.state, 0) + 1
        return found


def test_an_smtp_server_that_fails_then_recovers_delivers_each_mail_once_with_a_working_link(
    db, org, smtp, client
):
    mailbox, settings = smtp
    invite_everyone(db, settings)
    mailbox.refuse = ["451 4.3.0 Mailbox busy, try again later"] * 3

    first = deliver(db, settings, NOW)
    assert (first.sent, first.retrying) == (15, 3)
    retrying = outbox(db, states=["retry"])
    assert {e.last_error for e in retrying} == {"451 4.3.0 Mailbox busy, try again later"}  # shown to HR
    assert {e.next_attempt_at for e in retrying} == {NOW + timedelta(minutes=1)}

    assert deliver(db, settings, NOW + timedelta(seconds=30)).sent == 0  # not yet: backing off
    second = deliver(db, settings, NOW + timedelta(minutes=1))
    assert (second.sent, second.retrying) == (3, 0)
    assert states(db) == {"sent": 18}
    assert mailbox.attempts == 21
    recipients = [r.recipients[0] for r in mailbox.received]
    assert len(recipients) == len(set(recipients)) == 18  # everyone once, nobody twice
    assert deliver(db, settings, NOW + timedelta(hours=1)).sent == 0

    # Someone whose mail was retried follows their personal link and reaches the survey.
    retried = next(e.recipient for e in outbox(db) if e.attempts == 2)
    (mail,) = mailbox.to(retried)
    assert mail.message["Message-ID"] == message_id_header(
        settings, next(e.id for e in outbox(db) if e.attempts == 2)
    )
    page = open_survey(client, urlsplit(mail.link).path)
    assert page.status_code == 200 and "Store" in page.text and 'name="round"' in page.text


def test_while_the_server_is_down_one_mail_is_tried_and_the_rest_wait(db, org, settings):
    mailbox = Mailbox(port=free_port())
    settings = settings.with_(smtp_url=f"smtp+plain://127.0.0.1:{mailbox.port}")
    invite_everyone(db, settings)
    down = deliver(db, settings, NOW)
    assert (down.sent, down.retrying) == (0, 1)
    assert f"mail server 127.0.0.1:{mailbox.port}" in down.errors[0]
    assert states(db) == {"retry": 1, "pending": 17}
    server = Server(mailbox).start()
    try:
        up = deliver(db, settings, NOW + timedelta(minutes=1))
    finally:
        server.stop()
    assert up.sent == 18 and states(db) == {"sent": 18}
    assert len({r.recipients[0] for r in mailbox.received}) == len(mailbox.received) == 18


def reset_for(db, now=NOW) -> int:
    with db.session() as session:
        user = User(email="hr@example.com", name="Hanna <HR>", role=Role.HR)
        session.add(user)
        session.flush()
        reset = PasswordReset(user_id=user.id, created_at=now, expires_at=now + timedelta(days=7))
        session.add(reset)
        session.flush()
        reset.token_hash = token_hash(password_reset_token(TEST_SECRET, reset.id))
        message = queue_password_reset(session, reset)
        session.commit()
        return message.id


def test_retries_back_off_then_give_up_and_hr_can_send_again(db, smtp):
    mailbox, settings = smtp
    message_id = reset_for(db)
    mailbox.refuse = ["421 4.7.0 Too busy"] * 6
    now, waits = NOW, []
    for _ in range(6):
        report = deliver(db, settings, now)
        assert report.sent == 0
        (entry,) = outbox(db)
        if entry.state == MailState.FAILED:
            break
        waits.append(entry.next_attempt_at - now)
        now = entry.next_attempt_at
    assert waits == [timedelta(minutes=m) for m in (1, 5, 30, 120, 360)]
    assert (entry.state, entry.attempts, entry.last_error) == ("failed", 6, "421 4.7.0 Too busy")
    assert deliver(db, settings, now + timedelta(days=1)).sent == 0  # given up: never again by itself

    assert resend(db, settings, message_id, now=now).state == "pending"
    assert deliver(db, settings, now).sent == 1
    assert [r.recipients for r in mailbox.received] == [["hr@example.com"]]
    with pytest.raises(MailError, match="is sent: only failed, uncertain or stored messages"):
        resend(db, settings, message_id)


def test_a_permanent_refusal_is_not_retried(db, smtp):
    mailbox, settings = smtp
    reset_for(db)
    mailbox.refuse = ["550 5.1.1 No such mailbox"]
    report = deliver(db, settings, NOW)
    assert (report.failed, report.retrying) == (1, 0)
    assert outbox(db)[0].last_error == "550 5.1.1 No such mailbox"


class ProcessKilled(BaseException):
    """The process ends abruptly: nothing after this point runs."""


class DiesAfterSending:
    """Hands the mail to the real server, then the process dies before it can record that."""

    def __init__(self, transport: SmtpTransport):
        self.transport = transport

    async def send(self, message):
        await self.transport.send(message)
        raise ProcessKilled

    async def close(self):
        await self.transport.close()


def test_a_crash_mid_send_leaves_the_mail_uncertain_and_it_is_never_resent_by_itself(db, smtp):
    mailbox, settings = smtp
    message_id = reset_for(db)
    with pytest.raises(ProcessKilled):
        deliver(db, settings, NOW, DiesAfterSending(SmtpTransport(settings.smtp_url)))
    assert len(mailbox.received) == 1
    assert states(db) == {"sending": 1}

    assert deliver(db, settings, NOW + timedelta(minutes=5)).sent == 0  # maybe still sending elsewhere
    later = deliver(db, settings, NOW + timedelta(minutes=20))
    assert (later.sent, later.uncertain) == (0, 1)
    (entry,) = outbox(db)
    assert entry.state == "uncertain" and "may or may not have arrived" in entry.last_error
    assert deliver(db, settings, NOW + timedelta(days=3)).sent == 0
    assert len(mailbox.received) == 1

    resend(db, settings, message_id, now=NOW + timedelta(days=3))  # HR decides
    assert deliver(db, settings, NOW + timedelta(days=3)).sent == 1
    first, second = mailbox.received
    assert first.message["Message-ID"] == second.message["Message-ID"]  # the recipient's mail client sees one


def test_a_connection_lost_while_the_server_takes_a_mail_makes_it_uncertain_not_resent(db, org, smtp):
    mailbox, settings = smtp
    invite_everyone(db, settings)
    mailbox.drop_next = 1
    report = deliver(db, settings, NOW)
    assert (report.sent, report.uncertain) == (17, 1)
    assert (
        "the connection broke while the server took the mail"
        in outbox(db, states=["uncertain"])[0].last_error
    )
    assert deliver(db, settings, NOW + timedelta(days=1)).sent == 0
    assert len(mailbox.received) == 18  # the lost answer's mail did arrive: resending would have doubled it


def test_without_a_mail_server_mail_is_kept_for_hr_to_read(db, org, settings, client):
    round_id = invite_everyone(db, settings)
    with db.write() as connection:
        connection.execute(
            update(Employee).where(Employee.email == "person4.0@example.com").values(name="Ann <b>")
        )
        connection.execute(update(Round).values(schedule_id=None))
    report = deliver(db, settings, NOW)
    assert report.stored == 18 and states(db) == {"stored": 18}

    entry = next(e for e in outbox(db) if e.recipient == "person4.0@example.com")
    assert (entry.kind, entry.round_name) == ("invitation", "2027 Q1")
    mail = render_message(db, settings, entry.id)
    assert mail.subject == "Survey 2027 Q1: how well are you supported?"
    assert mail.text.startswith("Hello Ann <b>,")
    assert "Hello Ann &lt;b&gt;," in mail.html and "<b>," not in mail.html
    assert "open until Monday 18 January 2027, 08:00 (UTC)" in mail.text
    assert "anonymous" in mail.text and "at least 5 people" in mail.text
    link = next(line for line in mail.text.splitlines() if "/i/" in line)
    assert f'href="{link}"' in mail.html
    assert open_survey(client, urlsplit(link).path).status_code == 200

    with pytest.raises(MailError, match="no mail server is configured"):
        resend(db, settings, entry.id)
    with pytest.raises(MailError, match="no message 999999"):
        render_message(db, settings, 999999)
    assert round_id


def test_a_reminder_to_someone_who_answered_meanwhile_is_not_sent(db, org, smtp, client):
    mailbox, settings = smtp
    invite_everyone(db, settings)
    deliver(db, settings, NOW)
    tick(db, settings, NOW + timedelta(days=5))  # 18 reminders queued
    answering = mailbox.received[0]
    form = open_survey(client, urlsplit(answering.link).path)
    with db.session() as session:
        round_id = session.exec(select(Round.id)).one()
    assert submit_survey(client, form.text, employee_answers(db, round_id)).status_code == 303
    report = deliver(db, settings, NOW + timedelta(days=5))
    assert (report.sent, report.failed) == (17, 1)
    (skipped,) = outbox(db, states=["failed"])
    assert skipped.recipient == answering.recipients[0]
    assert skipped.last_error == "not sent: the invitation was answered before the mail went out"
    reminder = next(r for r in mailbox.received if r.subject.startswith("Reminder"))
    assert reminder.subject == "Reminder: the 2027 Q1 survey is open until Monday 18 January"  # closes 09:00
    assert "has not reached us yet" in reminder.text


def test_a_password_reset_mail_carries_a_link_whose_hash_the_reset_keeps(db, smtp):
    mailbox, settings = smtp
    reset_for(db)
    assert deliver(db, settings, NOW).sent == 1
    (mail,) = mailbox.received
    assert mail.subject == "Set your password for the service survey"
    assert "Hanna <HR>" in mail.text and "Hanna &lt;HR&gt;" in mail.html
    prefix = settings.base_url + PASSWORD_RESET_PATH.format(token="")
    link = next(line for line in mail.text.splitlines() if line.startswith(prefix))
    with db.session() as session:
        reset = session.exec(select(PasswordReset)).one()
    assert token_hash(link.removeprefix(prefix)) == reset.token_hash
    assert "until Monday 11 January 2027, 08:00 (UTC)" in mail.text


def test_an_expired_password_reset_is_not_sent(db, smtp):
    mailbox, settings = smtp
    reset_for(db)
    report = deliver(db, settings, NOW + timedelta(days=8))
    assert report.failed == 1 and mailbox.received == []
    assert outbox(db)[0].last_error == "not sent: the link expired"


@pytest.fixture(scope="module")
def certificate_authority():
    return trustme.CA()


def tls_contexts(authority: trustme.CA) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for 127.0.0.1 from a test authority, and a client context trusting it."""
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    authority.configure_trust(client)
    return server, client


def test_starttls_and_login_with_the_credentials_in_the_url(db, settings, certificate_authority):
    mailbox = Mailbox()
    tls, trusted = tls_contexts(certificate_authority)
    server = Server(
        mailbox,
        tls_context=tls,
        require_starttls=True,
        auth_required=True,
        authenticator=password_checker(mailbox, "mailer", "s3cret:/@"),
    ).start()
    try:
        url = f"smtp://mailer:s3cret%3A%2F%40@127.0.0.1:{mailbox.port}"
        settings = settings.with_(smtp_url=url)
        reset_for(db)
        assert deliver(db, settings, NOW, SmtpTransport(url, tls_context=trusted)).sent == 1
        assert mailbox.logins == [("mailer", "s3cret:/@")]

        wrong = f"smtp://mailer:guess@127.0.0.1:{mailbox.port}"
        resend_later = reset_for_another(db)
        report = deliver(db, settings, NOW, SmtpTransport(wrong, tls_context=trusted))
        assert report.retrying == 1 and "535" in report.errors[0]
        assert outbox(db, ids=[resend_later])[0].state == "retry"

        untrusted = deliver(
            db, settings, NOW + timedelta(minutes=1), SmtpTransport(url)
        )  # default trust store
        assert untrusted.retrying == 1 and "CERTIFICATE_VERIFY_FAILED" in untrusted.errors[0]
    finally:
        server.stop()
    assert len(mailbox.received) == 1


def reset_for_another(db) -> int:
    with db.session() as session:
        user = User(email="head@example.com", name="Hugo", role=Role.HEAD)
        session.add(user)
        session.flush()
        reset = PasswordReset(user_id=user.id, created_at=NOW, expires_at=NOW + timedelta(days=1))
        session.add(reset)
        session.flush()
        message = queue_password_reset(session, reset)
        session.commit()
        return message.id


def test_implicit_tls_on_an_smtps_url(db, settings, certificate_authority):
    mailbox = Mailbox()
    tls, trusted = tls_contexts(certificate_authority)
    server = Server(mailbox, ssl_context=tls).start()
    url = f"smtps://127.0.0.1:{mailbox.port}"
    try:
        reset_for(db)
        assert (
            deliver(db, settings.with_(smtp_url=url), NOW, SmtpTransport(url, tls_context=trusted)).sent == 1
        )
    finally:
        server.stop()
    assert mailbox.received[0].recipients == ["hr@example.com"]


@pytest.mark.parametrize("url", ["http://mail.example.org", "smtp://", "smtp+plain:///x"])
def test_an_smtp_url_that_names_no_server_is_refused(url):
    with pytest.raises(MailError, match="SURVEY_SMTP_URL: expected smtp://, smtps:// or smtp\\+plain://host"):
        SmtpTransport(url)


def test_a_delivery_pass_with_an_unusable_smtp_url_says_so_and_keeps_the_mail(db, settings):
    reset_for(db)
    report = deliver(db, settings.with_(smtp_url="smtp://"), NOW)
    assert report.errors == [
        "SURVEY_SMTP_URL: expected smtp://, smtps:// or smtp+plain://host, got 'smtp://'"
    ]
    assert states(db) == {"pending": 1}


def test_the_message_id_is_stable_per_message_and_unguessable(settings):
    assert message_id_header(settings, 7) == message_id_header(settings, 7)
    assert message_id_header(settings, 7) != message_id_header(settings, 8)
    assert message_id_header(settings, 7) != message_id_header(settings.with_(secret_key="another"), 7)
    assert message_id_header(settings.with_(mail_from="Survey <survey@corp.example>"), 7).endswith(
        "@corp.example>"
    )


def test_an_invitation_names_the_closing_time_in_the_schedules_time_zone(db, org, settings):
    invite_everyone(db, settings)
    with db.session() as session:
        schedule = Schedule(name="Q", timezone="America/New_York", created_at=NOW)
        session.add(schedule)
        session.flush()
        session.exec(update(Round).values(schedule_id=schedule.id, period="2027-01"))
        session.commit()
    with db.session() as session:
        message_id = session.exec(select(OutboxMessage.id).join(Invitation)).first()
    assert (
        "open until Monday 18 January 2027, 03:00 (America/New_York)"
        in render_message(db, settings, message_id).text
    )
