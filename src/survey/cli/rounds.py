"""`survey round create|open|close|publish` and `survey invitations issue`."""

from __future__ import annotations

import contextlib
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import click

from survey.cli.context import CliError, database, load_settings
from survey.errors import Refused
from survey.imports.tabular import write_csv


def _utc_day(day: datetime) -> datetime:
    return datetime.combine(day.date(), time(0, 0), UTC)


@click.group("round")
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
@click.option(
    "--questionnaire-version",
    type=int,
    default=None,
    help="Version of the employee questionnaire the round asks; default: the newest.",
)
def round_create(
    name: str,
    opens: datetime,
    closes: datetime | None,
    days: int,
    units: tuple[str, ...],
    reminders: str,
    questionnaire_version: int | None,
) -> None:
    """Schedule a round NAME over the given units, with the newest instruments (or the employee questionnaire
    version given).

    The scheduler (the server, or `survey tick`) opens it at 00:00 UTC on its first day, mailing the invitations,
    and closes it at 00:00 UTC on its closing day; `survey round open/close` does either by hand."""
    from survey.rounds.lifecycle import create_round

    opens_at = _utc_day(opens)
    closes_at = _utc_day(closes) if closes else opens_at + timedelta(days=days)
    with database() as db, db.session() as session:
        try:
            reminder_days = [int(day) for day in reminders.replace(",", " ").split()]
        except ValueError:
            raise CliError(f"--reminders: give days after opening, e.g. 5,10, not {reminders!r}") from None
        a_round = create_round(
            session,
            name,
            opens_at,
            closes_at,
            units,
            reminders_at=[opens_at + timedelta(days=day) for day in reminder_days],
            internal_version=questionnaire_version,
        )
        click.echo(
            f"Round {a_round.id} {a_round.name!r} scheduled: {opens_at:%Y-%m-%d} to {closes_at:%Y-%m-%d}."
        )


def _take_step(reference: str, step: str) -> None:
    """Move a round on by hand, exactly as HR's page and the API do (see `scheduler.take_step`)."""
    from survey.rounds.lifecycle import find_round
    from survey.rounds.participation import participation_total
    from survey.rounds.scheduler import take_step

    settings = load_settings()
    with database(settings) as db:
        with db.session() as session:
            a_round = find_round(session, reference)
        if step == "close":
            click.echo("Closing, and erasing the order answers arrived in from storage...", err=True)
        take_step(db, settings, a_round.id, step)
        with db.session() as session:
            a_round = find_round(session, a_round.id)
            total = participation_total(session, a_round, settings.min_group_size)
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


@round_group.command("questionnaire")
@click.argument("round_ref", metavar="ROUND")
@click.argument("version", type=click.IntRange(min=1))
def round_questionnaire(round_ref: str, version: int) -> None:
    """Make ROUND (id or name), not yet open, ask VERSION of the employee questionnaire (see `survey round
    create --questionnaire-version`); refused once it has opened."""
    from survey.rounds.lifecycle import change_questionnaire, find_round

    with database() as db, db.session() as session:
        a_round = find_round(session, round_ref)
        questionnaire = change_questionnaire(session, a_round.id, version)
        click.echo(
            f"Round {a_round.name!r} will ask version {questionnaire.version} of the employee questionnaire: "
            f"{questionnaire.title}."
        )


@click.group()
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
    from survey.rounds.lifecycle import find_round, issue_invitations

    settings = load_settings()
    with database(settings) as db:
        try:
            # Open the output first: links are committed once issued, and shown only now.
            file = open(output, "w", newline="") if output else None  # noqa: SIM115 - closed below
        except OSError as error:
            raise CliError(f"--output: cannot write {output}: {error.strerror}") from None
        try:
            with db.session() as session:
                links = issue_invitations(
                    session, find_round(session, round_ref), settings.base_url, settings.secret_key
                )
        except Refused:
            if file and output:
                file.close()
                output.unlink(missing_ok=True)
            raise
    with file or contextlib.nullcontext(sys.stdout) as out:
        write_csv(out, [("email", "link"), *((issued.email, issued.link) for issued in links)])
    click.echo(f"Issued {len(links)} invitations. Keep the links safe: they cannot be shown again.", err=True)
