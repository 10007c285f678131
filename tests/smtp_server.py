"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, and can refuse, fail or drop on cue."""

from __future__ import annotations

import email
import email.policy
import logging
import re
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from helpers import free_port

logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO
_LINK = re.compile(r"https?://\S+/i/[A-Za-z0-9_-]+")


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return self.message["Subject"]

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()

    @property
    def link(self) -> str:
        match = _LINK.search(self.text)
        assert match, f"no personal link in:\n{self.text}"
        return match.group(0)


@dataclass
class Mailbox:
    """The SMTP server's state. `refuse` holds replies to give to the next DATA commands (e.g. "451 ..."),
    `drop_next` closes the connection instead of answering the next DATA."""

    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    refuse: list[str] = field(default_factory=list)
    drop_next: int = 0
    attempts: int = 0
    logins: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.attempts += 1
            if self.drop_next:
                self.drop_next -= 1
                server.transport.close()  # the mail arrived, but the answer never reaches the sender
                self._keep(envelope)
                return "250 OK"
            if self.refuse:
                return self.refuse.pop(0)
            self._keep(envelope)
        return "250 2.0.0 OK: queued"

    def _keep(self, envelope) -> None:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))

    def to(self, recipient: str) -> list[Received]:
        return [r for r in self.received if recipient in r.recipients]

    def count(self) -> Counter:
        """(recipient, subject's first word) -> how many arrived."""
        return Counter((r.recipients[0], r.subject.split(":")[0]) for r in self.received)


class Server:
    """A started aiosmtpd Controller around a Mailbox; `stop()` and `start()` take it down and up again."""

    def __init__(self, mailbox: Mailbox, **smtp_parameters):
        self.mailbox = mailbox
        self.parameters = smtp_parameters
        self.controller: Controller | None = None

    def start(self) -> Server:
        self.controller = Controller(
            self.mailbox, hostname="127.0.0.1", port=self.mailbox.port, **self.parameters
        )
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def password_checker(mailbox: Mailbox, user: str, password: str):
    def authenticate(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            mailbox.logins.append((auth_data.login.decode(), auth_data.password.decode()))
            ok = auth_data.login.decode() == user and auth_data.password.decode() == password
            return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself
        return AuthResult(success=False, handled=False)

    return authenticate


@contextmanager
def serving(settings):
    """A running SMTP server, and the settings that send to it (plain SMTP on loopback)."""
    mailbox = Mailbox()
    server = Server(mailbox).start()
    try:
        yield mailbox, settings.with_(smtp_url=f"smtp+plain://127.0.0.1:{mailbox.port}")
    finally:
        server.stop()
