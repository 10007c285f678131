"""Secrets: who started a password link and who was shown it (once); "forgot password" requests recorded
alike for every address, turned into mail by the scheduler's pass.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import survey.db.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("password_reset", schema=None) as batch_op:
        batch_op.add_column(sa.Column("started_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("revealed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("revealed_at", survey.db.models.UTCDateTime(), nullable=True))
        batch_op.create_foreign_key(
            "fk_password_reset_started_by_id_user_account", "user_account", ["started_by_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_password_reset_revealed_by_id_user_account", "user_account", ["revealed_by_id"], ["id"]
        )
    op.create_table(
        "password_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("requested_at", survey.db.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("password_request")
    with op.batch_alter_table("password_reset", schema=None) as batch_op:
        batch_op.drop_constraint("fk_password_reset_revealed_by_id_user_account", type_="foreignkey")
        batch_op.drop_constraint("fk_password_reset_started_by_id_user_account", type_="foreignkey")
        batch_op.drop_column("revealed_at")
        batch_op.drop_column("revealed_by_id")
        batch_op.drop_column("started_by_id")
