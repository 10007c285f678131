"""The scheduler: HR's schedules become rounds, and rounds open, remind and close by themselves, exactly once.

`tick(db, settings, now)` is one pass; the server runs it every half minute (`run_scheduler`), cron can run it
with `survey tick`. Each pass
1. creates each active schedule's rounds `lead_days` before they open, with their actions (open, each reminder,
   close). A schedule makes at most one round per period (unique schedule and period); it makes the rounds that
   open after the schedule was created, and skips a round whose whole window passed while nothing ran;
2. runs the actions that are due, oldest first. Each action is claimed (`done_at` set where it was empty) in the
   transaction that carries it out, after locking its round, so with several processes each action happens once:
   on PostgreSQL the second process waits for the first one's transaction, then finds the action done.

Catching up after downtime, a pass runs every overdue action in due order, and:
- opens a round whose close is already due without inviting anyone (a survey open for no time is no survey);
  its close follows at once;
- skips a reminder when the round's close is due, when a later reminder is due as well (one reminder, not two at
  once), or when the invitations went out after the reminder's time;
- never runs an action while an earlier action of its round is still pending (one that failed waits for the next
  pass, and so does everything after it).
Each action records what it did, or why it did nothing, in `outcome`.

Each pass also takes the day's count of every open round's participation, the first pass of the day (UTC) that
finds none (`participation.take_daily_snapshots`): what heads see of an open round, in bands.

Mail is queued in the outbox by the action's transaction and sent by `delivery.deliver_pending`. Closed rounds'
results are computed by `results_work.results_pass`: at the end of `tick`, and in the server beside the passes, so
that a long computation holds up neither the round actions nor the mail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from collections.abc import Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import exc, text, update
from sqlmodel import Session, col, select

from survey.accounts import sign_in
from survey.actions.reminders import queue_action_reminders
from survey.db.engine import Database
from survey.db.models import (
    ActionKind,
    ExternalFigure,
    Invitation,
    Round,
    RoundAction,
    RoundStatus,
    RoundUnit,
    Schedule,
    ScheduleUnit,
    Unit,
    utc_now,
)
from survey.mail import delivery, outbox, results_mail
from survey.reports import work as report_work
from survey.rounds import results_work
from survey.rounds.lifecycle import (
    ERASING,
    RoundError,
    advance_round,
    claim_action,
    close_round,
    create_round,
    erase_after_close,
    find_round,
    issue_invitations,
    lock_round,
    refuse_unless_it_can_open,
    units_taking_part,
)
from survey.rounds.participation import take_daily_snapshots
from survey.rounds.rules import (
    ScheduleError,
    ScheduleSpec,
    Window,
    describe,
    next_window,
    parse_spec,
    windows_between,
)
from survey.settings import Settings

log = logging.getLogger(__name__)

__all__ = [
    "ActionResult",
    "ScheduleError",
    "ScheduleInfo",
    "TickReport",
    "create_schedule",
    "get_schedule",
    "list_schedules",
    "plan_rounds",
    "run_action",
    "run_scheduler",
    "scheduler_lifespan",
    "tick",
    "update_schedule",
]

INTERVAL_SECONDS = 30.0
# PostgreSQL advisory lock space for creating a schedule's rounds: (PLAN_LOCK, schedule id).
PLAN_LOCK = 0x5355_5256
# An action done this much after its due time says how late it was.
LATE = timedelta(minutes=5)
# A close action still erasing this long after it was done was interrupted: erase again.
ERASE_RETRY_AFTER = timedelta(minutes=15)
_KIND_ORDER = {ActionKind.OPEN: 0, ActionKind.REMIND: 1, ActionKind.CLOSE: 2}


# --- schedules ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleInfo:
    """A schedule as HR sees it."""

    id: int
    name: str
    active: bool
    months: str
    week: int
    weekday: int
    open_time: str
    days_open: int
    reminder_days: str
    timezone: str
    lead_days: int
    unit_codes: tuple[str, ...]  # unit codes taking part; empty: every active unit
    description: str
    next_round: str | None  # the name of the next round it will open, and when (UTC)
    next_opens_at: datetime | None


def spec_of(schedule: Schedule) -> ScheduleSpec:
    """A stored schedule's rules. Raises ScheduleError if the row holds values that are not valid."""
    return parse_spec(
        months=schedule.months,
        week=schedule.week,
        weekday=schedule.weekday,
        open_time=schedule.open_time,
        days_open=schedule.days_open,
        reminder_days=schedule.reminder_days,
        timezone=schedule.timezone,
        lead_days=schedule.lead_days,
    )


