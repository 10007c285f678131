"""`survey db upgrade` and `survey serve`."""

from __future__ import annotations

import copy
from typing import Any

import click

from survey.cli.context import CliError, database, load_settings


@click.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (creates the tables and default instruments on a new database)."""
    from survey.db.engine import upgrade

    settings = load_settings()
    with database(settings, migrated=False) as opened:
        safe_url = opened.safe_url
    try:
        upgrade(settings.database_url)
    except Exception as error:
        raise CliError(f"could not migrate {safe_url}: {error}") from None
    click.echo(f"Database {safe_url} is up to date.", err=True)


def uvicorn_log_config() -> dict[str, Any]:
    """Uvicorn's logging, with invitation tokens and survey takers' addresses kept out of the access log."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact"] = {"()": "survey.web.security.RedactInvitations"}
    config["handlers"]["access"]["filters"] = ["redact"]
    return config


def run_server(host: str, port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run(
        "survey.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=uvicorn_log_config(),
        # The client's address is read by survey.web.clients, which believes forwarding headers only from the
        # proxies named in SURVEY_TRUSTED_PROXIES; uvicorn's own rewrite would trust 127.0.0.1 behind our back.
        proxy_headers=False,
        server_header=False,
    )


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Server processes.")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web application."""
    settings = load_settings()
    if not settings.secret_key:
        raise CliError(
            "SURVEY_SECRET_KEY is not set. Set it to a long random string, the same for every process."
        )
    if workers > 1 and settings.database_url.startswith("sqlite"):
        click.echo("Note: several processes on SQLite share one writer; PostgreSQL scales further.", err=True)
    with database(settings):
        pass  # refuses a database that is not migrated, and says what to run
    run_server(host, port, workers)
