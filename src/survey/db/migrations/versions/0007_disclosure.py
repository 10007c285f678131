"""Disclosure: each round's group sizes, fixed at its close; an open round's participation, counted once a day.

Rounds closed before this migration get the group sizes their results were last stored under (read from the
stored results' keys, "v3 k5" and "v3 k5 comments10": what their pages, reports and API showed last), so that no
second suppression pattern is made of them. A closed round without stored results keeps null sizes: the next
results pass fixes them to the settings of that day, once (`rounds.lifecycle.keep_group_sizes`).

Revision ID: 0007
Revises: 0006
"""

import re

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import survey.db.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("round", schema=None) as batch_op:
        batch_op.add_column(sa.Column("min_group_size", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("min_comment_group_size", sa.Integer(), nullable=True))
    op.create_table(
        "participation_snapshot",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("counted_on", sa.Date(), nullable=False),
        sa.Column("counted_at", survey.db.models.UTCDateTime(), nullable=False),
        sa.Column(
            "counts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"]),
        sa.PrimaryKeyConstraint("round_id"),
    )
    _keep_released_sizes()


def _keep_released_sizes() -> None:
    """Each closed round's sizes as its newest stored results name them (customers' scores: k; staff's: the
    comment group size)."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT round_result.round_id, round_result.kind, round_result.key FROM round_result "
            "JOIN round ON round.id = round_result.round_id "
            "WHERE round.status IN ('closed', 'published') AND round_result.kind IN ('customers', 'staff') "
            "ORDER BY round_result.computed_at"
        )
    ).all()
    sizes: dict[int, dict[str, int]] = {}
    for round_id, kind, key in rows:  # oldest first: the newest wins
        found = re.search(r"\bk(\d+)\b", key)
        comments = re.search(r"\bcomments(\d+)\b", key)
        if kind == "customers" and found:
            sizes.setdefault(round_id, {})["min_group_size"] = int(found.group(1))
        if kind == "staff" and comments:
            sizes.setdefault(round_id, {})["min_comment_group_size"] = int(comments.group(1))
    for round_id, values in sizes.items():
        assignments = ", ".join(f"{column} = :{column}" for column in values)
        connection.execute(
            sa.text(f"UPDATE round SET {assignments} WHERE id = :id"), {**values, "id": round_id}
        )


def downgrade() -> None:
    op.drop_table("participation_snapshot")
    with op.batch_alter_table("round", schema=None) as batch_op:
        batch_op.drop_column("min_comment_group_size")
        batch_op.drop_column("min_group_size")
