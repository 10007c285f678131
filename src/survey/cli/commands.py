"""The `survey` command: database, server, rounds, invitations, imports, schedules, mail, accounts and the demo."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import csv
import os
import secrets
import shutil
import sys
from collections.abc import Callable
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from survey.db.engine import Database, NotMigrated, upgrade
from survey.imports.figures import import_external_figures
from survey.mail.outbox import MailError, deliver_pending, outbox, outbox_counts, render_message, resend
from survey.db.models import Round
from survey.imports.roster import import_roster
from survey.rounds.lifecycle import RoundError, create_round, find_round, issue_invitations, participation_total
from survey.rounds.rules import ScheduleError
from survey.rounds.scheduler import create_schedule, list_schedules, take_step, tick, update_schedule
from survey.settings import Settings, SettingsError
from survey.imports.tabular import ImportFile


class CliError(click.ClickException):
    """A user error: the message says what is wrong; exit code 2, like a usage error."""

    exit_code = 2


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as error:
        raise CliError(str(error)) from None


def open_database(settings: Settings) -> Database:
    try:
        return Database(settings.database_url)
    except Exception as error:  # a URL SQLAlchemy cannot read: bad port, unknown driver...
        raise CliError(f"SURVEY_DATABASE_URL: {error}") from None


def migrated_database(settings: Settings) -> Database:
    db = open_database(settings)
    try:
        db.check_migrated()
    except NotMigrated as error:
        db.dispose()
        raise CliError(str(error)) from None
    except Exception as error:  # unreachable server, bad credentials, not a database file...
        db.dispose()
        raise CliError(
            f"cannot use the database {db.safe_url}: {error.__class__.__name__}: {error}"
        ) from None
    return db


@click.group()
def main() -> None:
    """survey: internal versus external service quality. Settings come from SURVEY_* environment variables."""


# --- database ---------------------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (creates the tables and default instruments on a new database)."""
    settings = load_settings()
    db = open_database(settings)
    db.dispose()
    try:
        upgrade(settings.database_url)
    except Exception as error:
        raise CliError(f"could not migrate {db.safe_url}: {error}") from None
    click.echo(f"Database {db.safe_url} is up to date.", err=True)


# --- server -----------------------------------------------------------------------------------------------


def uvicorn_log_config() -> dict:
    """Uvicorn's logging, with invitation tokens and survey takers' addresses kept out of the access log."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact"] = {"()": "survey.web.errors.RedactInvitations"}
    config["handlers"]["access"]["filters"] = ["redact"]
    return config


def run_server(host: str, port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run(
        "survey.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=uvicorn_log_config(),
        proxy_headers=True,
        server_header=False,
    )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Server processes.")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web application."""
    settings = load_settings()
    if not settings.secret_key:
        raise CliError(
            "SURVEY_SECRET_KEY is not set. Set it to a long random string, the same for every process."
        )
    if workers > 1 and settings.database_url.startswith("sqlite"):
        click.echo("Note: several processes on SQLite share one writer; PostgreSQL scales further.", err=True)
    migrated_database(settings).dispose()
    run_server(host, port, workers)


# --- rounds -----------------------------------------------------------------------------------------------


def _utc_day(day: datetime) -> datetime:
    return datetime.combine(day.date(), time(0, 0), timezone.utc)


@main.group("round")
def round_group() -> None:
    """Create, open and close survey rounds."""


