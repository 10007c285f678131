"""HR's pages for the outbox: every mail the platform sends (invitations, reminders, password links), with what
became of it; a mail as its recipient reads it; sending one again."""

from __future__ import annotations

from dataclasses import replace

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from survey.db.models import MailState
from survey.mail.outbox import MailError, outbox, outbox_counts, render_message, resend
from survey.web.auth import now
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


def _message(db, settings, message_id: int, error: str | None = None, status: int = 200) -> Template:
    entries = outbox(db, ids=[message_id])
    if not entries:
        raise NotFoundException()
    rendered = render_message(db, settings, message_id)
    if settings.smtp_url:
        # Mail reaches people by itself: HR has no need to see their personal or password links (and must not be
        # able to answer in an employee's name or take over an account).
        rendered = replace(rendered, text=redact(rendered.text), html=redact(rendered.html))
    return Template(
        "admin/message.html",
        context={
            "entry": entries[0],
            "mail": rendered,
            "smtp": bool(settings.smtp_url),
            "error": error,
        },
        status_code=status,
    )


@get("/outbox/{message_id:int}", sync_to_thread=True)
def message_page(message_id: ObjectId, db: DatabaseDep, settings: SettingsDep) -> Template:
    """A mail as its recipient reads it (with its personal link: the reason this page is for HR only)."""
    return _message(db, settings, message_id)


@post("/outbox/{message_id:int}/resend", sync_to_thread=True)
def resend_message(message_id: ObjectId, db: DatabaseDep, settings: SettingsDep) -> Template | Redirect:
    if not outbox(db, ids=[message_id]):
        raise NotFoundException()
    try:
        resend(db, settings, message_id, now())
    except MailError as error:
        return _message(db, settings, message_id, str(error), 409)
    return see_other(f"/admin/outbox/{message_id}?resent=1")


HR_PAGES = [outbox_page, message_page, resend_message]
