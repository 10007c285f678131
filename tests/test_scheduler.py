"""HR sets a schedule once; rounds then open, remind and close by themselves at the right time, exactly once, also
after the server was down and with several scheduler processes at work."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import update
from sqlmodel import func, select

from conftest import make_org
from helpers import employee_answers, open_survey, submit_survey
from smtp_server import serving
from survey.db.engine import Database
from survey.db.models import (
    Invitation,
    OutboxMessage,
    Round,
    RoundAction,
    RoundStatus,
    RoundUnit,
    Schedule,
    Unit,
)
from survey.mail.delivery import deliver_pending
from survey.mail.outbox import outbox_counts
from survey.rounds import scheduler
from survey.rounds.lifecycle import ERASED, ERASING, advance_round, close_round, create_round, find_round
from survey.rounds.scheduler import ScheduleError, create_schedule, tick, update_schedule
from survey.web.app import health

UTC = UTC
# A quarterly schedule in Berlin set up on 1 December 2026. Its first round, 2027 Q1, opens Monday 4 January 2027
# at 09:00 Berlin time (08:00 UTC), reminds on the 9th and 14th, closes on the 18th; it is created 28 days ahead.
SET_UP = datetime(2026, 12, 1, tzinfo=UTC)
CREATED = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
OPENS = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
FIRST_REMINDER = datetime(2027, 1, 9, 8, 0, tzinfo=UTC)
SECOND_REMINDER = datetime(2027, 1, 14, 8, 0, tzinfo=UTC)
CLOSES = datetime(2027, 1, 18, 8, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def smtp(settings):
    with serving(settings) as running:
        yield running


def quarterly(db: Database, **fields) -> int:
    with db.session() as session:
        return create_schedule(session, "Quarterly", timezone="Europe/Berlin", now=SET_UP, **fields).id


def actions(db: Database) -> dict[tuple[str, datetime], RoundAction]:
    with db.session() as session:
        return {(a.kind, a.due_at): a for a in session.exec(select(RoundAction).order_by(RoundAction.due_at))}


def the_round(db: Database) -> Round:
    with db.session() as session:
        return session.exec(select(Round)).one()


def run(db, settings, now):
    """One scheduler pass with mail delivery, as the server's loop or `survey tick` does it."""
    report = tick(db, settings, now)
    delivery = asyncio.run(deliver_pending(db, settings, now))
    assert not report.problems, report.problems
    return report, delivery


def test_a_schedule_creates_each_round_once_lead_days_ahead_with_its_actions(db, org, settings):
    quarterly(db, units=["SF1", "FL1", "FL2"])
    assert tick(db, settings, CREATED - MINUTE).rounds_created == []
    assert tick(db, settings, CREATED).rounds_created == ["2027 Q1"]
    assert tick(db, settings, CREATED + MINUTE).rounds_created == []
    a_round = the_round(db)
    assert (a_round.opens_at, a_round.closes_at, a_round.period) == (OPENS, CLOSES, "2027-01")
    assert a_round.status == RoundStatus.SCHEDULED
    assert sorted(actions(db)) == [
        ("close", CLOSES),
        ("open", OPENS),
        ("remind", FIRST_REMINDER),
        ("remind", SECOND_REMINDER),
    ]
    with db.session() as session:
        taking_part = session.exec(
            select(Unit.code).join(RoundUnit, RoundUnit.unit_id == Unit.id).order_by(Unit.code)
        ).all()
    assert taking_part == ["FL1", "FL2", "SF1"]