@round_group.command("create")
@click.argument("name")
@click.option(
    "--opens", "opens", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day (YYYY-MM-DD, UTC)."
)
@click.option(
    "--closes", type=click.DateTime(["%Y-%m-%d"]), help="Day it closes (YYYY-MM-DD); default: after --days."
)
@click.option(
    "--days", default=14, show_default=True, type=click.IntRange(1, 366), help="Days it stays open."
)
@click.option(
    "--unit", "units", multiple=True, help="Unit code taking part (repeat); default: all active units."
)
@click.option(
    "--reminders", default="", help="Days after opening to remind those who have not answered, e.g. 5,10."
)
def round_create(
    name: str, opens: datetime, closes: datetime | None, days: int, units: tuple[str, ...], reminders: str
) -> None:
    """Schedule a round NAME over the given units, with the newest instruments.

    The scheduler (the server, or `survey tick`) opens it at 00:00 UTC on its first day, mailing the invitations,
    and closes it at 00:00 UTC on its closing day; `survey round open/close` does either by hand."""
    db = migrated_database(load_settings())
    opens_at = _utc_day(opens)
    closes_at = _utc_day(closes) if closes else opens_at + timedelta(days=days)
    try:
        reminder_days = [int(day) for day in reminders.replace(",", " ").split()]
    except ValueError:
        db.dispose()
        raise CliError(f"--reminders: give days after opening, e.g. 5,10, not {reminders!r}") from None
    try:
        with db.session() as session:
            a_round = create_round(
                session,
                name,
                opens_at,
                closes_at,
                units,
                reminders_at=[opens_at + timedelta(days=day) for day in reminder_days],
            )
            click.echo(
                f"Round {a_round.id} {a_round.name!r} scheduled: {opens_at:%Y-%m-%d} to {closes_at:%Y-%m-%d}."
            )
    except RoundError as error:
        raise CliError(str(error)) from None
    finally:
        db.dispose()


def _take_step(reference: str, step: str) -> None:
    """Move a round on by hand, exactly as HR's page and the API do (see `scheduler.take_step`)."""
    settings = load_settings()
    db = migrated_database(settings)
    try:
        with db.session() as session:
            round_id = find_round(session, reference).id
        if step == "close":
            click.echo("Closing, and erasing the order answers arrived in from storage...", err=True)
        take_step(db, settings, round_id, step)
        with db.session() as session:
            a_round = session.get(Round, round_id)
            total = participation_total(session, round_id, settings.min_group_size)
    except RoundError as error:
        raise CliError(str(error)) from None
    finally:
        db.dispose()
    answered = (
        "the number answered is hidden (too few invited)"
        if total.answered is None
        else f"{total.answered} answered"
    )
    click.echo(f"Round {a_round.name!r} is {a_round.status}: {total.invited} invited, {answered}.")


@round_group.command("open")
@click.argument("round_ref", metavar="ROUND")
def round_open(round_ref: str) -> None:
    """Open ROUND (id or name) now: its front-line staff are invited and their invitation mails queued."""
    _take_step(round_ref, "open")


@round_group.command("close")
@click.argument("round_ref", metavar="ROUND")
def round_close(round_ref: str) -> None:
    """Close ROUND (id or name): no more answers; its data is frozen."""
    _take_step(round_ref, "close")


@round_group.command("publish")
@click.argument("round_ref", metavar="ROUND")
def round_publish(round_ref: str) -> None:
    """Publish ROUND (id or name), closed before: its reports become visible to heads."""
    _take_step(round_ref, "publish")


# --- invitations ------------------------------------------------------------------------------------------


@main.group()
def invitations() -> None:
    """Personal survey links for employees."""


@invitations.command("issue")
@click.argument("round_ref", metavar="ROUND")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), help="CSV file."
)
def invitations_issue(round_ref: str, output: Path | None) -> None:
    """Print email,link for each active employee of ROUND's front-line teams not invited yet.

    The links are shown this once: only their hashes are stored.
    """
    settings = load_settings()
    db = migrated_database(settings)
    try:
        # Open the output first: links are committed once issued, and shown only now.
        stream = open(output, "w", newline="") if output else contextlib.nullcontext(sys.stdout)
    except OSError as error:
        db.dispose()
        raise CliError(f"--output: cannot write {output}: {error.strerror}") from None
    try:
        with db.session() as session:
            links = issue_invitations(
                session, find_round(session, round_ref), settings.base_url, settings.secret_key
            )
    except RoundError as error:
        if output:
            stream.close()
            output.unlink(missing_ok=True)
        raise CliError(str(error)) from None
    finally:
        db.dispose()
    with stream as out:
        writer = csv.writer(out)
        writer.writerow(["email", "link"])
        writer.writerows((issued.email, issued.link) for issued in links)
    click.echo(f"Issued {len(links)} invitations. Keep the links safe: they cannot be shown again.", err=True)


