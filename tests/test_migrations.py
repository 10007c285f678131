"""Migrations build the schema the models describe, on SQLite and PostgreSQL, and can be walked back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, inspect, select, text
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
                "SELECT i.kind, i.version, count(*) FROM instrument i JOIN item ON item.instrument_id = i.id "
                "GROUP BY i.kind, i.version"
            )
        ).all()
        dimensions = {
            r[0]
            for r in connection.execute(
                text("SELECT DISTINCT dimension FROM item JOIN instrument i ON i.id = item.instrument_id")
            )
        }
    # Employees: the full questionnaire (0002) and the short one (0009); customers: the first (0002) and the
    # same items with satisfaction first (0010).
    assert {(kind, version): n for kind, version, n in rows} == {
        ("internal", 1): 11,
        ("internal", 2): 6,
        ("external", 1): 8,
        ("external", 2): 8,
    }
    assert {
        "reliability",
        "responsiveness",
        "assurance",
        "empathy",
        "tangibles",
        "impact",
        "overall",
        "csat",
        "nps",
        "ces",
    } == dimensions


def test_new_rounds_ask_customers_overall_satisfaction_first_then_the_recommend_question(db):
    with db.engine.connect() as connection:
        newest = connection.execute(
            text("SELECT id, version FROM instrument WHERE kind = 'external' ORDER BY version DESC")
        ).first()
        codes = connection.execute(
            text("SELECT code FROM item WHERE instrument_id = :id ORDER BY position"), {"id": newest.id}
        ).scalars()
        assert newest.version > 1  # version 1 reads as it always did: a migration is history
        assert list(codes) == ["CSAT", "NPS", "REL1", "RES1", "ASS1", "EMP1", "TAN1", "CES"]


def test_migrations_go_down_and_up_again(database_url):
    command.downgrade(alembic_config(database_url), "base")
    db = Database(database_url)
    try:
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(database_url)
        db.check_migrated()
    finally:
        db.dispose()


def test_rounds_closed_before_0007_keep_the_group_sizes_their_results_were_last_released_under(database_url):
    """Upgrading fixes a closed round's sizes to those its newest stored results name (what was last shown), so
    the upgrade makes no second suppression pattern; a closed round without stored results is left to the next
    results pass."""
    command.downgrade(alembic_config(database_url), "0006")
    db = Database(database_url)
    try:
        tables = MetaData()
        tables.reflect(db.engine, only=["round", "round_result", "instrument"])
        round_table, results = tables.tables["round"], tables.tables["round_result"]
        at = datetime(2026, 7, 1, tzinfo=UTC)
        with db.engine.begin() as connection:
            instrument = connection.execute(select(tables.tables["instrument"].c.id)).scalars().first()
            for round_id, name in ((1, "Released"), (2, "Never computed")):
                connection.execute(
                    round_table.insert().values(
                        id=round_id,
                        name=name,
                        opens_at=at,
                        closes_at=at + timedelta(days=14),
                        status="closed",
                        internal_instrument_id=instrument,
                        external_instrument_id=instrument,
                    )
                )
            for kind, key, days in (
                ("customers", "v3 k5", 1),
                ("staff", "v3 k5 comments10", 1),
                ("customers", "v3 k7", 2),  # the setting was raised, and the round computed again
                ("staff", "v3 k7 comments12", 2),
            ):
                connection.execute(
                    results.insert().values(
                        round_id=1,
                        kind=kind,
                        key=key,
                        data_key="",
                        payload={},
                        computed_at=at + timedelta(days=14 + days),
                    )
                )
        upgrade(database_url)
        with db.engine.connect() as connection:
            sizes = connection.execute(
                text("SELECT id, min_group_size, min_comment_group_size FROM round ORDER BY id")
            ).all()
        assert [tuple(row) for row in sizes] == [(1, 7, 12), (2, None, None)]
    finally:
        db.dispose()
