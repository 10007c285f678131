"""`survey actions list|show`: action plans from the command line, as HR sees them."""

from __future__ import annotations

from collections.abc import Sequence

import click

from survey.cli.context import CliError, database

STATUSES = ("planned", "under_way", "done", "dropped")


@click.group("actions")
def actions_group() -> None:
    """Action plans: what the support functions will change, by when, and where they stand."""


@actions_group.command("list")
@click.option(
    "--round", "round_id", type=click.IntRange(1, 2**31 - 1), help="Only this round's actions (its id)."
)
@click.option("--function", "function_code", help="Only this support function's actions (its code).")
@click.option("--status", type=click.Choice(STATUSES), help="Only actions with this status.")
@click.option("--overdue", is_flag=True, help="Only actions past their due date and not done or dropped.")
def actions_list(round_id: int | None, function_code: str | None, status: str | None, overdue: bool) -> None:
    """List actions as a table: overdue ones first, then open ones by due date, then done and dropped ones."""
    from sqlmodel import select

    from survey.actions import store
    from survey.db.models import Unit, utc_now
    from survey.vocabulary import UnitKind

    with database() as db, db.session() as session:
        function_id = None
        if function_code is not None:
            function_id = session.exec(
                select(Unit.id).where(Unit.code == function_code.strip(), Unit.kind == UnitKind.SUPPORT)
            ).first()
            if function_id is None:
                raise CliError(f"--function: no support function with code {function_code!r}")
        wanted = store.ActionFilter(round_id, function_id, status, True if overdue else None)
        views = store.list_actions(session, store.api_reader("command line"), utc_now().date(), wanted)
    rows = [
        (
            str(v.id),
            v.status + (" (overdue)" if v.overdue else ""),
            v.due_on.isoformat(),
            v.function.name,
            v.title,
        )
        for v in views
    ]
    _table(("ID", "STATUS", "DUE", "FUNCTION", "ACTION"), rows)
    click.echo(f"{len(rows)} action{'' if len(rows) == 1 else 's'}.")


def _table(head: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for row in [head, *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@actions_group.command("show")
@click.argument("action_id", metavar="ACTION", type=click.IntRange(1, 2**31 - 1))
def actions_show(action_id: int) -> None:
    """Print action ACTION (its id) with its teams and notes, newest first."""
    from sqlmodel import select

    from survey.actions import rules, store
    from survey.db.models import User, utc_now

    with database() as db, db.session() as session:
        try:
            view = store.get_action(session, store.api_reader("command line"), action_id, utc_now().date())
        except store.NotFound:
            raise CliError(f"ACTION: there is no action {action_id}") from None
        owner = session.exec(select(User.email).where(User.id == view.owner_id)).one()
        notes = store.action_notes(session, action_id)
    click.echo(f"Action {view.id}: {view.title}")
    click.echo(f"  Function: {view.function.name}; part of the service: {view.dimension_label}")
    click.echo(f"  Status: {view.status_label}{' (overdue)' if view.overdue else ''}; due {view.due_on}")
    click.echo(f"  Owner: {view.owner_name} <{owner}>")
    click.echo(f"  Teams: {', '.join(t.name for t in view.teams)}")
    click.echo(f"  Answers: {rules.SOURCE_LABELS.get(view.source, view.source)}, from {view.round_name}")
    if view.description:
        click.echo(f"  How: {view.description}")
    for note in notes:
        moved = f" -> {note.status}" if note.status else ""
        click.echo(f"  {note.at:%Y-%m-%d} {note.author}{moved}: {note.text}")