# --- accounts ---------------------------------------------------------------------------------------------


@main.group()
def user() -> None:
    """Accounts for HR, department heads and executives."""


@user.command("create")
@click.argument("email")
@click.option(
    "--role", required=True, type=click.Choice(["hr", "head", "executive"]), help="What the account may see."
)
@click.option("--name", default="", help="The person's name (default: from the e-mail address).")
@click.option("--unit", "units", multiple=True, help="For a department head: a unit code (repeat).")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input instead of prompting."
)
@click.option(
    "--send-link",
    is_flag=True,
    help="Set no password; mail the person a link to set one (or keep it in the outbox).",
)
def user_create(
    email: str, role: str, name: str, units: tuple[str, ...], password_stdin: bool, send_link: bool
) -> None:
    """Create an account for EMAIL."""
    from datetime import UTC

    from survey.accounts import users as accounts
    from survey.db.models import Role

    settings = load_settings()
    if send_link and password_stdin:
        raise CliError("choose one of --password-stdin and --send-link")
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not send_link:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    db = migrated_database(settings)
    try:
        with db.session() as session:
            created = accounts.create_user(session, email, name, Role(role), units, password)
            if send_link:
                accounts.start_password_reset(session, created.email, settings, datetime.now(UTC))
    except accounts.AccountError as error:
        raise CliError(str(error)) from None
    finally:
        db.dispose()
    how = "a link to set the password is in the outbox" if send_link else "they can log in at /login"
    click.echo(f"Account {created.email} ({role}) created; {how}.")


# --- imports ----------------------------------------------------------------------------------------------

COMMAND_LINE = "command line"  # the ImportRun actor of imports run here


def read_import_files(paths: tuple[Path, ...]) -> list[ImportFile]:
    """The files' bytes, each named as given on the command line (problems point at that name)."""
    files = []
    for path in paths:
        try:
            files.append(ImportFile(str(path), path.read_bytes()))
        except OSError as error:
            raise CliError(f"cannot read {path}: {error.strerror or error}") from None
    return files


def run_import(importer: Callable, paths: tuple[Path, ...], dry_run: bool) -> None:
    """Read the files and import them with `importer` (`import_roster` or `import_external_figures`). Print
    each problem as FILE:LINE: column COLUMN: message and exit 2, or print the summary."""
    files = read_import_files(paths)
    db = migrated_database(load_settings())
    try:
        report = importer(db, files, actor=COMMAND_LINE, dry_run=dry_run)
    except SQLAlchemyError as error:  # locked, connection lost...: the transaction was rolled back
        raise CliError(
            f"the database {db.safe_url} failed during the import ({error.__class__.__name__});"
            " nothing was imported"
        ) from None
    finally:
        db.dispose()
    if report.problems:
        for problem in report.problems:
            click.echo(str(problem), err=True)
        raise CliError(report.summary())
    click.echo(report.summary())
    for note in getattr(report, "notes", ()):
        click.echo(f"Note: {note}", err=True)


_FILES = click.argument("paths", metavar="FILE...", nargs=-1, required=True, type=Path)
_DRY_RUN = click.option(
    "--dry-run", is_flag=True, help="Check the files and show what would change; write nothing."
)


@main.group()
def roster() -> None:
    """The organisation: units and employees."""


