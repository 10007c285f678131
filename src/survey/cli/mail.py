"""`survey mail status|show|resend`: the outbox from the command line."""

from __future__ import annotations

import click

from survey.cli.context import database, load_settings


@click.group("mail")
def mail_group() -> None:
    """The outbox: invitations, reminders and password-reset mails."""


@mail_group.command("status")
def mail_status() -> None:
    """Count the outbox's messages by state, and list those that need a look."""
    from survey.mail.outbox import outbox, outbox_counts

    with database() as db:
        counts = outbox_counts(db)
        troubled = outbox(db, states=["failed", "uncertain", "retry"], limit=50)
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
    from survey.mail.outbox import render_message

    settings = load_settings()
    with database(settings) as db:
        rendered = render_message(db, settings, message_id)
    click.echo(f"To: {rendered.recipient}\nSubject: {rendered.subject}\n\n{rendered.text}")


@mail_group.command("resend")
@click.argument("message_id", type=click.IntRange(1, 2**31 - 1))
def mail_resend(message_id: int) -> None:
    """Send a failed, uncertain or stored message MESSAGE_ID again (an uncertain one may have arrived already)."""
    from survey.mail.outbox import resend

    settings = load_settings()
    with database(settings) as db:
        entry = resend(db, settings, message_id)
    click.echo(f"Message {entry.id} to {entry.recipient} goes out with the next scheduler pass.")