def _info(session: Session, schedule: Schedule, now: datetime) -> ScheduleInfo:
    spec = spec_of(schedule)
    codes = session.exec(
        select(Unit.code)
        .join(ScheduleUnit, ScheduleUnit.unit_id == Unit.id)
        .where(ScheduleUnit.schedule_id == schedule.id)
        .order_by(Unit.code)
    ).all()
    upcoming = next_window(spec, now) if schedule.active else None
    return ScheduleInfo(
        id=schedule.id,
        name=schedule.name,
        active=schedule.active,
        **spec.fields(),
        unit_codes=tuple(codes),
        description=describe(spec),
        next_round=upcoming.name if upcoming else None,
        next_opens_at=upcoming.opens_at if upcoming else None,
    )


def _check_name(session: Session, name: object, schedule_id: int | None = None) -> tuple[str, str | None]:
    if not isinstance(name, str) or not name.strip():
        return "", "a schedule needs a name"
    name = name.strip()
    if len(name) > 80:
        return name, f"at most 80 characters ({len(name)} given)"
    if not name.isprintable():
        return name, "a name may not contain control characters (line breaks, tabs, NUL)"
    clash = session.exec(select(Schedule.id).where(Schedule.name == name)).first()
    if clash is not None and clash != schedule_id:
        return name, f"a schedule named {name!r} exists already"
    return name, None


def _check_units(session: Session, codes: Iterable[str]) -> tuple[list[Unit], str | None]:
    """The units a schedule names, checked as a round's are; none named means every active unit at the time."""
    codes = list(codes)
    if not any(code.strip() for code in codes):
        return [], None
    try:
        return units_taking_part(session, codes), None
    except RoundError as error:
        return [], str(error)


def _resolve(session: Session, reference: int | str) -> Schedule:
    if isinstance(reference, int) or (
        isinstance(reference, str) and reference.isdigit() and len(reference) < 10
    ):
        schedule = session.get(Schedule, int(reference))
        if schedule is not None:
            return schedule
    schedule = session.exec(select(Schedule).where(Schedule.name == str(reference))).first()
    if schedule is None:
        raise ScheduleError({"schedule": f"no schedule {reference!r}"})
    return schedule


def create_schedule(
    session: Session,
    name: str,
    *,
    units: Iterable[str] = (),
    active: bool = True,
    now: datetime | None = None,
    **rules: object,
) -> ScheduleInfo:
    """Add a schedule (commits). Its rounds are created by the scheduler, `lead_days` before each opens, for the
    rounds that open from now on. `units` are unit codes; none means every active unit at the time.

    `rules` are `schedule.parse_spec`'s fields (months, week, weekday, open_time, days_open, reminder_days,
    timezone, lead_days), each defaulting to the quarterly schedule there, and checked as it does; raises
    ScheduleError with a message per wrong field (also "name" and "units")."""
    now = now or utc_now()
    errors: dict[str, str | None] = {}
    name, errors["name"] = _check_name(session, name)
    chosen, errors["units"] = _check_units(session, units)
    spec = None
    try:
        spec = parse_spec(**rules)
    except ScheduleError as error:
        errors.update(error.errors)
    errors = {f: m for f, m in errors.items() if m}
    if errors:
        raise ScheduleError(errors)
    schedule = Schedule(name=name, active=active, created_at=now, **spec.fields())
    session.add(schedule)
    session.flush()
    session.add_all(ScheduleUnit(schedule_id=schedule.id, unit_id=u.id) for u in chosen)
    session.commit()
    return _info(session, schedule, now)


