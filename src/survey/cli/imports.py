"""`survey roster import` and `survey external import`: the organisation, and customer figures from other
tools, from CSV or XLSX files, checked whole and applied whole."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from survey.cli.context import CliError, database

if TYPE_CHECKING:
    from survey.imports.tabular import ImportFile

COMMAND_LINE = "command line"  # the ImportRun actor of imports run here


def read_import_files(paths: tuple[Path, ...]) -> list[ImportFile]:
    """The files' bytes, each named as given on the command line (problems point at that name)."""
    from survey.imports.tabular import ImportFile

    files = []
    for path in paths:
        try:
            files.append(ImportFile(str(path), path.read_bytes()))
        except OSError as error:
            raise CliError(f"cannot read {path}: {error.strerror or error}") from None
    return files


def run_import(importer: Callable[..., Any], paths: tuple[Path, ...], dry_run: bool) -> None:
    """Read the files and import them with `importer` (`import_roster` or `import_external_figures`). Print
    each problem as FILE:LINE: column COLUMN: message and exit 2, or print the summary."""
    from sqlalchemy.exc import SQLAlchemyError

    files = read_import_files(paths)
    with database() as db:
        try:
            report = importer(db, files, actor=COMMAND_LINE, dry_run=dry_run)
        except SQLAlchemyError as error:  # locked, connection lost...: the transaction was rolled back
            raise CliError(
                f"the database {db.safe_url} failed during the import ({error.__class__.__name__});"
                " nothing was imported"
            ) from None
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


@click.group()
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
    from survey.imports.roster import import_roster

    run_import(import_roster, paths, dry_run)


@click.group()
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
    from survey.imports.figures import import_external_figures

    run_import(import_external_figures, paths, dry_run)
