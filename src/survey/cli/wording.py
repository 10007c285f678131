"""`survey wording download` and `survey wording upload`: a questionnaire version's wording in other languages,
through the translation sheet (XLSX or CSV), checked whole and applied whole."""

from __future__ import annotations

import secrets
from pathlib import Path

import click

from survey.cli.context import CliError, database

_KIND = click.argument("kind", type=click.Choice(["internal", "external"]))
_VERSION = click.argument("version", type=click.IntRange(1, 2_147_483_647))


@click.group("wording")
def wording_group() -> None:
    """Questionnaire wording in other languages: the translation sheet of a version (KIND VERSION, e.g.
    `internal 2`; the versions are listed on HR's Instruments page)."""


@wording_group.command("download")
@_KIND
@_VERSION
@click.option(
    "-o",
    "--out",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The sheet to write: a .xlsx or .csv file.",
)
def download(kind: str, version: int, output: Path) -> None:
    """Write the translation sheet of a questionnaire version: a row per text, its English, a column per language."""
    from survey.wording.store import download_sheet, instrument_id_of

    file_format = output.suffix.lower().lstrip(".")
    if file_format not in ("xlsx", "csv"):
        raise click.BadParameter(f"{str(output)!r} must end in .xlsx or .csv", param_hint="'--out'")
    if not output.parent.is_dir():
        raise click.BadParameter(f"the folder {str(output.parent)!r} does not exist", param_hint="'--out'")
    with database() as db:
        sheet = download_sheet(db, instrument_id_of(db, kind, version), file_format)
    partial = output.with_name(f".{output.name}.{secrets.token_hex(4)}.partial")
    try:  # written beside the target, then renamed: never a half-written sheet
        partial.write_bytes(sheet.data)
        partial.replace(output)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise CliError(f"cannot write {str(output)!r}: {error.strerror or error}") from None
    click.echo(f"Translation sheet of the {kind} questionnaire version {version}: {output}")


@wording_group.command("upload")
@_KIND
@_VERSION
@click.argument("path", metavar="FILE", type=Path)
def upload(kind: str, version: int, path: Path) -> None:
    """Apply a filled-in translation sheet (XLSX or CSV) to a questionnaire version.

    Every problem is printed as FILE:ROW: column COLUMN: message, and nothing is changed unless there are none.
    Refused while a round using the version is open.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from survey.cli.imports import read_import_files
    from survey.wording.store import instrument_id_of, upload_sheet

    (file,) = read_import_files((path,))
    with database() as db:
        try:
            report = upload_sheet(db, instrument_id_of(db, kind, version), file)
        except SQLAlchemyError as error:  # the upload's one transaction was rolled back
            raise CliError(
                f"the database {db.safe_url} failed during the upload ({error.__class__.__name__}); nothing was"
                " changed"
            ) from None
    if report.problems:
        for problem in report.problems:
            click.echo(str(problem), err=True)
        raise CliError(report.summary())
    click.echo(report.summary())
