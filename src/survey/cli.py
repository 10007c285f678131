"""The `survey` command: database, server, rounds, invitations, imports and the demo."""

from __future__ import annotations

import contextlib
import copy
import csv
import os
import secrets
import sys
from collections.abc import Callable
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from survey.db import Database, NotMigrated, upgrade
from survey.figures import import_external_figures
from survey.models import RoundStatus
from survey.roster import import_roster
from survey.rounds import (
    RoundError,
    advance_round,
    close_round,
    create_round,
    find_round,
    issue_invitations,
    response_rate,
)
from survey.settings import Settings, SettingsError
from survey.tabular import ImportFile


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
    config.setdefault("filters", {})["redact"] = {"()": "survey.web.RedactInvitations"}
    config["handlers"]["access"]["filters"] = ["redact"]
    return config


def run_server(host: str, port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run(
        "survey.app:create_app",
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
def round_create(
    name: str, opens: datetime, closes: datetime | None, days: int, units: tuple[str, ...]
) -> None:
    """Schedule a round NAME over the given units, with the newest instruments."""
    db = migrated_database(load_settings())
    opens_at = _utc_day(opens)
    closes_at = _utc_day(closes) if closes else opens_at + timedelta(days=days)
    try:
        with db.session() as session:
            a_round = create_round(session, name, opens_at, closes_at, units)
            click.echo(
                f"Round {a_round.id} {a_round.name!r} scheduled: {opens_at:%Y-%m-%d} to {closes_at:%Y-%m-%d}."
            )
    except RoundError as error:
        raise CliError(str(error)) from None
    finally:
        db.dispose()


def _advance(reference: str, to: RoundStatus) -> None:
    db = migrated_database(load_settings())
    try:
        if to == RoundStatus.CLOSED:
            click.echo("Closing, and erasing the order answers arrived in from storage...", err=True)
            a_round = close_round(db, reference)
        else:
            with db.session() as session:
                a_round = advance_round(session, find_round(session, reference), to)
        with db.session() as session:
            answered, invited = response_rate(session, a_round)
        click.echo(f"Round {a_round.name!r} is {to}. Answered {answered} of {invited} invitations.")
    except RoundError as error:
        raise CliError(str(error)) from None
    finally:
        db.dispose()


@round_group.command("open")
@click.argument("round_ref", metavar="ROUND")
def round_open(round_ref: str) -> None:
    """Open ROUND (id or name) for answers."""
    _advance(round_ref, RoundStatus.OPEN)


@round_group.command("close")
@click.argument("round_ref", metavar="ROUND")
def round_close(round_ref: str) -> None:
    """Close ROUND (id or name): no more answers; its data is frozen."""
    _advance(round_ref, RoundStatus.CLOSED)


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

    from survey import accounts
    from survey.models import Role

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


# --- demo -------------------------------------------------------------------------------------------------


@main.command()
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--seed", default=2026, show_default=True, type=int, help="Seed of the synthetic data.")
@click.option("--no-serve", is_flag=True, help="Build the demo database and stop.")
def demo(port: int, seed: int, no_serve: bool) -> None:
    """Create or reset survey-demo.db here with a realistic organisation, then serve it."""
    from survey.demo import DEMO_DATABASE, DEMO_PASSWORD, build_demo

    base_url = f"http://127.0.0.1:{port}"
    path = Path.cwd() / DEMO_DATABASE
    secret_key = os.environ.get("SURVEY_SECRET_KEY") or secrets.token_urlsafe(32)
    info = build_demo(
        path, base_url, secret_key, seed=seed, progress=lambda step: click.echo(f"  {step}...", err=True)
    )
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
        f"Answer the employee survey, then open its link again: it will say you already answered.\n"
        f"More links for the open round: SURVEY_DATABASE_URL=sqlite:///{DEMO_DATABASE} survey invitations issue ..."
    )
    if no_serve:
        return
    os.environ.update(
        SURVEY_DATABASE_URL=f"sqlite:///{path}",
        SURVEY_SECRET_KEY=secret_key,
        SURVEY_BASE_URL=base_url,
        SURVEY_COOKIE_SECURE="false",  # plain HTTP on this machine only
    )
    click.echo(f"\nServing on {base_url} (Ctrl+C to stop)\n", err=True)
    run_server("127.0.0.1", port, workers=1)


if __name__ == "__main__":
    main()
