"""Migrations build the schema the models describe, on SQLite and PostgreSQL, and can be walked back."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from survey.db.engine import Database, alembic_config, head_revision, upgrade


def test_the_head_revision_read_from_the_files_is_alembics(database_url):
    """Every command checks the database is migrated against the head read from the migration files, without
    loading Alembic: it must be the head Alembic itself finds."""
    assert head_revision() == ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()


def test_migrated_schema_matches_the_models(db):
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == []


def test_default_instruments_are_installed_with_the_database(db):
    with db.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT i.kind, count(*) FROM instrument i JOIN item ON item.instrument_id = i.id GROUP BY i.kind"
            )
        ).all()
        dimensions = {
            r[0]
            for r in connection.execute(
                text("SELECT DISTINCT dimension FROM item JOIN instrument i ON i.id = item.instrument_id")
            )
        }
    assert dict(rows) == {"internal": 11, "external": 8}
    assert {
        "reliability",
        "responsiveness",
        "assurance",
        "empathy",
        "tangibles",
        "impact",
        "csat",
        "nps",
        "ces",
    } == dimensions


def test_migrations_go_down_and_up_again(database_url):
    command.downgrade(alembic_config(database_url), "base")
    db = Database(database_url)
    try:
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(database_url)
        db.check_migrated()
    finally:
        db.dispose()