@roster.command("import")
@_FILES
@_DRY_RUN
def roster_import(paths: tuple[Path, ...], dry_run: bool) -> None:
    """Import units and/or employees from CSV or XLSX files (see examples/README.md).

    All files are checked together and every problem is listed; nothing is written unless there are none.
    Units and employees a file leaves out are deactivated, never deleted.
    """
    run_import(import_roster, paths, dry_run)


@main.group()
def external() -> None:
    """Customer figures from other tools: CSAT, NPS and CES per front-line team and round."""


@external.command("import")
@_FILES
@_DRY_RUN
def external_import(paths: tuple[Path, ...], dry_run: bool) -> None:
    """Import external figures from CSV or XLSX files (see examples/README.md).

    Every problem is listed and nothing is written unless there are none. A figure for the same round, team
    and metric replaces the stored one.
    """
    run_import(import_external_figures, paths, dry_run)


# --- schedules and the scheduler ---------------------------------------------------------------------------

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


def _schedule_error(error: ScheduleError) -> CliError:
    return CliError(
        "\n".join(
            f"{_SCHEDULE_OPTIONS.get(field, field)}: {message}" for field, message in error.errors.items()
        )
    )


def _echo_schedule(info, verb: str) -> None:
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
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@main.group("schedule")
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


def schedule_options(command):
    for option in reversed(_schedule_options):
        command = option(command)
    return command


@schedule_group.command("create")
@click.argument("name")
@schedule_options
def schedule_create(name: str, units: tuple[str, ...], **fields: str | None) -> None:
    """Add a schedule NAME (by default quarterly: the first Monday of Jan, Apr, Jul and Oct at 09:00, open 14
    days, reminders on days 5 and 10, in UTC: give --timezone)."""
    db = migrated_database(load_settings())
    given = {f: v for f, v in fields.items() if v is not None}
    try:
        with db.session() as session:
            _echo_schedule(create_schedule(session, name, units=units, **given), "created")
    except ScheduleError as error:
        raise _schedule_error(error) from None
    finally:
        db.dispose()


@schedule_group.command("update")
@click.argument("schedule_ref", metavar="SCHEDULE")
@click.option("--name", help="A new name.")
@click.option("--active/--paused", default=None, help="Resume or pause making rounds.")
@schedule_options
def schedule_update(schedule_ref: str, name: str | None, active: bool | None, units, **fields) -> None:
    """Change SCHEDULE (id or name). Rounds it created that have not opened yet are planned again."""
    db = migrated_database(load_settings())
    given = {f: v for f, v in fields.items() if v is not None}
    try:
        with db.session() as session:
            info = update_schedule(
                session, schedule_ref, name=name, active=active, units=units or None, **given
            )
            _echo_schedule(info, "updated")
    except ScheduleError as error:
        raise _schedule_error(error) from None
    finally:
        db.dispose()


@schedule_group.command("list")
def schedule_list() -> None:
    """Show every schedule."""
    db = migrated_database(load_settings())
    try:
        with db.session() as session:
            schedules = list_schedules(session)
    finally:
        db.dispose()
    if not schedules:
        click.echo("No schedules yet: survey schedule create NAME")
    for info in schedules:
        _echo_schedule(info, "is")


@main.command("tick")
@click.option("--now", "now_text", hidden=True, help="Pretend it is this time (ISO 8601; UTC if no offset).")
def tick_command(now_text: str | None) -> None:
    """One scheduler pass, for cron: create upcoming rounds, open, remind and close rounds that are due, send
    mail. The server does this by itself every half minute unless SURVEY_SCHEDULER=false."""
    settings = load_settings()
    if not settings.secret_key:
        raise CliError(
            "SURVEY_SECRET_KEY is not set: the server's key, from which invitation links are derived."
        )
    now = _parse_now(now_text)
    db = migrated_database(settings)
    try:
        report = tick(db, settings, now)
        delivery = asyncio.run(deliver_pending(db, settings, now))
    finally:
        db.dispose()
    lines = report.lines() + delivery.lines()
    for line in lines:
        click.echo(line)
    if not lines:
        click.echo("Nothing due.")
    if report.problems:
        sys.exit(1)