def update_schedule(
    session: Session,
    reference: int | str,
    *,
    name: str | None = None,
    active: bool | None = None,
    units: Iterable[str] | None = None,
    now: datetime | None = None,
    **changes: object,
) -> ScheduleInfo:
    """Change a schedule (by id or name); arguments left None stay as they are (commits). `changes` are the
    fields of `create_schedule`: months, week, weekday, open_time, days_open, reminder_days, timezone, lead_days.

    When its rules, units or activity change, the rounds it created that have not opened yet and hold nothing yet
    (no invitations, no figures) are removed; the next scheduler pass creates them again under the new rules.
    Rounds already open or used stay as they are. Raises ScheduleError."""
    now = now or utc_now()
    schedule = _resolve(session, reference)
    if (
        session.get_bind().dialect.name == "postgresql"
    ):  # wait for a scheduler creating this schedule's rounds
        session.exec(
            text("SELECT pg_advisory_xact_lock(:space, :id)"), params={"space": PLAN_LOCK, "id": schedule.id}
        )
    unknown = sorted(set(changes) - set(spec_of(schedule).fields()))
    if unknown:
        raise TypeError(f"update_schedule() got unexpected arguments {', '.join(unknown)}")
    new_name, chosen, spec = _checked_update(session, schedule, name, units, changes)
    old_units = set(session.exec(select(ScheduleUnit.unit_id).where(ScheduleUnit.schedule_id == schedule.id)))
    replan = (
        spec.fields() != spec_of(schedule).fields()
        or (units is not None and {u.id for u in chosen} != old_units)
        or (active is not None and active != schedule.active)
    )
    schedule.name = new_name
    if active is not None:
        schedule.active = active
    for f, value in spec.fields().items():
        setattr(schedule, f, value)
    session.add(schedule)
    if units is not None:
        for link in session.exec(select(ScheduleUnit).where(ScheduleUnit.schedule_id == schedule.id)):
            session.delete(link)
        session.flush()
        session.add_all(ScheduleUnit(schedule_id=schedule.id, unit_id=u.id) for u in chosen)
    if replan:
        _drop_unopened_rounds(session, schedule.id)
    session.commit()
    return _info(session, schedule, now)


def _checked_update(
    session: Session,
    schedule: Schedule,
    name: str | None,
    units: Iterable[str] | None,
    changes: dict[str, object],
) -> tuple[str, list[Unit], ScheduleSpec]:
    """The schedule's name, units and rules after the changes asked for, every field checked; raises
    ScheduleError naming each field that is wrong."""
    errors: dict[str, str | None] = {}
    new_name = schedule.name
    if name is not None:
        new_name, errors["name"] = _check_name(session, name, schedule.id)
    chosen: list[Unit] = []
    if units is not None:
        chosen, errors["units"] = _check_units(session, units)
    current = {f: getattr(schedule, f) for f in spec_of(schedule).fields()}
    spec = None
    try:
        spec = parse_spec(**{**current, **{f: v for f, v in changes.items() if v is not None}})
    except ScheduleError as error:
        errors.update(error.errors)
    problems = {f: m for f, m in errors.items() if m}
    if problems or spec is None:
        raise ScheduleError(problems)
    return new_name, chosen, spec