def test_a_quarter_runs_by_itself_each_action_once_and_reminds_only_those_who_have_not_answered(
    db, org, smtp, client
):
    mailbox, settings = smtp
    quarterly(db)
    for now in (CREATED, CREATED + MINUTE):
        run(db, settings, now)

    # The clock jumps past the opening time: the round opens, and everyone is invited once.
    for now in (OPENS + MINUTE, OPENS + 2 * MINUTE):
        run(db, settings, now)
    assert the_round(db).status == RoundStatus.OPEN
    invited = {r.recipients[0] for r in mailbox.received}
    assert len(invited) == len(mailbox.received) == 3 * 6
    assert actions(db)[("open", OPENS)].done_at == OPENS + MINUTE

    # One employee answers through the link in their mail.
    answering = min(invited)
    (invitation,) = mailbox.to(answering)
    assert "open until Monday 18 January 2027, 09:00 (Europe/Berlin)" in invitation.text
    form = open_survey(client, urlsplit(invitation.link).path)
    assert form.status_code == 200 and 'name="round"' in form.text
    assert submit_survey(client, form.text, employee_answers(db, the_round(db).id)).status_code == 303

    # The first reminder goes to the other 17 only.
    for now in (FIRST_REMINDER, FIRST_REMINDER + MINUTE):
        run(db, settings, now)
    reminders = [r for r in mailbox.received if r.subject.startswith("Reminder")]
    assert len(reminders) == 17
    assert answering not in {r.recipients[0] for r in reminders}
    assert {r.link for r in reminders} <= {r.link for r in mailbox.received if r.subject.startswith("Survey")}

    # The clock jumps past the second reminder and the close: the late reminder is skipped, the round closes.
    for now in (CLOSES + timedelta(hours=3), CLOSES + timedelta(hours=4)):
        run(db, settings, now)
    assert the_round(db).status == RoundStatus.CLOSED
    done = actions(db)
    assert done[("remind", SECOND_REMINDER)].outcome == "skipped: the round's close was already due"
    assert done[("close", CLOSES)].done_at == CLOSES + timedelta(hours=3)
    assert done[("close", CLOSES)].outcome == "closed" + ERASED
    assert len(mailbox.received) == 18 + 17
    assert outbox_counts(db)["sent"] == 18 + 17


def test_a_server_down_over_the_whole_window_opens_and_closes_it_without_inviting_anyone(db, org, smtp):
    mailbox, settings = smtp
    quarterly(db)
    run(db, settings, CREATED)
    report, _ = run(db, settings, CLOSES + timedelta(days=1))
    assert [(a.kind, a.outcome) for a in report.actions] == [
        ("open", "opened 15 days late; nobody invited: the round's close was already due"),
        ("remind", "skipped: the round's close was already due"),
        ("remind", "skipped: the round's close was already due"),
        ("close", "closed" + ERASED),
    ]
    assert the_round(db).status == RoundStatus.CLOSED
    assert mailbox.received == []
    assert run(db, settings, CLOSES + timedelta(days=2))[0].actions == []


def test_after_downtime_over_the_opening_the_invitations_go_out_late_and_the_missed_reminder_is_skipped(
    db, org, smtp
):
    _, settings = smtp
    quarterly(db)
    run(db, settings, CREATED)
    report, delivery = run(db, settings, FIRST_REMINDER + timedelta(hours=1))  # down from before the opening
    assert [(a.kind, a.outcome) for a in report.actions] == [
        ("open", "opened 5 days late; 18 invitations queued"),
        ("remind", "skipped: the round opened after this reminder's time"),
    ]
    assert delivery.sent == 18
    report, delivery = run(db, settings, SECOND_REMINDER + MINUTE)
    assert [(a.kind, a.outcome) for a in report.actions] == [("remind", "18 reminders queued")]
    assert delivery.sent == 18


def test_after_downtime_over_both_reminders_only_the_later_one_goes_out(db, org, smtp):
    mailbox, settings = smtp
    quarterly(db)
    run(db, settings, CREATED)
    run(db, settings, OPENS)
    report, delivery = run(db, settings, SECOND_REMINDER + timedelta(hours=2))
    assert [(a.kind, a.outcome) for a in report.actions] == [
        ("remind", "skipped: a later reminder is due as well, and only that one goes out"),
        ("remind", "18 reminders queued, 2 hours late"),
    ]
    assert delivery.sent == 18
    assert len(mailbox.received) == 36


