"""`survey promises show` and `survey promises set`: a support function's service promises on the command line."""

from __future__ import annotations

from pathlib import Path

import click

from survey.cli.context import CliError, database

_FUNCTION = click.argument("function", metavar="FUNCTION")


@click.group("promises")
def promises_group() -> None:
    """A support function's service promises (FUNCTION is its unit code, e.g. SF1)."""


@promises_group.command("show")
@_FUNCTION
def show(function: str) -> None:
    """Print the function's promises in force now (the newest version), with their dimension and translations."""
    from survey.promises import store

    with database() as db, db.session() as session:
        unit = store.function_by_code(session, function)
        current = store.current(session, unit.id)
    if current is None:
        click.echo(f"{unit.name} ({unit.code}) has written no promises yet.")
        return
    when = current.created_at.strftime("%Y-%m-%d")
    click.echo(f"{unit.name} ({unit.code}), version {current.version} of {when}:")
    for number, promise in enumerate(current.promises, start=1):
        click.echo(f"{number}. [{promise.dimension}] {promise.text}")
        for code, text in sorted(promise.translations.items()):
            click.echo(f"   {code}: {text}")


@promises_group.command("set")
@_FUNCTION
@click.argument("path", metavar="FILE", type=Path)
def set_promises(function: str, path: Path) -> None:
    """Write the function's next version from a CSV or XLSX file: columns dimension, text and one column per
    other language (e.g. text_de), one row a promise. Every problem is printed as FILE:ROW: column COLUMN:
    message, and nothing is stored unless there is none."""
    from survey.cli.imports import read_import_files
    from survey.imports.tabular import read_table
    from survey.languages import translated_languages
    from survey.promises import store
    from survey.promises.rules import PromiseDraft, drafts_from_table

    (file,) = read_import_files((path,))
    table, problems = read_table(file)
    drafts: list[PromiseDraft] = []
    if table is not None:
        drafts, problems = drafts_from_table(table, translated_languages())
    if problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        raise CliError(f"nothing was stored: {path} has {len(problems)} problem(s), listed above")
    with database() as db:
        with db.session() as session:
            unit = store.function_by_code(session, function)
        version = store.save(db, unit.id, drafts)
    click.echo(f"{unit.name} ({unit.code}): version {version.version}, {len(version.promises)} promise(s).")
