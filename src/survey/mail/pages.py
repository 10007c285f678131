"""HR's pages for the outbox: every mail the platform sends (invitations, reminders, password links), with what
became of it; a mail as its recipient reads it; sending one again. Password links are never shown in a mail;
without a mail server, the HR account that sent one to a head may have it shown once ("Copy link once")."""

from __future__ import annotations

from dataclasses import replace

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from survey.db.models import MailKind, MailState, OutboxMessage
from survey.mail.outbox import (
    MailError,
    outbox,
    outbox_counts,
    password_link_reveal,
    render_message,
    resend,
    reveal_password_link,
)
from survey.web.auth import now, signed_in_user
from survey.web.deps import DatabaseDep, ObjectId, SettingsDep
from survey.web.forms import clean_text
from survey.web.responses import see_other
from survey.web.security import redact

PROBLEM_STATES = [MailState.FAILED, MailState.UNCERTAIN, MailState.RETRY]
OUTBOX_PAGE = 100


@get("/outbox", sync_to_thread=True)
def outbox_page(request: Request, db: DatabaseDep, settings: SettingsDep) -> Template:
    wanted = request.query_params.get("state", "")
    if wanted == "problems":
        states = [s.value for s in PROBLEM_STATES]
    elif wanted in set(MailState):
        states = [wanted]
    else:
        wanted, states = "", None
    query = clean_text(request.query_params.get("q", ""))[:200]
    try:
        page = min(max(1, int(request.query_params.get("page", "1"))), 100_000)
    except ValueError:
        page = 1
    messages = outbox(
        db, states=states, recipient=query, limit=OUTBOX_PAGE + 1, offset=(page - 1) * OUTBOX_PAGE
    )
    return Template(
        "admin/outbox.html",
        context={
            "messages": messages[:OUTBOX_PAGE],
            "more": len(messages) > OUTBOX_PAGE,
            "page": page,
            "q": query,
            "counts": outbox_counts(db),
            "wanted": wanted,
            "smtp": bool(settings.smtp_url),
        },
    )


def _message(
    request: Request,
    db,
    settings,
    message_id: int,
    error: str | None = None,
    status: int = 200,
    revealed: str | None = None,
) -> Template:
    entries = outbox(db, ids=[message_id])
    if not entries:
        raise NotFoundException()
    rendered = render_message(db, settings, message_id)
    password_mail = entries[0].kind == MailKind.PASSWORD_RESET
    if settings.smtp_url or password_mail:
        # A password link is never shown in a mail: whoever reads it could take the account over. With a mail
        # server, invitations' personal links are hidden too (HR must not be able to answer in someone's name).
        rendered = replace(rendered, text=redact(rendered.text), html=redact(rendered.html))
    reveal = None
    if password_mail and revealed is None:
        with db.session() as session:
            message = session.get(OutboxMessage, message_id)
            reveal = password_link_reveal(session, settings, message, signed_in_user(request).id, now())
    return Template(
        "admin/message.html",
        context={
            "entry": entries[0],
            "mail": rendered,
            "smtp": bool(settings.smtp_url),
            "error": error,
            "password_mail": password_mail,
            "reveal": reveal,
            "revealed": revealed,
        },
        status_code=status,
    )


@get("/outbox/{message_id:int}", sync_to_thread=True)
def message_page(message_id: ObjectId, request: Request, db: DatabaseDep, settings: SettingsDep) -> Template:
    """A mail as its recipient reads it (without a mail server, with an invitation's personal link: the reason
    this page is for HR only; never with a password link)."""
    return _message(request, db, settings, message_id)


@post("/outbox/{message_id:int}/reveal", sync_to_thread=True)
def reveal_link(message_id: ObjectId, request: Request, db: DatabaseDep, settings: SettingsDep) -> Template:
    """Show a password mail's link this once to the HR account that sent it, recorded on the account's page;
    refused (409, with the reason) otherwise, a second time included."""
    if not outbox(db, ids=[message_id]):
        raise NotFoundException()
    try:
        link = reveal_password_link(db, settings, message_id, signed_in_user(request).id, now())
    except MailError as error:
        return _message(request, db, settings, message_id, str(error), 409)
    return _message(request, db, settings, message_id, revealed=link)


@post("/outbox/{message_id:int}/resend", sync_to_thread=True)
def resend_message(
    message_id: ObjectId, request: Request, db: DatabaseDep, settings: SettingsDep
) -> Template | Redirect:
    if not outbox(db, ids=[message_id]):
        raise NotFoundException()
    try:
        resend(db, settings, message_id, now())
    except MailError as error:
        return _message(request, db, settings, message_id, str(error), 409)
    return see_other(f"/admin/outbox/{message_id}?resent=1")


HR_PAGES = [outbox_page, message_page, reveal_link, resend_message]