def test_a_failing_open_holds_back_its_round_and_is_tried_again(db, org, settings, caplog):
    quarterly(db)
    tick(db, settings, CREATED)
    keyless = settings.with_(secret_key="")  # links cannot be derived: opening fails
    with caplog.at_level(logging.ERROR, logger="survey.rounds.scheduler"):
        report = tick(db, keyless, FIRST_REMINDER + MINUTE)
    assert report.actions == [] and len(report.problems) == 1
    assert "SURVEY_SECRET_KEY is not set" in report.problems[0]
    assert "round action 1 failed" in caplog.text
    assert the_round(db).status == RoundStatus.SCHEDULED
    assert all(a.done_at is None for a in actions(db).values())  # the reminder did not run ahead of the open
    report = tick(db, settings, FIRST_REMINDER + 2 * MINUTE)
    assert [(a.kind, a.outcome) for a in report.actions] == [
        ("open", "opened 5 days late; 18 invitations queued"),
        ("remind", "skipped: the round opened after this reminder's time"),
    ]


def test_rounds_made_by_hand_open_and_close_by_themselves_or_by_hand_but_once(db, org, settings):
    with db.session() as session:
        create_round(session, "Pilot", OPENS, CLOSES, reminders_at=[FIRST_REMINDER], now=SET_UP)
        create_round(session, "By hand", OPENS, CLOSES, now=SET_UP)
    with db.write_session() as session:
        advance_round(session, find_round(session, "By hand"), RoundStatus.OPEN, now=OPENS - MINUTE)
    report = tick(db, settings, OPENS)
    assert [(a.round_name, a.kind) for a in report.actions] == [("Pilot", "open")]
    assert close_round(db, "By hand", settings=settings, now=OPENS + MINUTE).status == RoundStatus.CLOSED
    report = tick(db, settings, CLOSES)
    assert [(a.round_name, a.kind) for a in report.actions] == [("Pilot", "remind"), ("Pilot", "close")]
    with db.session() as session:
        by_hand = find_round(session, "By hand")
        outcomes = {
            a.kind: a.outcome
            for a in session.exec(select(RoundAction).where(RoundAction.round_id == by_hand.id))
        }
        pilot_invited = session.exec(select(func.count()).select_from(Invitation)).one()
    assert outcomes == {"open": "opened by hand", "close": "closed by hand" + ERASED}
    assert pilot_invited == 18  # "By hand" invited nobody: HR hands out its links (survey invitations issue)


