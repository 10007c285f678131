"""Reminders of actions' due dates through the outbox: a week before and the day after, to the owner, each
queued once per due date even when two processes run the scheduler's pass at the same moment, never for an
action done or dropped; rendered with a link to the action's page."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from conftest import start_round
from helpers import PASSWORD
from survey.accounts.users import create_user
from survey.actions import reminders, store
from survey.actions.rules import ActionFields
from survey.db.engine import Database
from survey.db.models import ActionPlan, MailKind, OutboxMessage, Role, Unit, User
from survey.mail.outbox import render_message
from survey.rounds.scheduler import tick

NOW = datetime.now(UTC)


@pytest.fixture
def actions(db, org, people):
    """Three actions of SF1 owned by its head: due in 5 days, overdue since yesterday, and done (due in 5 days)."""
    with db.session() as session:
        create_user(session, "fhead@example.com", "Fay Function", Role.HEAD, ["SF1"], password=PASSWORD)
    a_round = start_round(db)
    made = {}
    with db.session() as session:
        units = {u.code: u.id for u in session.exec(select(Unit))}
        head = session.exec(select(User).where(User.email == "fhead@example.com")).one()
        reader = store.reader_for(session, head)
        for name, due_in, created in (
            ("soon", 5, NOW),
            ("late", -1, NOW - timedelta(days=20)),
            ("done", 5, NOW),
        ):
            action = store.create_action(
                session,
                reader,
                function_id=units["SF1"],
                round_id=a_round.id,
                source="other",
                fields=ActionFields(
                    f"Action {name} for the tills",
                    "",
                    "reliability",
                    (NOW + timedelta(days=due_in)).date(),
                    [units["FL1"]],
                ),
                owner_id=head.id,
                now=created,
            )
            made[name] = action.id
        for status in ("under_way", "done"):
            store.add_note(session, reader, made["done"], "", status, NOW)
    return made


def _queued(db) -> list[tuple[str, int, str]]:
    with db.session() as session:
        return sorted(
            (m.kind, m.action_plan_id, m.recipient)
            for m in session.exec(select(OutboxMessage).where(OutboxMessage.action_plan_id.is_not(None)))
        )


def test_two_passes_racing_queue_each_reminder_once(db, settings, actions, monkeypatch):
    """Two processes (two engines) reach the claim at the same moment, after both found the same actions due."""
    claim = reminders._claim_and_queue
    barrier = threading.Barrier(2, timeout=10)
    seen: set[int] = set()

    def together(*args):
        if threading.get_ident() not in seen:
            seen.add(threading.get_ident())
            barrier.wait()
        return claim(*args)

    monkeypatch.setattr(reminders, "_claim_and_queue", together)
    counts, problems = [], []

    def one_process():
        process = Database(settings.database_url)
        try:
            counts.append(reminders.queue_action_reminders(process, NOW))
        except Exception as error:  # pragma: no cover - reported below
            problems.append(error)
        finally:
            process.dispose()

    threads = [threading.Thread(target=one_process) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not problems, problems
    assert sorted(counts) in ([0, 2], [1, 1])
    assert _queued(db) == [
        (MailKind.ACTION_DUE, actions["soon"], "fhead@example.com"),
        (MailKind.ACTION_OVERDUE, actions["late"], "fhead@example.com"),
    ]
    assert reminders.queue_action_reminders(db, NOW + timedelta(hours=3)) == 0  # the next pass: nothing new


def test_a_moved_due_date_is_reminded_again_and_the_old_mail_goes_stale(db, settings, actions):
    assert reminders.queue_action_reminders(db, NOW) == 2
    with db.session() as session:
        first = session.exec(
            select(OutboxMessage).where(OutboxMessage.action_plan_id == actions["soon"])
        ).one()
        action = session.get(ActionPlan, actions["soon"])
        action.due_on = (NOW + timedelta(days=6)).date()
        session.add(action)
        session.commit()
    assert reminders.queue_action_reminders(db, NOW) == 1
    with db.session() as session:
        message = session.get(OutboxMessage, first.id)
        assert reminders.action_mail(session, settings, message)[2] == "the due date moved"


def test_the_scheduler_pass_queues_them_and_the_mail_links_to_the_action(db, settings, actions):
    report = tick(db, settings, NOW, results=False)
    assert not report.problems, report.problems
    assert len(_queued(db)) == 2
    with db.session() as session:
        late = session.exec(
            select(OutboxMessage).where(OutboxMessage.action_plan_id == actions["late"])
        ).one()
    mail = render_message(db, settings, late.id)
    assert mail.subject.startswith("Action overdue since") and "Action late for the tills" in mail.subject
    assert f"https://testserver.local/actions/{actions['late']}" in mail.text
    assert f"https://testserver.local/actions/{actions['late']}" in mail.html
    assert "Hello Fay Function" in mail.text
