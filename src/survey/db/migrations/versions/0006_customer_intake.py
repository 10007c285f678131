"""Customer intake against stuffing: request counts shared by every server process, bursts of customer answers
held for HR to review, and the answers' link to the burst holding them.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import survey.db.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_count",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("window", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("request_count", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_request_count_expires"), ["expires"], unique=False)
    op.create_table(
        "customer_burst",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("hour", survey.db.models.UTCDateTime(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
        sa.Column("decided_at", survey.db.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"]),
        sa.ForeignKeyConstraint(["team_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("customer_burst", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_burst_round_id"), ["round_id"], unique=False)
        batch_op.create_index(
            "ix_customer_burst_pending",
            ["round_id", "team_id", "hour"],
            unique=True,
            sqlite_where=sa.text("state = 'pending'"),
            postgresql_where=sa.text("state = 'pending'"),
        )
    with op.batch_alter_table("external_response", schema=None) as batch_op:
        batch_op.add_column(sa.Column("burst_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_external_response_burst_id"), ["burst_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_external_response_burst_id_customer_burst", "customer_burst", ["burst_id"], ["id"]
        )


def downgrade() -> None:
    # Held answers were never counted: they go with the bursts that held them.
    op.execute("DELETE FROM external_response WHERE burst_id IS NOT NULL")
    with op.batch_alter_table("external_response", schema=None) as batch_op:
        batch_op.drop_constraint("fk_external_response_burst_id_customer_burst", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_external_response_burst_id"))
        batch_op.drop_column("burst_id")
    with op.batch_alter_table("customer_burst", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_burst_pending")
        batch_op.drop_index(batch_op.f("ix_customer_burst_round_id"))
    op.drop_table("customer_burst")
    with op.batch_alter_table("request_count", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_count_expires"))
    op.drop_table("request_count")