def test_two_schedulers_racing_send_each_invitation_and_reminder_once(settings, smtp):
    """Two scheduler processes (threads with their own connection pools) run the same passes at the same moments."""
    mailbox, smtp_settings = smtp
    databases = [Database(settings.database_url) for _ in range(2)]
    make_org(databases[0], teams=5, staff=10)
    quarterly(databases[0])
    steps = [
        CREATED,
        OPENS,
        OPENS + MINUTE,
        FIRST_REMINDER,
        SECOND_REMINDER,
        SECOND_REMINDER + MINUTE,
        CLOSES,
        CLOSES + MINUTE,
    ]
    answered: list[int] = []
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def scheduler_process(db: Database) -> None:
        try:
            for now in steps:
                for _ in range(2):
                    barrier.wait(timeout=60)
                    report = tick(db, smtp_settings, now)
                    assert not report.problems, report.problems
                    asyncio.run(deliver_pending(db, smtp_settings, now))
                if now == OPENS + MINUTE and db is databases[0]:
                    with db.write() as connection:  # seven people answer before the first reminder
                        ids = connection.execute(
                            select(Invitation.id).order_by(Invitation.id).limit(7)
                        ).scalars()
                        answered.extend(ids)
                        connection.execute(
                            update(Invitation).where(Invitation.id.in_(answered)).values(answered=True)
                        )
        except BaseException as error:
            failures.append(error)
            barrier.abort()

    threads = [threading.Thread(target=scheduler_process, args=(db,)) for db in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    for db in databases[1:]:
        db.dispose()
    db = databases[0]
    try:
        assert not failures, failures
        with db.session() as session:
            invitations = session.exec(select(Invitation)).all()
            rounds = session.exec(select(Round)).all()
            emails = dict(
                session.exec(select(Invitation.id, OutboxMessage.recipient).join(OutboxMessage)).all()
            )
        assert len(rounds) == 1 and rounds[0].status == RoundStatus.CLOSED
        assert len(invitations) == 50
        counts = mailbox.count()
        for invitation in invitations:
            email = emails[invitation.id]
            assert counts[(email, "Survey 2027 Q1")] == 1, email
            assert counts[(email, "Reminder")] == (0 if invitation.id in answered else 2), email
        assert len(mailbox.received) == 50 + 2 * 43
        assert mailbox.attempts == len(mailbox.received)  # nothing was even tried twice
        done = actions(db)
        assert len(done) == 4 and all(a.done_at is not None for a in done.values())
        assert done[("open", OPENS)].outcome == "opened; 50 invitations queued"
        assert done[("remind", FIRST_REMINDER)].outcome == "43 reminders queued"
        assert done[("close", CLOSES)].outcome == "closed" + ERASED
    finally:
        db.dispose()


def test_changing_a_schedule_plans_its_unopened_rounds_again(db, org, settings):
    schedule_id = quarterly(db)
    tick(db, settings, CREATED)
    with db.session() as session:
        info = update_schedule(session, "Quarterly", week="last", reminder_days="3", now=CREATED)
    assert info.description.startswith("last Monday of Jan, Apr, Jul, Oct at 09:00 Europe/Berlin")
    assert the_round_count(db) == 0  # 2027 Q1 never opened and held nothing: planned again
    assert tick(db, settings, CREATED + MINUTE).rounds_created == []  # 28 days before the new opening day
    assert tick(db, settings, datetime(2026, 12, 28, 8, 0, tzinfo=UTC)).rounds_created == ["2027 Q1"]
    assert the_round(db).opens_at == datetime(2027, 1, 25, 8, 0, tzinfo=UTC)
    assert [kind for kind, _ in sorted(actions(db), key=lambda key: key[1])] == ["open", "remind", "close"]

    tick(db, settings, datetime(2027, 1, 25, 8, 1, tzinfo=UTC))  # opened: it stays as it is from now on
    with db.session() as session:
        update_schedule(session, schedule_id, days_open=10)
        renamed = update_schedule(session, schedule_id, name="Every quarter", active=False)
    assert the_round(db).status == RoundStatus.OPEN
    assert (renamed.name, renamed.active, renamed.days_open, renamed.next_round) == (
        "Every quarter",
        False,
        10,
        None,
    )


def the_round_count(db: Database) -> int:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(Round)).one()


def test_a_schedule_creates_only_rounds_that_open_after_it_was_set_up(db, org, settings):
    with db.session() as session:
        create_schedule(session, "Late", timezone="Europe/Berlin", now=OPENS + MINUTE)
    assert tick(db, settings, OPENS + timedelta(days=1)).rounds_created == []
    assert tick(db, settings, datetime(2027, 3, 9, 7, 0, tzinfo=UTC)).rounds_created == ["2027 Q2"]


def test_a_round_name_taken_by_hand_gets_the_schedule_name(db, org, settings):
    with db.session() as session:
        create_round(session, "2027 Q1", OPENS, CLOSES, now=SET_UP)
    quarterly(db)
    assert tick(db, settings, CREATED).rounds_created == ["2027 Q1 (Quarterly)"]