@main.group("mail")
def mail_group() -> None:
    """The outbox: invitations, reminders and password-reset mails."""


@mail_group.command("status")
def mail_status() -> None:
    """Count the outbox's messages by state, and list those that need a look."""
    db = migrated_database(load_settings())
    try:
        counts = outbox_counts(db)
        troubled = outbox(db, states=["failed", "uncertain", "retry"], limit=50)
    finally:
        db.dispose()
    click.echo(", ".join(f"{state} {n}" for state, n in counts.items()))
    for entry in troubled:
        when = f"next try {entry.next_attempt_at:%Y-%m-%d %H:%M} UTC; " if entry.state == "retry" else ""
        click.echo(
            f"  {entry.id} {entry.kind} to {entry.recipient}: {entry.state} after {entry.attempts} attempts; "
            f"{when}{entry.last_error or ''}"
        )


@mail_group.command("show")
@click.argument("message_id", type=click.IntRange(1, 2**31 - 1))
def mail_show(message_id: int) -> None:
    """Print message MESSAGE_ID as its recipient reads it (with its personal link)."""
    settings = load_settings()
    db = migrated_database(settings)
    try:
        rendered = render_message(db, settings, message_id)
    except MailError as error:
        raise CliError(str(error)) from None
    finally:
        db.dispose()
    click.echo(f"To: {rendered.recipient}\nSubject: {rendered.subject}\n\n{rendered.text}")


@mail_group.command("resend")
@click.argument("message_id", type=click.IntRange(1, 2**31 - 1))
def mail_resend(message_id: int) -> None:
    """Send a failed, uncertain or stored message MESSAGE_ID again (an uncertain one may have arrived already)."""
    settings = load_settings()
    db = migrated_database(settings)
    try:
        entry = resend(db, settings, message_id)
    except MailError as error:
        raise CliError(str(error)) from None
    finally:
        db.dispose()
    click.echo(f"Message {entry.id} to {entry.recipient} goes out with the next scheduler pass.")


# --- demo -------------------------------------------------------------------------------------------------


# --- analytics --------------------------------------------------------------------------------------------


@main.command()
@click.option(
    "--teams", type=click.IntRange(2, 2000), default=60, show_default=True, help="Front-line teams."
)
@click.option(
    "--functions", type=click.IntRange(2, 10), default=8, show_default=True, help="Support functions."
)
@click.option("--staff", type=click.IntRange(1, 500), default=12, show_default=True, help="Staff per team.")
@click.option(
    "--customers",
    type=click.IntRange(0, 5000),
    default=150,
    show_default=True,
    help="Customers per team and round.",
)
@click.option(
    "--rounds", type=click.IntRange(3, 12), default=5, show_default=True, help="Quarterly rounds, all closed."
)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--nothing-planted", is_flag=True, help="No story: differences are noise and stable team effects only."
)
@click.option(
    "--truth",
    "truth_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the planted truth here (JSON).",
)
def simulate(teams, functions, staff, customers, rounds, seed, nothing_planted, truth_file) -> None:
    """Fill an empty database with a synthetic organisation and closed quarterly rounds with a known story: a
    support function whose drop for some teams comes before those teams' customer drop, a decoy function that
    drops with no customer effect, customer-only drops, and noise. For trying out and validating the analytics."""
    import json

    from sqlmodel import select

    from survey.demo.build import simulate_into
    from survey.db.models import Unit
    from survey.demo.simulation import OrgShape

    settings = load_settings()
    db = migrated_database(settings)
    try:
        with db.session() as session:
            if session.exec(select(Unit.id).limit(1)).first() is not None:
                raise CliError(
                    f"{db.safe_url} already holds an organisation: simulate into an empty database"
                )
        shape = OrgShape(
            functions=functions,
            teams=teams,
            staff_per_team=staff,
            customers_per_team=customers,
            rounds=rounds,
        )
        sim = simulate_into(
            db,
            shape,
            seed,
            planted=not nothing_planted,
            progress=lambda step: click.echo(f"  {step}...", err=True),
        )
    finally:
        db.dispose()
    click.echo(sim.describe())
    if truth_file:
        truth = sim.truth
        codes = lambda indexes: [sim.teams[i].code for i in indexes]  # noqa: E731
        truth_file.write_text(
            json.dumps(
                {
                    "planted": sim.planted,
                    "rounds": sim.round_names,
                    "driver": sim.functions[truth.driver].code if sim.planted else None,
                    "driver_teams": codes(truth.driver_teams) if sim.planted else [],
                    "decoy": sim.functions[truth.decoy].code if sim.planted else None,
                    "decoy_teams": codes(truth.decoy_teams) if sim.planted else [],
                    "customer_only_teams": codes(truth.customer_only_teams) if sim.planted else [],
                    "internal_drop_round": sim.round_names[truth.internal_drop_round]
                    if sim.planted
                    else None,
                },
                indent=2,
            )
            + "\n"
        )


