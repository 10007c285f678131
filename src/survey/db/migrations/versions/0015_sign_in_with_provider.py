"""Sign-in with the company's identity provider: sign-ins begun at the provider and not yet back, and the ID
token a session began with (a hint when signing out at the provider).

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

import survey.db.models

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_sign_in",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=100), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("next_path", sa.String(length=500), nullable=True),
        sa.Column("created_at", survey.db.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("state_hash"),
    )
    with op.batch_alter_table("provider_sign_in", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provider_sign_in_created_at"), ["created_at"], unique=False)
    with op.batch_alter_table("auth_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_id_token", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("auth_session", schema=None) as batch_op:
        batch_op.drop_column("provider_id_token")
    with op.batch_alter_table("provider_sign_in", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_sign_in_created_at"))
    op.drop_table("provider_sign_in")