@pytest.mark.parametrize(
    ("name", "fields", "errors"),
    [
        ("", {}, {"name": "a schedule needs a name"}),
        ("Quarterly", {}, {"name": "a schedule named 'Quarterly' exists already"}),
        ("x" * 81, {}, {"name": "at most 80 characters (81 given)"}),
        (
            "Other",
            {"units": ["FL1", "NOPE"]},
            {"units": "no support function or front-line team with code NOPE"},
        ),
        (
            "Other",
            {"units": ["FL1"]},
            {"units": "name at least one support function and one front-line team"},
        ),
        ("Other", {"units": ["R1", "SF1"]}, {"units": "no support function or front-line team with code R1"}),
        (
            "Other",
            {"weekday": "noday", "timezone": "Mars/Olympus"},
            {"weekday": "use a day name", "timezone": "unknown"},
        ),
    ],
)
def test_a_schedule_that_cannot_work_is_refused_field_by_field(db, org, name, fields, errors):
    quarterly(db)
    with db.session() as session, pytest.raises(ScheduleError) as raised:
        create_schedule(session, name, **fields)
    assert set(raised.value.errors) == set(errors)
    for field, message in errors.items():
        assert raised.value.errors[field].startswith(message) or message in raised.value.errors[field]
    with db.session() as session:
        assert session.exec(select(func.count()).select_from(Schedule)).one() == 1


def test_an_interrupted_erase_is_finished_by_a_later_pass(db, org, settings):
    with db.session() as session:
        a_round = create_round(session, "Pilot", OPENS, CLOSES, now=SET_UP)
    with db.write_session() as session:
        advance_round(session, a_round, RoundStatus.OPEN, now=OPENS)
        advance_round(session, a_round, RoundStatus.CLOSED, now=CLOSES)  # then the process stopped
    assert actions(db)[("close", CLOSES)].outcome == "closed by hand" + ERASING
    tick(db, settings, CLOSES + timedelta(minutes=5))
    assert actions(db)[("close", CLOSES)].outcome == "closed by hand" + ERASING  # maybe still erasing: wait
    tick(db, settings, CLOSES + timedelta(minutes=20))
    assert actions(db)[("close", CLOSES)].outcome == "closed by hand" + ERASED


def test_the_background_loop_keeps_going_after_a_failing_pass_and_stops_when_asked(
    db, org, settings, monkeypatch
):
    quarterly(db)
    real_tick = scheduler.tick
    calls = []

    def flaky_tick(db, settings, now, **options):
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("database restarting")
        return real_tick(db, settings, now, **options)

    monkeypatch.setattr(scheduler, "tick", flaky_tick)

    async def serve_a_while():
        stop = asyncio.Event()
        task = asyncio.create_task(
            scheduler.run_scheduler(db, settings, stop, interval=0.02, clock=lambda: OPENS + MINUTE)
        )
        for _ in range(500):
            await asyncio.sleep(0.01)
            if len(calls) >= 3:
                break
        stop.set()
        await asyncio.wait_for(task, timeout=10)

    asyncio.run(serve_a_while())
    assert len(calls) >= 3
    assert the_round(db).status == RoundStatus.OPEN  # created and opened on the passes after the failure
    assert outbox_counts(db)["stored"] == 18  # no SMTP server configured: kept for HR to read


@pytest.mark.web
def test_a_litestar_app_runs_the_scheduler_in_its_lifespan_only_when_enabled(db, org, settings):
    """How create_app wires it: Litestar(..., lifespan=[scheduler_lifespan(db, settings)])."""
    now = datetime.now(UTC)
    with db.session() as session:
        create_round(session, "Due now", now - timedelta(hours=1), now + timedelta(days=13))

    def serve(enabled: bool) -> RoundStatus:
        app = Litestar(
            route_handlers=[health],
            lifespan=[scheduler.scheduler_lifespan(db, settings.with_(scheduler=enabled))],
        )
        with TestClient(app) as client:
            assert client.get("/health").status_code == 200
            for _ in range(200 if enabled else 10):  # the first pass runs at start-up
                if the_round(db).status == RoundStatus.OPEN:
                    break
                time.sleep(0.05)
        return the_round(db).status

    assert serve(enabled=False) == RoundStatus.SCHEDULED
    assert serve(enabled=True) == RoundStatus.OPEN
    assert outbox_counts(db)["stored"] == 18  # the first pass ran at start-up, mail included