def _drop_unopened_rounds(session: Session, schedule_id: int) -> list[str]:
    """Remove the schedule's rounds that never opened and hold nothing, with their units and actions."""
    candidates = session.exec(
        select(Round.id).where(Round.schedule_id == schedule_id, Round.status == RoundStatus.SCHEDULED)
    ).all()
    dropped = []
    for round_id in candidates:
        a_round = lock_round(session, round_id)  # a scheduler opening it meanwhile goes first, or waits
        used = a_round.status != RoundStatus.SCHEDULED or (
            session.exec(select(Invitation.id).where(Invitation.round_id == a_round.id).limit(1)).first()
            or session.exec(
                select(ExternalFigure.id).where(ExternalFigure.round_id == a_round.id).limit(1)
            ).first()
            or session.exec(
                select(RoundAction.id).where(
                    RoundAction.round_id == a_round.id, RoundAction.done_at.is_not(None)
                )
            ).first()
        )
        if used:
            continue
        for table in (RoundAction, RoundUnit):
            for row in session.exec(select(table).where(table.round_id == a_round.id)):
                session.delete(row)
        session.flush()
        session.delete(a_round)
        dropped.append(a_round.name)
    session.flush()
    return dropped


def list_schedules(session: Session, now: datetime | None = None) -> list[ScheduleInfo]:
    now = now or utc_now()
    return [_info(session, s, now) for s in session.exec(select(Schedule).order_by(Schedule.name))]


def get_schedule(session: Session, reference: int | str, now: datetime | None = None) -> ScheduleInfo:
    """A schedule by id or name. Raises ScheduleError."""
    return _info(session, _resolve(session, reference), now or utc_now())


# --- one pass -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionResult:
    action_id: int
    round_id: int
    round_name: str
    kind: str
    due_at: datetime
    outcome: str


@dataclass
class TickReport:
    now: datetime
    rounds_created: list[str] = field(default_factory=list)
    actions: list[ActionResult] = field(default_factory=list)
    results: list[results_work.WorkResult] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)  # reports rendered: one line each
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return (
            [f"Created round {name}." for name in self.rounds_created]
            + [
                f"Round {a.round_name}: {a.kind} (due {a.due_at:%Y-%m-%d %H:%M} UTC): {a.outcome}."
                for a in self.actions
            ]
            + [result.line() for result in self.results]
            + self.reports
            + [f"Problem: {p}" for p in self.problems]
        )


def _round_name(session: Session, wanted: str, schedule: Schedule) -> str:
    """The window's name, or, if another round has it, the name with the schedule's."""
    for name in (wanted, f"{wanted} ({schedule.name})"[:80], f"{wanted} (schedule {schedule.id})"):
        if session.exec(select(Round.id).where(Round.name == name)).first() is None:
            return name
    raise RoundError(f"the round names {wanted!r} and {wanted} ({schedule.name}) are taken")


def _create_scheduled_round(db: Database, schedule: Schedule, window: Window, now: datetime) -> str | None:
    """Create the schedule's round for a window unless it exists; its name, or None if it existed."""

    def exists(session: Session) -> bool:
        return (
            session.exec(
                select(Round.id).where(Round.schedule_id == schedule.id, Round.period == window.period)
            ).first()
            is not None
        )

    try:
        with db.write_session() as session:
            if not db.is_sqlite:  # schedulers creating the same schedule's rounds take turns
                session.exec(
                    text("SELECT pg_advisory_xact_lock(:space, :id)"),
                    params={"space": PLAN_LOCK, "id": schedule.id},
                )
            if exists(session):
                return None
            # Read again under the lock: HR may have paused or changed the schedule since it was read.
            current = session.exec(
                select(Schedule).where(Schedule.id == schedule.id).execution_options(populate_existing=True)
            ).first()
            if (
                current is None
                or not current.active
                or spec_of(current).fields() != spec_of(schedule).fields()
            ):
                return None
            listed = session.exec(
                select(Unit.code, Unit.active)
                .join(ScheduleUnit, ScheduleUnit.unit_id == Unit.id)
                .where(ScheduleUnit.schedule_id == schedule.id)
            ).all()
            codes = [code for code, active in listed if active]
            if listed and not codes:  # not "every unit", which is what no codes would mean to create_round
                raise RoundError("none of the units the schedule names is active any more")
            a_round = create_round(
                session,
                _round_name(session, window.name, schedule),
                window.opens_at,
                window.closes_at,
                codes,
                reminders_at=window.reminders_at,
                schedule_id=schedule.id,
                period=window.period,
                now=now,
            )
            return a_round.name
    except exc.IntegrityError:  # another process made it first (SQLite, several processes)
        with db.session() as session:
            if exists(session):
                return None
        raise


