"""`survey demo`: a demo organisation built and served in the current folder."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

import click

from survey.cli.server import run_server


@click.command()
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--seed", default=2026, show_default=True, type=int, help="Seed of the synthetic data.")
@click.option("--no-serve", is_flag=True, help="Build the demo database and stop.")
@click.option(
    "--no-reports",
    is_flag=True,
    help="Do not render the reports now (about 20 s): each renders when downloaded.",
)
def demo(port: int, seed: int, no_serve: bool, no_reports: bool) -> None:
    """Create or reset survey-demo.db here with a realistic organisation, then serve it."""
    from survey.demo.build import DEMO_DATABASE, DEMO_PASSWORD, DEMO_REPORTS, build_demo, render_demo_reports

    base_url = f"http://127.0.0.1:{port}"
    path = Path.cwd() / DEMO_DATABASE
    secret_key = os.environ.get("SURVEY_SECRET_KEY") or secrets.token_urlsafe(32)

    def progress(step: str) -> None:
        click.echo(f"  {step}...", err=True)

    info = build_demo(path, base_url, secret_key, seed=seed, progress=progress)
    reports_dir = Path.cwd() / DEMO_REPORTS
    shutil.rmtree(reports_dir, ignore_errors=True)
    folder = None if no_reports else render_demo_reports(info, reports_dir, progress)
    click.echo(
        f"\nDemo ready in {info.database.name}: {info.summary}.\n"
        f"Planted story: {info.planted}\n\n"
        f"Open next:\n"
        f"  Employee survey (a personal link; it works once): {info.employee_link}\n"
        f"  Customer survey for {info.customer_team}: {info.customer_link}\n"
        f"  Health check: {base_url}/health\n\n"
        f"Log in at {base_url}/login (password for every demo account: {DEMO_PASSWORD}):\n"
        + "".join(f"  {email:<28} {sees}\n" for email, sees in info.accounts)
        + "\n"
        "Answer the employee survey, then open its link again: it will say you already answered.\n"
        "Every employee's invitation mail is in the outbox: log in as HR and open Outbox.\n\n"
        + (
            f"PDF reports of the published round, one per unit and one for the organisation: {folder}\n"
            if folder
            else ""
        )
        + f"  Signed in, download the reports at {base_url}/reports (heads see their own units' only); HR finds "
        "them on the round's page."
    )
    if no_serve:
        return
    os.environ.update(
        SURVEY_DATABASE_URL=f"sqlite:///{path}",
        SURVEY_SECRET_KEY=secret_key,
        SURVEY_BASE_URL=base_url,
        SURVEY_COOKIE_SECURE="false",  # plain HTTP on this machine only
        SURVEY_REPORTS_DIR=str(reports_dir),  # the reports rendered above, served from there
    )
    click.echo(f"\nServing on {base_url} (Ctrl+C to stop)\n", err=True)
    run_server("127.0.0.1", port, workers=1)
