"""Service promises (versioned per function, translated) and action plans: actions with their teams and dated
notes, team heads' requests to a function, and reminders of an action's due date through the outbox.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import survey.db.models

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "promise_set",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("function_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", survey.db.models.UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["function_id"],
            ["unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("function_id", "version"),
    )
    with op.batch_alter_table("promise_set", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_promise_set_function_id"), ["function_id"], unique=False)

    op.create_table(
        "action_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("function_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", survey.db.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", survey.db.models.UTCDateTime(), nullable=False),
        sa.Column("completed_at", survey.db.models.UTCDateTime(), nullable=True),
        sa.Column("due_reminder_for", sa.Date(), nullable=True),
        sa.Column("overdue_reminder_for", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["function_id"],
            ["unit.id"],
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["user_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["round.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("action_plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_action_plan_function_id"), ["function_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_action_plan_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_action_plan_round_id"), ["round_id"], unique=False)

    op.create_table(
        "service_promise",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["set_id"],
            ["promise_set.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("set_id", "position"),
    )
    with op.batch_alter_table("service_promise", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_promise_set_id"), ["set_id"], unique=False)

    op.create_table(
        "action_plan_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("at", survey.db.models.UTCDateTime(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["action_plan.id"],
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["user_account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("action_plan_note", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_action_plan_note_action_id"), ["action_id"], unique=False)

    op.create_table(
        "action_plan_team",
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["action_plan.id"],
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["unit.id"],
        ),
        sa.PrimaryKeyConstraint("action_id", "team_id"),
    )
    op.create_table(
        "action_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("function_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("dimension", sa.String(length=20), nullable=True),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("raised_by_id", sa.Integer(), nullable=False),
        sa.Column("raised_at", survey.db.models.UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("answer", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", survey.db.models.UTCDateTime(), nullable=True),
        sa.Column("action_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["action_plan.id"],
        ),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["user_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["function_id"],
            ["unit.id"],
        ),
        sa.ForeignKeyConstraint(
            ["raised_by_id"],
            ["user_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["round.id"],
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("action_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_action_request_function_id"), ["function_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_action_request_team_id"), ["team_id"], unique=False)

    op.create_table(
        "service_promise_translation",
        sa.Column("promise_id", sa.Integer(), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["promise_id"],
            ["service_promise.id"],
        ),
        sa.PrimaryKeyConstraint("promise_id", "language"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("action_plan_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("outbox_action_plan_id_fkey", "action_plan", ["action_plan_id"], ["id"])


def downgrade() -> None:
    op.execute("DELETE FROM outbox WHERE kind IN ('action_due', 'action_overdue')")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint("outbox_action_plan_id_fkey", type_="foreignkey")
        batch_op.drop_column("action_plan_id")

    op.drop_table("service_promise_translation")
    with op.batch_alter_table("action_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_request_team_id"))
        batch_op.drop_index(batch_op.f("ix_action_request_function_id"))

    op.drop_table("action_request")
    op.drop_table("action_plan_team")
    with op.batch_alter_table("action_plan_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_plan_note_action_id"))

    op.drop_table("action_plan_note")
    with op.batch_alter_table("service_promise", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_promise_set_id"))

    op.drop_table("service_promise")
    with op.batch_alter_table("action_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_plan_round_id"))
        batch_op.drop_index(batch_op.f("ix_action_plan_owner_id"))
        batch_op.drop_index(batch_op.f("ix_action_plan_function_id"))

    op.drop_table("action_plan")
    with op.batch_alter_table("promise_set", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_promise_set_function_id"))

    op.drop_table("promise_set")