def plan_rounds(db: Database, now: datetime) -> tuple[list[str], list[str]]:
    """Create the rounds active schedules open within their lead time. Returns (names created, problems)."""
    created: list[str] = []
    problems: list[str] = []
    with db.session() as session:
        schedules = session.exec(select(Schedule).where(Schedule.active).order_by(Schedule.id)).all()
    for schedule in schedules:
        try:
            spec = spec_of(schedule)
        except ScheduleError as error:
            problems.append(f"schedule {schedule.name!r} cannot be used: {error}")
            continue
        # Windows open from the schedule's creation on; one that ended while nothing ran is skipped.
        start = max(schedule.created_at, now - timedelta(days=spec.days_open + 2))
        for window in windows_between(spec, start, now + timedelta(days=spec.lead_days, seconds=1)):
            if window.closes_at <= now:
                continue
            try:
                name = _create_scheduled_round(db, schedule, window, now)
            except (RoundError, exc.SQLAlchemyError) as error:
                log.warning("schedule %r: cannot create %s: %s", schedule.name, window.name, error)
                problems.append(f"schedule {schedule.name!r}: cannot create round {window.name}: {error}")
                continue
            if name:
                created.append(name)
    return created, problems


def due_actions(db: Database, now: datetime) -> list[int]:
    """Ids of the actions due and not done, in the order to run them."""
    with db.session() as session:
        rows = session.exec(
            select(RoundAction.id, RoundAction.kind, RoundAction.due_at).where(
                RoundAction.done_at.is_(None), RoundAction.due_at <= now
            )
        ).all()
    return [row[0] for row in sorted(rows, key=lambda r: (r[2], _KIND_ORDER[ActionKind(r[1])], r[0]))]


def _late(due_at: datetime, now: datetime) -> str:
    """ " 3 hours late" when an action ran well after its time, else ""."""
    late = now - due_at
    if late < LATE:
        return ""
    if late >= timedelta(days=2):
        return f" {late.days} days late"
    if late >= timedelta(hours=2):
        return f" {late // timedelta(hours=1)} hours late"
    return f" {late // timedelta(minutes=1)} minutes late"


def _earlier_pending(session: Session, action: RoundAction) -> bool:
    return (
        session.exec(
            select(RoundAction.id).where(
                RoundAction.round_id == action.round_id,
                RoundAction.done_at.is_(None),
                RoundAction.id != action.id,
                RoundAction.due_at < action.due_at,
            )
        ).first()
        is not None
    )


def _open(session: Session, settings: Settings, a_round: Round, action: RoundAction, now: datetime) -> str:
    if a_round.status != RoundStatus.SCHEDULED:
        return f"skipped: the round is {a_round.status} already"
    advance_round(session, a_round, RoundStatus.OPEN, now=now)
    late = _late(action.due_at, now)
    if a_round.closes_at <= now:
        return f"opened{late}; nobody invited: the round's close was already due"
    issue_invitations(session, a_round, settings.base_url, settings.secret_key)
    queued = outbox.queue_invitations(session, a_round.id, action.id, now)
    return f"opened{late}; {queued} invitations queued"


