"""`survey user create` (the first HR account, and any other) and `survey token create` (an API token for an
integration, without a browser)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from survey.cli.context import CliError, database, load_settings


@click.group()
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
    from sqlmodel import col, select

    from survey.accounts.sign_in import start_password_reset
    from survey.accounts.users import create_user
    from survey.db.models import OutboxMessage, Role

    settings = load_settings()
    if send_link and password_stdin:
        raise CliError("choose one of --password-stdin and --send-link")
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not send_link:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    how = "they can log in at /login"
    with database(settings) as db, db.session() as session:
        created = create_user(session, email, name, Role(role), units, password)
        if send_link:
            start_password_reset(session, created.email, settings, datetime.now(UTC))
            message_id = session.exec(
                select(OutboxMessage.id)
                .where(OutboxMessage.recipient == created.email)
                .order_by(col(OutboxMessage.id).desc())
            ).first()
            # The browser never shows a link the operator made: `survey mail show` prints it, for the operator.
            how = f"the mail with a link to set the password is message {message_id} (survey mail show {message_id})"
    click.echo(f"Account {created.email} ({role}) created; {how}.")


@click.group()
def token() -> None:
    """API tokens for integrations (HR's API tokens page lists and revokes them)."""


@token.command("create")
@click.argument("name")
@click.option(
    "--owner",
    required=True,
    metavar="EMAIL",
    help="The active HR account making the token, as if signed in on the API tokens page.",
)
@click.option(
    "--scope",
    "scopes",
    metavar="SCOPE",
    required=True,
    multiple=True,
    help="What the token may do, e.g. roster:read (repeat, or separate with commas); an unknown scope is "
    "refused with the list of known ones.",
)
def token_create(name: str, owner: str, scopes: tuple[str, ...]) -> None:
    """Make an API token for NAME (what will use it). The token is printed on standard output this once: only
    its hash is kept. Integrations send it as `Authorization: Bearer <token>`."""
    from survey.accounts.api_tokens import create_api_token, token_owner

    chosen = [scope for given in scopes for scope in given.replace(",", " ").split()]
    with database() as db, db.session() as session:
        maker = token_owner(session, owner)
        row, secret = create_api_token(session, name, chosen, maker, datetime.now(UTC))
    click.echo(secret)
    click.echo(
        f"API token {row.id} {row.name!r} ({row.scopes}) made by {maker.email}. Copy it now: it is not shown "
        "again.",
        err=True,
    )
