"""Short default internal instrument: one positively worded item per SERVQUAL dimension and an overall rating.

The wording is ours and lives here, as version 1's does in 0002, because a migration is history. It is installed
as the newest internal version, so rounds created from then on use it by default; the full instrument (version
1) stays, and HR can choose it for a round. No impact item: it is worded negatively ("problems with ... made it
harder"), and mixing directions on one agreement scale is misread; customers' own scores measure the harm.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TITLE = "How well do our support functions serve you? (short)"
INTRODUCTION = (
    "Think of this quarter. For each support function you dealt with, say how far you agree with each "
    'statement. If a statement does not apply to you, or you do not know, choose "Not applicable".'
)
AGREE = (1, 7, "Strongly disagree", "Strongly agree")

# (code, dimension, wording). Every statement is positive, so agreeing always means better service.
ITEMS = [
    ("REL", "reliability", "{function} delivers what it promises, right the first time."),
    ("RES", "responsiveness", "When I ask {function} for help, I get it quickly."),
    ("ASS", "assurance", "The people in {function} know their job and give answers I can rely on."),
    ("EMP", "empathy", "{function} understands what I need to serve customers well."),
    ("TAN", "tangibles", "The tools, services and information {function} provides help me do my job."),
    ("OVR", "overall", "Overall, {function} serves me well."),
]

instrument = sa.table(
    "instrument",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("version", sa.Integer),
    sa.column("title", sa.String),
    sa.column("introduction", sa.String),
)
item = sa.table(
    "item",
    sa.column("instrument_id", sa.Integer),
    sa.column("position", sa.Integer),
    sa.column("code", sa.String),
    sa.column("dimension", sa.String),
    sa.column("wording", sa.String),
    sa.column("scale_min", sa.Integer),
    sa.column("scale_max", sa.Integer),
    sa.column("low_label", sa.String),
    sa.column("high_label", sa.String),
    sa.column("reverse_keyed", sa.Boolean),
)


def upgrade() -> None:
    connection = op.get_bind()
    # HR may have made later versions of the full instrument already: the short one comes after them.
    newest = connection.execute(
        sa.select(sa.func.max(instrument.c.version)).where(instrument.c.kind == "internal")
    ).scalar_one()
    instrument_id = connection.execute(
        instrument.insert()
        .values(kind="internal", version=(newest or 0) + 1, title=TITLE, introduction=INTRODUCTION)
        .returning(instrument.c.id)
    ).scalar_one()
    op.bulk_insert(
        item,
        [
            {
                "instrument_id": instrument_id,
                "position": position,
                "code": code,
                "dimension": dimension,
                "wording": wording,
                "scale_min": AGREE[0],
                "scale_max": AGREE[1],
                "low_label": AGREE[2],
                "high_label": AGREE[3],
                "reverse_keyed": False,
            }
            for position, (code, dimension, wording) in enumerate(ITEMS, start=1)
        ],
    )


def downgrade() -> None:
    connection = op.get_bind()
    short = sa.select(instrument.c.id).where(instrument.c.kind == "internal", instrument.c.title == TITLE)
    connection.execute(item.delete().where(item.c.instrument_id.in_(short)))
    connection.execute(instrument.delete().where(instrument.c.id.in_(short)))