def _remind(session: Session, a_round: Round, action: RoundAction, now: datetime) -> str:
    if a_round.status != RoundStatus.OPEN:
        return f"skipped: the round is {a_round.status}"
    if a_round.closes_at <= now:
        return "skipped: the round's close was already due"
    later = session.exec(
        select(RoundAction.id).where(
            RoundAction.round_id == a_round.id,
            RoundAction.kind == ActionKind.REMIND,
            RoundAction.done_at.is_(None),
            RoundAction.due_at > action.due_at,
            RoundAction.due_at <= now,
        )
    ).first()
    if later is not None:
        return "skipped: a later reminder is due as well, and only that one goes out"
    opened_at = session.exec(
        select(RoundAction.done_at).where(
            RoundAction.round_id == a_round.id, RoundAction.kind == ActionKind.OPEN
        )
    ).first()
    if opened_at is not None and opened_at > action.due_at:
        return "skipped: the round opened after this reminder's time"
    queued = outbox.queue_reminders(session, a_round.id, action.id, now)
    late = _late(action.due_at, now)
    return f"{queued} reminders queued" + (f",{late}" if late else "")


def run_action(
    db: Database, settings: Settings, action_id: int, now: datetime | None = None
) -> ActionResult | None:
    """Carry out one round action now (whether or not it is due), exactly once: None if it was done already or
    by another process, or if an earlier action of its round is still pending (it must run first).

    open: the round opens, every active employee of its front-line teams is invited, and one invitation mail per
    invitation is queued; remind: one reminder per unanswered invitation is queued; close: the round closes and
    the order its answers arrived in is erased (`rounds.close_round`). Raises what the action raised; its
    transaction is then rolled back and the action stays pending."""
    now = now or utc_now()
    with db.session() as session:
        action = session.get(RoundAction, action_id)
        if action is None:
            raise RoundError(f"no round action {action_id}")
        if action.done_at is not None or _earlier_pending(session, action):
            return None
        round_name = session.get(Round, action.round_id).name
    if action.kind == ActionKind.CLOSE:
        if close_round(db, action.round_id, settings=settings, now=now, action_id=action.id) is None:
            return None
    else:
        with db.write_session() as session:
            a_round = lock_round(session, action.round_id)
            if not claim_action(session, action.id, now):
                return None
            if action.kind == ActionKind.OPEN:
                outcome = _open(session, settings, a_round, action, now)
            else:
                outcome = _remind(session, a_round, action, now)
            session.exec(
                update(RoundAction)
                .where(RoundAction.id == action.id)
                .values(outcome=outcome[:500])
                .execution_options(synchronize_session=False)
            )
    with db.session() as session:
        recorded = session.exec(select(RoundAction.outcome).where(RoundAction.id == action.id)).one()
    return ActionResult(action.id, action.round_id, round_name, action.kind, action.due_at, recorded or "")


def open_now(db: Database, settings: Settings, round_id: int, now: datetime | None = None) -> ActionResult:
    """HR's "Open now": the round's open action, run ahead of its time, so opening by hand invites and mails
    exactly as the schedule would have."""
    now = now or utc_now()
    with db.session() as session:
        a_round = session.get(Round, round_id)
        if a_round is None:
            raise RoundError(f"no round {round_id}")
        if a_round.status != RoundStatus.SCHEDULED:
            raise RoundError(
                f"round {a_round.name!r} is {a_round.status}; only a scheduled round can be opened"
            )
        refuse_unless_it_can_open(a_round.name, a_round.closes_at, now)
        action = session.exec(
            select(RoundAction).where(
                RoundAction.round_id == round_id,
                RoundAction.kind == ActionKind.OPEN,
                RoundAction.done_at.is_(None),
            )
        ).first()
        if action is None:  # a round from before rounds had actions
            action = RoundAction(round_id=round_id, kind=ActionKind.OPEN, due_at=now)
            session.add(action)
            session.commit()
    result = run_action(db, settings, action.id, now)
    if result is None:
        raise RoundError(f"round {a_round.name!r} is being opened by another process; reload the page")
    return result