@main.command()
@click.argument("round_ref", metavar="ROUND")
@click.option(
    "--outcome",
    type=click.Choice(["csat_pct", "nps", "ces", "csat"]),
    help="The customer outcome: CSAT%, NPS, CES or mean satisfaction. Default: CSAT% if at least 8 teams have "
    "it, else the first of the others that does.",
)
def linkage(round_ref: str, outcome: str | None) -> None:
    """Print a closed round's linkage: the drivers with their evidence, and the hotspots."""
    from survey.analysis import analytics

    settings = load_settings()
    db = migrated_database(settings)
    try:
        with db.session() as session:
            round_id = find_round(session, round_ref).id
        result = analytics.linkage(db, round_id, settings.min_group_size, outcome)
    except (RoundError, analytics.NotReleased) as error:
        raise CliError(str(error)) from None
    finally:
        db.dispose()
    click.echo(result["message"])
    for driver in result["drivers"]:
        click.echo(f"- {driver['sentence']}")
    if result["hotspots"]:
        click.echo("Hotspots, by estimated impact:")
        for hotspot in result["hotspots"]:
            click.echo(f"- {hotspot['sentence']}")


@main.command()
@click.argument("round_ref", metavar="ROUND")
@click.option(
    "--unit",
    "unit_code",
    metavar="CODE",
    help="The support function, front-line team or group the report is for. Without it: the executive report "
    "of the whole organisation.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The PDF file to write.",
)
def report(round_ref: str, unit_code: str | None, output: Path) -> None:
    """Render one report of a closed round as a PDF."""
    from survey.analysis import analytics
    from survey.reports import render as reports

    settings = load_settings()
    db = migrated_database(settings)
    try:
        with db.session() as session:
            a_round = find_round(session, round_ref)
            ref = reports.report_by_code(session, a_round, unit_code)
        if not output.parent.is_dir():
            raise click.BadParameter(f"the folder {str(output.parent)!r} does not exist", param_hint="'-o'")
        reports.write_report(
            reports.report_context(reports.round_data(db, a_round.id, settings), ref), output
        )
    except (RoundError, reports.ReportNotFound, analytics.NotReleased) as error:
        raise CliError(str(error)) from None
    except OSError as error:
        raise CliError(f"cannot write {str(output)!r}: {error.strerror or error}") from None
    finally:
        db.dispose()
    click.echo(f"{ref.kind_title} for {ref.name}, round {a_round.name}: {output}")


