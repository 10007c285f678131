"""`survey report` (one PDF report of a closed round), `survey reports` (every report of it, on every core) and
`survey export` (its released results as an Excel workbook)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from survey.cli.context import CliError, database, load_settings


@click.command()
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
    from survey.reports.catalogue import report_by_code
    from survey.reports.data import round_data
    from survey.reports.render import report_context, write_report
    from survey.rounds.lifecycle import find_round

    settings = load_settings()
    with database(settings) as db:
        with db.session() as session:
            a_round = find_round(session, round_ref)
            ref = report_by_code(session, a_round, unit_code)
        if not output.parent.is_dir():
            raise click.BadParameter(f"the folder {str(output.parent)!r} does not exist", param_hint="'-o'")
        try:
            write_report(report_context(round_data(db, a_round.id, settings), ref), output)
        except OSError as error:
            raise CliError(f"cannot write {str(output)!r}: {error.strerror or error}") from None
    click.echo(f"{ref.kind_title} for {ref.name}, round {a_round.name}: {output}")


@click.command()
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
    from survey.reports.catalogue import round_reports
    from survey.reports.render import render_round
    from survey.rounds.lifecycle import find_round

    settings = load_settings()
    with database(settings) as db:
        with db.session() as session:
            a_round = find_round(session, round_ref)
            refs = round_reports(session, a_round)
        try:
            with click.progressbar(
                length=len(refs), label=f"Rendering {len(refs)} reports", file=sys.stderr
            ) as bar:
                written = render_round(
                    db, a_round.id, settings, output, refs, workers, progress=lambda _: bar.update(1)
                )
        except OSError as error:
            raise CliError(f"cannot write into {str(output)!r}: {error.strerror or error}") from None
    click.echo(f"{len(written)} reports of round {a_round.name} in {output}")


@click.command()
@click.argument("round_ref", metavar="ROUND")
@click.option(
    "--out",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The .xlsx file to write.",
)
@click.option(
    "--unit",
    "unit_code",
    metavar="CODE",
    help="Only what the report of this support function, front-line team or group shows. Without it: the whole "
    "round.",
)
def export(round_ref: str, output: Path, unit_code: str | None) -> None:
    """Write a closed round's released results as an Excel workbook: one sheet per table, numbers with their n,
    hidden figures marked."""
    from survey.reports.catalogue import report_by_code, round_reports
    from survey.reports.data import round_data
    from survey.reports.exports import round_workbook
    from survey.rounds.lifecycle import find_round

    if output.suffix.lower() != ".xlsx":
        raise click.BadParameter(f"{str(output)!r} must end in .xlsx", param_hint="'--out'")
    if not output.parent.is_dir():
        raise click.BadParameter(f"the folder {str(output.parent)!r} does not exist", param_hint="'--out'")
    settings = load_settings()
    with database(settings) as db:
        with db.session() as session:
            a_round = find_round(session, round_ref)
            refs = (
                [report_by_code(session, a_round, unit_code)]
                if unit_code
                else round_reports(session, a_round)
            )
        workbook = round_workbook(round_data(db, a_round.id, settings), a_round, refs, "the command line")
    partial = output.with_name(f".{output.name}.part")  # renamed once whole: never a half-written workbook
    try:
        partial.write_bytes(workbook)
        partial.replace(output)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise CliError(f"cannot write {str(output)!r}: {error.strerror or error}") from None
    what = f"what the report of {refs[0].name} shows" if unit_code else "the whole round"
    click.echo(f"Round {a_round.name}, {what}: {output}")