ROUND_STEPS = ("open", "close", "publish")


def take_step(
    db: Database, settings: Settings, round_id: int, step: str, now: datetime | None = None
) -> None:
    """HR moves a round on by hand (a page or the API): `open` invites and mails as the schedule would have,
    `close` also erases the order answers arrived in, `publish` makes its reports visible to heads. Raises
    RoundError when the round is not at the step before."""
    now = now or utc_now()
    if step == "open":
        open_now(db, settings, round_id, now)
    elif step == "close":
        close_round(db, round_id, settings=settings, now=now)
    elif step == "publish":
        publish_round(db, round_id, now)
    else:
        raise ValueError(f"unknown step {step!r}; one of {', '.join(ROUND_STEPS)}")


def publish_round(db: Database, round_id: int, now: datetime) -> None:
    """Publish a closed round: its reports become visible to heads and executives. In the same transaction, one
    piece of work per report is queued (`reports.work`: any process renders them, report by report) and the
    results mails (`mail.results_mail`: each head and executive, and HR's summary), so publishing twice, or two
    processes at once, queue nothing twice. Raises RoundError when the round is not closed."""
    with db.write_session() as session:
        a_round = lock_round(session, find_round(session, round_id).id)
        advance_round(session, a_round, RoundStatus.PUBLISHED, now=now)
        report_work.queue_round_reports(session, a_round, now)
        results_mail.queue_results_mails(session, a_round, now)


def finish_interrupted_closes(db: Database, now: datetime) -> list[int]:
    """Erase again for rounds whose close was committed but whose erasing never finished (a process stopped)."""
    with db.session() as session:
        round_ids = session.exec(
            select(RoundAction.round_id).where(
                RoundAction.kind == ActionKind.CLOSE,
                RoundAction.outcome.contains(ERASING),
                col(RoundAction.done_at) <= now - ERASE_RETRY_AFTER,
            )
        ).all()
    for round_id in round_ids:
        erase_after_close(db, round_id)
    return list(round_ids)


def tick(
    db: Database, settings: Settings, now: datetime | None = None, *, results: bool = True
) -> TickReport:
    """One scheduler pass: create upcoming rounds, run every due action in due order, then (unless `results` is
    False) compute the results closed rounds need. Failures are reported (and logged), never raised: the failed
    action stays pending and is tried again next pass."""
    now = now or utc_now()
    report = TickReport(now)
    report.rounds_created, report.problems = plan_rounds(db, now)
    for action_id in due_actions(db, now):
        try:
            result = run_action(db, settings, action_id, now)
        except Exception as error:  # one failing round must not stop the others
            log.exception("round action %s failed", action_id)
            report.problems.append(f"round action {action_id} failed, will try again: {error}")
            continue
        if result is not None:
            report.actions.append(result)
    try:
        with db.write_session() as session:
            sign_in.prepare_requested_links(session, settings, now)
    except Exception as error:
        log.exception("preparing password links failed")
        report.problems.append(f"preparing requested password links failed, will try again: {error}")
    try:
        queue_action_reminders(db, now)
    except Exception as error:
        log.exception("queueing actions' reminders failed")
        report.problems.append(f"queueing reminders of actions' due dates failed, will try again: {error}")
    try:
        finish_interrupted_closes(db, now)
    except Exception as error:
        log.exception("erasing arrival order failed")
        report.problems.append(f"erasing the order answers arrived in failed, will try again: {error}")
    try:
        take_daily_snapshots(
            db, now
        )  # heads' count of the day, taken as the day starts while the server runs
    except Exception as error:
        log.exception("counting open rounds' participation failed")
        report.problems.append(f"counting open rounds' participation failed, will try again: {error}")
    if results:
        computed = _results_pass(db, settings, now)
        report.results, report.problems = computed.results, report.problems + computed.problems
        rendered = _reports_pass(db, settings, now)
        report.reports, report.problems = rendered.rendered, report.problems + rendered.problems
    return report


