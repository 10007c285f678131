"""Results computed as work when a round closes: the work table, and what stored results read.

Stored results were kept under one key naming everything they read; now `key` names the settings they were
released under and `data_key` what they read that can change later. Results stored the old way are dropped: the
scheduler computes every closed round's results again (the unit trees rounds were first shown with are kept).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import survey.db.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "result_work",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("due_at", survey.db.models.UTCDateTime(), nullable=False),
        sa.Column("claimed_at", survey.db.models.UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("done_at", survey.db.models.UTCDateTime(), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("round_id", "key"),
    )
    with op.batch_alter_table("result_work", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_result_work_round_id"), ["round_id"], unique=False)
    op.execute("DELETE FROM round_result WHERE kind <> 'tree'")
    with op.batch_alter_table("round_result", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "data_key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False, server_default=""
            )
        )


def downgrade() -> None:
    op.execute("DELETE FROM round_result WHERE kind <> 'tree'")
    with op.batch_alter_table("round_result", schema=None) as batch_op:
        batch_op.drop_column("data_key")
    with op.batch_alter_table("result_work", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_result_work_round_id"))
    op.drop_table("result_work")
