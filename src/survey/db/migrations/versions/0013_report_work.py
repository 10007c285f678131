"""Reports rendered at publish, claimed through the database report by report (`report_work`, with the PDF kept
there when no reports folder is set), and the "results are ready" mails: one per account and round.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import survey.db.models

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_work",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("report", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("due_at", survey.db.models.UTCDateTime(), nullable=False),
        sa.Column("claimed_at", survey.db.models.UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("done_at", survey.db.models.UTCDateTime(), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("data_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("round_id", "report"),
    )
    with op.batch_alter_table("report_work", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_work_round_id"), ["round_id"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("round_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("outbox_round_id_fkey", "round", ["round_id"], ["id"])
        batch_op.create_foreign_key("outbox_user_id_fkey", "user_account", ["user_id"], ["id"])
        batch_op.create_unique_constraint("outbox_kind_round_id_user_id_key", ["kind", "round_id", "user_id"])


def downgrade() -> None:
    op.execute("DELETE FROM outbox WHERE kind IN ('results_ready', 'results_summary')")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint("outbox_kind_round_id_user_id_key", type_="unique")
        batch_op.drop_constraint("outbox_user_id_fkey", type_="foreignkey")
        batch_op.drop_constraint("outbox_round_id_fkey", type_="foreignkey")
        batch_op.drop_column("user_id")
        batch_op.drop_column("round_id")
    with op.batch_alter_table("report_work", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_work_round_id"))
    op.drop_table("report_work")