def _results_pass(
    db: Database, settings: Settings, now: datetime, stop: threading.Event | None = None
) -> results_work.ResultsReport:
    """`results_work.results_pass`, its own failure reported rather than raised."""
    try:
        return results_work.results_pass(db, settings, now, stop)
    except Exception as error:  # the database went away, say
        log.exception("computing results failed")
        return results_work.ResultsReport(problems=[f"computing results failed, will try again: {error}"])


def _reports_pass(
    db: Database, settings: Settings, now: datetime, stop: threading.Event | None = None
) -> report_work.ReportsReport:
    """`reports.work.reports_pass`, its own failure reported rather than raised."""
    try:
        return report_work.reports_pass(db, settings, now, stop)
    except Exception as error:  # the database went away, say
        log.exception("rendering reports failed")
        return report_work.ReportsReport(problems=[f"rendering reports failed, will try again: {error}"])


# --- running in the background ------------------------------------------------------------------------------------


async def run_scheduler(
    db: Database,
    settings: Settings,
    stop_event: asyncio.Event,
    *,
    interval: float = INTERVAL_SECONDS,
    clock: Callable[[], datetime] = utc_now,
) -> None:
    """Run `tick` and deliver mail every `interval` seconds (jittered, so processes spread out) until
    `stop_event` is set, and compute closed rounds' results in a thread of their own, a pass at a time, so that
    a long computation holds up neither. A failing pass is logged and the loop goes on. When stopping, results
    work under way is handed back at its next step."""
    stopping = threading.Event()
    results: asyncio.Task | None = None
    try:
        while not stop_event.is_set():
            try:
                report = await asyncio.to_thread(tick, db, settings, clock(), results=False)
                for line in report.lines():
                    log.info("%s", line)
                mailed = await delivery.deliver_pending(db, settings, clock())
                for line in mailed.lines():
                    log.info("%s", line)
            except Exception:  # the scheduler must outlive a bad pass (database restarting...)
                log.exception("scheduler pass failed; trying again in about %.0f s", interval)
            if results is None or results.done():
                results = asyncio.create_task(
                    asyncio.to_thread(_logged_results_pass, db, settings, clock, stopping)
                )
            with contextlib.suppress(TimeoutError):  # time for the next pass
                await asyncio.wait_for(stop_event.wait(), timeout=interval * random.uniform(0.8, 1.2))
    finally:
        stopping.set()
        if results is not None:
            await results


def _logged_results_pass(
    db: Database, settings: Settings, clock: Callable[[], datetime], stop: threading.Event
) -> None:
    """Compute closed rounds' results, then render published rounds' reports (which read those results)."""
    computed = _results_pass(db, settings, clock(), stop)
    for result in computed.results:
        log.info("%s", result.line())
    rendered = _reports_pass(db, settings, clock(), stop)
    for line in rendered.rendered:
        log.info("%s", line)
    for problem in computed.problems + rendered.problems:
        log.warning("Problem: %s", problem)


def scheduler_lifespan(db: Database, settings: Settings):
    """A lifespan context for the web app: runs `run_scheduler` while the app serves, if settings.scheduler.

    In `create_app`: `Litestar(..., lifespan=[scheduler_lifespan(db, settings)])`."""

    @asynccontextmanager
    async def lifespan(_app=None):
        if not settings.scheduler:
            yield
            return
        stop = asyncio.Event()
        task = asyncio.create_task(run_scheduler(db, settings, stop), name="survey scheduler")
        try:
            yield
        finally:
            stop.set()
            try:
                await asyncio.wait_for(task, timeout=60)
            except TimeoutError:  # a send hanging: it is found `uncertain` later, never resent by itself
                log.warning("the scheduler did not stop within 60 s; cancelled")

    return lifespan