@main.command()
@click.argument("round_ref", metavar="ROUND")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder to write the PDFs into (made if missing); each is named after its unit's code.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Processes rendering at once. Default: one per core.",
)
def reports(round_ref: str, output: Path, workers: int | None) -> None:
    """Render every report of a closed round: the executive one, each group's, each support function's and each
    front-line team's."""
    from survey.analysis import analytics
    from survey.reports import render as reporting

    settings = load_settings()
    db = migrated_database(settings)
    try:
        with db.session() as session:
            a_round = find_round(session, round_ref)
            refs = reporting.round_reports(session, a_round)
        with click.progressbar(
            length=len(refs), label=f"Rendering {len(refs)} reports", file=sys.stderr
        ) as bar:
            written = reporting.render_round(
                db, a_round.id, settings, output, refs, workers, progress=lambda _: bar.update(1)
            )
    except (RoundError, analytics.NotReleased) as error:
        raise CliError(str(error)) from None
    except OSError as error:
        raise CliError(f"cannot write into {str(output)!r}: {error.strerror or error}") from None
    finally:
        db.dispose()
    click.echo(f"{len(written)} reports of round {a_round.name} in {output}")


@main.command()
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--seed", default=2026, show_default=True, type=int, help="Seed of the synthetic data.")
@click.option("--no-serve", is_flag=True, help="Build the demo database and stop.")
@click.option(
    "--no-reports",
    is_flag=True,
    help="Do not render the reports now (about 20 s): each renders when downloaded.",
)
def demo(port: int, seed: int, no_serve: bool, no_reports: bool) -> None:
    """Create or reset survey-demo.db here with a realistic organisation, then serve it."""
    from survey.demo.build import DEMO_DATABASE, DEMO_PASSWORD, DEMO_REPORTS, build_demo, render_demo_reports

    base_url = f"http://127.0.0.1:{port}"
    path = Path.cwd() / DEMO_DATABASE
    secret_key = os.environ.get("SURVEY_SECRET_KEY") or secrets.token_urlsafe(32)

    def progress(step: str) -> None:
        click.echo(f"  {step}...", err=True)

    info = build_demo(path, base_url, secret_key, seed=seed, progress=progress)
    reports_dir = Path.cwd() / DEMO_REPORTS
    shutil.rmtree(reports_dir, ignore_errors=True)
    folder = None if no_reports else render_demo_reports(info, reports_dir, progress)
    click.echo(
        f"\nDemo ready in {info.database.name}: {info.summary}.\n"
        f"Planted story: {info.planted}\n\n"
        f"Open next:\n"
        f"  Employee survey (a personal link; it works once): {info.employee_link}\n"
        f"  Customer survey for {info.customer_team}: {info.customer_link}\n"
        f"  Health check: {base_url}/health\n\n"
        f"Log in at {base_url}/login (password for every demo account: {DEMO_PASSWORD}):\n"
        + "".join(f"  {email:<28} {sees}\n" for email, sees in info.accounts)
        + "\n"
        "Answer the employee survey, then open its link again: it will say you already answered.\n"
        "Every employee's invitation mail is in the outbox: log in as HR and open Outbox.\n\n"
        + (
            f"PDF reports of the published round, one per unit and one for the organisation: {folder}\n"
            if folder
            else ""
        )
        + f"  Signed in, download the reports at {base_url}/reports (heads see their own units' only); HR finds "
        "them on the round's page."
    )
    if no_serve:
        return
    os.environ.update(
        SURVEY_DATABASE_URL=f"sqlite:///{path}",
        SURVEY_SECRET_KEY=secret_key,
        SURVEY_BASE_URL=base_url,
        SURVEY_COOKIE_SECURE="false",  # plain HTTP on this machine only
        SURVEY_REPORTS_DIR=str(reports_dir),  # the reports rendered above, served from there
    )
    click.echo(f"\nServing on {base_url} (Ctrl+C to stop)\n", err=True)
    run_server("127.0.0.1", port, workers=1)


if __name__ == "__main__":
    main()
