"""Reminders of actions' due dates, through the outbox: a week before the due date ("due soon") and from the day
after it ("overdue"), to the owner, for actions neither done nor dropped.

Each is queued once per due date, also with several processes running the scheduler: a process claims the
reminder with an UPDATE that sets `due_reminder_for` (or `overdue_reminder_for`) to the due date only where it
still differs, and inserts the outbox row in the same transaction; the process whose UPDATE changed no row queues
nothing. A new due date is a new claim: moving the date sends its reminders again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from survey.actions import rules
from survey.db.engine import Database
from survey.db.models import ActionPlan, MailKind, MailState, OutboxMessage, Unit, User
from survey.settings import Settings

SUBJECTS = {
    MailKind.ACTION_DUE: "Action due on {due}: {title}",
    MailKind.ACTION_OVERDUE: "Action overdue since {due}: {title}",
}


@dataclass(frozen=True)
class Claim:
    kind: MailKind
    column: Any  # the action's column that records the due date the reminder went out for
    due: Any  # rules.reminder_due or rules.overdue_reminder_due


CLAIMS = (
    Claim(MailKind.ACTION_DUE, ActionPlan.due_reminder_for, rules.reminder_due),
    Claim(MailKind.ACTION_OVERDUE, ActionPlan.overdue_reminder_for, rules.overdue_reminder_due),
)


def queue_action_reminders(db: Database, now: datetime) -> int:
    """Queue the reminders due today (UTC) that no process has queued yet. Returns how many this call queued."""
    today = now.date()
    with db.session() as session:
        candidates = session.exec(
            select(ActionPlan)
            .where(col(ActionPlan.status).not_in(rules.CLOSED))
            .where(col(ActionPlan.due_on) <= today + rules.DUE_SOON)
        ).all()
    queued = 0
    for action in candidates:
        sent = (action.due_reminder_for, action.overdue_reminder_for)
        for claim, sent_for in zip(CLAIMS, sent, strict=True):
            if claim.due(action.status, action.due_on, today, sent_for):
                queued += _claim_and_queue(db, action.id, action.due_on, claim, now)
    return queued


def _claim_and_queue(db: Database, action_id: int, due_on: date, claim: Claim, now: datetime) -> int:
    """In one transaction: claim the reminder for this due date, and queue it if the claim was ours."""
    with db.write_session() as session:
        claimed = session.connection().execute(
            update(ActionPlan)
            .where(col(ActionPlan.id) == action_id, col(ActionPlan.due_on) == due_on)
            .where(col(ActionPlan.status).not_in(rules.CLOSED))
            .where(claim.column.is_(None) | (claim.column != due_on))
            .values({claim.column.key: due_on})
        )
        if claimed.rowcount != 1:
            return 0
        owner = session.exec(
            select(User)
            .join(ActionPlan, col(ActionPlan.owner_id) == col(User.id))
            .where(ActionPlan.id == action_id)
        ).one()
        session.add(
            OutboxMessage(
                kind=claim.kind,
                recipient=owner.email,
                user_id=owner.id,
                action_plan_id=action_id,
                state=MailState.PENDING,
                next_attempt_at=now,
                created_at=now,
            )
        )
    return 1


def action_mail(
    session: Session, settings: Settings, message: OutboxMessage
) -> tuple[str, dict[str, Any], str]:
    """A reminder's subject, its template's context, and why it should no longer be sent ("" when it should):
    the action was done or dropped, its due date moved, or its owner changed or was deactivated."""
    action = session.get(ActionPlan, message.action_plan_id)
    owner = session.get(User, message.user_id)
    assert action is not None and owner is not None  # foreign keys: the outbox row refers to both
    function = session.get(Unit, action.function_id)
    assert function is not None
    due = action.due_on.strftime("%-d %B %Y")
    kind = MailKind(message.kind)
    subject = SUBJECTS[kind].format(due=due, title=action.title)
    stale = _stale(session, action, owner, message)
    context = {
        "name": owner.name,
        "title": action.title,
        "function": function.name,
        "due": due,
        "status": rules.STATUS_LABELS[action.status],
        "overdue": kind == MailKind.ACTION_OVERDUE,
        "link": f"{settings.base_url.rstrip('/')}/actions/{action.id}",
    }
    return subject, context, stale


def _stale(session: Session, action: ActionPlan, owner: User, message: OutboxMessage) -> str:
    """Why a reminder should no longer go out ("" when it should): the action was done or dropped, its due date
    moved (a newer reminder of the same kind was queued for the new date), its owner changed or was
    deactivated."""
    kind = MailKind(message.kind)
    sent_for = action.due_reminder_for if kind == MailKind.ACTION_DUE else action.overdue_reminder_for
    newer = session.exec(
        select(OutboxMessage.id).where(
            OutboxMessage.action_plan_id == action.id,
            OutboxMessage.kind == kind,
            col(OutboxMessage.id) > message.id,
        )
    ).first()
    if action.status in rules.CLOSED:
        return f"the action is {action.status}"
    if sent_for != action.due_on or newer is not None:
        return "the due date moved"
    if action.owner_id != owner.id:
        return "the action has another owner now"
    return "" if owner.active else "the account was deactivated"