# --- the command line --------------------------------------------------------------------------------------------


def test_hr_schedules_rounds_and_cron_runs_them_from_the_command_line(run, db, org):
    created = run(
        "schedule", "create", "Quarterly", "--timezone", "Europe/Berlin", "--unit", "SF1", "--unit", "FL1"
    )
    assert created.exit_code == 0, created.output
    assert "first Monday of Jan, Apr, Jul, Oct at 09:00 Europe/Berlin, open 14 days" in created.output
    assert "Units: FL1, SF1." in created.output
    listed = run("schedule", "list")
    assert "Quarterly" in listed.output and "Next round" in listed.output
    with db.write() as connection:  # pretend it was set up in time for 2027 Q1
        connection.execute(update(Schedule).values(created_at=SET_UP))

    first = run("tick", "--now", CREATED.isoformat())
    assert first.exit_code == 0 and "Created round 2027 Q1." in first.output
    opened = run("tick", "--now", "2027-01-04T08:00:30")
    assert opened.exit_code == 0, opened.output
    assert "open (due 2027-01-04 08:00 UTC): opened; 6 invitations queued." in opened.output
    assert "Mail: 6 stored in the outbox." in opened.output  # no SMTP server configured
    assert run("tick", "--now", "2027-01-04T08:01:00").output == "Nothing due.\n"

    status = run("mail", "status")
    assert "stored 6" in status.output
    shown = run("mail", "show", "1")
    assert shown.exit_code == 0 and "https://survey.example.org/i/" in shown.output
    refused = run("mail", "resend", "1")
    assert refused.exit_code == 2 and "no mail server is configured" in refused.output

    updated = run("schedule", "update", "Quarterly", "--paused", "--days", "10", "--reminders", "3,7")
    assert updated.exit_code == 0, updated.output
    assert "(paused)" in updated.output and "open 10 days" in updated.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["schedule", "create", "Q", "--timezone", "Europe/Berln"],
            "--timezone: unknown time zone 'Europe/Berln'",
        ),
        (["schedule", "create", "Q", "--weekday", "funday"], "--weekday: use a day name (mon to sun)"),
        (["schedule", "create", "Q", "--reminders", "20"], "--reminders: day 20 is outside the window"),
        (["schedule", "create", "Q", "--unit", "NOPE"], "--unit: no support function or front-line team"),
        (["schedule", "create", "Q", "--days", "x", "--time", "9am"], "--time: use a 24-hour time"),
        (["schedule", "update", "nope", "--days", "3"], "SCHEDULE: no schedule 'nope'"),
        (["tick", "--now", "yesterday"], "--now: expected an ISO 8601 time"),
        (["round", "create", "Q", "--opens", "2027-01-04", "--reminders", "five"], "--reminders: give days"),
        (
            ["round", "create", "Q", "--opens", "2027-01-04", "--reminders", "20"],
            "reminders go out while the round",
        ),
        (["mail", "show", "99"], "no message 99 in the outbox"),
        (["mail", "resend", "99"], "no message 99 in the outbox"),
    ],
)
def test_bad_scheduling_arguments_exit_2_and_say_what_is_wrong(run, org, args, message):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_tick_needs_the_servers_secret_key(run):
    result = run("tick", SURVEY_SECRET_KEY="")
    assert result.exit_code == 2 and "SURVEY_SECRET_KEY is not set" in result.output
