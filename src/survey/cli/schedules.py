"""`survey schedule create|update|list`, and `survey tick`: one pass of the scheduler, for cron."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from survey.cli.context import CliError, database, load_settings

if TYPE_CHECKING:
    from survey.rounds.scheduler import ScheduleInfo

# The command-line option behind each field of a schedule, for error messages.
_SCHEDULE_OPTIONS = {
    "name": "NAME",
    "months": "--months",
    "week": "--week",
    "weekday": "--weekday",
    "open_time": "--time",
    "days_open": "--days",
    "reminder_days": "--reminders",
    "timezone": "--timezone",
    "lead_days": "--lead-days",
    "units": "--unit",
    "schedule": "SCHEDULE",
}


@contextmanager
def _named_by_option() -> Iterator[None]:
    """A schedule refused field by field, each field named by the option that sets it."""
    from survey.rounds.rules import ScheduleError

    try:
        yield
    except ScheduleError as error:
        raise CliError(
            "\n".join(
                f"{_SCHEDULE_OPTIONS.get(field, field)}: {message}" for field, message in error.errors.items()
            )
        ) from None


def _echo_schedule(info: ScheduleInfo, verb: str) -> None:
    state = "" if info.active else " (paused)"
    click.echo(f"Schedule {info.id} {info.name!r}{state} {verb}: {info.description}.")
    click.echo(f"  Units: {', '.join(info.unit_codes) if info.unit_codes else 'every active unit'}.")
    if info.next_opens_at:
        click.echo(
            f"  Next round {info.next_round} opens {info.next_opens_at:%Y-%m-%d %H:%M} UTC; it is created "
            f"{info.lead_days} days ahead."
        )


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CliError(
            f"--now: expected an ISO 8601 time such as 2027-01-04T09:00:00+00:00, got {value!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@click.group("schedule")
def schedule_group() -> None:
    """Recurring rounds: when they open, remind and close."""


_schedule_options = [
    click.option("--months", help="Months that open a round, e.g. 1,4,7,10 or jan,apr,jul,oct."),
    click.option("--week", help="Week of the month: 1 to 4, or last."),
    click.option("--weekday", help="Day of the week: mon to sun."),
    click.option("--time", "open_time", help="Local opening time, HH:MM."),
    click.option("--days", "days_open", help="Days each round stays open."),
    click.option(
        "--reminders", "reminder_days", help="Reminder days after opening, e.g. 5,10 ('' for none)."
    ),
    click.option("--timezone", help="The organisation's IANA time zone, e.g. Europe/Berlin."),
    click.option("--lead-days", help="Days ahead that rounds are created."),
    click.option(
        "--unit", "units", multiple=True, help="Unit code taking part (repeat); default: all active."
    ),
]


def schedule_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_schedule_options):
        command = option(command)
    return command


@schedule_group.command("create")
@click.argument("name")
@schedule_options
def schedule_create(name: str, units: tuple[str, ...], **fields: str | None) -> None:
    """Add a schedule NAME (by default quarterly: the first Monday of Jan, Apr, Jul and Oct at 09:00, open 14
    days, reminders on days 5 and 10, in UTC: give --timezone)."""
    from survey.rounds.scheduler import create_schedule

    given: dict[str, Any] = {f: v for f, v in fields.items() if v is not None}
    with database() as db, db.session() as session, _named_by_option():
        _echo_schedule(create_schedule(session, name, units=units, **given), "created")


@schedule_group.command("update")
@click.argument("schedule_ref", metavar="SCHEDULE")
@click.option("--name", help="A new name.")
@click.option("--active/--paused", default=None, help="Resume or pause making rounds.")
@schedule_options
def schedule_update(
    schedule_ref: str, name: str | None, active: bool | None, units: tuple[str, ...], **fields: str | None
) -> None:
    """Change SCHEDULE (id or name). Rounds it created that have not opened yet are planned again."""
    from survey.rounds.scheduler import update_schedule

    given: dict[str, Any] = {f: v for f, v in fields.items() if v is not None}
    with database() as db, db.session() as session, _named_by_option():
        info = update_schedule(session, schedule_ref, name=name, active=active, units=units or None, **given)
        _echo_schedule(info, "updated")


@schedule_group.command("list")
def schedule_list() -> None:
    """Show every schedule."""
    from survey.rounds.scheduler import list_schedules

    with database() as db, db.session() as session:
        schedules = list_schedules(session)
    if not schedules:
        click.echo("No schedules yet: survey schedule create NAME")
    for info in schedules:
        _echo_schedule(info, "is")


@click.command("tick")
@click.option("--now", "now_text", hidden=True, help="Pretend it is this time (ISO 8601; UTC if no offset).")
def tick(now_text: str | None) -> None:
    """One scheduler pass, for cron: create upcoming rounds, open, remind and close rounds that are due, send
    mail. The server does this by itself every half minute unless SURVEY_SCHEDULER=false."""
    import asyncio

    from survey.mail.delivery import deliver_pending
    from survey.rounds.scheduler import tick as one_pass

    settings = load_settings()
    if not settings.secret_key:
        raise CliError(
            "SURVEY_SECRET_KEY is not set: the server's key, from which invitation links are derived."
        )
    now = _parse_now(now_text)
    with database(settings) as db:
        report = one_pass(db, settings, now)
        mailed = asyncio.run(deliver_pending(db, settings, now))
    lines = report.lines() + mailed.lines()
    for line in lines:
        click.echo(line)
    if not lines:
        click.echo("Nothing due.")
    if report.problems:
        sys.exit(1)
