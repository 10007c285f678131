"""What every command shares: its settings, one database for the length of the command, and the one way a
mistake ends: a message saying what is wrong, and exit code 2.

Commands import what they need inside their functions, so that `survey --help` and each command load only the
libraries they use.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from survey.settings import Settings

if TYPE_CHECKING:
    from survey.db.engine import Database


class CliError(click.ClickException):
    """A user error: the message says what is wrong; exit code 2, like a usage error."""

    exit_code = 2


def load_settings() -> Settings:
    """The settings from SURVEY_* variables (a bad value is a `SettingsError`, which ends the command)."""
    return Settings.from_env()


@contextmanager
def database(settings: Settings | None = None, *, migrated: bool = True) -> Iterator[Database]:
    """The database SURVEY_DATABASE_URL names, for the length of a `with` block: checked to be at the newest
    migration (unless `migrated` is False), and disposed of when the block ends, however it ends."""
    from survey.db.engine import Database, NotMigrated

    settings = settings or load_settings()
    try:
        db = Database(settings.database_url)
    except Exception as error:  # a URL SQLAlchemy cannot read: bad port, unknown driver...
        raise CliError(f"SURVEY_DATABASE_URL: {error}") from None
    try:
        if migrated:
            try:
                db.check_migrated()
            except NotMigrated as error:
                raise CliError(str(error)) from None
            except Exception as error:  # unreachable server, bad credentials, not a database file...
                raise CliError(
                    f"cannot use the database {db.safe_url}: {error.__class__.__name__}: {error}"
                ) from None
        yield db
    finally:
        db.dispose()
