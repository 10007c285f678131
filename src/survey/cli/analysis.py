"""`survey simulate` (an empty database filled with a planted story) and `survey linkage` (a closed round's
drivers and hotspots)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import click

from survey.cli.context import CliError, database, load_settings
from survey.settings import Settings

if TYPE_CHECKING:  # imported when a command runs: `survey --help` loads neither
    from survey.analysis.analytics import Stored
    from survey.analysis.results import Linkage
    from survey.db.engine import Database


@click.command()
@click.option(
    "--teams", type=click.IntRange(2, 2000), default=60, show_default=True, help="Front-line teams."
)
@click.option(
    "--functions", type=click.IntRange(2, 10), default=8, show_default=True, help="Support functions."
)
@click.option("--staff", type=click.IntRange(1, 500), default=12, show_default=True, help="Staff per team.")
@click.option(
    "--customers",
    type=click.IntRange(0, 5000),
    default=150,
    show_default=True,
    help="Customers per team and round.",
)
@click.option(
    "--rounds", type=click.IntRange(3, 12), default=5, show_default=True, help="Quarterly rounds, all closed."
)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--nothing-planted", is_flag=True, help="No story: differences are noise and stable team effects only."
)
@click.option(
    "--truth",
    "truth_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the planted truth here (JSON).",
)
def simulate(
    teams: int,
    functions: int,
    staff: int,
    customers: int,
    rounds: int,
    seed: int,
    nothing_planted: bool,
    truth_file: Path | None,
) -> None:
    """Fill an empty database with a synthetic organisation and closed quarterly rounds with a known story: a
    support function whose drop for some teams comes before those teams' customer drop, a decoy function that
    drops with no customer effect, customer-only drops, and noise. For trying out and validating the analytics."""
    from sqlmodel import select

    from survey.db.models import Unit
    from survey.demo.build import simulate_into
    from survey.demo.simulation import OrgShape

    with database() as db:
        with db.session() as session:
            if session.exec(select(Unit.id).limit(1)).first() is not None:
                raise CliError(
                    f"{db.safe_url} already holds an organisation: simulate into an empty database"
                )
        shape = OrgShape(
            functions=functions,
            teams=teams,
            staff_per_team=staff,
            customers_per_team=customers,
            rounds=rounds,
        )
        sim = simulate_into(
            db,
            shape,
            seed,
            planted=not nothing_planted,
            progress=lambda step: click.echo(f"  {step}...", err=True),
        )
    click.echo(sim.describe())
    click.echo(
        "The closed rounds' results are computed by the scheduler: run `survey tick` (or serve), or "
        "`survey linkage ROUND --compute` for one round."
    )
    if truth_file:
        truth_file.write_text(json.dumps(sim.truth_record(), indent=2) + "\n")


@click.command()
@click.argument("round_ref", metavar="ROUND")
@click.option(
    "--outcome",
    type=click.Choice(["csat_pct", "nps", "ces", "csat"]),
    help="The customer outcome: CSAT%, NPS, CES or mean satisfaction. Default: CSAT% if at least 8 teams have "
    "it, else the first of the others that does.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the whole linkage as JSON, the same document as GET /api/rounds/{id}/linkage.",
)
@click.option(
    "--compute",
    is_flag=True,
    help="Compute the round's results now if they are not stored or not up to date, as the scheduler would "
    "(claimed the same way: if another process is computing them, this says so).",
)
def linkage(round_ref: str, outcome: str | None, as_json: bool, compute: bool) -> None:
    """Print a closed round's linkage: the drivers with their evidence, and the hotspots (ROUND: id or name).
    They are computed when the round closes (by the server's scheduler or `survey tick`); --compute computes
    them now."""
    from survey.rounds.lifecycle import find_round

    settings = load_settings()
    with database(settings) as db:
        with db.session() as session:
            round_id = find_round(session, round_ref).id
        if compute:
            _compute(db, settings, round_id)
        stored = _stored_linkage(db, settings, round_id, round_ref, outcome)
    if stored.updating:
        click.echo(
            f"Being updated: what these results read changed after they were computed "
            f"({stored.computed_at:%Y-%m-%d %H:%M} UTC); `--compute` computes them now.",
            err=True,
        )
    result = stored.result
    if as_json:
        import msgspec

        # As the API encodes it (Litestar's JSON is msgspec's): the same bytes, field for field.
        click.echo(msgspec.json.encode(result).decode())
        return
    click.echo(result.message)
    for driver in result.drivers:
        click.echo(f"- {driver.sentence}")
    for finding in result.findings:
        click.echo(f"- {'Ended: ' if finding.status == 'ended' else ''}{finding.sentence}")
    if result.hotspots:
        click.echo("Hotspots, largest falls first:")
        for hotspot in result.hotspots:
            click.echo(f"- {hotspot.sentence}")


def _compute(db: Database, settings: Settings, round_id: int) -> None:
    """The round's results work, now (what it did goes to stderr); exit 2 if it failed."""
    from survey.rounds.results_work import compute_now

    computed = compute_now(db, settings, round_id)
    for done in computed.results:
        click.echo(done.line(), err=True)
    if computed.problems:
        raise CliError("; ".join(computed.problems))


def _stored_linkage(
    db: Database, settings: Settings, round_id: int, round_ref: str, outcome: str | None
) -> Stored[Linkage]:
    from survey.analysis import analytics

    try:
        return analytics.read_linkage(db, round_id, settings.min_group_size, outcome)
    except analytics.NotReady as reason:
        raise CliError(
            f"{reason} Or compute them now: survey linkage {shlex.quote(round_ref)} --compute"
        ) from None
