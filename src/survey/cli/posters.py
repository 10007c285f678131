"""`survey link` (a front-line team's full customer survey link) and `survey poster` (its A5 poster as a PDF)."""

from __future__ import annotations

import secrets
from pathlib import Path

import click

from survey.cli.context import CliError, database, load_settings


@click.command()
@click.argument("team_code", metavar="TEAM_CODE")
def link(team_code: str) -> None:
    """Print a front-line team's customer survey link (SURVEY_BASE_URL + /c/<slug>)."""
    from survey.organisation.posters import team_link

    settings = load_settings()
    with database(settings) as db, db.session() as session:
        click.echo(team_link(session, settings, code=team_code).url)


@click.command()
@click.argument("team_code", metavar="TEAM_CODE")
@click.option(
    "-o",
    "--out",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The PDF file to write.",
)
def poster(team_code: str, output: Path) -> None:
    """Render a front-line team's A5 poster: its name, the QR code of its link and the link written out."""
    from survey.organisation.posters import poster_pdf, team_link

    settings = load_settings()
    if not output.parent.is_dir():
        raise click.BadParameter(f"the folder {str(output.parent)!r} does not exist", param_hint="'--out'")
    with database(settings) as db, db.session() as session:
        found = team_link(session, settings, code=team_code)
    partial = output.with_name(f".{output.name}.{secrets.token_hex(4)}.partial")
    try:  # written beside the target, then renamed: never a half-written poster
        partial.write_bytes(poster_pdf(found, settings))
        partial.replace(output)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise CliError(f"cannot write {str(output)!r}: {error.strerror or error}") from None
    click.echo(f"Poster for {found.name} ({found.url}): {output}")
